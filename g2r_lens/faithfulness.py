"""Faithfulness of token attributions, measured on the judge's own score.

- localisation against known truth tokens: AUROC and precision@k;
- deletion and insertion curves on ``log p(True)``: the response's top-ranked tokens are replaced
  (deletion) or restored into an all-replaced response (insertion), with a *real* neutral token
  (a space when that is one token) rather than a ``[MASK]`` a causal LM never saw; the judge
  template, prompt and criterion stay fixed. AOPC summarises each curve (higher is better for both);
- rank agreement between methods (Spearman).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .examples import Example
from .judge import Judge

DEFAULT_FRACTIONS = tuple(i / 10 for i in range(1, 11))


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank), 1-based."""
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
    r = _ranks(s)
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
    ra, rb = _ranks(a), _ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return math.nan
    return float(np.corrcoef(ra, rb)[0, 1])


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
        return float(np.mean([0.0] + [self.full - d for d in self.deletion]))

    @property
    def aopc_insertion(self) -> float:
        """Mean gain ``f(only top-k restored) − f(all replaced)`` over the steps (k = 0 included)."""
        return float(np.mean([0.0] + [i - self.empty for i in self.insertion]))


@torch.no_grad()
def perturbation_curves(
    judge: Judge,
    example: Example,
    criterion: int,
    scores: Sequence[float],
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    replacement: int | None = None,
    batch_size: int = 32,
) -> Curves:
    """Deletion and insertion curves of one (example, criterion) pair under one ranking."""
    pair = judge.encode(example, criterion)
    T = pair.n_response
    if len(scores) != T:
        raise ValueError(f"{len(scores)} scores for {T} response tokens")
    rep = judge.neutral_id if replacement is None else int(replacement)
    order = np.argsort(-np.asarray(scores, dtype=float), kind="mergesort")
    ks = [max(1, math.ceil(f * T)) for f in fractions]
    base = np.asarray(pair.input_ids)
    variants = [base.copy()]  # unperturbed
    empty = base.copy()
    empty[pair.resp_start:pair.resp_end] = rep
    variants.append(empty)
    for k in ks:
        d = base.copy()
        d[pair.resp_start + order[:k]] = rep
        variants.append(d)
    for k in ks:
        i = empty.copy()
        i[pair.resp_start + order[:k]] = base[pair.resp_start + order[:k]]
        variants.append(i)
    from dataclasses import replace

    vals: list[float] = []
    for s in range(0, len(variants), batch_size):
        pairs = [replace(pair, input_ids=v.tolist()) for v in variants[s:s + batch_size]]
        vals.extend(judge.verdict_logprobs(judge.collate(pairs))[0].tolist())
    n = len(ks)
    return Curves(list(fractions), vals[2:2 + n], vals[2 + n:2 + 2 * n], vals[0], vals[1])
