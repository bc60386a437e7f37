"""Analysis of attribution results: words, re-tempering, method agreement, truth, deletion, lens.

Everything here is plain numpy/pandas over :class:`~g2r_lens.results.ExampleResult` objects, except
:func:`deletion_curve` / :func:`deletion_curves` (from :mod:`g2r_lens.faithfulness`), which re-score
the judge.

- **Words.** :func:`word_units` groups response tokens into words (runs of letters/digits, with
  inner apostrophes) and runs of punctuation, by character overlap; every token belongs to exactly
  one unit, so summing token values per unit conserves totals (the dense reward still adds up to
  the sparse reward at word granularity). A token that spans two units merges them; a
  whitespace-only token joins the next unit (or the previous one at the end).
- **Re-tempering.** :func:`retemper` recomputes α and the dense rewards for another τ from the
  stored scores, without touching the judge.
- **Agreement.** :func:`spearman` (average ranks for ties) and :func:`topk_overlap` between two
  methods' scores of the same tokens; :func:`agreement_matrix` for many methods.
- **Truth.** :func:`truth_mask` / :func:`localisation` against the character spans that the
  bundled world's checker marks per criterion.
- **Deletion curves.** :func:`deletion_curve` / :func:`deletion_curves` / :func:`ranking` live in
  :mod:`g2r_lens.faithfulness` (their one home, with AOPC) and are re-exported here.
- **Lens.** :func:`lens_records` / :func:`lens_table`: over many responses, which words (or word
  pairs) a judge credits or penalises, per criterion kind or criterion text. Each criterion row is
  scaled to [-1, 1] by its largest word magnitude first, so responses and methods of different
  scales weigh the same.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import G2RError
from .examples import Example, rubric_normaliser
from .faithfulness import DeletionCurve, auroc, deletion_curve, deletion_curves, rankdata, ranking  # noqa: F401
from .faithfulness import spearman as _spearman
from .registry import Registry
from .results import ExampleResult, MethodResult
from .spans import token_mask_for_char_spans

__all__ = [
    "WordUnits", "word_units", "aggregate_units", "WORD_REDUCERS", "register_word_reducer",
    "retemper", "criterion_rewards",
    "rankdata", "spearman", "topk_overlap", "agreement_table", "agreement_matrix",
    "truth_mask", "localisation",
    "DeletionCurve", "ranking", "deletion_curve", "deletion_curves",
    "criterion_groups", "lens_records", "lens_table", "top_phrases", "judge_checker_table",
]

# ---------------------------------------------------------------------------------------- words
_UNIT_RE = re.compile(r"\w+(?:['\u2019]\w+)*|[^\w\s]+")


@dataclass
class WordUnits:
    """Words and punctuation runs of a response, each with the tokens that make it up.

    ``texts[u]`` is ``response[spans[u][0]:spans[u][1]]``; ``token_groups[u]`` lists the token
    indices of unit ``u``; ``token_to_unit[t]`` is the unit of token ``t``.
    """

    texts: list[str]
    spans: list[tuple[int, int]]
    token_groups: list[list[int]]
    token_to_unit: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)


def word_units(text: str, offsets: Sequence[Sequence[int]]) -> WordUnits:
    """Group tokens (character ``offsets`` into ``text``) into words and punctuation runs."""
    T = len(offsets)
    raw = [(m.start(), m.end()) for m in _UNIT_RE.finditer(text)]
    if T == 0:
        return WordUnits([], [], [], np.zeros(0, dtype=int))
    if not raw:  # no word at all: one unit with every token
        s = min(int(a) for a, _ in offsets)
        e = max(int(b) for _, b in offsets)
        return WordUnits([text[s:e]], [(s, e)], [list(range(T))], np.zeros(T, dtype=int))
    parent = list(range(len(raw)))

    def find(u: int) -> int:
        while parent[u] != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u

    ends = [b for _, b in raw]
    hits: list[list[int]] = []
    for s, e in offsets:
        s, e = int(s), int(e)
        h = []
        if e > s:
            u = bisect.bisect_right(ends, s)  # first unit ending after s
            while u < len(raw) and raw[u][0] < e:
                h.append(u)
                u += 1
        hits.append(h)
        for u in h[1:]:
            parent[find(u)] = find(h[0])
    owner: list[int | None] = [find(h[0]) if h else None for h in hits]
    if all(o is None for o in owner):  # the tokens touch no word: one unit with every token
        s = min(int(a) for a, _ in offsets)
        e = max(int(b) for _, b in offsets)
        return WordUnits([text[s:e]], [(s, e)], [list(range(T))], np.zeros(T, dtype=int))
    # tokens that touch no unit (whitespace, empty specials) join the next owned token's unit, or
    # the previous one at the end of the response
    nxt: int | None = None
    for t in range(T - 1, -1, -1):
        if owner[t] is None:
            owner[t] = nxt
        nxt = owner[t]
    prev: int | None = None
    for t in range(T):
        if owner[t] is None:
            owner[t] = prev
        prev = owner[t]
    span: dict[int, list[int]] = {}
    for u, (a, b) in enumerate(raw):
        r = find(u)
        lo, hi = span.get(r, [a, b])
        span[r] = [min(lo, a), max(hi, b)]
    roots = sorted({int(o) for o in owner}, key=lambda r: span[r][0])
    index = {r: i for i, r in enumerate(roots)}
    groups: list[list[int]] = [[] for _ in roots]
    t2u = np.zeros(T, dtype=int)
    for t, o in enumerate(owner):
        t2u[t] = index[int(o)]
        groups[index[int(o)]].append(t)
    spans = [(span[r][0], span[r][1]) for r in roots]
    return WordUnits([text[a:b] for a, b in spans], spans, groups, t2u)


#: named reducers of a unit's token values ``x[..., k] -> [...]`` (inseq ``aggregation_functions``
#: style); :func:`aggregate_units` takes their names, :func:`register_word_reducer` adds one
WORD_REDUCERS: Registry[Callable[[np.ndarray], np.ndarray]] = Registry("aggregation")


def register_word_reducer(name: str, **capabilities: Any):
    """Decorator: register ``fn(x[..., k]) -> [...]`` as the word reducer ``name``. Declare
    ``conserves_sum=True`` when the unit values add up to the token values' total."""
    return WORD_REDUCERS.register(name, **capabilities)


