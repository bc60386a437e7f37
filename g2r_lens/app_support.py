"""What the Streamlit explorer (``app/``) needs, kept out of the pages so it can be tested alone.

No Streamlit import here. The pages only lay out widgets and call these functions:

- input handling with plain-words errors: :func:`parse_rubric`, :func:`build_example`,
  :func:`examples_from_jsonl`;
- judges: :func:`judge_options`, :func:`load_judge` (bundled world judges, a tiny random demo
  judge when the checkpoints are not built, or any local model folder);
- bundled examples with the checker's truth: :func:`example_bank`, :func:`attach_truth`;
- batched attribution with a progress callback: :func:`attribute_chunked`;
- views and figures: :func:`inspect_view`, :func:`compare_view`, :func:`heatmap_figure`,
  :func:`agreement_figure`, :func:`deletion_figure`, :func:`lens_figure`, :func:`text_html`;
- exports: :func:`view_frame`, :func:`html_document`;
- run folders only under a given root: :func:`runs_root`, :func:`resolve_under`, :func:`list_runs`.
"""

from __future__ import annotations

import functools
import html
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from . import analysis as A
from .errors import G2RError, ModelLoadError, RubricError
from .examples import Criterion, Example, validate_rubric
from .results import AttributionRun, ExampleResult
from .viz import SIGNED_SCALE

MAX_PROMPT_CHARS = 4000
MAX_RESPONSE_CHARS = 6000
MAX_CRITERIA = 12
MAX_CRITERION_CHARS = 400

POS = "#2166ac"  # blue: towards True / positive reward
NEG = "#b2182b"  # red: against
TRUTH = "#1b9e77"  # green: the checker's truth tokens
FONT = "Inter, system-ui, -apple-system, Segoe UI, Roboto, sans-serif"

# ------------------------------------------------------------------------------------ inputs


def parse_rubric(text: str) -> list[Criterion]:
    """A rubric from JSON text: a list of ``{"criterion": str, "weight": number}`` (or strings)."""
    if text is None or not str(text).strip():
        raise RubricError("the rubric is empty; give a JSON list such as "
                          '[{"criterion": "The response mentions the picnic.", "weight": 2}]')
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise RubricError(f"the rubric is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}); "
                          'expected a list such as [{"criterion": "...", "weight": 1}]') from None
    if isinstance(obj, dict) and "rubric" in obj:
        obj = obj["rubric"]
    if not isinstance(obj, list):
        raise RubricError(f"the rubric must be a JSON list of {{criterion, weight}} objects, not a "
                          f"{type(obj).__name__}")
    if len(obj) > MAX_CRITERIA:
        raise RubricError(f"the rubric has {len(obj)} criteria; the explorer takes at most {MAX_CRITERIA}")
    crits = []
    for i, item in enumerate(obj, 1):
        try:
            c = Criterion.from_obj(item)
        except RubricError as e:
            raise RubricError(f"rubric item {i}: {e}") from None
        if len(c.text) > MAX_CRITERION_CHARS:
            raise RubricError(f"rubric item {i} is {len(c.text)} characters long; keep criteria under "
                              f"{MAX_CRITERION_CHARS}")
        crits.append(c)
    validate_rubric(crits)
    return crits


def rubric_json(rubric: Sequence[Any]) -> str:
    """Pretty JSON of a rubric (criteria objects or dicts), one criterion per line."""
    items = []
    for c in rubric:
        c = Criterion.from_obj(c) if not isinstance(c, Criterion) else c
        items.append(json.dumps({"criterion": c.text, "weight": c.weight}, ensure_ascii=False))
    return "[\n  " + ",\n  ".join(items) + "\n]"


def build_example(prompt: str, response: str, rubric_text: str, *, task: Any = None,
                  id: str = "input") -> Example:
    """Validate the three text boxes and build an :class:`Example`.

    When ``task`` (a bundled-world task) is given and the prompt and rubric are still the task's,
    the checker's verdicts and truth spans are attached (recomputed for the possibly edited
    response).
    """
    prompt = prompt or ""
    response = response or ""
    if len(prompt) > MAX_PROMPT_CHARS:
        raise G2RError(f"the prompt is {len(prompt):,} characters long; the explorer takes at most "
                       f"{MAX_PROMPT_CHARS:,}")
    if not response.strip():
        raise G2RError("the response is empty; type the response you want the judge to grade")
    if len(response) > MAX_RESPONSE_CHARS:
        raise G2RError(f"the response is {len(response):,} characters long; the explorer takes at most "
                       f"{MAX_RESPONSE_CHARS:,} (and the judge's context may be shorter still)")
    rubric = parse_rubric(rubric_text)
    ex = Example(prompt, response, rubric, id=id)
    ex.validate()
    return attach_truth(ex, task) if task is not None else ex


