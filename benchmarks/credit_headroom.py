"""Credit headroom sweep: in which regime does perfect token credit beat perfect verdicts?

Issue 10, item 1: before any judge arm can be read, ``oracle_dense`` (the checker's score on its
truth tokens, with the best estimator) must beat ``oracle_sparse`` (the checker's score as a
sequence reward): reach oracle_sparse's peak held-out checker score in <= 0.5 of the steps, and end
higher with a 95% CI above 0. This script sweeps the training regime and reports, per setting,
``oracle_steps_ratio`` and ``oracle_final_gain`` with its 95% bootstrap CI over seeds (the
definitions of ``benchmarks/rl_gain.py``, whose runner and metrics it reuses).

Settings: a base regime (``--base``) and one-at-a-time variations of it (``--vary``), or with
``--grid`` the full product of the ``--vary`` values. Keys: ``group_size``, ``prompts_per_step``,
``max_new_tokens``, ``lr``, ``kl``, ``steps``, ``tasks`` (a task folder, e.g. one with more or fewer
criteria per rubric). Every run is one ``g2r train`` process (one thread), ``--jobs`` at a time;
re-running skips finished runs.

    python benchmarks/credit_headroom.py \\
        --vary "group_size=4,16;prompts_per_step=2,8;max_new_tokens=40,120;lr=1e-4,1e-3"   # default sweep
    python benchmarks/credit_headroom.py --seeds 2 --steps 10 --vary "group_size=4;lr=1e-3"  # a small check

Outputs ``credit_headroom.json`` and ``credit_headroom.md`` in ``--out`` (default benchmarks/results);
``best_regime`` is the setting with the largest oracle final gain among those meeting both targets
(or, if none does, the largest gain overall, flagged as not meeting them).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rl_gain  # noqa: E402  (benchmarks/rl_gain.py: train_cmd, run_all, load_arm, oracle_metrics)

from g2r_lens.rl.plots import arm_summary  # noqa: E402
from g2r_lens.rl.trainer import _jsonable  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
KEYS = {"group_size": int, "prompts_per_step": int, "max_new_tokens": int, "lr": float, "kl": float, "steps": int,
        "tasks": str}
BASE = {"group_size": 8, "prompts_per_step": 4, "max_new_tokens": 80, "lr": 3e-4, "kl": 0.02, "steps": 40}
ARMS = ("oracle_sparse", "oracle_dense")


def parse_kv(text: str, allow_lists: bool) -> dict:
    out: dict = {}
    for part in filter(None, (x.strip() for x in text.split(";"))):
        if "=" not in part:
            raise SystemExit(f"credit_headroom: expected key=value, got {part!r}")
        k, v = (x.strip() for x in part.split("=", 1))
        if k not in KEYS:
            raise SystemExit(f"credit_headroom: unknown key {k!r}; choose from {sorted(KEYS)}")
        vals = [KEYS[k](x.strip()) for x in v.split(",") if x.strip()]
        out[k] = vals if allow_lists else vals[0]
    return out


def settings(base: dict, vary: dict, grid: bool) -> list[dict]:
    if grid and vary:
        keys = list(vary)
        return [dict(base, **dict(zip(keys, combo))) for combo in itertools.product(*(vary[k] for k in keys))]
    out = [dict(base)]
    for k, vals in vary.items():
        out += [dict(base, **{k: v}) for v in vals if v != base.get(k)]
    return out


def label(s: dict) -> str:
    short = {"group_size": "G", "prompts_per_step": "P", "max_new_tokens": "T", "lr": "lr", "kl": "kl",
             "steps": "steps", "tasks": "tasks"}
    return "_".join(short[k] + (Path(str(s[k])).name if k == "tasks" else str(s[k])) for k in KEYS if k in s)


def namespace(a: argparse.Namespace, s: dict) -> argparse.Namespace:
    """The rl_gain argument namespace of one setting."""
    ns = argparse.Namespace(**vars(a))
    for k, v in s.items():
        setattr(ns, k, v)
    return ns


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", default="", help='overrides of the base regime, e.g. "group_size=8;lr=3e-4"')
    p.add_argument("--vary", default="group_size=4,16;prompts_per_step=2,8;max_new_tokens=40,120;lr=1e-4,1e-3",
                   help='values to sweep, "key=v1,v2;key2=..."')
    p.add_argument("--grid", action="store_true", help="the full product of the --vary values (default: one at a time)")
    p.add_argument("--estimator", default="dense_centered", help="the oracle_dense arm's estimator")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--steps", type=int, default=None, help="shortcut for --base steps=N")
    p.add_argument("--world", default=None)
    p.add_argument("--out", default=None, help="results folder (default benchmarks/results)")
    p.add_argument("--runs", default=None, help="run folders (default runs/credit_headroom)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--eval-every", type=int, default=5)
    p.add_argument("--eval-prompts", type=int, default=64)
    p.add_argument("--eval-samples", type=int, default=1)
    p.add_argument("--lam", type=float, default=0.5)
    p.add_argument("--note", default="", help="a line for the results file (policy, machine, load)")
    a = p.parse_args(argv)

    base = dict(BASE, **parse_kv(a.base, allow_lists=False))
    if a.steps is not None:
        base["steps"] = a.steps
    vary = parse_kv(a.vary, allow_lists=True)
    todo = settings(base, vary, a.grid)
    out = Path(a.out or ROOT / "benchmarks" / "results")
    runs = Path(a.runs or ROOT / "runs" / "credit_headroom")
    seeds = list(range(a.seeds))
    # fixed rl_gain options every run shares
    a.tau, a.samples_every, a.checkpoint_every, a.judge_dtype = 1.0, 0, 0, "float32"
    specs = {"oracle_sparse": dict(reward="oracle_sparse", estimator="sparse", judge="self"),
             "oracle_dense": dict(reward="oracle_dense", estimator=a.estimator, judge="self")}
    t0 = time.time()
    jobs = []
    for s in todo:
        ns = namespace(a, s)
        for seed in seeds:
            for arm in ARMS:
                o = runs / label(s) / f"{arm}-s{seed}"
                cmd = rl_gain.train_cmd(specs[arm], seed, o, ns)
                if s.get("tasks"):
                    cmd += ["--tasks", str(s["tasks"])]
                jobs.append((f"{label(s)}/{arm}-s{seed}", cmd, o, s["steps"]))
    print(f"credit_headroom: {len(todo)} settings x {len(seeds)} seeds x 2 arms = {len(jobs)} runs", flush=True)
    rl_gain.run_all(jobs, a.jobs, out / "credit_headroom.log")

    rows = []
    for s in todo:
        arms = {arm: rl_gain.load_arm(runs / label(s), arm, seeds) for arm in ARMS}
        m = rl_gain.oracle_metrics(arms)
        sm = {arm: arm_summary(rs) for arm, rs in arms.items()}
        lo, _ = m["oracle_final_gain_ci95"]
        met = (m["oracle_steps_ratio"] is not None and m["oracle_steps_ratio"] <= rl_gain.TARGETS["oracle_steps_ratio"]
               and math.isfinite(lo) and lo > 0)
        rows.append({"setting": s, "label": label(s), **{k: m[k] for k in (
            "oracle_steps_ratio", "oracle_steps_ratio_detail", "oracle_final_gain", "oracle_final_gain_ci95")},
            "targets_met": met,
            "arms": {arm: {k: sm[arm][k] for k in ("start", "final", "final_ci95", "peak", "peak_step", "auc",
                                                      "last_response_len", "step_time_s") if k in sm[arm]}
                     for arm in ARMS}})
    ok = [r for r in rows if r["targets_met"]]
    pool = ok or rows
    best = max(pool, key=lambda r: r["oracle_final_gain"]) if pool else None
    res = {"benchmark": "credit_headroom", "world": a.world or "bundled", "estimator": a.estimator,
           "seeds": a.seeds, "base": base, "vary": vary, "grid": a.grid, "note": a.note,
           "targets": {"oracle_steps_ratio": "<= 0.5", "oracle_final_gain_ci95": "lower bound > 0"},
           "settings": rows, "best_regime": best and best["setting"], "best_regime_meets_targets": bool(ok),
           "seconds": round(time.time() - t0, 1)}
    out.mkdir(parents=True, exist_ok=True)
    (out / "credit_headroom.json").write_text(json.dumps(_jsonable(res), indent=1))
    md = markdown(res)
    (out / "credit_headroom.md").write_text(md)
    print(md)
    print(f"credit_headroom: wrote {out / 'credit_headroom.json'} and credit_headroom.md; "
          f"wall time {res['seconds']:.0f} s ({res['seconds'] / 60:.1f} min)")
    return 0


def markdown(res: dict) -> str:
    f = rl_gain.fmt
    lines = ["# Credit headroom: oracle_dense vs oracle_sparse (held-out exact-checker score)", "",
             f"oracle_dense estimator: **{res['estimator']}**; {res['seeds']} seeds per arm; base regime "
             + ", ".join(f"{k}={v}" for k, v in res["base"].items()) + ".", ""]
    if res["note"]:
        lines += [res["note"], ""]
    lines += ["| setting | oracle_sparse final | oracle_dense final | final gain (95% CI) | steps ratio | "
              "length sparse / dense | targets met |", "|---|---|---|---|---|---|---|"]
    for r in res["settings"]:
        lo, hi = r["oracle_final_gain_ci95"]
        s, d = r["arms"]["oracle_sparse"], r["arms"]["oracle_dense"]
        lines.append(f"| {r['label']} | {s['final']:.3f} | {d['final']:.3f} | {f(r['oracle_final_gain'])} "
                     f"({f(lo)}, {f(hi)}) | {rl_gain.num(r['oracle_steps_ratio'], 2)} | "
                     f"{rl_gain.num(s.get('last_response_len'), 1)} / {rl_gain.num(d.get('last_response_len'), 1)} | "
                     f"{'yes' if r['targets_met'] else 'no'} |")
    best = res["best_regime"]
    lines += ["", "Targets: steps ratio <= 0.5 (oracle_dense reaches oracle_sparse's peak in at most half the steps) "
              "and the final-gain CI above 0.",
              f"Best regime: {best} ({'meets both targets' if res['best_regime_meets_targets'] else 'no setting meets both targets; largest gain shown'}).",
              f"Wall time: {res['seconds'] / 60:.1f} min."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
