"""One-call faithfulness evaluation of attribution methods against the bundled world's checker.

:func:`evaluate_faithfulness` attributes examples that carry the checker's truth (the ``meta`` of
:func:`g2r_lens.world.bundle.task_example`) with every method asked for and returns a
:class:`FaithfulnessEval` holding

- ``pairs``: one row per (localisation pair, method) with the AUROC and precision@k of the method's
  scores against the checker's truth tokens. A *localisation pair* is a (response, criterion) pair
  whose criterion is local (its truth is a set of response characters), that the checker calls True
  (and, with ``pairs="agree"``, the default, the judge too), and whose truth tokens are neither
  none nor all of the response;
- ``curves``: deletion and insertion curves on the judge's ``log p(True)`` (as in
  :func:`g2r_lens.faithfulness.perturbation_curves`) on up to ``n_curve_pairs`` localisation pairs,
  as the drop ``f(x) − f(x without the top fraction)`` and the gain ``f(only the top fraction) −
  f(all replaced)``, every method's perturbed copies of a pair re-scored in shared batches, with
  the point at fraction 0 (both 0) included, so that the mean of a curve
  is its AOPC;
- ``spearman``: one row per (attributed pair, method, method) with the Spearman rank correlation
  of the two methods' scores, over every attributed pair (those judged True; with
  ``pairs="checker"`` every pair).

Its tables: :meth:`~FaithfulnessEval.auroc_table` (per method),
:meth:`~FaithfulnessEval.auroc_by_kind` (method x criterion kind),
:meth:`~FaithfulnessEval.mean_curves`, :meth:`~FaithfulnessEval.aopc`,
:meth:`~FaithfulnessEval.agreement` (method x method mean Spearman) and
:meth:`~FaithfulnessEval.summary` (the README's faithfulness table). :func:`world_faithfulness`
does the same for a bundled judge on sampled test-split responses in one call.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .core import attribute
from .errors import G2RError
from .examples import Example
from .faithfulness import DEFAULT_FRACTIONS, auroc, encode_pair, precision_at_k, replacement_id, rescore, spearman
from .results import AttributionRun
from .spans import token_mask_for_char_spans

__all__ = ["ALL_METHODS", "FaithfulnessEval", "evaluate_faithfulness", "localisation_pairs", "world_faithfulness"]

#: every registered method of the engine, in the README's order
ALL_METHODS = ("grad_x_input", "grad_l1", "grad_l2", "integrated_gradients", "attention_last", "attention_rollout",
               "leave_one_out", "uniform", "random")
PAIR_MODES = ("agree", "checker")
_META_KEYS = ("checker", "truth_spans", "kinds", "local")


@dataclass
class FaithfulnessEval:
    """The result of :func:`evaluate_faithfulness` (see the module docstring for the tables)."""

    judge: str
    methods: list[str]
    run: AttributionRun
    pairs: pd.DataFrame
    curves: pd.DataFrame
    spearman: pd.DataFrame
    reference: str | None = "leave_one_out"
    info: dict[str, Any] = field(default_factory=dict)

    def auroc_table(self) -> pd.DataFrame:
        """Per method: mean ``auroc`` and ``precision_at_k`` over the localisation pairs, and ``n``."""
        g = self.pairs.groupby("method", sort=False)
        t = pd.DataFrame({"auroc": g["auroc"].mean(), "precision_at_k": g["precision_at_k"].mean(),
                          "n": g["auroc"].count()})
        return t.reindex(self.methods)

    def auroc_by_kind(self) -> pd.DataFrame:
        """Mean AUROC per method (rows) and criterion kind (columns)."""
        if self.pairs.empty:
            return pd.DataFrame(index=pd.Index(self.methods, name="method"))
        t = self.pairs.pivot_table(index="method", columns="kind", values="auroc", aggfunc="mean")
        return t.reindex(self.methods)

    def mean_curves(self) -> pd.DataFrame:
        """Per method and fraction: mean ``deletion`` drop and ``insertion`` gain over the curve pairs."""
        if self.curves.empty:
            return pd.DataFrame(columns=["method", "fraction", "deletion", "insertion", "n"])
        g = self.curves.groupby(["method", "fraction"], sort=False)
        return pd.DataFrame({"deletion": g["deletion"].mean(), "insertion": g["insertion"].mean(),
                             "n": g["deletion"].count()}).reset_index()

    def aopc(self) -> pd.DataFrame:
        """Per method: mean AOPC of the deletion and insertion curves (higher is better for both)."""
        if self.curves.empty:
            return pd.DataFrame({"aopc_deletion": math.nan, "aopc_insertion": math.nan},
                                index=pd.Index(self.methods, name="method"))
        per_pair = self.curves.groupby(["method", "example_id", "criterion"], sort=False)[["deletion", "insertion"]].mean()
        t = per_pair.groupby("method", sort=False).mean().rename(
            columns={"deletion": "aopc_deletion", "insertion": "aopc_insertion"})
        return t.reindex(self.methods)

    def agreement(self) -> pd.DataFrame:
        """Mean Spearman rank correlation between every two methods (NaN pairs skipped)."""
        if self.spearman.empty:
            return pd.DataFrame(np.nan, index=self.methods, columns=self.methods)
        t = self.spearman.pivot_table(index="a", columns="b", values="spearman", aggfunc="mean")
        return t.reindex(index=self.methods, columns=self.methods)

    def summary(self) -> pd.DataFrame:
        """Per method: AUROC, precision@k, AOPC of deletion and insertion, Spearman vs the reference."""
        t = self.auroc_table().join(self.aopc())
        if self.reference in self.methods:
            t[f"spearman_vs_{self.reference}"] = self.agreement()[self.reference]
        return t

    def markdown(self, digits: int = 3) -> str:
        """:meth:`summary` as a markdown table."""
        t = self.summary()
        cols = list(t.columns)
        lines = ["| method | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        for m, row in t.iterrows():
            cells = [("-" if not np.isfinite(v) else (f"{int(v)}" if c == "n" else f"{v:.{digits}f}"))
                     for c, v in row.items()]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        return "\n".join(lines)


def _check_meta(ex: Example) -> None:
    meta = ex.meta or {}
    missing = [k for k in _META_KEYS if k not in meta]
    if missing:
        raise G2RError(f"example {ex.id!r} carries no checker truth (meta lacks {missing}); build examples with "
                       "g2r_lens.world.bundle.task_example or world_examples")
    if any(len(meta[k]) != len(ex.rubric) for k in _META_KEYS):
        raise G2RError(f"example {ex.id!r}: its meta does not have one entry per criterion")


def localisation_pairs(examples: Sequence[Example], run: AttributionRun, pairs: str = "agree"
                       ) -> list[tuple[int, int, np.ndarray]]:
    """``(example index, criterion index, truth mask over response tokens)`` of every localisation
    pair (see the module docstring)."""
    if pairs not in PAIR_MODES:
        raise G2RError(f"pairs must be one of {list(PAIR_MODES)}, got {pairs!r}")
    if len(examples) != len(run.examples):
        raise G2RError(f"{len(examples)} examples but the run holds {len(run.examples)}")
    out = []
    for i, (ex, res) in enumerate(zip(examples, run.examples)):
        _check_meta(ex)
        for k, c in enumerate(res.criteria):
            spans = ex.meta["truth_spans"][k]
            if not (ex.meta["checker"][k] and ex.meta["local"][k] and spans):
                continue
            if pairs == "agree" and not c.verdict:
                continue
            labels = token_mask_for_char_spans(res.offsets, [tuple(s) for s in spans])
            if labels.any() and not labels.all():
                out.append((i, k, labels))
    return out


def _pair_curves(judge: Any, example: Example, k: int, scores: Mapping[str, Sequence[float]],
                 fractions: Sequence[float], rep: int, *, batch_size: int, n_tokens: int
                 ) -> dict[str, tuple[list[float], list[float]]]:
    """Deletion drops and insertion gains of every method's ranking of one pair, re-scored in shared
    batches (the curves of :func:`g2r_lens.faithfulness.perturbation_curves`)."""
    pair = encode_pair(judge, example, k, n_tokens)
    T = pair.n_response
    ks = [max(1, math.ceil(f * T)) for f in fractions]
    jobs: list[tuple[Any, Sequence[int]]] = [(pair, []), (pair, range(T))]  # unperturbed, all replaced
    for s in scores.values():
        if len(s) != T:
            raise G2RError(f"{len(s)} scores for {T} response tokens")
        order = np.argsort(-np.asarray(s, dtype=float), kind="mergesort")
        jobs += [(pair, order[:n]) for n in ks] + [(pair, order[n:]) for n in ks]
    vals = [lt for lt, _ in rescore(judge, jobs, rep, batch_size)]
    full, empty = vals[0], vals[1]
    out, n = {}, len(ks)
    for j, m in enumerate(scores):
        part = vals[2 + 2 * n * j: 2 + 2 * n * (j + 1)]
        out[m] = ([full - d for d in part[:n]], [g - empty for g in part[n:]])
    return out


def evaluate_faithfulness(
    judge: Any,
    examples: Sequence[Example],
    methods: Sequence[str] = ALL_METHODS,
    *,
    method_params: Mapping[str, Mapping[str, Any]] | None = None,
    pairs: str = "agree",
    n_curve_pairs: int = 20,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    reference: str | None = "leave_one_out",
    seed: int = 0,
    batch_size: int = 16,
    run: AttributionRun | None = None,
    progress: bool = True,
) -> FaithfulnessEval:
    """Attribute ``examples`` (unless ``run`` is given) and measure every method against the
    checker's truth: localisation, deletion/insertion curves and rank agreement.

    Args:
        judge: the :class:`~g2r_lens.Judge` (it also re-scores the perturbed responses of the curves).
        examples: examples whose ``meta`` holds the checker's ``checker``, ``truth_spans``, ``kinds``
            and ``local`` per criterion (:func:`g2r_lens.world.bundle.world_examples` makes them).
        methods: attribution methods to compare.
        method_params: per-method parameters, as for :func:`~g2r_lens.attribute`.
        pairs: ``"agree"``: localisation pairs need the judge and the checker to say True (the
            README's table); ``"checker"``: the checker alone (the criteria judged False are then
            attributed too).
        n_curve_pairs: how many localisation pairs (a seeded random subset) get deletion and
            insertion curves; 0 skips the curves.
        fractions: the fractions of response tokens deleted / inserted along a curve.
        reference: the method every other one is rank-correlated with in :meth:`FaithfulnessEval.summary`.
        run: an :class:`~g2r_lens.AttributionRun` of these examples computed before (skips attribution).
    """
    if pairs not in PAIR_MODES:
        raise G2RError(f"pairs must be one of {list(PAIR_MODES)}, got {pairs!r}")
    if n_curve_pairs < 0:
        raise G2RError("n_curve_pairs must be >= 0")
    methods = list(dict.fromkeys([methods] if isinstance(methods, str) else methods))
    examples = list(examples)
    for ex in examples:
        _check_meta(ex)
    t0 = time.perf_counter()
    if run is None:
        run = attribute(judge, examples, methods, method_params=method_params, attribute_false=pairs == "checker",
                        batch_size=batch_size, seed=seed, progress=progress)
    else:
        absent = [m for m in methods if any(m not in r.methods for r in run.examples)]
        if absent:
            raise G2RError(f"the run given has no results for {absent}")
    t_attr = time.perf_counter() - t0
    loc = localisation_pairs(examples, run, pairs)

    rows = []
    for i, k, labels in loc:
        ex, res = examples[i], run.examples[i]
        for m in methods:
            s = res.methods[m].scores[k]
            rows.append((res.id, k, ex.meta["kinds"][k], m, len(labels), int(labels.sum()),
                         auroc(s, labels), precision_at_k(s, labels)))
    pair_df = pd.DataFrame(rows, columns=["example_id", "criterion", "kind", "method", "n_tokens", "n_truth",
                                          "auroc", "precision_at_k"])

    t1 = time.perf_counter()
    chosen = sorted(np.random.default_rng(seed).permutation(len(loc))[:n_curve_pairs].tolist())
    rep = replacement_id(judge, None) if chosen else None
    crows = []
    for j in tqdm(chosen, desc="deletion/insertion curves", disable=not progress or not chosen):
        i, k, _ = loc[j]
        res = run.examples[i]
        rows_m = _pair_curves(judge, examples[i], k, {m: res.methods[m].scores[k] for m in methods}, fractions,
                              rep, batch_size=max(batch_size, 32), n_tokens=len(res.tokens))
        for m, (dels, ins) in rows_m.items():
            crows.append((m, res.id, k, 0.0, 0.0, 0.0))
            crows.extend((m, res.id, k, float(f), d, g) for f, d, g in zip(fractions, dels, ins))
    curve_df = pd.DataFrame(crows, columns=["method", "example_id", "criterion", "fraction", "deletion", "insertion"])
    t_curves = time.perf_counter() - t1

    srows = []
    for res in run.examples:
        for k in range(len(res.criteria)):
            sc = {m: res.methods[m].scores[k] for m in methods}
            if any(v is None for v in sc.values()):
                continue
            for a in methods:
                for b in methods:
                    srows.append((res.id, k, a, b, spearman(sc[a], sc[b])))
    sp_df = pd.DataFrame(srows, columns=["example_id", "criterion", "a", "b", "spearman"])
    info = {"n_examples": len(examples), "n_localisation_pairs": len(loc), "n_curve_pairs": len(chosen),
            "n_attributed_pairs": int(sum(c.verdict for r in run.examples for c in r.criteria)),
            "pairs": pairs, "seconds_attribution": t_attr, "seconds_curves": t_curves}
    return FaithfulnessEval(judge=str(getattr(judge, "name", judge)), methods=methods, run=run, pairs=pair_df,
                            curves=curve_df, spearman=sp_df, reference=reference, info=info)


def world_faithfulness(
    which: str = "external",
    n_examples: int = 30,
    methods: Sequence[str] = ALL_METHODS,
    *,
    split: str = "test",
    modes: Sequence[str] = ("noisy", "good", "misplaced"),
    seed: int = 0,
    ig_steps: int = 16,
    judge: Any = None,
    **kw: Any,
) -> FaithfulnessEval:
    """:func:`evaluate_faithfulness` of a bundled judge (``"external"`` or ``"self"``) on
    ``n_examples`` sampled responses of a split of the bundled world (the README's setting)."""
    from .world.bundle import load_judge, world_examples

    if judge is None:
        judge = load_judge(which, device="cpu", dtype="float32")
    examples = world_examples(split, n_examples, seed=seed, modes=modes)
    params = dict(kw.pop("method_params", None) or {})
    if "integrated_gradients" in methods:
        params.setdefault("integrated_gradients", {"n_steps": ig_steps})
    ev = evaluate_faithfulness(judge, examples, methods, method_params=params, seed=seed, **kw)
    ev.judge = which
    return ev
