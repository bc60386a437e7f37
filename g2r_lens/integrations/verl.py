"""Dense judge rewards inside verl (0.9.1): advantage estimators and a reward manager.

``pip install -e '.[verl]'`` (see README, "Scaling out"). Importing this module registers:

* **advantage estimators** ``g2r_<name>`` for every estimator of :mod:`g2r_lens.rl.advantages`
  (``g2r_sparse``, ``g2r_grad2reward``, ``g2r_per_position``, ``g2r_additive``, ...) in verl's own
  registry (``verl.trainer.ppo.core_algos.register_adv_est``), so ``algorithm.adv_estimator=
  g2r_grad2reward`` selects one. Each is one thin adapter around
  :func:`g2r_lens.rl.advantages.compute_advantages`: ``token_level_rewards`` are the token rewards,
  their masked row sums the sequence rewards, ``response_mask`` the mask and verl's ``index`` (the
  ``uid`` of each prompt) the group ids. Parameters (``additive``'s ``lam``) come from
  :func:`register_estimators` or ``algorithm.g2r_params`` when the config carries one.
  Why not verl's ``grpo``/``rloo``: they start with ``token_level_rewards.sum(-1)``, which turns a
  sum-conserving dense reward back into the sparse one (the no-op trap; pinned by a test).
* **a reward manager** ``"g2r"`` (:class:`G2RRewardManager`) in verl 0.9.1's reward-loop registry
  (``verl.experimental.reward_loop.reward_manager.register``; the trainer resolves
  ``reward.reward_manager.name`` there). For each rollout it decodes the response, builds the rubric
  example, runs :func:`g2r_lens.attribute` with a configurable judge, method and τ, projects the
  judge-token rewards onto the policy's tokens with :func:`g2r_lens.project_rewards` (identity when
  both share a tokenizer and the tokenization is canonical), and its ``assemble_rm_scores`` writes
  them into the ``(batch, response_length)`` ``rm_scores`` tensor that becomes
  ``token_level_scores``. The sparse reward and judge diagnostics go into ``reward_extra_info``,
  which verl logs.

Which verl reward path keeps a dense reward (read in the verl 0.9.1 source):

* ``RewardLoopManager.compute_rm_score`` (``verl/experimental/reward_loop/reward_loop.py``) collects
  each row's ``reward_score`` and calls ``reward_manager_cls.assemble_rm_scores(data, scores)``: a
  class method this manager overrides, so per-token scores survive. The trainers take this path when
  the reward is computed *colocated* after rollout: ``reward.reward_model.enable=True`` and
  ``reward.reward_model.enable_resource_pool=False`` (v1: ``_compute_reward_colocate``; v0: the
  ``use_rm`` branch), and the rows reach the manager (not the reward-model server) only when
  ``reward.custom_reward_function.path`` is set (:func:`compute_score` is the marker to set). verl
  still starts its reward-model server for ``reward.reward_model.model_path`` there; g2r does not
  use it (the judge runs in the reward-loop worker, which needs input gradients).
* In every other configuration (no reward model, or a reward model with its own resource pool) the
  reward is computed inside the agent loop while rolling out (``AgentLoopWorker._compute_score``),
  whose ``reward_score`` is one float per trajectory written at the last token. A dense arm there
  cannot work, so :class:`G2RRewardManager` refuses it at construction with a
  :class:`~g2r_lens.errors.G2RError` naming the supported settings. The sparse arm works on both.

Where each row's prompt and rubric come from (first hit wins): ``extra_info["rubric"]`` /
``extra_info["prompt"]``; ``reward_model["ground_truth"]`` (a rubric list or its JSON); a table
``{prompt: rubric}`` read from the ``rubrics`` option (a JSONL or parquet file with ``prompt`` and
``rubric`` columns, e.g. the training parquet of ``examples/verl/make_data.py``), which is what the
v1 colocated path needs: it hands the reward manager only ``prompts``, ``responses``,
``attention_mask`` and ``raw_prompt``. The judge's prompt is ``extra_info["prompt"]`` or the last
user message of ``raw_prompt``, else the decoded prompt ids.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from . import load_judge_spec, missing_extra

try:
    from verl import DataProto
    from verl.experimental.reward_loop.reward_manager import register as _register_reward_manager
    from verl.experimental.reward_loop.reward_manager.base import RewardManagerBase
    from verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY, register_adv_est
except ImportError as _e:  # pragma: no cover - exercised only without the extra
    raise missing_extra("verl", "verl", _e) from _e

from ..errors import G2RError
from ..examples import Example, sparse_reward, validate_rubric
from ..rl.advantages import available_estimators, compute_advantages
from ..rl.rollout import token_char_offsets
from ..spans import project_rewards

__all__ = [
    "ESTIMATOR_PREFIX", "G2RRewardManager", "RewardSettings", "compute_score", "dense_supported", "group_ids",
    "register_estimators", "reward_tensor", "score_responses", "verl_estimator",
]

#: verl names of the g2r_lens estimators: ``g2r_<name>``
ESTIMATOR_PREFIX = "g2r_"
#: the reward manager's name in verl's reward-loop registry (``reward.reward_manager.name``)
REWARD_MANAGER_NAME = "g2r"
SPARSE = "sparse"


# ---------------------------------------------------------------------------------- estimators

def group_ids(index: Sequence[Any]) -> torch.Tensor:
    """verl's ``index`` (one uid per row, any hashable) -> int group ids ``[B]``, in first-seen order."""
    seen: dict[Any, int] = {}
    return torch.tensor([seen.setdefault(u, len(seen)) for u in list(index)], dtype=torch.long)