@register_word_reducer("sum", conserves_sum=True)
def _sum(x: np.ndarray) -> np.ndarray:
    return x.sum(-1)


@register_word_reducer("mean")
def _mean(x: np.ndarray) -> np.ndarray:
    return x.mean(-1)


@register_word_reducer("max")
def _max(x: np.ndarray) -> np.ndarray:
    return x.max(-1)


@register_word_reducer("absmax")
def _absmax(x: np.ndarray) -> np.ndarray:
    """The value of largest magnitude, sign kept."""
    idx = np.nanargmax(np.abs(np.nan_to_num(x, nan=0.0)), axis=-1)
    return np.take_along_axis(x, np.expand_dims(idx, -1), -1)[..., 0]


def aggregate_units(values: Any, units: WordUnits, how: str = "sum") -> np.ndarray:
    """Aggregate ``values[..., T]`` over each unit's tokens with the word reducer ``how``: ``sum``
    (default; conserves totals), ``mean``, ``max``, ``absmax`` (the value of largest magnitude, sign
    kept) or any registered with :func:`register_word_reducer`."""
    reduce = WORD_REDUCERS.get(how)
    v = np.asarray(values, dtype=float)
    if v.shape[-1] != len(units.token_to_unit):
        raise G2RError(f"{v.shape[-1]} values for {len(units.token_to_unit)} tokens")
    out = np.zeros(v.shape[:-1] + (len(units),))
    for u, g in enumerate(units.token_groups):
        out[..., u] = reduce(v[..., g])
    return out


