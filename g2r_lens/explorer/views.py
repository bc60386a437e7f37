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
from ..render.style import fmt_number
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
    row_full: list[str] = field(default_factory=list)  # untruncated row labels (exports)

    def to_frame(self) -> pd.DataFrame:
        """One row per (view row, unit): the full row label, the unit, its tokens, the value shown and
        the other values on hover (each once: the one shown is not repeated)."""
        rows = []
        shown = {"scores": "score", "alphas": "alpha", "rewards": "reward"}.get(self.value_name)
        full = self.row_full if len(self.row_full) == len(self.row_labels) else self.row_labels
        for r, lab in enumerate(full):
            for u, txt in enumerate(self.units):
                d = {"row": lab, "unit_index": u, "unit": txt, "tokens": " ".join(map(str, self.groups[u])),
                     self.value_name: self.values[r, u]}
                for k, v in self.hover.items():
                    if k != shown:
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
    full = [criterion_label(c, 10**6) for c in ex.criteria] + ["Σ dense reward"]
    return View(labels, units, groups, vals, hover, truth, ["criterion"] * len(ex.criteria) + ["sum"], value,
                f"{method} · {VALUES[value]}", granularity, full)


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


NEAR = 0.05  # a verdict with |p(True) - 0.5| <= NEAR is marked as near the boundary


def verdict_share(c: Any) -> float:
    """p(True) / (p(True) + p(False)): the verdict's position between the two verdict words (0.5 is the
    boundary; equal to p(True) when the judge puts all its mass on the two words)."""
    t, f = float(c.p_true), float(c.p_false)
    return t / (t + f) if t + f > 0 else 0.5


def verdict_text(c: Any) -> str:
    """``"✓ True"`` / ``"✗ False"``, marked ``"· near 0.5"`` when the verdict is within :data:`NEAR`
    of the boundary (:func:`verdict_share`)."""
    v = "✓ True" if c.verdict else "✗ False"
    return v + (" · near 0.5" if abs(verdict_share(c) - 0.5) <= NEAR + 1e-9 else "")


def quote_units(units: Sequence[str]) -> str:
    """Units for a table cell, each quoted so that punctuation stays readable: “,” “to” “concert”."""
    return " ".join(f"“{u}”" for u in units)


def truth_hit(view: View, k: int) -> str:
    """Whether criterion row ``k`` of ``view`` puts its largest score on the checker's truth:
    ``"✓ top on truth"``, ``"✗ missed truth"`` or ``"–"`` (no truth known, or not attributed)."""
    if view.truth is None or not view.truth[k].any():
        return "–"
    vals = view.hover["score"][k] if "score" in view.hover else view.values[k]
    if not np.isfinite(vals).any():
        return "–"
    return "✓ top on truth" if view.truth[k, analysis.ranking(vals)[0]] else "✗ missed truth"


def headline_table(sm: Summary, ex: ExampleResult) -> pd.DataFrame:
    """The headline numbers of an Inspect view as a two-column table (for the HTML export)."""
    rows = [("sparse reward", f"{sm.sparse:+.4f}"), ("Σ dense reward", f"{sm.dense_sum:+.4f}"),
            ("|Σ dense − sparse|", f"{sm.conservation_error:.1e}"),
            ("checker score", "–" if sm.checker_score is None else f"{sm.checker_score:+.4f}"),
            ("judge agrees with checker", "–" if sm.checker_agreement is None
             else f"{sm.checker_agreement[0]} / {sm.checker_agreement[1]}"),
            ("entropy of α (criteria judged True)", "–" if sm.entropy_true is None else f"{sm.entropy_true:.3f}"),
            ("criteria judged True", f"{sum(c.verdict for c in ex.criteria)} / {len(ex.criteria)}"),
            ("response tokens cut to fit the context", str(ex.truncated_tokens))]
    return pd.DataFrame(rows, columns=["quantity", "value"])


def criteria_table(ex: ExampleResult, method: str, view: View | None = None,
                   meta: Mapping[str, Any] | None = None, top: int = 3) -> pd.DataFrame:
    """One row per criterion: the judge's verdict (marked near 0.5), p(True) and the checker's
    verdict side by side, then the text, kind, weight, whether the largest score is on the checker's
    truth, H(α), τ and the ``top`` units (of ``view``, tokens by default) with the largest scores."""
    m = ex.methods[method]
    meta = meta or {}
    K = len(ex.criteria)
    view = view or inspect_view(ex, method, "scores", "token", meta)
    tops = []
    for k in range(K):
        vals = view.hover["score"][k]
        tops.append(quote_units([view.units[j] for j in analysis.ranking(vals)[:top]])
                    if np.isfinite(vals).any() else "–")
    kinds = meta.get("kinds") if meta.get("kinds") and len(meta["kinds"]) == K else ["–"] * K
    chk = meta.get("checker") if meta.get("checker") and len(meta["checker"]) == K else None
    unit = f"{view.granularity}s"
    return pd.DataFrame({
        "judge": [verdict_text(c) for c in ex.criteria],
        "p(True)": [c.p_true for c in ex.criteria],
        "checker": ["✓ True" if z else "✗ False" for z in chk] if chk else ["–"] * K,
        "criterion": [c.text for c in ex.criteria],
        "weight": [c.weight for c in ex.criteria],
        "kind": kinds,
        "credit vs truth": [truth_hit(view, k) for k in range(K)],
        "H(α)": m.entropy,
        "τ_eff": m.taus,
        f"top {unit}": tops,
    })