def _config_params(config: Any, name: str) -> dict[str, Any]:
    if config is None:
        return {}
    getter = getattr(config, "get", None)
    try:
        allp = getter("g2r_params", None) if getter else getattr(config, "g2r_params", None)
    except Exception:  # a dataclass config without the key
        allp = None
    if not allp:
        return {}
    p = allp.get(name) if hasattr(allp, "get") else None
    return dict(p) if p else {}


def verl_estimator(name: str, **params: Any):
    """A verl advantage estimator (``(token_level_rewards, response_mask, index, config, ...) ->
    (advantages, returns)``) around the g2r_lens estimator ``name``. ``returns`` equal the advantages,
    as for verl's own critic-free estimators."""
    if name not in available_estimators():
        raise G2RError(f"unknown advantage estimator {name!r}; choose one of {available_estimators()}")

    def estimator(token_level_rewards: torch.Tensor, response_mask: torch.Tensor, index: Any = None,
                  config: Any = None, **_: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if index is None:
            raise G2RError(f"{ESTIMATOR_PREFIX}{name} needs verl's per-prompt uid (`index`) to form groups")
        r = token_level_rewards
        mask = response_mask.bool()
        seq = (r.double() * mask).sum(-1)
        kw = {**params, **_config_params(config, name)}
        adv = compute_advantages(name, r.detach().cpu(), seq.detach().cpu(), mask.cpu(), group_ids(index), **kw)
        adv = adv.to(device=r.device, dtype=r.dtype)
        return adv, adv

    estimator.__name__ = f"{ESTIMATOR_PREFIX}{name}"
    estimator.__doc__ = f"g2r_lens advantage estimator {name!r} (g2r_lens.rl.advantages) for verl."
    return estimator


def register_estimators(params: Mapping[str, Mapping[str, Any]] | None = None) -> list[str]:
    """Register (or re-register with new ``params``) every g2r_lens estimator as ``g2r_<name>`` in
    verl's registry. Returns the verl names."""
    params = dict(params or {})
    unknown = sorted(set(params) - set(available_estimators()))
    if unknown:
        raise G2RError(f"parameters for unknown estimators {unknown}; choose among {available_estimators()}")
    names = []
    for name in available_estimators():
        vname = ESTIMATOR_PREFIX + name
        ADV_ESTIMATOR_REGISTRY.pop(vname, None)  # register_adv_est refuses a different function
        register_adv_est(vname)(verl_estimator(name, **params.get(name, {})))
        names.append(vname)
    return names


register_estimators()


# ---------------------------------------------------------------------------------- scoring

class RewardSettings:
    """The reward manager's options (``reward.reward_kwargs.g2r`` in a verl config).

    judge: ``"external"`` / ``"self"`` (the bundled world's judges) or a model folder;
    method: an attribution method (dense arm) or ``"sparse"`` (sequence reward on the last token);
    tau, tau_mode, attribute_false, method_params: as for :func:`g2r_lens.attribute`;
    batch_size: judge pairs per forward/backward; device, dtype, template: how to load the judge;
    rubrics: JSONL or parquet file with ``prompt`` and ``rubric`` (see the module docstring).
    """

    KEYS = ("judge", "method", "tau", "tau_mode", "attribute_false", "method_params", "batch_size", "device",
            "dtype", "template", "rubrics")

    def __init__(self, judge: Any = "external", method: str = "grad_x_input", tau: float = 1.0,
                 tau_mode: str = "relative", attribute_false: bool = False, method_params: Mapping | None = None,
                 batch_size: int = 16, device: str = "auto", dtype: str = "auto", template: str = "auto",
                 rubrics: str | None = None) -> None:
        from ..attribution import available_methods

        if method != SPARSE and method not in available_methods():
            raise G2RError(f"g2r reward method {method!r} is neither 'sparse' nor one of {available_methods()}")
        self.judge, self.method, self.tau, self.tau_mode = judge, method, float(tau), tau_mode
        self.attribute_false, self.method_params = bool(attribute_false), dict(method_params or {})
        self.batch_size, self.device, self.dtype, self.template = int(batch_size), device, dtype, template
        self.rubrics = rubrics

    @property
    def dense(self) -> bool:
        return self.method != SPARSE

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any] | None) -> "RewardSettings":
        d = dict(d or {})
        bad = sorted(set(d) - set(cls.KEYS))
        if bad:
            raise G2RError(f"unknown g2r reward option(s) {bad}; known: {list(cls.KEYS)}")
        return cls(**d)