def attach_truth(example: Example, task: Any) -> Example:
    """The example with the bundled checker's meta, if its prompt and rubric are ``task``'s."""
    from .world.bundle import task_example

    same = (example.prompt == task.prompt and len(example.rubric) == len(task.rubric)
            and all(a.text == b.text and float(a.weight) == float(b.weight)
                    for a, b in zip(example.rubric, task.rubric)))
    if not same:
        return example
    ex = task_example(task, example.response, mode=example.meta.get("mode", ""), id=example.id)
    return ex


def examples_from_jsonl(data: bytes | str, max_examples: int = 500) -> list[Example]:
    """Examples from JSONL text (one ``{prompt, response, rubric}`` object a line), with line numbers
    in every error."""
    from .examples import parse_examples_jsonl

    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    out = parse_examples_jsonl(text, "uploaded file")[:max_examples]
    for ex in out:
        try:
            ex.validate()
        except G2RError as e:
            raise G2RError(f"example {ex.id}: {e}") from None
    if not out:
        raise G2RError("the file holds no examples")
    ids = [e.id for e in out]
    if len(set(ids)) != len(ids):
        for n, e in enumerate(out):
            e.id = f"{e.id}#{n}"
    return out


# ------------------------------------------------------------------------------------ judges
@dataclass(frozen=True)
class JudgeOption:
    key: str  # "bundled:judge", "bundled:self" or "demo"
    label: str


DEMO_KEY = "demo"


def judge_options() -> list[JudgeOption]:
    """The judges the sidebar offers: the bundled ones when built, the tiny demo judge always."""
    from .world.bundle import have_models

    opts = []
    if have_models():
        opts += [JudgeOption("bundled:judge", "World judge (bundled, external)"),
                 JudgeOption("bundled:self", "World self-judge (bundled policy, frozen)")]
    opts.append(JudgeOption(DEMO_KEY, "Tiny demo judge (random weights)"))
    return opts


@functools.lru_cache(maxsize=2)
def demo_judge(seed: int = 1) -> Any:
    """A tiny random Llama-shaped judge with a chat-template BPE (built offline in seconds, once)."""
    from .testing import tiny_judge
    from .world.bundle import WORLD_TEMPLATE

    j = tiny_judge("llama", "chat", layers=2, hidden=64, seed=seed, max_positions=512, template=WORLD_TEMPLATE)
    j.name = "tiny demo judge (random weights)"
    return j


def local_model_dir(path: str) -> Path:
    """Check that ``path`` is a local model folder (only local folders are accepted here)."""
    p = Path(os.path.expanduser(str(path).strip()))
    if not str(path).strip():
        raise ModelLoadError("the model folder path is empty")
    if not p.exists():
        raise ModelLoadError(f"there is no folder at {str(p)!r}")
    if not p.is_dir():
        raise ModelLoadError(f"{str(p)!r} is a file, not a model folder")
    if not (p / "config.json").exists():
        raise ModelLoadError(f"{str(p)!r} holds no config.json; point to a Hugging Face model folder "
                             "(config.json, weights and tokenizer files)")
    return p.resolve()


