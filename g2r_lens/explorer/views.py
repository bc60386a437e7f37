"""The explorer's view models: what each page shows, as plain data the renderers draw.

- the bundled example bank (:func:`example_bank`) and batched attribution with progress
  (:func:`attribute_chunked`), re-tempering without the judge (:func:`with_tau`);
- :class:`View`: a matrix of values over response units (tokens or words) with hover values and
  the checker's truth, built by :func:`inspect_view` (one method, every criterion) and
  :func:`compare_view` (several methods, one criterion);
- headline numbers and tables: :func:`summary`, :func:`criteria_table`, :func:`localisation_table`,
  :func:`deletion_table`; JSON export of any of them: :func:`to_json`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from .. import analysis
from ..errors import G2RError
from ..examples import Example
from ..io import clean_json as _clean
from ..results import AttributionRun, ExampleResult

@dataclass
class Bank:
    """Bundled-world examples (with checker meta) and the tasks they come from."""

    examples: list[Example]
    tasks: dict[str, Any]
    source: str

    def label(self, i: int) -> str:
        e = self.examples[i]
        m = e.meta
        return f"{e.id} · checker {m.get('checker_score', float('nan')):.2f}"

    def task_of(self, example: Example) -> Any:
        return self.tasks.get(example.meta.get("task_id", ""))


BANK_MODES = ("good", "noisy", "keywords", "misplaced", "repeat", "runon")


def example_bank(split: str = "test", n: int = 24, *, seed: int = 0,
                 modes: Sequence[str] = BANK_MODES) -> Bank:
    """``n`` world examples of ``split`` cycling through response ``modes``; the shipped task files
    when they exist, otherwise freshly generated tasks (same generator)."""
    from ..world import generate_tasks
    from ..world.bundle import load_tasks, world_examples

    if n < 1:
        raise G2RError("ask for at least one example")
    try:
        tasks = load_tasks(split)
        source = f"bundled {split} split"
    except G2RError:
        tasks = generate_tasks(min(n, 64), seed, split)
        source = f"generated {split} tasks (the bundled task files are not built yet)"
    exs = world_examples(split, n, seed=seed, modes=tuple(modes), tasks=tasks[: max(1, n)])
    return Bank(exs, {t.id: t for t in tasks}, source)


def attribute_chunked(judge: Any, examples: Sequence[Example], methods: Sequence[str], *, chunk_size: int = 8,
                      progress: Callable[[float, str], None] | None = None, **kw: Any) -> AttributionRun:
    """:func:`g2r_lens.attribute` in chunks of examples, calling ``progress(fraction, message)``."""
    from ..core import attribute

    examples = list(examples)
    if not examples:
        raise G2RError("no examples to attribute")
    ids = [e.id for e in examples]
    if len(set(ids)) != len(ids):
        raise G2RError("example ids must be unique")
    runs = []
    for s in range(0, len(examples), chunk_size):
        part = examples[s:s + chunk_size]
        runs.append(attribute(judge, part, list(methods), progress=False, **kw))
        if progress is not None:
            progress((s + len(part)) / len(examples), f"{s + len(part)} / {len(examples)} responses")
    prov = dict(runs[0].provenance)
    prov["seconds"] = {k: float(sum(r.provenance["seconds"].get(k, 0.0) for r in runs))
                       for k in runs[0].provenance["seconds"]}
    return AttributionRun(prov, [e for r in runs for e in r.examples])


def with_tau(run: AttributionRun, tau: float, tau_mode: str) -> AttributionRun:
    """The run re-tempered (α and rewards for another τ; the judge is not called)."""
    prov = dict(run.provenance, tau=tau, tau_mode=tau_mode)
    return AttributionRun(prov, [analysis.retemper(e, tau, tau_mode) for e in run.examples])


VALUES = {"scores": "attribution score", "alphas": "α = softmax(b/τ)", "rewards": "dense reward"}


def token_label(t: str) -> str:
    if t == "":  # a later byte piece of the previous token's character (g2r_lens.tokenize)
        from ..tokenize import CONTINUATION_MARK

        return CONTINUATION_MARK
    s = t.replace("\n", "⏎").replace("\t", "⇥")
    return s.strip() or "␣"


@dataclass
class View:
    """A matrix of values over response units (tokens or words) for the heatmaps and exports."""

    row_labels: list[str]
    units: list[str]  # display text of each column
    groups: list[list[int]]  # response token indices of each column
    values: np.ndarray  # [R, U]
    hover: dict[str, np.ndarray] = field(default_factory=dict)  # extra [R, U] values shown on hover
    truth: np.ndarray | None = None  # [R, U] bool
    row_kind: list[str] = field(default_factory=list)  # "criterion" | "sum" | "method"
    value_name: str = "scores"
    title: str = ""
    granularity: str = "token"

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for r, lab in enumerate(self.row_labels):
            for u, txt in enumerate(self.units):
                d = {"row": lab, "unit_index": u, "unit": txt, "tokens": " ".join(map(str, self.groups[u])),
                     self.value_name: self.values[r, u]}
                for k, v in self.hover.items():
                    d[k] = v[r, u]
                if self.truth is not None:
                    d["checker_truth"] = bool(self.truth[r, u])
                rows.append(d)
        return pd.DataFrame(rows)


def _units(ex: ExampleResult, granularity: str) -> tuple[list[str], list[list[int]], analysis.WordUnits | None]:
    if granularity == "token":
        return [token_label(t) for t in ex.tokens], [[i] for i in range(len(ex.tokens))], None
    if granularity == "word":
        u = analysis.word_units(ex.response, ex.offsets)
        return [token_label(t) for t in u.texts], u.token_groups, u
    raise G2RError(f"unknown granularity {granularity!r}; use token or word")


def _agg(m: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    m = np.atleast_2d(np.asarray(m, dtype=float))
    return np.stack([m[:, g].sum(1) for g in groups], axis=1) if groups else np.zeros((m.shape[0], 0))


def _truth_tokens(ex: ExampleResult, meta: Mapping[str, Any] | None) -> np.ndarray | None:
    spans = (meta or {}).get("truth_spans")
    if not spans or len(spans) != len(ex.criteria):
        return None
    return np.stack([analysis.truth_mask(ex, s) for s in spans]) if spans else None


def criterion_label(c: Any, width: int = 46) -> str:
    t = c.text if len(c.text) <= width else c.text[: width - 1] + "…"
    return f"{'✓' if c.verdict else '✗'} {c.weight:+g} · {t}"


def inspect_view(ex: ExampleResult, method: str, value: str = "scores", granularity: str = "token",
                 meta: Mapping[str, Any] | None = None) -> View:
    """Rows: every criterion (its scores, α or reward share) and the summed dense reward."""
    if value not in VALUES:
        raise G2RError(f"unknown value {value!r}; use one of {list(VALUES)}")
    m = ex.methods[method]
    T = len(ex.tokens)
    scores = ex.scores(method)
    alphas = np.array([a if a is not None else [math.nan] * T for a in m.alphas], dtype=float).reshape(-1, T)
    shares = analysis.criterion_rewards(ex, method)
    dense = np.asarray(m.rewards, dtype=float)[None]
    main = {"scores": scores, "alphas": alphas, "rewards": shares}[value]
    units, groups, _ = _units(ex, granularity)
    vals = _agg(np.vstack([main, dense]), groups)
    hover = {"score": _agg(np.vstack([scores, np.full((1, T), np.nan)]), groups),
             "alpha": _agg(np.vstack([alphas, np.full((1, T), np.nan)]), groups),
             "reward": _agg(np.vstack([shares, dense]), groups)}
    tt = _truth_tokens(ex, meta)
    truth = None
    if tt is not None:
        truth = np.vstack([_agg(tt.astype(float), groups) > 0, np.zeros((1, len(groups)), dtype=bool)])
    labels = [criterion_label(c) for c in ex.criteria] + ["Σ dense reward"]
    return View(labels, units, groups, vals, hover, truth, ["criterion"] * len(ex.criteria) + ["sum"], value,
                f"{method} · {VALUES[value]}", granularity)


@dataclass
class Summary:
    """The headline numbers of one attributed example under one method."""

    sparse: float
    dense_sum: float
    conservation_error: float  # |Σ_t r_t − sparse reward|
    checker_score: float | None  # bundled-world examples only
    checker_agreement: tuple[int, int] | None  # (criteria where judge == checker, criteria)
    entropy_true: float | None  # mean normalised entropy of α over criteria judged True
    min_entropy_true: float | None

    @property
    def conserved(self) -> bool:
        return self.conservation_error < 1e-6


def summary(ex: ExampleResult, method: str, meta: Mapping[str, Any] | None = None) -> Summary:
    m = ex.methods[method]
    meta = meta or {}
    chk = meta.get("checker")
    agree = (sum(c.verdict == bool(z) for c, z in zip(ex.criteria, chk)), len(ex.criteria)) \
        if chk and len(chk) == len(ex.criteria) else None
    ents = [h for h, c in zip(m.entropy, ex.criteria) if c.verdict and np.isfinite(h)]
    return Summary(ex.sparse_reward, m.reward_sum, abs(m.reward_sum - ex.sparse_reward),
                   meta.get("checker_score") if agree else None, agree,
                   float(np.mean(ents)) if ents else None, float(min(ents)) if ents else None)


def criteria_table(ex: ExampleResult, method: str, view: View | None = None,
                   meta: Mapping[str, Any] | None = None, top: int = 3) -> pd.DataFrame:
    """One row per criterion: verdict, text, kind, weight, p(True), checker, H(α), τ and the ``top``
    units (of ``view``, tokens by default) with the largest attribution scores."""
    m = ex.methods[method]
    meta = meta or {}
    K = len(ex.criteria)
    view = view or inspect_view(ex, method, "scores", "token", meta)
    tops = []
    for k in range(K):
        vals = view.hover["score"][k]
        tops.append(", ".join(view.units[j] for j in analysis.ranking(vals)[:top]) if np.isfinite(vals).any() else "–")
    kinds = meta.get("kinds") if meta.get("kinds") and len(meta["kinds"]) == K else ["–"] * K
    chk = meta.get("checker") if meta.get("checker") and len(meta["checker"]) == K else None
    unit = f"{view.granularity}s"
    return pd.DataFrame({
        "verdict": ["✓ True" if c.verdict else "✗ False" for c in ex.criteria],
        "criterion": [c.text for c in ex.criteria],
        "kind": kinds,
        "weight": [c.weight for c in ex.criteria],
        "p(True)": [c.p_true for c in ex.criteria],
        "checker": ["✓" if z else "✗" for z in chk] if chk else ["–"] * K,
        "H(α)": m.entropy,
        "τ_eff": m.taus,
        f"top {unit}": tops,
    })


def compare_view(ex: ExampleResult, methods: Sequence[str], criterion: int | None, value: str = "scores",
                 granularity: str = "token", meta: Mapping[str, Any] | None = None) -> View:
    """Rows: one per method, for one criterion (``criterion=None``: the summed dense reward)."""
    units, groups, _ = _units(ex, granularity)
    rows, raw = [], []
    for name in methods:
        m = ex.methods[name]
        T = len(ex.tokens)
        if criterion is None:
            v = np.asarray(m.rewards, dtype=float)
        elif value == "scores":
            v = ex.scores(name)[criterion]
        elif value == "alphas":
            a = m.alphas[criterion]
            v = np.asarray(a if a is not None else [math.nan] * T, dtype=float)
        elif value == "rewards":
            v = analysis.criterion_rewards(ex, name)[criterion]
        else:
            raise G2RError(f"unknown value {value!r}; use one of {list(VALUES)}")
        rows.append(name)
        raw.append(v)
    vals = _agg(np.vstack(raw), groups) if raw else np.zeros((0, len(groups)))
    truth = None
    tt = _truth_tokens(ex, meta)
    if tt is not None and criterion is not None:
        truth = np.repeat((_agg(tt[criterion][None].astype(float), groups) > 0), len(rows), axis=0)
    name = "dense reward" if criterion is None else VALUES[value]
    crit = "Σ dense reward" if criterion is None else ex.criteria[criterion].text
    return View(rows, units, groups, vals, {}, truth, ["method"] * len(rows),
                "rewards" if criterion is None else value, f"{crit} · {name}", granularity)



def deletion_table(curves: Mapping[str, analysis.DeletionCurve]) -> pd.DataFrame:
    rows = []
    for name, c in curves.items():
        for n, f, lt, p in zip(c.counts, c.fractions, c.logp_true, c.p_true):
            rows.append((name, n, f, lt, p))
    return pd.DataFrame(rows, columns=["order", "tokens_replaced", "fraction", "logp_true", "p_true"])


def localisation_table(ex: ExampleResult, methods: Sequence[str], criterion: int,
                       meta: Mapping[str, Any] | None) -> pd.DataFrame:
    """Per method, how well its scores point at the checker's truth tokens of one criterion."""
    spans = (meta or {}).get("truth_spans")
    if not spans or criterion >= len(spans):
        return pd.DataFrame()
    mask = analysis.truth_mask(ex, spans[criterion])
    rows = []
    for name in methods:
        s = ex.methods[name].scores[criterion]
        a = ex.methods[name].alphas[criterion]
        if s is None:
            continue
        rows.append({"method": name, **analysis.localisation(s, mask, a)})
    return pd.DataFrame(rows)


def _plain(obj: Any) -> Any:
    if isinstance(obj, pd.DataFrame):
        return obj.to_dict(orient="records") if obj.index.equals(pd.RangeIndex(len(obj))) else \
            {str(i): _plain(r.to_dict()) for i, r in obj.iterrows()}
    if isinstance(obj, analysis.DeletionCurve):
        return obj.to_dict()
    if isinstance(obj, View):
        return {"title": obj.title, "value": obj.value_name, "rows": obj.row_labels, "units": obj.units,
                "tokens": obj.groups, "values": obj.values.tolist(),
                "checker_truth": None if obj.truth is None else obj.truth.tolist()}
    if isinstance(obj, AttributionRun):
        return obj.to_dict()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def to_json(obj: Any) -> str:
    """JSON text of what a view shows: runs, views, DataFrames, deletion curves, arrays and plain
    values in any nesting; NaN/inf are written as null."""
    return json.dumps(_clean(_plain(obj)), ensure_ascii=False, indent=1, allow_nan=False)