def credit_notes(ex: ExampleResult, method: str, view: View, meta: Mapping[str, Any] | None = None) -> list[str]:
    """Plain remarks on where credit went: the unit with the largest positive dense reward when it is
    the forbidden content of a negative-weight criterion, and criteria judged True whose largest
    score misses the checker's truth."""
    notes = []
    if view.truth is None:
        return notes
    dense = view.hover["reward"][-1] if "reward" in view.hover else view.values[-1]
    if np.isfinite(dense).any() and np.nanmax(dense) > 0:
        u = int(np.nanargmax(dense))
        for k, c in enumerate(ex.criteria):
            if c.weight < 0 and view.truth[k, u]:
                notes.append(f"The largest dense reward goes to “{view.units[u]}”, the forbidden content of "
                             f"criterion {k + 1} (weight {c.weight:+g}): credit missed the truth.")
    for k, c in enumerate(ex.criteria):
        if c.verdict and c.weight > 0 and truth_hit(view, k).startswith("✗"):
            notes.append(f"Criterion {k + 1} is judged True but its largest score is not on the checker's "
                         "truth tokens.")
    return notes


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
                "rewards" if criterion is None else value, f"{crit} · {name}", granularity, list(rows))



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


LOCALISATION_NAMES = {"method": "method", "n_truth": "truth tokens", "precision": "R-precision",
                      "hit_at_1": "top token is truth", "auroc": "AUROC (truth vs rest)", "alpha_mass": "α on truth"}


def localisation_display(loc: pd.DataFrame) -> pd.DataFrame:
    """:func:`localisation_table` with human column names (:data:`LOCALISATION_NAMES`)."""
    return loc.rename(columns=LOCALISATION_NAMES)


def topk_tied(v: Any, k: int) -> bool:
    """True when the top ``k`` of ``v`` is not defined by the values: the k-th largest finite value is
    tied with the next one (a uniform control, a flat row), so any choice of top-k is arbitrary."""
    a = np.sort(np.asarray(v, dtype=float)[np.isfinite(np.asarray(v, dtype=float))])[::-1]
    if k < 1 or len(a) <= k:
        return False
    return bool(a[k - 1] == a[k])


def topk_matrix(values: Mapping[str, Any], k: int) -> pd.DataFrame:
    """:func:`g2r_lens.analysis.agreement_matrix` of top-``k`` overlap, NaN (shown "–") wherever either
    side's top-k is decided by ties (:func:`topk_tied`) rather than by its values."""
    m = analysis.agreement_matrix(values, "topk", int(k))
    tied = [n for n, v in values.items() if topk_tied(v, min(int(k), len(np.asarray(v))))]
    for n in tied:
        m.loc[n, :] = math.nan
        m.loc[:, n] = math.nan
    return m


def merge_runs(runs: Sequence[AttributionRun]) -> AttributionRun:
    """Runs of the same examples under different methods (one cached call per method) as one run:
    every example carries the methods of all runs; provenance is the first run's, methods listed."""
    if not runs:
        raise G2RError("no runs to merge")
    base = runs[0]
    exs = []
    for i, e in enumerate(base.examples):
        methods = {}
        for r in runs:
            other = r.examples[i]
            if other.response != e.response or [c.text for c in other.criteria] != [c.text for c in e.criteria]:
                raise G2RError("the runs to merge do not hold the same examples")
            methods.update(other.methods)
        exs.append(ExampleResult(**{**e.__dict__, "methods": methods}))
    prov = dict(base.provenance)
    prov["methods"] = [m for r in runs for m in r.provenance.get("methods", [])] or list(exs[0].methods)
    return AttributionRun(prov, exs)


def example_quality(ex: ExampleResult, method: str, meta: Mapping[str, Any] | None) -> tuple[int, int, float]:
    """How well ``ex`` shows the point of the explorer: ``(criteria judged True whose largest score
    lands on the checker's truth, criteria judged True with truth tokens, sparse reward)``."""
    if method not in ex.methods:
        return 0, 0, -math.inf
    view = inspect_view(ex, method, "scores", "token", meta)
    hits = with_truth = 0
    for k, c in enumerate(ex.criteria):
        if c.verdict and c.weight > 0 and view.truth is not None and view.truth[k].any():
            with_truth += 1
            hits += truth_hit(view, k).startswith("✓")
    return hits, with_truth, float(ex.sparse_reward)