# ----------------------------------------------------------------------------------- rewards
def retemper(example: ExampleResult, tau: float, tau_mode: str = "relative") -> ExampleResult:
    """A copy of ``example`` whose α, dense rewards, τ and entropies use another temperature.

    Scores and verdicts are unchanged; the sum of the dense rewards is still the sparse reward.
    """
    import torch

    from .rewards import dense_rewards

    w = [c.weight for c in example.criteria]
    z = [c.verdict for c in example.criteria]
    T = len(example.tokens)
    methods = {}
    for name, m in example.methods.items():
        s = [None if x is None else torch.tensor(x, dtype=torch.float64) for x in m.scores]
        d = dense_rewards(s, w, z, tau=tau, tau_mode=tau_mode, n_tokens=T, method=name)
        methods[name] = dataclasses.replace(
            m, alphas=[d.alphas[k].tolist() if s[k] is not None else None for k in range(len(s))],
            rewards=d.rewards.tolist(), taus=d.taus, entropy=d.entropy)
    return dataclasses.replace(example, methods=methods)


def criterion_rewards(example: ExampleResult, method: str) -> np.ndarray:
    """``[K, T]``: each criterion's share of the dense reward, ``w_k α_k / Σ max(w, 0)`` when judged
    True, zero otherwise. Its column sums are the dense rewards."""
    m = _method(example, method)
    T = len(example.tokens)
    denom = rubric_normaliser(c.weight for c in example.criteria)
    out = np.zeros((len(example.criteria), T))
    for k, c in enumerate(example.criteria):
        if c.verdict and m.alphas[k] is not None:
            out[k] = c.weight * np.asarray(m.alphas[k], dtype=float) / denom
    return out


def _method(example: ExampleResult, method: str) -> MethodResult:
    if method not in example.methods:
        raise G2RError(f"method {method!r} is not in this result; it has {sorted(example.methods)}")
    return example.methods[method]


# --------------------------------------------------------------------------------- agreement
def spearman(a: Any, b: Any) -> float:
    """Spearman rank correlation of two equally long vectors (NaN pairs dropped; NaN when either
    side is constant or fewer than two pairs remain)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise G2RError(f"cannot correlate {a.shape} with {b.shape} values")
    ok = np.isfinite(a) & np.isfinite(b)
    return _spearman(a[ok], b[ok])


def _topk(v: np.ndarray, k: int) -> np.ndarray:
    v = np.where(np.isfinite(v), v, -np.inf)
    return np.argsort(-v, kind="stable")[:k]


def topk_overlap(a: Any, b: Any, k: int) -> float:
    """``|top_k(a) ∩ top_k(b)| / k`` (largest values; ties broken by position)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise G2RError(f"cannot compare {a.shape} with {b.shape} values")
    k = min(int(k), len(a))
    if k < 1:
        return math.nan
    return len(set(_topk(a, k).tolist()) & set(_topk(b, k).tolist())) / k


def agreement_table(values: Mapping[str, Any], k: int = 5) -> pd.DataFrame:
    """One row per pair of methods: ``method_a, method_b, spearman, topk_overlap``."""
    names = list(values)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            rows.append((a, b, spearman(values[a], values[b]), topk_overlap(values[a], values[b], k)))
    return pd.DataFrame(rows, columns=["method_a", "method_b", "spearman", f"top{k}_overlap"])


def agreement_matrix(values: Mapping[str, Any], metric: str = "spearman", k: int = 5) -> pd.DataFrame:
    """Square, symmetric matrix of ``spearman`` or ``topk`` agreement between methods."""
    names = list(values)
    f: Callable[[Any, Any], float]
    if metric == "spearman":
        f = spearman
    elif metric == "topk":
        f = lambda x, y: topk_overlap(x, y, k)  # noqa: E731
    else:
        raise G2RError(f"unknown agreement metric {metric!r}; use spearman or topk")
    m = np.full((len(names), len(names)), math.nan)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if j >= i:
                m[i, j] = m[j, i] = f(values[a], values[b])
    return pd.DataFrame(m, index=names, columns=names)