def load_judge(key: str, path: str | None = None, template: str = "auto", device: str = "auto") -> Any:
    """Load a judge: ``key`` is a :func:`judge_options` key, or ``"path"`` with ``path`` a local folder.

    ``template``: ``"world"`` (the bundled world's rubric prompt), ``"generic"`` (the library
    default) or ``"auto"`` (world for bundled and demo judges, generic for other folders). Every
    failure becomes a :class:`ModelLoadError` (or another :class:`G2RError`) with a plain message.
    """
    from .judge import Judge, JudgeTemplate
    from .world import bundle

    if template not in ("auto", "world", "generic"):
        raise G2RError(f"unknown template {template!r}; use auto, world or generic")
    if key == DEMO_KEY:
        return demo_judge()
    if key.startswith("bundled:"):
        which = key.split(":", 1)[1]
        tpl = JudgeTemplate() if template == "generic" else bundle.WORLD_TEMPLATE
        try:
            return Judge.from_pretrained(bundle.bundled_path(bundle.JUDGES.get(which, which)), tpl, device=device)
        except G2RError:
            raise
        except Exception as e:  # noqa: BLE001 - any loader failure becomes a message
            raise ModelLoadError(f"could not load the bundled {which!r} judge: {e}") from e
    if key != "path":
        raise G2RError(f"unknown judge {key!r}")
    folder = local_model_dir(path or "")
    tpl = bundle.WORLD_TEMPLATE if template == "world" else JudgeTemplate()
    try:
        return Judge.from_pretrained(folder, tpl, device=device)
    except G2RError:
        raise
    except Exception as e:  # noqa: BLE001
        raise ModelLoadError(f"could not load a causal LM and tokenizer from {str(folder)!r}: "
                             f"{type(e).__name__}: {e}") from e


def judge_summary(judge: Any) -> str:
    """One line: name, size, context, verdict words."""
    n = sum(p.numel() for p in judge.model.parameters())
    size = f"{n / 1e6:.1f}M" if n >= 1e5 else f"{n / 1e3:.0f}k"
    return (f"{Path(str(judge.name)).name if os.sep in str(judge.name) else judge.name} · {size} params · "
            f"context {judge.max_length} · verdicts {'/'.join(judge.template.verdict_words)} · "
            f"{str(judge.dtype).replace('torch.', '')} on {judge.device}")


# ------------------------------------------------------------------------------- example bank
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
    from .world import generate_tasks
    from .world.bundle import load_tasks, world_examples

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


# -------------------------------------------------------------------------------- attribution
def attribute_chunked(judge: Any, examples: Sequence[Example], methods: Sequence[str], *, chunk_size: int = 8,
                      progress: Callable[[float, str], None] | None = None, **kw: Any) -> AttributionRun:
    """:func:`g2r_lens.attribute` in chunks of examples, calling ``progress(fraction, message)``."""
    from .core import attribute

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
    return AttributionRun(prov, [A.retemper(e, tau, tau_mode) for e in run.examples])


# -------------------------------------------------------------------------------------- views
VALUES = {"scores": "attribution score", "alphas": "α = softmax(b/τ)", "rewards": "dense reward"}


def _tok_label(t: str) -> str:
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


def _units(ex: ExampleResult, granularity: str) -> tuple[list[str], list[list[int]], A.WordUnits | None]:
    if granularity == "token":
        return [_tok_label(t) for t in ex.tokens], [[i] for i in range(len(ex.tokens))], None
    if granularity == "word":
        u = A.word_units(ex.response, ex.offsets)
        return [_tok_label(t) for t in u.texts], u.token_groups, u
    raise G2RError(f"unknown granularity {granularity!r}; use token or word")