def _text_positions(offsets: Sequence[tuple[int, int]]) -> list[int]:
    return [i for i, (s, e) in enumerate(offsets) if e > s]


def score_responses(judge: Any, prompts: Sequence[str], responses: Sequence[str], rubrics: Sequence[Any],
                    policy_offsets: Sequence[Sequence[tuple[int, int]]], settings: RewardSettings
                    ) -> tuple[list[np.ndarray], list[dict[str, float]]]:
    """Token rewards on the policy's tokens, one array per row (``len(policy_offsets[i])`` values), and
    the diagnostics of each row.

    Dense arm: :func:`g2r_lens.attribute` with ``settings.method``; its rewards (on the judge's
    tokens) are projected onto the policy's tokens that cover text (special tokens such as the end
    token cover none) with :func:`g2r_lens.project_rewards`, so each row sums to its sparse reward.
    Sparse arm: the rubric reward on the last valid token. Whitespace-only responses get 0.
    """
    from ..core import attribute

    n = len(responses)
    if not (len(prompts) == len(rubrics) == len(policy_offsets) == n):
        raise G2RError("prompts, responses, rubrics and policy offsets must have one entry per row")
    exs = [Example(p, r, list(rb), id=f"row{i}") for i, (p, r, rb) in enumerate(zip(prompts, responses, rubrics))]
    for e in exs:
        try:
            validate_rubric(e.rubric)
        except G2RError as err:
            raise type(err)(f"{e.id}: {err}") from None
    live = [i for i in range(n) if responses[i].strip()]
    out = [np.zeros(len(o)) for o in policy_offsets]
    info = [{"g2r_sparse_reward": 0.0, "g2r_n_true": 0.0, "g2r_p_true_mean": math.nan,
             "g2r_alpha_entropy": math.nan, "g2r_conservation_error": 0.0} for _ in range(n)]
    if not live:
        return out, info

    def last(i: int, value: float) -> None:
        if len(out[i]):
            out[i][-1] = value

    if not settings.dense:
        verdicts = judge.verdicts([exs[i] for i in live], batch_size=settings.batch_size)
        for i, v in zip(live, verdicts):
            z = [bool(c["verdict"]) for c in v]
            R = sparse_reward([c.weight for c in exs[i].rubric], z)
            last(i, R)
            info[i].update(g2r_sparse_reward=R, g2r_n_true=float(sum(z)),
                           g2r_p_true_mean=float(np.mean([c["p_true"] for c in v])))
        return out, info

    m = settings.method
    run = attribute(judge, [exs[i] for i in live], [m], tau=settings.tau, tau_mode=settings.tau_mode,
                    attribute_false=settings.attribute_false, batch_size=settings.batch_size,
                    method_params={m: settings.method_params} if settings.method_params else None, progress=False)
    for i, er in zip(live, run.examples):
        mr = er.methods[m]
        R = float(er.sparse_reward)
        pos = _text_positions(policy_offsets[i])
        if pos:
            out[i][pos] = project_rewards(mr.rewards, er.offsets, [policy_offsets[i][p] for p in pos])
        else:
            last(i, R)
        ent = [h for h, c in zip(mr.entropy, er.criteria) if c.verdict and math.isfinite(h)]
        info[i].update(g2r_sparse_reward=R, g2r_n_true=float(sum(c.verdict for c in er.criteria)),
                       g2r_p_true_mean=float(np.mean([c.p_true for c in er.criteria])),
                       g2r_alpha_entropy=float(np.mean(ent)) if ent else math.nan,
                       g2r_conservation_error=abs(float(out[i].sum()) - R))
    return out, info


