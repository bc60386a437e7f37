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
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np
import torch

from .errors import G2RError
from .examples import Example
from .judge import EncodedPair, Judge

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