def best_example(run: AttributionRun, method: str, metas: Sequence[Mapping[str, Any] | None]) -> int:
    """The index of the example that best shows the point (:func:`example_quality`): True verdicts
    whose credit lands on the checker's truth tokens. Ties: the earlier example."""
    q = [example_quality(e, method, m) for e, m in zip(run.examples, metas)]
    return max(range(len(q)), key=lambda i: (q[i], -i))


def candidate_examples(examples: Sequence[Example], k: int = 6) -> list[int]:
    """The ``k`` bank examples most likely to show the point, from the checker alone (no judge call):
    most positive-weight criteria satisfied with truth tokens first. The judge then picks among them
    (:func:`best_example`), so the first screen costs ``k`` attributions, not the whole bank."""
    def n_truth(e: Example) -> int:
        m = e.meta or {}
        chk, spans = m.get("checker") or [], m.get("truth_spans") or []
        return sum(bool(z) and bool(sp) and c.weight > 0 for c, z, sp in zip(e.rubric, chk, spans))

    order = sorted(range(len(examples)), key=lambda i: (-n_truth(examples[i]), i))
    return sorted(order[:k])


def best_criterion(ex: ExampleResult, meta: Mapping[str, Any] | None, method: str | None = None) -> int | None:
    """A criterion of ``ex`` with checker truth tokens: judged True with its largest score on truth
    first, then judged True, then any with truth; None when no criterion has truth."""
    spans = (meta or {}).get("truth_spans")
    if not spans or len(spans) != len(ex.criteria):
        return None
    cands = [k for k, sp in enumerate(spans) if sp]
    if not cands:
        return None
    view = inspect_view(ex, method, "scores", "token", meta) if method and method in ex.methods else None

    def key(k: int) -> tuple:
        c = ex.criteria[k]
        hit = view is not None and truth_hit(view, k).startswith("✓")
        return (c.verdict and c.weight > 0 and hit, c.verdict and c.weight > 0, c.weight > 0, -k)

    return max(cands, key=key)


def context_usage(judge: Any, example: Example) -> tuple[int, int, int]:
    """``(judge prompt tokens of the longest criterion, response tokens, the judge's context)``,
    counted before running (the tokenization the judge uses, nothing cut)."""
    import copy

    j = copy.copy(judge)
    j.truncation = "response"
    longest, n_resp = 0, 0
    for k in range(len(example.rubric)):
        pair = j.encode(example, k)
        total = len(pair.input_ids) + pair.truncated_tokens
        n_resp = max(n_resp, pair.resp_end - pair.resp_start + pair.truncated_tokens)
        longest = max(longest, total)
    return longest, n_resp, int(judge.max_length)


def lens_summary(records: pd.DataFrame, min_count: int, metas: Sequence[Mapping[str, Any] | None],
                 results: Sequence[ExampleResult]) -> pd.DataFrame:
    """:func:`g2r_lens.analysis.lens_table` with ``truth_rate`` computed only over occurrences whose
    criterion has known checker truth tokens (NaN, shown "–", where none is known), a
    ``verdicts`` column (``True`` / ``False`` / ``mixed``: the criteria judged so). Show it with
    :data:`LENS_NAMES` as column names."""
    known = set()
    for ex, meta in zip(results, metas):
        spans = (meta or {}).get("truth_spans")
        if spans and len(spans) == len(ex.criteria):
            known |= {(ex.id, c.text) for c, sp in zip(ex.criteria, spans) if sp}
    table = analysis.lens_table(records, min_count)
    if records.empty or table.empty:
        return table.assign(verdicts=pd.Series(dtype=str))
    rec = records.assign(known=[(e, c) in known for e, c in zip(records["example_id"], records["criterion"])])
    g = rec.groupby(["group", "phrase"], sort=False)
    known_rate = g.apply(lambda d: float(d.loc[d["known"], "truth"].mean()) if d["known"].any() else math.nan,
                         include_groups=False).rename("truth_rate_known")
    verd = g["verdict"].agg(lambda v: "True" if v.all() else ("False" if not v.any() else "mixed")).rename("verdicts")
    t = table.merge(known_rate.reset_index(), on=["group", "phrase"]).merge(verd.reset_index(), on=["group", "phrase"])
    t["truth_rate"] = t.pop("truth_rate_known")
    return t


def lens_display(table: pd.DataFrame) -> pd.DataFrame:
    """A lens table for people: :data:`LENS_NAMES` as column names, the truth share as a percentage
    and "–" where no truth is known."""
    out = table.rename(columns=LENS_NAMES)
    if "on checker truth" in out:
        out["on checker truth"] = [fmt_number(x, ".0%") for x in out["on checker truth"]]
    return out


LENS_NAMES = {"group": "group", "phrase": "phrase", "n": "occurrences", "n_examples": "responses",
              "mean": "mean credit", "total": "total credit", "share_positive": "share positive",
              "truth_rate": "on checker truth"}


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

