"""Faithfulness of token attributions, measured on the judge's own score.

- localisation against known truth tokens: AUROC and precision@k, and whether the judge's verdict
  rests on those tokens at all (:func:`truth_reliance`: the verdict with every truth token replaced);
- deletion and insertion curves on ``log p(True)``: the response's top-ranked tokens are replaced
  (deletion) or restored into an all-replaced response (insertion), with a *real* neutral token
  (a space when that is one token) rather than a ``[MASK]`` a causal LM never saw; the judge
  template, prompt and criterion stay fixed. AOPC summarises each curve (higher is better for both);
- deletion curves of any ranking(s) of the response tokens (:func:`deletion_curve`,
  :func:`deletion_curves` for the methods of a result plus a random-order baseline);
- rank agreement between methods (Spearman).

This module is the one home of the deletion curves and of AOPC (:func:`aopc`);
:mod:`g2r_lens.analysis` re-exports them.
"""

from __future__ import annotations

import dataclasses
import math
import random as _random
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .errors import G2RError
from .examples import Example
from .judge import EncodedPair, Judge
from .results import ExampleResult

DEFAULT_FRACTIONS = tuple(i / 10 for i in range(1, 11))


def rankdata(x: Sequence[float]) -> np.ndarray:
    """Ranks 1..n; ties share the mean of the ranks they span (like ``scipy.stats.rankdata``)."""
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=float)
    xs = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and xs[j + 1] == xs[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Probability that a truth token outranks a non-truth token (ties count half); NaN if undefined."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    r = rankdata(s)
    return float((r[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def precision_at_k(scores: Sequence[float], labels: Sequence[bool], k: int | None = None) -> float:
    """Share of truth tokens among the top-k scores (k defaults to the number of truth tokens).

    Ties at the cut-off are broken by position (earliest first), deterministically.
    """
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=bool)
    k = int(y.sum()) if k is None else k
    if k <= 0:
        return math.nan
    top = np.argsort(-s, kind="mergesort")[:k]
    return float(y[top].mean())


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2:
        return math.nan
    ra, rb = rankdata(a), rankdata(b)
    if ra.std() == 0 or rb.std() == 0:
        return math.nan
    return float(np.corrcoef(ra, rb)[0, 1])


def aopc(base: float, curve: Sequence[float]) -> float:
    """AOPC (Samek et al. 2017): the mean of ``base − v`` over the points ``v`` of a perturbation
    curve. The curve's first point is the unperturbed one (``v = base``, a drop of 0) by convention."""
    return float(np.mean([base - v for v in curve]))


@dataclass
class Curves:
    fractions: list[float]
    deletion: list[float]  # log p(True) after removing the top fraction of tokens
    insertion: list[float]  # log p(True) after restoring only the top fraction
    full: float  # log p(True) of the unperturbed response
    empty: float  # log p(True) with every response token replaced

    @property
    def aopc_deletion(self) -> float:
        """Mean drop ``f(x) − f(x without top-k)`` over the steps (k = 0 included)."""
        return aopc(self.full, [self.full, *self.deletion])

    @property
    def aopc_insertion(self) -> float:
        """Mean gain ``f(only top-k restored) − f(all replaced)`` over the steps (k = 0 included)."""
        return -aopc(self.empty, [self.empty, *self.insertion])


def replacement_id(judge: Judge, replacement: int | None) -> int:
    """The token put in place of a removed response token: a real token of the vocabulary (the
    judge's neutral token by default), never the ``[MASK]`` a causal LM never saw."""
    rep = judge.neutral_id if replacement is None else replacement
    if isinstance(rep, bool) or not isinstance(rep, (int, np.integer)):
        raise G2RError(f"replacement must be a token id, got {rep!r}")
    rep = int(rep)
    n_vocab = judge.model.get_input_embeddings().num_embeddings
    if not 0 <= rep < n_vocab:
        raise G2RError(f"replacement token id {rep} is outside the vocabulary (0..{n_vocab - 1})")
    if rep == getattr(judge.tokenizer, "mask_token_id", None):
        raise G2RError("the replacement must be a real token, not the [MASK] token a causal LM never saw")
    return rep


def encode_pair(judge: Judge, example: Example, k: int, n_tokens: int | None = None) -> EncodedPair:
    """``judge.encode(example, k)``, cut to the first ``n_tokens`` response tokens when a result was
    computed with truncation."""
    if not 0 <= k < len(example.rubric):
        raise G2RError(f"criterion index {k} is out of range (the rubric has {len(example.rubric)} criteria)")
    pair = judge.encode(example, k)
    if n_tokens is not None:
        if n_tokens > pair.n_response:
            raise G2RError(f"the result has {n_tokens} response tokens but the judge encodes {pair.n_response}; "
                           "was it computed with another judge?")
        pair = pair.keep_response_tokens(n_tokens)
    return pair


@torch.no_grad()
def rescore(judge: Judge, jobs: Sequence[tuple[EncodedPair, Sequence[int]]], replacement: int,
            batch_size: int = 32, progress: Callable[[float], None] | None = None) -> list[tuple[float, float]]:
    """``(log p(True), log p(False))`` of each ``(pair, response positions to replace)`` job, batched."""
    out: list[tuple[float, float]] = []
    for s in range(0, len(jobs), batch_size):
        pairs = []
        for pair, positions in jobs[s:s + batch_size]:
            ids = list(pair.input_ids)
            for p in positions:
                ids[pair.resp_start + int(p)] = replacement
            pairs.append(replace(pair, input_ids=ids))
        lt, lf, _ = judge.verdict_logprobs(judge.collate(pairs))
        out.extend(zip(lt.float().tolist(), lf.float().tolist()))
        if progress is not None:
            progress(min(1.0, (s + batch_size) / len(jobs)))
    return out


def perturbation_curves(
    judge: Judge,
    example: Example,
    criterion: int,
    scores: Sequence[float],
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    replacement: int | None = None,
    batch_size: int = 32,
    n_tokens: int | None = None,
) -> Curves:
    """Deletion and insertion curves of one (example, criterion) pair under one ranking."""
    pair = encode_pair(judge, example, criterion, n_tokens)
    T = pair.n_response
    if len(scores) != T:
        raise G2RError(f"{len(scores)} scores for {T} response tokens")
    rep = replacement_id(judge, replacement)
    order = np.argsort(-np.asarray(scores, dtype=float), kind="mergesort")
    ks = [max(1, math.ceil(f * T)) for f in fractions]
    jobs = [(pair, []), (pair, range(T))]  # unperturbed, every response token replaced
    jobs += [(pair, order[:k]) for k in ks]  # deletion: the top k replaced
    jobs += [(pair, order[k:]) for k in ks]  # insertion: only the top k restored
    vals = [lt for lt, _ in rescore(judge, jobs, rep, batch_size)]
    n = len(ks)
    return Curves(list(fractions), vals[2:2 + n], vals[2 + n:2 + 2 * n], vals[0], vals[1])


@dataclass
class TruthReliance:
    """How much the judge's verdict rests on the truth tokens of one pair.

    Localisation (AUROC of a method against the truth tokens) presumes that the judge reads the truth
    tokens. A judge that says True for other reasons (the sentence frame around the truth word, the
    verdict's prior) gives every faithful method nothing to find there: leave-one-out, the exact
    counterfactual, then ranks the truth tokens wherever the judge's indifference puts them, below
    chance when the judge reacts more to other tokens (e.g. function words) than to content words.
    This measures that premise with one counterfactual: every truth token replaced at once."""

    full: tuple[float, float]  # (log p(True), log p(False)) of the unperturbed pair
    removed: tuple[float, float]  # the same with every truth token replaced

    @property
    def drop(self) -> float:
        """``log p(True | x) − log p(True | x without the truth tokens)``."""
        return self.full[0] - self.removed[0]

    @property
    def flips(self) -> bool:
        """The verdict is True with the truth tokens and False without them."""
        return self.full[0] > self.full[1] and not self.removed[0] > self.removed[1]


def truth_reliance(judge: Judge, example: Example, criterion: int, labels: Sequence[bool],
                   replacement: int | None = None, n_tokens: int | None = None) -> TruthReliance:
    """Re-score one pair with every response token marked in ``labels`` replaced (by the judge's
    neutral token by default, as leave-one-out and the deletion curves do); see :class:`TruthReliance`."""
    pair = encode_pair(judge, example, criterion, n_tokens)
    y = np.asarray(labels, dtype=bool)
    if len(y) != pair.n_response:
        raise G2RError(f"{len(y)} labels for {pair.n_response} response tokens")
    rep = replacement_id(judge, replacement)
    full, removed = rescore(judge, [(pair, []), (pair, np.nonzero(y)[0].tolist())], rep)
    return TruthReliance(full, removed)


# ------------------------------------------------------------------ deletion curves of rankings
@dataclass
class DeletionCurve:
    """``log p(True)`` of one criterion as the top-ranked response tokens are replaced."""

    counts: list[int]  # number of response tokens replaced at each point (0 first)
    fractions: list[float]  # counts / number of response tokens
    logp_true: list[float]
    logp_false: list[float]
    order: list[int]  # the ranking used (response token indices, most important first)
    replacement: int

    @property
    def p_true(self) -> list[float]:
        return [math.exp(x) for x in self.logp_true]

    @property
    def aopc(self) -> float:
        """Mean drop ``log p(True | x) − log p(True | x_k)`` over the points (k = 0 included)."""
        return aopc(self.logp_true[0], self.logp_true)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "p_true": self.p_true, "aopc": self.aopc}


def ranking(values: Any, descending: bool = True) -> list[int]:
    """Token indices sorted by value (largest first by default; ties keep their order; NaN last)."""
    v = np.asarray(values, dtype=float)
    v = np.where(np.isfinite(v), v, -np.inf if descending else np.inf)
    return np.argsort(-v if descending else v, kind="stable").tolist()


def _counts(n: int, steps: int | Sequence[int]) -> list[int]:
    if isinstance(steps, (int, np.integer)):
        if steps < 1:
            raise G2RError("deletion curves need steps >= 1")
        return sorted({int(round(x)) for x in np.linspace(0, n, int(steps) + 1)})
    counts = sorted({int(c) for c in steps})
    if not counts or counts[0] < 0 or counts[-1] > n:
        raise G2RError(f"deletion counts must lie in [0, {n}], got {list(steps)}")
    return counts


def deletion_curve(judge: Any, example: Example, criterion_index: int, order: Sequence[int],
                   steps: int | Sequence[int] = 10, replacement: int | None = None, *,
                   n_tokens: int | None = None, batch_size: int = 16,
                   progress: Callable[[float], None] | None = None) -> DeletionCurve:
    """Replace the first ``c`` tokens of ``order`` for each count ``c`` and re-score ``log p(True)``.

    Args:
        judge: the :class:`~g2r_lens.Judge`.
        example: the :class:`~g2r_lens.Example` (prompt, response, rubric) to re-score.
        criterion_index: which criterion's verdict to follow.
        order: response token indices, most important first (see :func:`ranking`); it may rank only
            some tokens, then the curve ends when those are all replaced.
        steps: number of equal steps from 0 to ``len(order)`` tokens, or explicit counts.
        replacement: the token id put in place of a deleted token (default ``judge.neutral_id``).
        n_tokens: keep only the first ``n_tokens`` response tokens (to match a result computed
            with truncation).
        batch_size: perturbed copies per forward pass.
    """
    curves = _deletion(judge, example, criterion_index, {"_": order}, steps, replacement,
                       n_tokens=n_tokens, batch_size=batch_size, progress=progress)
    return curves["_"]


def _deletion(judge, example, k, orders, steps, replacement, *, n_tokens, batch_size, progress):
    rep = replacement_id(judge, replacement)
    pair = encode_pair(judge, example, k, n_tokens)
    T = pair.n_response
    jobs, index = [], []
    for name, order in orders.items():
        order = [int(i) for i in order]
        if len(set(order)) != len(order) or any(not 0 <= i < T for i in order):
            raise G2RError(f"order {name!r} must hold distinct response token indices in [0, {T})")
        counts = _counts(len(order), steps)
        for c in counts:
            jobs.append((pair, order[:c]))
        index.append((name, order, counts))
    scored = rescore(judge, jobs, rep, batch_size, progress)
    out, j = {}, 0
    for name, order, counts in index:
        part = scored[j:j + len(counts)]
        j += len(counts)
        out[name] = DeletionCurve(counts, [c / T for c in counts], [a for a, _ in part], [b for _, b in part],
                                  order, rep)
    return out


def deletion_curves(judge: Any, example: Example, result: ExampleResult, criterion_index: int,
                    methods: Sequence[str] | None = None, steps: int | Sequence[int] = 10, *,
                    random_baseline: bool = True, seed: int = 0, replacement: int | None = None,
                    batch_size: int = 16, progress: Callable[[float], None] | None = None
                    ) -> dict[str, DeletionCurve]:
    """Deletion curves of several methods (tokens ranked by their scores for one criterion) plus a
    random-order baseline (``"random order"``), all re-scored in shared batches."""
    names = list(methods if methods is not None else result.methods)
    orders: dict[str, list[int]] = {}
    for name in names:
        if name not in result.methods:
            raise G2RError(f"method {name!r} is not in this result; it has {sorted(result.methods)}")
        s = result.methods[name].scores[criterion_index]
        if s is None:
            raise G2RError(f"criterion {criterion_index} was not attributed by {name!r} (it was judged False); "
                           "attribute with attribute_false=True to get its curve")
        orders[name] = ranking(s)
    if random_baseline:
        order = list(range(len(result.tokens)))
        _random.Random(seed).shuffle(order)
        orders["random order"] = order
    return _deletion(judge, example, criterion_index, orders, steps, replacement,
                     n_tokens=len(result.tokens), batch_size=batch_size, progress=progress)