def _agg(m: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    m = np.atleast_2d(np.asarray(m, dtype=float))
    return np.stack([m[:, g].sum(1) for g in groups], axis=1) if groups else np.zeros((m.shape[0], 0))


def _truth_tokens(ex: ExampleResult, meta: Mapping[str, Any] | None) -> np.ndarray | None:
    spans = (meta or {}).get("truth_spans")
    if not spans or len(spans) != len(ex.criteria):
        return None
    return np.stack([A.truth_mask(ex, s) for s in spans]) if spans else None


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
    shares = A.criterion_rewards(ex, method)
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
        tops.append(", ".join(view.units[j] for j in A.ranking(vals)[:top]) if np.isfinite(vals).any() else "–")
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
            v = A.criterion_rewards(ex, name)[criterion]
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


def _scales(view: View, per_row: bool) -> np.ndarray:
    """The colour scale of each row: its own max |value|, or one shared max (the Σ row of an
    Inspect view keeps its own unless all rows are rewards)."""
    absmax = np.array([np.nanmax(np.abs(r)) if np.isfinite(r).any() else 0.0 for r in view.values])
    if per_row:
        return absmax
    kinds = np.array(view.row_kind or ["criterion"] * len(view.values))
    out = absmax.copy()
    same_units = view.value_name == "rewards"
    main = (kinds != "sum") | same_units
    if main.any():
        out[main] = np.nanmax(absmax[main]) if np.isfinite(absmax[main]).any() else 0.0
    return out


def heatmap_figure(view: View, per_row: bool = True, height: int | None = None) -> go.Figure:
    """Signed heatmap (blue +, red −, white 0) of a :class:`View`; hover shows the raw values and
    outlined cells are the checker's truth tokens."""
    R, U = view.values.shape
    sc = _scales(view, per_row)
    z = np.divide(view.values, sc[:, None], out=np.zeros_like(view.values), where=sc[:, None] > 0)
    z = np.where(np.isfinite(view.values), z, np.nan)
    text = []
    for r in range(R):
        row = []
        for u in range(U):
            lines = [f"<b>{html.escape(view.units[u])}</b>  <span style='color:#888'>"
                     f"{'token' if len(view.groups[u]) == 1 else 'tokens'} "
                     f"{', '.join(map(str, view.groups[u][:6]))}{'…' if len(view.groups[u]) > 6 else ''}</span>",
                     f"{html.escape(view.row_labels[r][:60])}",
                     f"{view.value_name}: {_fmt(view.values[r, u])}"]
            for k, v in view.hover.items():
                if k != {"scores": "score", "alphas": "alpha", "rewards": "reward"}.get(view.value_name) and \
                        np.isfinite(v[r, u]):
                    lines.append(f"{k}: {_fmt(v[r, u])}")
            if view.truth is not None and view.truth[r, u]:
                lines.append("<span style='color:#1b9e77'>■ checker truth</span>")
            row.append("<br>".join(lines))
        text.append(row)
    fig = go.Figure(go.Heatmap(
        z=z, x=list(range(U)), y=list(range(R)), colorscale=SIGNED_SCALE, zmid=0, zmin=-1, zmax=1,
        text=text, hovertemplate="%{text}<extra></extra>", xgap=1, ygap=3,
        colorbar=dict(title=dict(text="scaled", side="right"), thickness=12, len=0.9, tickvals=[-1, 0, 1],
                      ticktext=["−max", "0", "+max"])))
    if view.truth is not None:
        for r in range(R):
            for u in np.nonzero(view.truth[r])[0]:
                fig.add_shape(type="rect", x0=u - 0.5, x1=u + 0.5, y0=r - 0.5, y1=r + 0.5,
                              line=dict(color=TRUTH, width=2.5), fillcolor="rgba(0,0,0,0)")
    labels = [lab if len(lab) <= 52 else lab[:51] + "…" for lab in view.row_labels]
    step = max(1, math.ceil(U / 64))  # label every unit up to 64 columns, every step-th beyond
    fig.update_layout(
        font=dict(family=FONT, size=12), plot_bgcolor="white", paper_bgcolor="white",
        height=height or max(220, 110 + 38 * R + 8 * min(12, max(len(u) for u in view.units or ["x"]))),
        margin=dict(l=10, r=10, t=30, b=10),
        title=dict(text=html.escape(view.title), font=dict(size=13, color="#555"), x=0.01, y=0.98),
        xaxis=dict(tickmode="array", tickvals=list(range(0, U, step)),
                   ticktext=[html.escape(view.units[u][:14]) for u in range(0, U, step)],
                   tickangle=-90 if U > 24 else (-45 if U > 10 else 0),
                   tickfont=dict(size=9 if U > 80 else (10 if U > 40 else 11)), showgrid=False,
                   side="bottom", automargin=True),
        yaxis=dict(tickmode="array", tickvals=list(range(R)), ticktext=[html.escape(x) for x in labels],
                   autorange="reversed", showgrid=False, automargin=True, tickfont=dict(size=12)),
        hoverlabel=dict(bgcolor="white", font=dict(family=FONT, size=12)))
    return fig


def _fmt(x: float) -> str:
    if x is None or not np.isfinite(x):
        return "–"
    return f"{x:+.4g}"


def text_html(view: View, row: int, exs: ExampleResult, per_row: bool = True) -> str:
    """The response of ``exs`` as running text, each unit's background coloured by one row of
    ``view``; hovering shows the value; checker truth is underlined in green."""
    sc = _scales(view, per_row)[row]
    vals = view.values[row]
    response = exs.response
    spans = [(min(exs.offsets[t][0] for t in g), max(exs.offsets[t][1] for t in g)) for g in view.groups]
    out, pos = [], 0
    for u, (s, e) in enumerate(spans):
        # keep leading whitespace of a unit uncoloured so words, not gaps, carry colour
        text = response[s:e]
        lead = len(text) - len(text.lstrip())
        s2 = s + lead
        if s > pos:
            out.append(html.escape(response[pos:s]))
        if lead:
            out.append(html.escape(response[s:s2]))
        v = vals[u]
        a = 0.0 if not (np.isfinite(v) and sc > 0) else float(np.clip(abs(v) / sc, 0, 1))
        rgb = (33, 102, 172) if (np.isfinite(v) and v >= 0) else (178, 24, 43)
        truth = view.truth is not None and bool(view.truth[row, u])
        style = f"background:rgba({rgb[0]},{rgb[1]},{rgb[2]},{0.08 + 0.82 * a if a > 0 else 0:.3f});"
        if a > 0.55:
            style += "color:white;"
        if truth:
            style += f"box-shadow: inset 0 -3px 0 {TRUTH};"
        tip = f"{view.units[u]} · {view.value_name} {_fmt(v)}" + (" · checker truth" if truth else "")
        out.append(f'<span class="g2r-u" style="{style}" title="{html.escape(tip)}">'
                   f"{html.escape(response[s2:max(e, s2)])}</span>")
        pos = max(pos, e)
    if pos < len(response):
        out.append(f'<span style="color:#aaa">{html.escape(response[pos:])}</span>')
    return (f'<div class="g2r-text" style="font-family:{FONT};font-size:15px;line-height:2.0;'
            f'white-space:pre-wrap;padding:10px 14px;border:1px solid #e6e6e6;border-radius:10px;'
            f'background:#fcfcfd">{"".join(out)}</div>')


LEGEND_HTML = (
    f"<div style='font-family:{FONT};font-size:12.5px;color:#555;margin:2px 0 6px 0'>"
    f"<span style='background:{POS};color:white;padding:1px 6px;border-radius:4px'>blue</span> pushes the "
    f"judge towards True / positive reward &nbsp; "
    f"<span style='background:{NEG};color:white;padding:1px 6px;border-radius:4px'>red</span> against &nbsp; "
    f"<span style='box-shadow: inset 0 -3px 0 {TRUTH};padding:0 4px'>underlined / outlined</span> "
    f"checker truth (bundled world)</div>")


def agreement_figure(matrix: pd.DataFrame, title: str, zmin: float = -1.0) -> go.Figure:
    names = list(matrix.index)
    z = matrix.to_numpy(dtype=float)
    txt = [["–" if not np.isfinite(v) else f"{v:.2f}" for v in row] for row in z]
    scale = "RdBu" if zmin < 0 else "Blues"
    fig = go.Figure(go.Heatmap(z=z, x=names, y=names, zmin=zmin, zmax=1, colorscale=scale, reversescale=False,
                               text=txt, texttemplate="%{text}", hovertemplate="%{y} vs %{x}: %{text}<extra></extra>",
                               xgap=2, ygap=2, showscale=False))
    fig.update_layout(title=dict(text=title, font=dict(size=13)), font=dict(family=FONT, size=11),
                      height=120 + 42 * len(names), margin=dict(l=10, r=10, t=40, b=10),
                      yaxis=dict(autorange="reversed", automargin=True), xaxis=dict(automargin=True, tickangle=-30),
                      plot_bgcolor="white")
    return fig


_PALETTE = ["#2166ac", "#e08214", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#a6761d", "#1f78b4", "#b15928"]


def deletion_figure(curves: Mapping[str, A.DeletionCurve], title: str = "") -> go.Figure:
    """``log p(True)`` as the most credited tokens are replaced (lower faster = more faithful)."""
    fig = go.Figure()
    i = 0
    for name, c in curves.items():
        rnd = name == "random order"
        color = "#999999" if rnd else _PALETTE[i % len(_PALETTE)]
        i += 0 if rnd else 1
        fig.add_trace(go.Scatter(
            x=c.fractions, y=c.logp_true, mode="lines+markers", name=f"{name} · AOPC {c.aopc:.3f}",
            line=dict(color=color, width=2.5 if not rnd else 2, dash="dash" if rnd else "solid"),
            marker=dict(size=5), customdata=np.stack([c.counts, c.p_true], axis=1),
            hovertemplate=f"<b>{html.escape(name)}</b><br>%{{customdata[0]}} tokens replaced"
                          "<br>log p(True) %{y:.3f}<br>p(True) %{customdata[1]:.3f}<extra></extra>"))
    fig.update_layout(
        title=dict(text=title, font=dict(size=13)), font=dict(family=FONT, size=12), height=380,
        xaxis=dict(title="share of response tokens replaced (most credited first)", tickformat=".0%",
                   gridcolor="#eee"),
        yaxis=dict(title="log p(True)", gridcolor="#eee"), plot_bgcolor="white",
        legend=dict(orientation="v", x=1.01, y=1, font=dict(size=11)), margin=dict(l=10, r=10, t=40, b=10))
    return fig


def deletion_table(curves: Mapping[str, A.DeletionCurve]) -> pd.DataFrame:
    rows = []
    for name, c in curves.items():
        for n, f, lt, p in zip(c.counts, c.fractions, c.logp_true, c.p_true):
            rows.append((name, n, f, lt, p))
    return pd.DataFrame(rows, columns=["order", "tokens_replaced", "fraction", "logp_true", "p_true"])


def lens_figure(table: pd.DataFrame, group: str, k: int = 12) -> go.Figure:
    """Two bar charts for one group: the most credited and the most penalised phrases."""
    from plotly.subplots import make_subplots

    pos = A.top_phrases(table, group, k, +1)
    neg = A.top_phrases(table, group, k, -1)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.18,
                        subplot_titles=("credited most (pushes towards True)", "penalised most (pushes towards False)"))
    for col, df, color in ((1, pos, POS), (2, neg, NEG)):
        if df.empty:
            continue
        fig.add_trace(go.Bar(
            x=df["mean"], y=df["phrase"], orientation="h", marker=dict(color=color), showlegend=False,
            customdata=np.stack([df["n"], df["n_examples"], df["truth_rate"].fillna(0), df["share_positive"]], 1),
            hovertemplate="<b>%{y}</b><br>mean scaled credit %{x:+.3f}<br>%{customdata[0]} occurrences in "
                          "%{customdata[1]} responses<br>on checker truth %{customdata[2]:.0%}"
                          "<br>positive in %{customdata[3]:.0%}<extra></extra>"), row=1, col=col)
    n = max(len(pos), len(neg), 1)
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(gridcolor="#eee", zerolinecolor="#999")
    fig.update_layout(height=140 + 24 * n, font=dict(family=FONT, size=12), plot_bgcolor="white",
                      margin=dict(l=10, r=10, t=40, b=10))
    return fig


def localisation_table(ex: ExampleResult, methods: Sequence[str], criterion: int,
                       meta: Mapping[str, Any] | None) -> pd.DataFrame:
    """Per method, how well its scores point at the checker's truth tokens of one criterion."""
    spans = (meta or {}).get("truth_spans")
    if not spans or criterion >= len(spans):
        return pd.DataFrame()
    mask = A.truth_mask(ex, spans[criterion])
    rows = []
    for name in methods:
        s = ex.methods[name].scores[criterion]
        a = ex.methods[name].alphas[criterion]
        if s is None:
            continue
        rows.append({"method": name, **A.localisation(s, mask, a)})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------ exports
def figure_html(fig: go.Figure) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False)


