"""Scoring: rewards for a batch of policy samples, on the policy's own tokens.

Reward modes (``g2r train --reward``):

``sparse``
    The judge's rubric reward ``R = Σ_k w_k·1[z_k] / Σ_k max(w_k, 0)``: verdicts only, no backward.
``<attribution method>`` (``grad_x_input``, ``integrated_gradients``, ..., and the controls
``uniform`` and ``random``)
    The same R, redistributed over the response tokens by :func:`g2r_lens.attribute` with that
    method (``τ``, ``tau_mode``); ``uniform`` is the spread-evenly control.
``oracle_sparse``
    The exact checker's score as R (no judge in the reward): the ceiling of a perfect judge.
``oracle_dense``
    The checker's score spread over the checker's *truth tokens*: criterion k, when satisfied,
    gives ``w_k / Σ max(w, 0)`` spread uniformly over the tokens of its truth spans (local
    criteria), or over all response tokens (non-local criteria). Perfect judge, perfect credit.

Each mode other than the attribution methods is one function registered with
:func:`register_reward_mode` (``oracle=True`` when the checker, not the judge, gives the reward);
:class:`Scorer` looks the mode up instead of branching on its name.

Every mode returns per-sample token rewards over the policy's valid tokens that add up to R. Sparse
modes (``sparse``, ``oracle_sparse``) put all of R on the last valid token (the end token when one
was sampled): the usual outcome-reward placement, which every estimator accepts.

Judge tokens -> policy tokens: the engine's rewards live on the *judge's* tokenization of the
decoded response; :func:`g2r_lens.project_rewards` moves them onto the policy's tokens by character
overlap, conserving the sum. With a shared tokenizer and a canonical tokenization it is the
identity; it stays correct for a judge with another tokenizer, or when the policy sampled a
non-canonical tokenization. (Splicing the policy's ids into the judge prompt, as the paper's
pseudo-code suggests, would only work for the shared-tokenizer case.)

Empty responses (whitespace only) are not shown to the judge (the engine refuses them): judge
reward 0, every verdict counted False, zero token rewards.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ..attribution import available_methods
from ..core import attribute
from ..errors import G2RError
from ..examples import Example, rubric_normaliser, sparse_reward
from ..registry import Registry
from ..spans import project_rewards
from ..world.checker import CheckResult, check, token_truth
from ..world.tasks import Task

#: the reward modes other than "an attribution method", by name; each is one decorated function
#: ``fn(scorer, samples) -> ModeResult`` (:func:`register_reward_mode`)
REWARD_MODES: Registry[Callable[..., "ModeResult"]] = Registry("reward mode")


def register_reward_mode(name: str, *, oracle: bool = False):
    """Decorator: register a reward mode. ``oracle``: the reward comes from the exact checker, so the
    judge is asked only for the agreement log (``judge_oracles``)."""
    return REWARD_MODES.register(name, oracle=oracle)


def reward_modes() -> list[str]:
    """Every accepted ``--reward``: sparse, oracles, and each registered attribution method."""
    return [*REWARD_MODES, *available_methods()]


def check_reward_mode(mode: str) -> None:
    if mode not in reward_modes():
        raise G2RError(f"unknown reward mode {mode!r}; choose one of {reward_modes()}")


def is_oracle(mode: str) -> bool:
    return mode in REWARD_MODES and bool(REWARD_MODES.capabilities(mode)["oracle"])


@dataclass
class Scored:
    rewards: list[float]  # the sequence reward used for training
    token_rewards: list[np.ndarray]  # per sample, one value per valid policy token; sums to rewards[i]
    judge_rewards: list[float | None]  # the judge's rubric reward (None: judge not asked)
    judge_verdicts: list[list[bool] | None]
    checks: list[CheckResult]
    alpha_entropy: float = math.nan  # mean normalised entropy of α over attributed criteria
    max_conservation_error: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def checker_scores(self) -> list[float]:
        return [c.score for c in self.checks]


def _text_positions(offsets: Sequence[tuple[int, int]]) -> list[int]:
    return [i for i, (s, e) in enumerate(offsets) if e > s]


def oracle_dense_rewards(task: Task, res: CheckResult, offsets: Sequence[tuple[int, int]]) -> np.ndarray:
    """Checker score spread over the checker's truth tokens (see the module docstring). [n tokens]."""
    out = np.zeros(len(offsets))
    text = _text_positions(offsets)
    denom = rubric_normaliser(c.weight for c in task.rubric)
    for c in res.criteria:
        if not c.satisfied:
            continue
        w = c.weight / denom
        hits = [i for i, t in enumerate(token_truth(c, offsets)) if t] if c.local else []
        where = hits or text or [len(offsets) - 1]
        out[where] += w / len(where)
    return out


def _last_token(n: int, value: float) -> np.ndarray:
    out = np.zeros(n)
    if n:
        out[-1] = value
    return out