def _policy_text_offsets(tokenizer: Any, ids: Sequence[int]) -> tuple[str, list[tuple[int, int]]]:
    """Decoded response text and the character span of every token (special tokens: empty spans)."""
    ids = [int(t) for t in ids]
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    end = len(ids)
    while end and ids[end - 1] in special:
        end -= 1
    body = ids[:end]
    text = tokenizer.decode(body, skip_special_tokens=True)
    offs = token_char_offsets(tokenizer, body, text) if body else []
    return text, offs + [(len(text), len(text))] * (len(ids) - end)


def _as_rubric(x: Any) -> list | None:
    if x is None:
        return None
    if isinstance(x, str):
        try:
            x = json.loads(x)
        except json.JSONDecodeError:
            return None
    if isinstance(x, np.ndarray):
        x = x.tolist()
    if isinstance(x, (list, tuple)) and x:
        return [dict(c) if isinstance(c, Mapping) else c for c in x]
    return None


def _user_text(raw_prompt: Any) -> str | None:
    if isinstance(raw_prompt, np.ndarray):
        raw_prompt = raw_prompt.tolist()
    if isinstance(raw_prompt, str):
        return raw_prompt
    if isinstance(raw_prompt, (list, tuple)):
        users = [m.get("content") for m in raw_prompt if isinstance(m, Mapping) and m.get("role") == "user"]
        if users and isinstance(users[-1], str):
            return users[-1]
    return None


def load_rubric_table(path: str | Path | Sequence[str]) -> dict[str, list]:
    """``{prompt: rubric}`` from JSONL or parquet files (a path, comma-separated paths or a list)
    with ``prompt`` and ``rubric`` fields (or verl's ``extra_info`` / ``reward_model``); the
    ``prompt`` may be a string or a chat message list (its last user message counts)."""
    if not isinstance(path, (str, Path)):
        paths = [str(p) for p in path]
    else:
        paths = [p for p in str(path).split(",") if p.strip()]
    if len(paths) != 1:
        table: dict[str, list] = {}
        for p in paths:
            table.update(load_rubric_table(p.strip()))
        return table
    path = Path(paths[0].strip())
    if not path.exists():
        raise G2RError(f"rubric table {str(path)!r} does not exist")
    if path.suffix == ".parquet":
        import pandas as pd

        rows = pd.read_parquet(path).to_dict("records")
    else:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    table = {}
    for r in rows:
        extra = r.get("extra_info") if isinstance(r.get("extra_info"), Mapping) else {}
        p = extra.get("prompt") or _user_text(r.get("prompt"))
        rb = _as_rubric(r.get("rubric")) or _as_rubric(extra.get("rubric")) or \
            _as_rubric((r.get("reward_model") or {}).get("ground_truth"))
        if p is not None and rb:
            table[p] = rb
    if not table:
        raise G2RError(f"rubric table {str(path)!r} has no rows with a prompt and a rubric")
    return table