_DOC_CSS = (f"body{{font-family:{FONT};margin:28px auto;max-width:1500px;color:#222;padding:0 20px}}"
            "h1{font-size:22px}h2{font-size:17px;margin-top:30px;border-top:1px solid #eee;padding-top:14px}"
            "table{border-collapse:collapse;font-size:12.5px}td,th{border:1px solid #ddd;padding:3px 8px}"
            ".small{font-size:12px;color:#666}")


def html_document(title: str, blocks: Sequence[Any], provenance: Mapping[str, Any] | None = None) -> str:
    """A self-contained HTML page (plotly.js inlined once; opens offline). ``blocks``: plotly
    figures, DataFrames, ``("h2", text)`` headings or raw HTML strings."""
    from plotly.offline import get_plotlyjs

    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_DOC_CSS}</style><script type='text/javascript'>{get_plotlyjs()}</script></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    if provenance:
        keep = ("model", "template_hash", "dtype", "tau", "tau_mode", "seed", "g2r_lens", "created")
        parts.append("<p class='small'>" + " · ".join(f"{k} {html.escape(str(provenance.get(k)))}"
                                                      for k in keep if k in provenance) + "</p>")
    for b in blocks:
        if isinstance(b, go.Figure):
            parts.append(figure_html(b))
        elif isinstance(b, pd.DataFrame):
            parts.append(b.to_html(index=False, float_format=lambda x: f"{x:.4g}", border=0))
        elif isinstance(b, tuple) and len(b) == 2 and b[0] in ("h2", "p"):
            parts.append(f"<{b[0]}>{html.escape(str(b[1]))}</{b[0]}>")
        else:
            parts.append(str(b))
    parts.append("</body></html>")
    return "\n".join(parts)


