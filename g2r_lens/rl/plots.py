"""Learning curves with seed bands, and the comparison of run folders (``g2r compare``).

Runs are grouped into *arms* by their config without the seed (label: ``reward/estimator·judge``
plus any other setting that differs between the runs compared). A curve is the mean over an arm's
seeds; its band is a 95% confidence interval of that mean (Student t over seeds; none for one seed).
Figures are written as self-contained HTML (plotly.js inlined once, no CDN) with the shared
renderers of :mod:`g2r_lens.render`; runs are read through :mod:`g2r_lens.rl.runfolder`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from ..errors import G2RError
from ..render.page import html_document
from ..render.style import FONT, PALETTE, fmt_number, rgba
from ..render.tokens import token_html
from ..io import clean_json as _clean
from .runfolder import Run, load_run, read_samples

# two-sided 97.5% Student t quantiles for n-1 degrees of freedom (n seeds)
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
         12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042}
_SEEDLESS = ("seed", "world", "tasks", "device", "save_policy", "samples_every", "samples_groups",
             "checkpoint_every", "attr_batch_size")


def t975(dof: int) -> float:
    if dof < 1:
        return math.nan
    keys = sorted(_T975)
    return _T975[max(k for k in keys if k <= dof)] if dof < 30 else 1.96


def arm_key(config: dict) -> tuple:
    return tuple(sorted((k, json.dumps(v)) for k, v in config.items() if k not in _SEEDLESS + ("steps",)))


def label_runs(runs: Sequence[Run]) -> None:
    """Give every run its arm label: reward/estimator·judge, plus the settings that differ."""
    base = ("reward", "estimator", "judge")
    keys = sorted({k for r in runs for k in r.config} - set(_SEEDLESS) - set(base) - {"steps"})
    varying = [k for k in keys if len({json.dumps(r.config.get(k)) for r in runs}) > 1]
    for r in runs:
        c = r.config
        extra = " ".join(f"{k}={c.get(k)}" for k in varying)
        r.label = f"{c['reward']}/{c['estimator']}·{c['judge']}" + (f" [{extra}]" if extra else "")


def group_arms(runs: Sequence[Run]) -> dict[str, list[Run]]:
    label_runs(runs)
    arms: dict[str, list[Run]] = {}
    for r in runs:
        arms.setdefault(r.label, []).append(r)
    return arms


def mean_curve(runs: Sequence[Run], key: str, source: str = "eval") -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """``(steps, mean, half-width of the 95% CI, n seeds)`` on the steps all runs share."""
    series = [r.series(key, source) for r in runs]
    series = [s for s in series if len(s[0])]
    if not series:
        return np.zeros(0), np.zeros(0), np.zeros(0), 0
    common = sorted(set.intersection(*[set(s[0].tolist()) for s in series]))
    vals = np.array([[dict(zip(s[0].tolist(), s[1].tolist()))[t] for t in common] for s in series])
    n = len(series)
    mean = vals.mean(0)
    half = t975(n - 1) * vals.std(0, ddof=1) / math.sqrt(n) if n > 1 else np.full(len(common), np.nan)
    return np.asarray(common), mean, half, n


def curves_figure(arms: dict[str, list[Run]], key: str = "checker_score", source: str = "eval",
                  title: str | None = None, smooth: int = 1) -> go.Figure:
    """Mean curve per arm with its 95% seed band. ``smooth`` > 1: moving average (train metrics)."""
    fig = go.Figure()
    for i, (label, runs) in enumerate(arms.items()):
        x, m, h, n = mean_curve(runs, key, source)
        if not len(x):
            continue
        if smooth > 1 and len(m) >= smooth:
            k = np.ones(smooth) / smooth
            m = np.convolve(m, k, mode="valid")
            h = np.convolve(np.nan_to_num(h), k, mode="valid") if np.isfinite(h).any() else h[: len(m)]
            x = x[smooth - 1:]
        c = PALETTE[i % len(PALETTE)]
        if n > 1 and np.isfinite(h).all():
            fig.add_trace(go.Scatter(x=np.concatenate([x, x[::-1]]), y=np.concatenate([m + h, (m - h)[::-1]]),
                                     fill="toself", fillcolor=rgba(c, 0.15), line=dict(width=0), hoverinfo="skip",
                                     showlegend=False, legendgroup=label))
        fig.add_trace(go.Scatter(x=x, y=m, mode="lines+markers" if len(x) < 30 else "lines",
                                 line=dict(color=c, width=2), name=f"{label} (n={n})", legendgroup=label))
    fig.update_layout(title=title or f"{key} ({source}); mean over seeds, band = 95% CI",
                      xaxis_title="step", yaxis_title=key, height=420, margin=dict(l=50, r=20, t=50, b=40),
                      legend=dict(font=dict(size=10)))
    return fig


CURVE_SET = (("checker_score", "eval", 1, "held-out checker score (test prompts, exact checker)"),
             ("judge_reward", "train", 5, "judge reward on the policy's own samples (train, smoothed)"),
             ("checker_score", "train", 5, "checker score on the policy's own samples (train, smoothed)"),
             ("agreement", "train", 5, "judge-checker agreement on the policy's own samples"),
             ("kl", "train", 5, "KL to the initial policy (k3)"),
             ("response_len", "train", 5, "response length (tokens)"),
             ("adv_pos_corr", "train", 5, "correlation of advantage with token position"),
             ("credit_on_truth", "train", 5, "share of positive token reward on the checker's truth tokens"))


def advantage_position_figure(arms: dict[str, list[Run]], bins: int = 10) -> go.Figure:
    """Mean advantage against relative token position (t / length, in ``bins`` bins), per arm, over
    every saved sample: a pooled reward-to-go (the paper's estimator) makes late tokens negative."""
    fig = go.Figure()
    for i, (label, runs) in enumerate(arms.items()):
        sums, counts = np.zeros(bins), np.zeros(bins)
        for r in runs:
            for s in read_samples(r):
                a = np.asarray(s["advantages"], dtype=float)
                if len(a) == 0:
                    continue
                b = np.minimum((np.arange(len(a)) / len(a) * bins).astype(int), bins - 1)
                np.add.at(sums, b, a)
                np.add.at(counts, b, 1)
        if counts.sum() == 0:
            continue
        x = (np.arange(bins) + 0.5) / bins
        fig.add_trace(go.Scatter(x=x, y=np.where(counts > 0, sums / np.maximum(counts, 1), np.nan), mode="lines+markers",
                                 name=label, line=dict(color=PALETTE[i % len(PALETTE)])))
    fig.update_layout(title="mean advantage vs relative token position (saved samples of all steps)",
                      xaxis_title="token position / response length", yaxis_title="mean advantage", height=400,
                      margin=dict(l=50, r=20, t=50, b=40), legend=dict(font=dict(size=10)))
    return fig


def curves_html(arms: dict[str, list[Run]], path: str | Path, title: str = "g2r RL curves",
                intro_html: str = "") -> Path:
    figs = [curves_figure(arms, key, src, title=t, smooth=sm) for key, src, sm, t in CURVE_SET]
    figs.append(advantage_position_figure(arms))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_document(title, [intro_html, *figs]), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ the explorer's Runs page
RUN_CURVES = (("judge_reward", "train", "judge reward on the policy's own samples (train)"),
              ("checker_score", "train", "checker score on the policy's own samples (train)"),
              ("checker_score", "eval", "held-out checker score (test prompts, exact checker)"))


def runs_curve_figures(arms: Mapping[str, Sequence[Run]], smooth: int = 1) -> list[go.Figure]:
    """Learning curves per arm with 95% seed bands: judge reward and checker score (train) and the
    held-out checker score (eval)."""
    figs = []
    for key, source, title in RUN_CURVES:
        fig = curves_figure(dict(arms), key, source, title=title + (f", moving average {smooth}" if smooth > 1 else "")
                            + "; mean over seeds, band = 95% CI", smooth=smooth if source == "train" else 1)
        fig.update_layout(font=dict(family=FONT), height=360)
        figs.append(fig)
    return figs


def sample_html(sample: Mapping[str, Any]) -> str:
    """A saved sample's response tokens coloured by their token rewards (blue positive, red
    negative; hover shows the value), with its judge reward and checker score."""
    head = " · ".join(f"{k} {fmt_number(sample.get(key), '+.3f')}" for k, key in
                      (("judge reward", "judge_reward"), ("checker score", "checker_score"), ("reward", "reward")))
    title = (f"step {sample.get('step')} · sample {sample.get('index')} (group {sample.get('group')}) · "
             f"{sample.get('reward_mode', '?')}/{sample.get('estimator', '?')} · {head}")
    return token_html(list(sample.get("tokens", [])), list(sample.get("token_rewards", [])), title)


# ------------------------------------------------------------------------------ arm summaries

def bootstrap_ci(values: Sequence[float], n_boot: int = 10000, seed: int = 0) -> tuple[float, float]:
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(n_boot, len(v)))].mean(1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def bootstrap_diff_ci(a: Sequence[float], b: Sequence[float], n_boot: int = 10000, seed: int = 0) -> tuple[float, float]:
    """95% percentile CI of mean(a) − mean(b), resampling the seeds of each arm independently."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    d = a[rng.integers(0, len(a), (n_boot, len(a)))].mean(1) - b[rng.integers(0, len(b), (n_boot, len(b)))].mean(1)
    return float(np.quantile(d, 0.025)), float(np.quantile(d, 0.975))


def steps_to_reach(steps: np.ndarray, curve: np.ndarray, target: float) -> float | None:
    """First step at which ``curve`` reaches ``target`` (None if never)."""
    hit = np.nonzero(curve >= target - 1e-12)[0]
    return float(steps[hit[0]]) if len(hit) else None


def _last(runs: Sequence[Run], key: str, source: str = "train", k: int = 5) -> float:
    vals = []
    for r in runs:
        _, v = r.series(key, source)
        v = v[np.isfinite(v)]
        if len(v):
            vals.append(float(np.mean(v[-k:])))
    return float(np.mean(vals)) if vals else math.nan


def arm_summary(runs: Sequence[Run]) -> dict[str, Any]:
    """Curve summary of one arm: start, final (last eval), peak (of the mean curve), AUC, costs."""
    x, m, h, n = mean_curve(runs, "checker_score", "eval")
    finals = [r.series("checker_score")[1][-1] for r in runs if len(r.series("checker_score")[0])]
    peaks = [float(np.max(r.series("checker_score")[1])) for r in runs if len(r.series("checker_score")[0])]
    step_t = [np.mean([row["time_step"] for row in r.metrics]) for r in runs if r.metrics]
    out = {
        "n_seeds": len(runs), "seeds": sorted(r.config.get("seed") for r in runs),
        "steps": int(x[-1]) if len(x) else 0,
        "eval_steps": x.tolist(), "eval_mean": m.tolist(), "eval_ci95_half": [None if not math.isfinite(v) else v for v in h],
        "start": float(m[0]) if len(m) else math.nan,
        "final": float(np.mean(finals)) if finals else math.nan,
        "final_ci95": list(bootstrap_ci(finals)), "final_per_seed": finals,
        "peak": float(m.max()) if len(m) else math.nan,
        "peak_step": float(x[int(np.argmax(m))]) if len(m) else math.nan,
        "peak_per_seed_mean": float(np.mean(peaks)) if peaks else math.nan,
        "auc": float(np.trapezoid(m, x) / (x[-1] - x[0])) if len(x) > 1 else math.nan,
        "step_time_s": float(np.mean(step_t)) if step_t else math.nan,
    }
    for key in ("judge_reward", "checker_score", "agreement", "kl", "response_len", "hit_cap", "adv_pos_corr",
                "credit_on_truth", "alpha_entropy", "time_generation", "time_judge", "time_attribution",
                "time_update"):
        out[f"last_{key}"] = _last(runs, key)
    return out


def compare_runs(paths: Sequence[str | Path]) -> dict[str, Any]:
    runs = [load_run(p) for p in paths]
    if not runs:
        raise G2RError("no run folders to compare")
    arms = group_arms(runs)
    return {"arms": {label: arm_summary(rs) for label, rs in arms.items()}, "_runs": arms}


def arms_markdown(arms: dict[str, dict]) -> str:
    def f(x: Any, nd: int = 3) -> str:
        return fmt_number(x, f".{nd}f")

    head = ("| arm | seeds | start | final (95% CI) | peak @ step | AUC | judge R (last) | checker (train, last) | "
            "agreement | KL | length | adv~pos | s/step |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    rows = []
    for label, a in arms.items():
        lo, hi = a["final_ci95"]
        ci = f" ({f(lo)}, {f(hi)})" if math.isfinite(lo) else ""
        rows.append(f"| {label} | {a['n_seeds']} | {f(a['start'])} | {f(a['final'])}{ci} | "
                    f"{f(a['peak'])} @ {f(a['peak_step'], 0)} | {f(a['auc'])} | {f(a['last_judge_reward'])} | "
                    f"{f(a['last_checker_score'])} | {f(a['last_agreement'])} | {f(a['last_kl'], 4)} | "
                    f"{f(a['last_response_len'], 1)} | {f(a['last_adv_pos_corr'], 2)} | {f(a['step_time_s'], 2)} |")
    return head + "\n".join(rows) + "\n"


def write_compare(paths: Sequence[str | Path], out: str | Path) -> dict[str, Path]:
    res = compare_runs(paths)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    md = ("# g2r compare\n\nHeld-out checker score (exact checker, test prompts): start, final (last eval; 95% "
          "bootstrap CI over seeds), peak of the seed-mean curve, AUC (mean over the eval steps). Train columns "
          "are means of the last 5 steps.\n\n" + arms_markdown(res["arms"]))
    (out / "compare.md").write_text(md, encoding="utf-8")
    (out / "compare.json").write_text(json.dumps(_clean(res["arms"]), indent=1), encoding="utf-8")
    curves_html(res["_runs"], out / "curves.html", "g2r compare: learning curves")
    return {"md": out / "compare.md", "json": out / "compare.json", "html": out / "curves.html"}