# -------------------------------------------------------------------------------------- truth
def truth_mask(example: ExampleResult, spans: Sequence[Sequence[int]]) -> np.ndarray:
    """Boolean mask over the response tokens that overlap any of the character ``spans``."""
    return token_mask_for_char_spans(example.offsets, [tuple(map(int, s)) for s in spans])


def localisation(values: Any, mask: Any, alpha: Any | None = None) -> dict[str, float]:
    """How well ``values`` point at the truth tokens ``mask``.

    ``precision``: share of truth among the top-|truth| tokens (R-precision); ``hit_at_1``: whether
    the top token is a truth token; ``auroc``: probability that a truth token outranks another
    (:func:`g2r_lens.faithfulness.auroc`); ``alpha_mass``: share of α on truth tokens (when ``alpha``
    is given). NaN everywhere when the mask is empty (e.g. non-local criteria).
    """
    v = np.asarray(values, dtype=float)
    m = np.asarray(mask, dtype=bool)
    n = int(m.sum())
    if n == 0 or not np.isfinite(v).any():
        return {"n_truth": n, "precision": math.nan, "hit_at_1": math.nan, "auroc": math.nan,
                "alpha_mass": math.nan}
    top = _topk(v, n)
    out = {"n_truth": n, "precision": float(m[top].mean()), "hit_at_1": float(m[top[0]]),
           "auroc": auroc(np.where(np.isfinite(v), v, -np.inf), m)}
    out["alpha_mass"] = float(np.asarray(alpha, dtype=float)[m].sum()) if alpha is not None else math.nan
    return out


# --------------------------------------------------------------------------------------- lens
def criterion_groups(example: ExampleResult | Example, meta: Mapping[str, Any] | None = None,
                     by: str = "kind") -> list[str]:
    """The group of each criterion: its ``kind`` (from the bundled world's meta when present, else
    ``positive weight`` / ``negative weight``), or its ``criterion`` text."""
    crits = example.criteria if isinstance(example, ExampleResult) else example.rubric
    texts = [c.text for c in crits]
    if by == "criterion":
        return texts
    if by != "kind":
        raise G2RError(f"unknown grouping {by!r}; use kind or criterion")
    meta = meta if meta is not None else getattr(example, "meta", {}) or {}
    kinds = meta.get("kinds")
    if kinds and len(kinds) == len(texts):
        return [str(k) for k in kinds]
    return ["positive weight" if c.weight > 0 else "negative weight" for c in crits]


def _norm_row(v: np.ndarray) -> np.ndarray:
    m = float(np.nanmax(np.abs(v))) if v.size and np.isfinite(v).any() else 0.0
    return v / m if m > 0 else np.zeros_like(v)


def lens_records(results: Sequence[ExampleResult], method: str, *,
                 metas: Sequence[Mapping[str, Any] | None] | None = None, by: str = "kind",
                 ngram: int = 1, lowercase: bool = True, punctuation: bool = True,
                 verdict: bool | None = None) -> pd.DataFrame:
    """One row per (example, criterion, word or word pair): its scaled credit.

    Token scores are summed per word, the row is scaled to [-1, 1] by its largest magnitude, and a
    word pair (``ngram=2``) takes the mean of its two words. ``metas`` (one per result; the
    bundled world's example meta) supplies the kinds and the checker's truth spans (``truth``: the
    phrase overlaps a truth span of that criterion). ``verdict``: keep only criteria judged True
    (or False); None keeps all. Criteria that were not attributed are skipped.
    """
    if ngram not in (1, 2):
        raise G2RError("ngram must be 1 (words) or 2 (word pairs)")
    rows = []
    metas = list(metas) if metas is not None else [None] * len(results)
    if len(metas) != len(results):
        raise G2RError("give one meta per result")
    for ex, meta in zip(results, metas):
        meta = meta or {}
        m = _method(ex, method)
        units = word_units(ex.response, ex.offsets)
        groups = criterion_groups(ex, meta, by)
        truth = meta.get("truth_spans")
        texts = [t.lower() if lowercase else t for t in units.texts]
        keep = [punctuation or bool(re.search(r"\w", t)) for t in texts]
        for k, c in enumerate(ex.criteria):
            if m.scores[k] is None or (verdict is not None and c.verdict != verdict):
                continue
            v = _norm_row(aggregate_units(m.scores[k], units))
            tr = np.zeros(len(units), dtype=bool)
            if truth and k < len(truth) and truth[k]:
                for u, (a, b) in enumerate(units.spans):
                    tr[u] = any(a < int(e) and int(s) < b for s, e in truth[k])
            idx = [u for u in range(len(units)) if keep[u]]
            seqs = [[u] for u in idx] if ngram == 1 else [[a, b] for a, b in zip(idx, idx[1:]) if b == a + 1]
            for us in seqs:
                rows.append((groups[k], c.text, ex.id, bool(c.verdict), " ".join(texts[u] for u in us),
                             float(np.mean([v[u] for u in us])), bool(any(tr[u] for u in us))))
    return pd.DataFrame(rows, columns=["group", "criterion", "example_id", "verdict", "phrase", "value", "truth"])