def _plain(obj: Any) -> Any:
    if isinstance(obj, pd.DataFrame):
        return obj.to_dict(orient="records") if obj.index.equals(pd.RangeIndex(len(obj))) else \
            {str(i): _plain(r.to_dict()) for i, r in obj.iterrows()}
    if isinstance(obj, A.DeletionCurve):
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
    from .results import _clean

    return json.dumps(_clean(_plain(obj)), ensure_ascii=False, indent=1, allow_nan=False)


# --------------------------------------------------------------------------------------- runs
RUNS_ENV = "G2R_RUNS_ROOT"


def runs_root() -> Path:
    """The only folder the explorer reads runs from: ``$G2R_RUNS_ROOT`` (``g2r app --runs-root``),
    default ``runs/`` in the working directory."""
    return Path(os.environ.get(RUNS_ENV) or "runs").expanduser().resolve()


def resolve_under(root: str | os.PathLike, name: str) -> Path:
    """``root/name``, refusing anything that is not a relative path staying inside ``root``
    (absolute paths, ``..``, symlinks pointing outside, empty names)."""
    root_p = Path(root).expanduser().resolve()
    if not isinstance(name, str) or not name.strip() or "\x00" in name:
        raise G2RError("choose a run folder name")
    p = Path(name)
    if p.is_absolute() or p.drive or name.startswith("~"):
        raise G2RError(f"{name!r} is not a name under the runs root; absolute paths are not accepted")
    full = (root_p / p).resolve()
    if full == root_p or root_p not in full.parents:
        raise G2RError(f"{name!r} points outside the runs root {str(root_p)!r}")
    return full