class Scorer:
    """Turns (task, response text, policy offsets) into rewards with one judge and one mode."""

    def __init__(self, judge: Any, mode: str, *, tau: float = 1.0, tau_mode: str = "relative",
                 attribute_false: bool = False, batch_size: int = 32, judge_oracles: bool = True,
                 method_params: dict | None = None) -> None:
        check_reward_mode(mode)
        if judge is None and (not is_oracle(mode) or judge_oracles):
            raise G2RError(f"reward mode {mode!r} needs a judge")
        self.judge, self.mode = judge, mode
        self.tau, self.tau_mode, self.attribute_false = tau, tau_mode, attribute_false
        self.batch_size, self.judge_oracles = batch_size, judge_oracles
        self.method_params = method_params or {}

    @property
    def dense_method(self) -> str | None:
        return None if self.mode in REWARD_MODES else self.mode

    @property
    def asks_judge(self) -> bool:
        return self.judge is not None and (not is_oracle(self.mode) or self.judge_oracles)

    def score(self, tasks: Sequence[Task], texts: Sequence[str], offsets: Sequence[Sequence[tuple[int, int]]],
              ids: Sequence[str] | None = None) -> Scored:
        n = len(texts)
        ids = list(ids) if ids is not None else [f"s{i}" for i in range(n)]
        samples = Samples(list(tasks), list(texts), list(offsets), ids, [check(t, r) for t, r in zip(tasks, texts)])
        fn = REWARD_MODES.get(self.mode) if self.dense_method is None else attribution_mode
        res = fn(self, samples)
        err = res.conservation_error
        for i in range(n):
            if len(offsets[i]) == 0 and res.rewards[i] != 0:
                raise G2RError("a sample with no tokens cannot carry a reward")
            err = max(err, abs(float(res.token_rewards[i].sum()) - res.rewards[i]))
        return Scored(res.rewards, res.token_rewards, res.judge_rewards, res.judge_verdicts, samples.checks,
                      res.alpha_entropy, err, res.seconds)


# ------------------------------------------------------------------------------------ reward modes

@dataclass
class Samples:
    """What a reward mode sees: the batch's tasks, response texts, policy-token offsets, ids and the
    exact checker's results."""

    tasks: list[Task]
    texts: list[str]
    offsets: list[Sequence[tuple[int, int]]]
    ids: list[str]
    checks: list[CheckResult]

    @property
    def live(self) -> list[int]:
        """Indices of the non-empty responses (the only ones shown to the judge)."""
        return [i for i, t in enumerate(self.texts) if t.strip()]

    def examples(self) -> list[Example]:
        return [Example(self.tasks[i].prompt, self.texts[i],
                        [{"criterion": c.text, "weight": c.weight} for c in self.tasks[i].rubric], id=self.ids[i])
                for i in self.live]


@dataclass
class ModeResult:
    """What a reward mode returns (see :class:`Scored` for the fields)."""

    rewards: list[float]
    token_rewards: list[np.ndarray]
    judge_rewards: list[float | None]
    judge_verdicts: list[list[bool] | None]
    alpha_entropy: float = math.nan
    conservation_error: float = 0.0
    seconds: dict[str, float] = field(default_factory=lambda: {"judge": 0.0, "attribution": 0.0})


def _judge_defaults(scorer: Scorer, s: Samples) -> tuple[list[float | None], list[list[bool] | None]]:
    """``(judge rewards, verdicts)`` before judging: 0 / all False when the judge is asked (what an
    empty response keeps), None when it is not."""
    n = len(s.texts)
    if not scorer.asks_judge:
        return [None] * n, [None] * n
    return [0.0] * n, [[False] * len(t.rubric) for t in s.tasks]


def _judge_verdicts(scorer: Scorer, s: Samples) -> tuple[list[float | None], list[list[bool] | None], float]:
    """The judge's verdicts and rubric reward of every live sample (no attribution), and the seconds."""
    jr, jv = _judge_defaults(scorer, s)
    exs = s.examples()
    if not (scorer.asks_judge and exs):
        return jr, jv, 0.0
    t0 = time.perf_counter()
    verdicts = scorer.judge.verdicts(exs, batch_size=scorer.batch_size)
    secs = time.perf_counter() - t0
    for i, v in zip(s.live, verdicts):
        jv[i] = [bool(c["verdict"]) for c in v]
        jr[i] = sparse_reward([c.weight for c in s.tasks[i].rubric], jv[i])
    return jr, jv, secs


def _on_last_token(s: Samples, rewards: list[float], judged: tuple) -> ModeResult:
    jr, jv, secs = judged
    return ModeResult(rewards, [_last_token(len(o), r) for o, r in zip(s.offsets, rewards)], jr, jv,
                      seconds={"judge": secs, "attribution": 0.0})