def lens_table(records: pd.DataFrame, min_count: int = 2) -> pd.DataFrame:
    """Per (group, phrase): ``n`` occurrences, ``n_examples``, ``mean`` scaled credit, ``total``,
    ``share_positive`` and ``truth_rate`` (share of occurrences on checker truth), sorted by group
    then mean credit (most credited first). Phrases seen fewer than ``min_count`` times are dropped.
    """
    cols = ["group", "phrase", "n", "n_examples", "mean", "total", "share_positive", "truth_rate"]
    if records.empty:
        return pd.DataFrame(columns=cols)
    g = records.groupby(["group", "phrase"], sort=False)
    t = pd.DataFrame({
        "n": g.size(),
        "n_examples": g["example_id"].nunique(),
        "mean": g["value"].mean(),
        "total": g["value"].sum(),
        "share_positive": g["value"].apply(lambda s: float((s > 0).mean())),
        "truth_rate": g["truth"].mean().astype(float),
    }).reset_index()
    t = t[t["n"] >= min_count]
    return t.sort_values(["group", "mean", "phrase"], ascending=[True, False, True]).reset_index(drop=True)[cols]


def top_phrases(table: pd.DataFrame, group: str, k: int = 10, sign: int = 1) -> pd.DataFrame:
    """The ``k`` most credited (``sign=1``) or most penalised (``sign=-1``) phrases of a group."""
    sub = table[table["group"] == group]
    sub = sub[sub["mean"] > 0] if sign > 0 else sub[sub["mean"] < 0]
    return sub.sort_values("mean", ascending=sign < 0, kind="stable").head(k).reset_index(drop=True)


def judge_checker_table(results: Sequence[ExampleResult], metas: Sequence[Mapping[str, Any] | None],
                        by: str = "kind") -> pd.DataFrame:
    """Per group: how often the judge's verdicts match the checker's (bundled-world examples only).

    Columns: ``group, n, judge_true, checker_true, agreement`` (rates in [0, 1]).
    """
    rows = []
    for ex, meta in zip(results, metas):
        chk = (meta or {}).get("checker")
        if not chk or len(chk) != len(ex.criteria):
            continue
        for g, c, ok in zip(criterion_groups(ex, meta, by), ex.criteria, chk):
            rows.append((g, bool(c.verdict), bool(ok)))
    df = pd.DataFrame(rows, columns=["group", "judge", "checker"])
    if df.empty:
        return pd.DataFrame(columns=["group", "n", "judge_true", "checker_true", "agreement"])
    g = df.groupby("group", sort=True)
    return pd.DataFrame({
        "n": g.size(),
        "judge_true": g["judge"].mean(),
        "checker_true": g["checker"].mean(),
        "agreement": g.apply(lambda d: float((d["judge"] == d["checker"]).mean()), include_groups=False),
    }).reset_index()