def list_runs(root: str | os.PathLike) -> list[str]:
    """Names of the folders directly under ``root`` (those that resolve inside it)."""
    root_p = Path(root).expanduser().resolve()
    if not root_p.is_dir():
        return []
    out = []
    for child in sorted(root_p.iterdir()):
        try:
            if child.is_dir() and root_p in child.resolve().parents:
                out.append(child.name)
        except OSError:
            continue
    return out


# ------------------------------------------------------------------------------- run folders
RUN_CURVES = (("judge_reward", "train", "judge reward on the policy's own samples (train)"),
              ("checker_score", "train", "checker score on the policy's own samples (train)"),
              ("checker_score", "eval", "held-out checker score (test prompts, exact checker)"))


def load_runs(root: str | os.PathLike, names: Sequence[str]) -> tuple[list[Any], list[str]]:
    """The run folders ``names`` under ``root`` (:func:`g2r_lens.rl.plots.load_run`), each resolved
    with :func:`resolve_under`; returns ``(runs, errors)`` with a plain message per refused or
    unreadable folder, so one bad folder does not hide the others."""
    from .rl.plots import load_run

    runs, errs = [], []
    for name in names:
        try:
            run = load_run(resolve_under(root, name))
            for key in ("reward", "estimator", "judge"):
                run.config.setdefault(key, "?")
            run.name = name
            runs.append(run)
        except G2RError as e:
            errs.append(f"{name}: {e}")
        except (OSError, ValueError) as e:  # unreadable or malformed files
            errs.append(f"{name}: could not read the run folder ({type(e).__name__}: {e})")
    return runs, errs


def run_arms(runs: Sequence[Any]) -> dict[str, list[Any]]:
    """Runs grouped into arms (one per reward mode/estimator/judge and differing settings; seeds pooled)."""
    from .rl.plots import group_arms

    return group_arms(list(runs))