@register_reward_mode("sparse")
def sparse_mode(scorer: Scorer, s: Samples) -> ModeResult:
    """The judge's rubric reward, all on the last valid token."""
    judged = _judge_verdicts(scorer, s)
    return _on_last_token(s, [float(x) if x is not None else 0.0 for x in judged[0]], judged)


@register_reward_mode("oracle_sparse", oracle=True)
def oracle_sparse_mode(scorer: Scorer, s: Samples) -> ModeResult:
    """The exact checker's score, all on the last valid token."""
    return _on_last_token(s, [c.score for c in s.checks], _judge_verdicts(scorer, s))


@register_reward_mode("oracle_dense", oracle=True)
def oracle_dense_mode(scorer: Scorer, s: Samples) -> ModeResult:
    """The exact checker's score, spread over the checker's truth tokens."""
    jr, jv, secs = _judge_verdicts(scorer, s)
    rewards = [c.score for c in s.checks]
    tok_r = [oracle_dense_rewards(t, c, o) if len(o) else np.zeros(0) for t, c, o in zip(s.tasks, s.checks, s.offsets)]
    return ModeResult(rewards, tok_r, jr, jv, seconds={"judge": secs, "attribution": 0.0})


def attribution_mode(scorer: Scorer, s: Samples) -> ModeResult:
    """Every attribution method: the judge's rubric reward redistributed by :func:`g2r_lens.attribute`
    and projected onto the policy's tokens."""
    method = scorer.mode
    jr, jv = _judge_defaults(scorer, s)
    tok_r = [np.zeros(len(o)) for o in s.offsets]
    secs = {"judge": 0.0, "attribution": 0.0}
    ent, err = [], 0.0
    exs = s.examples()
    if exs:
        t0 = time.perf_counter()
        run = attribute(scorer.judge, exs, [method], tau=scorer.tau, tau_mode=scorer.tau_mode,
                        attribute_false=scorer.attribute_false, batch_size=scorer.batch_size,
                        method_params={method: scorer.method_params} if scorer.method_params else None,
                        progress=False)
        wall = time.perf_counter() - t0
        # core.attribute times the verdict share ("verdicts") apart from the forward + backward the
        # gradient methods share ("gradient_pass"), which counts as attribution here.
        secs["judge"] = float(run.provenance["seconds"]["verdicts"])
        t1 = time.perf_counter()
        for i, er in zip(s.live, run.examples):
            jv[i] = [c.verdict for c in er.criteria]
            jr[i] = float(er.sparse_reward)
            m = er.methods[method]
            ent += [h for h, c in zip(m.entropy, er.criteria) if c.verdict and math.isfinite(h)]
            text_pos = _text_positions(s.offsets[i])
            dst = [s.offsets[i][p] for p in text_pos]
            if dst:
                tok_r[i][text_pos] = project_rewards(m.rewards, er.offsets, dst)
            else:
                tok_r[i] = _last_token(len(s.offsets[i]), jr[i])
            err = max(err, abs(float(tok_r[i].sum()) - jr[i]))
        secs["attribution"] = wall - secs["judge"] + (time.perf_counter() - t1)
    rewards = [float(x) if x is not None else 0.0 for x in jr]
    return ModeResult(rewards, tok_r, jr, jv, float(np.mean(ent)) if ent else math.nan, err, secs)


def agreement(scored: Scored) -> float:
    """Fraction of (sample, criterion) pairs where the judge's verdict equals the checker's."""
    hits = tot = 0
    for v, c in zip(scored.judge_verdicts, scored.checks):
        if v is None:
            continue
        hits += sum(a == b for a, b in zip(v, c.satisfied))
        tot += len(v)
    return hits / tot if tot else math.nan


def credit_on_truth(scored: Scored, offsets: Sequence[Sequence[tuple[int, int]]]) -> tuple[float, float]:
    """``(share of positive token reward on truth tokens, share of tokens that are truth tokens)``.

    Truth tokens: tokens inside the checker's truth spans of satisfied, local, positive-weight
    criteria. The second number is what uniform credit would score; both are means over samples
    that have truth tokens and positive reward.
    """
    got, base = [], []
    for r, c, o in zip(scored.token_rewards, scored.checks, offsets):
        text = _text_positions(o)
        if not text:
            continue
        truth = np.zeros(len(o), dtype=bool)
        for cc in c.criteria:
            if cc.satisfied and cc.local and cc.weight > 0:
                truth |= np.asarray(token_truth(cc, o), dtype=bool)
        pos = np.clip(r, 0, None)
        if truth.any() and pos.sum() > 0:
            got.append(float(pos[truth].sum() / pos.sum()))
            base.append(float(truth.sum() / len(text)))
    return (float(np.mean(got)), float(np.mean(base))) if got else (math.nan, math.nan)