def _rows(data: DataProto, tokenizer: Any, table: Mapping[str, list] | None):
    """Per row: (judge prompt, rubric, response text, policy offsets, valid response length)."""
    prompts_t = data.batch["prompts"]
    responses = data.batch["responses"]
    am = data.batch["attention_mask"]
    P, L = prompts_t.shape[-1], responses.shape[-1]
    ntb = data.non_tensor_batch
    out = []
    for i in range(len(data)):
        n_valid = int(am[i, P:P + L].sum())
        text, offs = _policy_text_offsets(tokenizer, responses[i, :n_valid].tolist())
        extra = ntb["extra_info"][i] if "extra_info" in ntb else None
        extra = extra if isinstance(extra, Mapping) else {}
        prompt = extra.get("prompt") or (_user_text(ntb["raw_prompt"][i]) if "raw_prompt" in ntb else None)
        if prompt is None:
            pv = int(am[i, :P].sum())
            prompt = tokenizer.decode(prompts_t[i, P - pv:].tolist(), skip_special_tokens=True)
        rubric = _as_rubric(extra.get("rubric"))
        if rubric is None and "reward_model" in ntb and isinstance(ntb["reward_model"][i], Mapping):
            rubric = _as_rubric(ntb["reward_model"][i].get("ground_truth"))
        if rubric is None and table:
            rubric = table.get(prompt)
        if rubric is None:
            raise G2RError(f"row {i}: no rubric found (extra_info['rubric'], reward_model['ground_truth'] "
                           f"or the 'rubrics' table) for prompt {prompt[:80]!r}")
        out.append((prompt, rubric, text, offs, n_valid))
    return out


def reward_tensor(data: DataProto, judge: Any, tokenizer: Any, settings: RewardSettings,
                  table: Mapping[str, list] | None = None) -> tuple[torch.Tensor, dict[str, list]]:
    """The ``(batch, response_length)`` float32 reward tensor of a verl batch and its extra info
    (lists, one value per row). Needs ``prompts``, ``responses`` and ``attention_mask`` (left-padded
    prompts, right-padded responses, as verl lays them out)."""
    rows = _rows(data, tokenizer, table)
    toks, info = score_responses(judge, [r[0] for r in rows], [r[2] for r in rows], [r[1] for r in rows],
                                 [r[3] for r in rows], settings)
    rt = torch.zeros_like(data.batch["responses"], dtype=torch.float32)
    for i, t in enumerate(toks):
        if len(t):
            rt[i, :len(t)] = torch.as_tensor(t, dtype=torch.float32)
    extra = {k: [d[k] for d in info] for k in info[0]} if info else {}
    return rt, extra


# ---------------------------------------------------------------------------------- reward manager

def dense_supported(config: Any) -> bool:
    """Whether verl 0.9.1 sends this config's rows to :meth:`G2RRewardManager.run_single` on the
    colocated reward path (``RewardLoopManager.compute_rm_score``, which calls ``assemble_rm_scores``):
    ``reward.reward_model.enable=True``, ``reward.reward_model.enable_resource_pool=False`` and a
    ``reward.custom_reward_function.path`` (without one, ``RewardLoopWorker.compute_score`` posts
    the rows to the reward-model server instead of calling the reward manager)."""
    reward = config.reward
    rm = reward.reward_model
    crf = reward.get("custom_reward_function", None) or {}
    return (bool(rm.get("enable", False)) and not bool(rm.get("enable_resource_pool", False))
            and crf.get("path", None) is not None)


DENSE_PATH_ERROR = (
    "g2r dense rewards need verl's colocated reward path, where RewardLoopManager.compute_rm_score calls "
    "G2RRewardManager.assemble_rm_scores to write the (batch, response_length) tensor: set "
    "reward.reward_model.enable=True, reward.reward_model.enable_resource_pool=False and "
    "reward.custom_reward_function.path=pkg://g2r_lens.integrations.verl (name=compute_score). Otherwise "
    "verl 0.9.1 computes rewards in the agent loop (one reward per trajectory, on the last token) or on the "
    "reward-model server; use reward.reward_kwargs.g2r.method=sparse there (the sparse arm)."
)