def runs_curve_figures(arms: Mapping[str, Sequence[Any]], smooth: int = 1) -> list[go.Figure]:
    """Learning curves per arm with 95% seed bands: judge reward and checker score (train) and the
    held-out checker score (eval), via :func:`g2r_lens.rl.plots.curves_figure`."""
    from .rl.plots import curves_figure

    figs = []
    for key, source, title in RUN_CURVES:
        fig = curves_figure(dict(arms), key, source, title=title + (f", moving average {smooth}" if smooth > 1 else "")
                            + "; mean over seeds, band = 95% CI", smooth=smooth if source == "train" else 1)
        fig.update_layout(font=dict(family=FONT), height=360)
        figs.append(fig)
    return figs


def runs_table(arms: Mapping[str, Sequence[Any]]) -> pd.DataFrame:
    """One row per run: folder, arm, seed, steps logged, last judge reward / checker scores."""
    rows = []
    for label, runs in arms.items():
        for r in runs:
            last = r.metrics[-1] if r.metrics else {}
            ev = r.evals[-1] if r.evals else {}
            rows.append({"run": getattr(r, "name", r.path.name), "arm": label, "seed": r.config.get("seed"),
                         "steps": int(last.get("step", 0)), "judge reward (last)": last.get("judge_reward"),
                         "checker score (last)": last.get("checker_score"),
                         "held-out checker (last eval)": ev.get("checker_score")})
    return pd.DataFrame(rows)


def runs_metrics_frame(arms: Mapping[str, Sequence[Any]]) -> pd.DataFrame:
    """Every logged row of the runs (train metrics and evals) in one long table, tagged with run,
    arm, seed and source (``train`` | ``eval``)."""
    rows = []
    for label, runs in arms.items():
        for r in runs:
            for source, data in (("train", r.metrics), ("eval", r.evals)):
                for m in data:
                    rows.append({"run": getattr(r, "name", r.path.name), "arm": label, "seed": r.config.get("seed"),
                                 "source": source, **{k: v for k, v in m.items() if not isinstance(v, (list, dict))}})
    return pd.DataFrame(rows)


def run_samples(run: Any) -> dict[int, list[dict]]:
    """The saved samples of a run (``samples.jsonl``) by step, steps ascending."""
    from .rl.plots import read_samples

    out: dict[int, list[dict]] = {}
    for s in read_samples(run):
        out.setdefault(int(s["step"]), []).append(s)
    return dict(sorted(out.items()))


def sample_html(sample: Mapping[str, Any]) -> str:
    """A saved sample's response tokens coloured by their token rewards (blue positive, red
    negative; hover shows the value), with its judge reward and checker score."""
    from .viz import token_html

    jr, cs, rw = sample.get("judge_reward"), sample.get("checker_score"), sample.get("reward")
    head = " · ".join(f"{k} {'–' if v is None else f'{float(v):+.3f}'}"
                      for k, v in (("judge reward", jr), ("checker score", cs), ("reward", rw)))
    style = (f"<style>.toks{{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:14px;line-height:1.9;"
             f"white-space:pre-wrap;padding:10px 14px;border:1px solid #e6e6e6;border-radius:10px;background:#fcfcfd}}"
             f".tok{{border-radius:3px;padding:1px 0}}.tt{{font-family:{FONT};font-size:13px;color:#555;margin:4px 0}}"
             "</style>")
    title = (f"step {sample.get('step')} · sample {sample.get('index')} (group {sample.get('group')}) · "
             f"{sample.get('reward_mode', '?')}/{sample.get('estimator', '?')} · {head}")
    return style + token_html(list(sample.get("tokens", [])), list(sample.get("token_rewards", [])), title)


def sample_table(sample: Mapping[str, Any]) -> pd.DataFrame:
    """Token, token reward and advantage of each response token of a saved sample."""
    toks = list(sample.get("tokens", []))
    rew = list(sample.get("token_rewards", []))
    adv = list(sample.get("advantages", []))
    n = len(toks)
    return pd.DataFrame({"t": range(n), "token": [_tok_label(t) for t in toks],
                         "token reward": (rew + [None] * n)[:n], "advantage": (adv + [None] * n)[:n]})