def compute_score(data_source: Any = None, solution_str: Any = None, ground_truth: Any = None,
                  extra_info: Any = None, **_: Any) -> float:
    """Marker for ``reward.custom_reward_function`` (``pkg://g2r_lens.integrations.verl``, name
    ``compute_score``): setting a custom reward function is what makes verl's reward-loop worker
    call :meth:`G2RRewardManager.run_single` on the colocated path. The manager scores whole rows
    itself and never calls this function."""
    raise G2RError("g2r_lens.integrations.verl.compute_score is a marker for verl's config; the g2r "
                   "reward manager (reward.reward_manager.name=G2RRewardManager) does the scoring")


class G2RRewardManager(RewardManagerBase):
    """verl reward-loop manager ``"g2r"``: judge verdicts and dense token rewards (see module docstring).

    Options: ``reward.reward_kwargs.g2r`` (:class:`RewardSettings`). The judge is loaded once per
    process (one per reward-loop worker) and shared by its rows under a lock.
    """

    _judges: dict[tuple, Any] = {}
    _lock = threading.Lock()

    def __init__(self, config: Any, tokenizer: Any, compute_score: Any = None, reward_router_address: Any = None,
                 reward_model_tokenizer: Any = None, settings: RewardSettings | Mapping | None = None,
                 judge: Any = None) -> None:
        super().__init__(config, tokenizer, compute_score)
        if settings is None:
            kw = config.reward.get("reward_kwargs", None) if config is not None else None
            settings = (kw or {}).get("g2r", None)
            settings = dict(settings) if settings is not None else {}
            mp = settings.get("method_params")
            if mp is not None:
                settings["method_params"] = dict(mp)
        self.settings = settings if isinstance(settings, RewardSettings) else RewardSettings.from_mapping(settings)
        if self.settings.dense and config is not None and not dense_supported(config):
            raise G2RError(DENSE_PATH_ERROR)
        self._judge = judge
        rub = self.settings.rubrics
        self._table = load_rubric_table(list(rub) if not isinstance(rub, (str, Path)) else rub) if rub else None

    @property
    def judge(self) -> Any:
        if self._judge is None:
            s = self.settings
            key = (str(s.judge), s.device, s.dtype, s.template)
            with self._lock:
                if key not in self._judges:
                    self._judges[key] = load_judge_spec(s.judge, device=s.device, dtype=s.dtype, template=s.template)
            self._judge = self._judges[key]
        return self._judge

    def score_batch(self, data: DataProto) -> tuple[torch.Tensor, dict[str, list]]:
        with self._lock:
            return reward_tensor(data, self.judge, self.tokenizer, self.settings, self._table)

    async def run_single(self, data: DataProto) -> dict:
        data = data[-1:]  # multi-output trajectories: the last sequence carries the reward (as verl's naive)
        rt, extra = await asyncio.get_running_loop().run_in_executor(None, lambda: self.score_batch(data))
        n = int(data.batch["attention_mask"][0, data.batch["prompts"].shape[-1]:].sum())
        row = rt[0, :n].tolist()
        info = {k: v[0] for k, v in extra.items()}
        info["acc"] = info["g2r_sparse_reward"]
        score: Any = row if self.settings.dense else info["g2r_sparse_reward"]
        return {"reward_score": score, "reward_extra_info": info}

    @classmethod
    def assemble_rm_scores(cls, data: DataProto, scores: list) -> torch.Tensor:
        """``rm_scores [B, response_length]``: a list score is written over the row's first tokens
        (dense), a number on the row's last valid token (sparse, as verl's base class)."""
        if not any(isinstance(s, (list, tuple, np.ndarray, torch.Tensor)) for s in scores):
            return super().assemble_rm_scores(data, scores)
        P = data.batch["prompts"].size(1)
        lengths = data.batch["attention_mask"][:, P:].sum(dim=1).tolist()
        rm = torch.zeros_like(data.batch["responses"], dtype=torch.float32)
        for i, (s, n) in enumerate(zip(scores, lengths)):
            if isinstance(s, (list, tuple, np.ndarray, torch.Tensor)):
                v = torch.as_tensor(s, dtype=torch.float32).flatten()
                if len(v) > rm.shape[1]:
                    raise G2RError(f"row {i}: {len(v)} token rewards for a response of {rm.shape[1]} positions")
                rm[i, :len(v)] = v
            elif n > 0:
                rm[i, int(n) - 1] = float(s)
        return rm


_register_reward_manager(REWARD_MANAGER_NAME)(G2RRewardManager)
