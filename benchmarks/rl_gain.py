"""RL gain benchmark: do dense judge rewards train the bundled policy faster than the sparse reward?

Arms (every one with the frozen self-judge unless named otherwise; >= 5 seeds each):

    sparse          judge verdicts only, sequence-level GRPO               (--reward sparse --estimator sparse)
    g2r_paper       grad_x_input + the paper's token-level GRPO (Eq. 9)    (grad_x_input / grad2reward)
    best_dense      grad_x_input + the estimator the pilot picks            (per_position, additive or dense_centered)
    uniform         the judge reward spread evenly (control; should not help), with the best estimator
    oracle_sparse   the exact checker's score as the reward                 (the ceiling of a perfect judge)
    oracle_dense    the checker's score on its truth tokens, best estimator (perfect judge, perfect credit)
    best_external   best_dense with the external judge
    ig_dense        integrated gradients + the best estimator (only with --arms: IG localises the
                    self-judge's truth tokens where grad x input does not; ~16 gradient passes a step)
    sparse_external sparse with the external judge's verdicts (only with --arms): the external arms'
                    own comparator; when it runs, ``contrasts`` compares external arms with it
    METHOD@JUDGE    any reward mode with the best estimator and that judge (only with --arms), e.g.
                    leave_one_out@self, integrated_gradients@external: the attribution methods whose
                    credit comes closest to the oracle's (benchmarks/credit_quality.py)

Everything is scored on the **exact checker** of held-out **test** prompts (never on the judge).
The pilot (seeds 100+, fewer steps, never reused in the benchmark) picks ``best_dense`` among
``--candidates`` by the area under the held-out checker curve.

Outputs (``--out``, default ``benchmarks/results``): ``rl_gain.json`` (``steps_ratio``, ``final_gain``,
``final_gain_ci95``, ``peak_gain``, ``uniform_minus_sparse``, ``step_time_ratio``, ``arms``, targets),
``rl_gain.md`` and ``rl_gain_curves.html``. Run folders go to ``--runs`` (default ``runs/rl_gain``;
the explorer reads them). Every run is a separate ``g2r train`` process with one thread, ``--jobs``
of them at a time; re-running the command skips finished runs and resumes unfinished ones.

    python benchmarks/rl_gain.py                 # the full benchmark (sized for about an hour on 2 cores)
    python benchmarks/rl_gain.py --quick         # end to end in a few minutes on a throw-away quick world

Definitions (best dense vs sparse; curves are seed means of the held-out checker score):
- ``steps_ratio``: first eval step at which best_dense's curve reaches sparse's peak, divided by the
  step of sparse's peak (null when best_dense never reaches it, or sparse never improves on step 0);
- ``final_gain``: mean over seeds of the last eval, dense minus sparse; ``final_gain_ci95``: 95%
  percentile bootstrap over seeds (each arm resampled independently);
- ``peak_gain``: peak of the dense curve minus peak of the sparse curve;
- ``uniform_minus_sparse``: final uniform minus final sparse (with its CI);
- ``step_time_ratio``: mean wall time of a training step (excluding evaluation), dense / sparse;
- ``oracle_steps_ratio``, ``oracle_final_gain``, ``oracle_final_gain_ci95``: the same definitions for
  oracle_dense vs oracle_sparse (credit headroom: can perfect token credit beat perfect verdicts at all?);
- ``seconds``: the wall time of the whole command (printed at the end).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT  # noqa: E402  (benchmarks/_common.py: offline env, repo root on sys.path)

import numpy as np  # noqa: E402

from g2r_lens.rl.plots import (arm_summary, bootstrap_diff_ci, curves_html, load_run, mean_curve,  # noqa: E402
                               steps_to_reach)
from g2r_lens.io import clean_json as _jsonable, portable_arg  # noqa: E402

TARGETS = {"steps_ratio": 0.5, "step_time_ratio": 1.3, "oracle_steps_ratio": 0.5}


def arm_specs(best: str, candidates: list[str], oracle_estimator: str | None = None) -> dict[str, dict]:
    return {
        "sparse": dict(reward="sparse", estimator="sparse", judge="self"),
        "g2r_paper": dict(reward="grad_x_input", estimator="grad2reward", judge="self"),
        "best_dense": dict(reward="grad_x_input", estimator=best, judge="self"),
        "uniform": dict(reward="uniform", estimator=best, judge="self"),
        "oracle_sparse": dict(reward="oracle_sparse", estimator="sparse", judge="self"),
        "oracle_dense": dict(reward="oracle_dense", estimator=oracle_estimator or best, judge="self"),
        "best_external": dict(reward="grad_x_input", estimator=best, judge="external"),
        # optional (run only when named in --arms): the method that localises on the self-judge
        "ig_dense": dict(reward="integrated_gradients", estimator=best, judge="self", optional=True),
        # optional: the comparator of the external arms (the external judge's verdicts alone)
        "sparse_external": dict(reward="sparse", estimator="sparse", judge="external", optional=True),
    }


def named_arm(name: str, best: str) -> dict | None:
    """``METHOD@JUDGE`` (e.g. ``leave_one_out@self``, ``grad_l2@external``): that reward mode with the
    best estimator and that judge (``sparse@JUDGE``: the sparse estimator); None for any other name."""
    from g2r_lens.rl.scoring import reward_modes

    method, at, judge = name.partition("@")
    if not at or judge not in ("self", "external") or method not in reward_modes():
        return None
    return dict(reward=method, estimator="sparse" if method in ("sparse", "oracle_sparse") else best, judge=judge,
                optional=True)


def train_cmd(spec: dict, seed: int, out: Path, a: argparse.Namespace) -> list[str]:
    cmd = [sys.executable, "-m", "g2r_lens.cli", "train", "--reward", spec["reward"], "--estimator", spec["estimator"],
           "--judge", spec["judge"], "--seed", str(seed), "--steps", str(spec.get("steps", a.steps)),
           "--prompts-per-step", str(a.prompts_per_step), "--group-size", str(a.group_size), "--lr", str(a.lr),
           "--kl", str(a.kl), "--tau", str(a.tau), "--lam", str(a.lam), "--max-new-tokens", str(a.max_new_tokens),
           "--eval-every", str(a.eval_every), "--eval-prompts", str(a.eval_prompts),
           "--eval-samples", str(a.eval_samples), "--samples-every", str(a.samples_every),
           "--checkpoint-every", str(a.checkpoint_every), "--judge-dtype", a.judge_dtype, "--threads", "1", "--quiet",
           "--out", str(out)]
    if a.world:
        cmd += ["--world", str(a.world)]
    return cmd


def finished(out: Path, steps: int) -> bool:
    p = out / "summary.json"
    return p.exists() and json.loads(p.read_text()).get("step") == steps


def run_all(jobs: list[tuple[str, list[str], Path, int]], n_parallel: int, log: Path) -> None:
    """Run ``g2r train`` processes, ``n_parallel`` at a time; skip finished runs, resume the rest."""
    todo = [j for j in jobs if not finished(j[2], j[3])]
    print(f"rl_gain: {len(jobs) - len(todo)} runs already finished, {len(todo)} to run, {n_parallel} at a time",
          flush=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    running: list[tuple[subprocess.Popen, str, float, object, Path]] = []
    t_start, done = time.time(), 0
    log.parent.mkdir(parents=True, exist_ok=True)
    while todo or running:
        while todo and len(running) < n_parallel:
            name, cmd, out, _ = todo.pop(0)
            out.mkdir(parents=True, exist_ok=True)
            fh = open(out / "train.log", "a")
            running.append((subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=ROOT), name,
                            time.time(), fh, out))
        time.sleep(0.5)
        for item in list(running):
            p, name, t0, fh, out = item
            if p.poll() is None:
                continue
            running.remove(item)
            fh.close()
            done += 1
            left = len(todo) + len(running)
            el = time.time() - t_start
            eta = el / done * left / 1 if done else math.nan
            msg = f"rl_gain: {name} rc={p.returncode} in {time.time() - t0:.0f}s; {left} left, ETA ~{eta / 60:.1f} min"
            print(msg, flush=True)
            with open(log, "a") as f:
                f.write(msg + "\n")
            if p.returncode != 0:
                tail = (out / "train.log").read_text(errors="replace").strip().splitlines()[-3:]
                raise SystemExit(f"rl_gain: {name} failed (see {out / 'train.log'}):\n" + "\n".join(tail))


def load_arm(folder: Path, name: str, seeds: list[int]):
    runs = []
    for s in seeds:
        r = load_run(folder / f"{name}-s{s}")
        r.label = name
        runs.append(r)
    return runs


def finals(runs) -> list[float]:
    return [float(r.series("checker_score")[1][-1]) for r in runs]


def gain_metrics(arms: dict[str, list], dense: str = "best_dense", base: str = "sparse") -> dict:
    xs, ms, _, _ = mean_curve(arms[base], "checker_score")
    xd, md, _, _ = mean_curve(arms[dense], "checker_score")
    peak_s, step_s = float(ms.max()), float(xs[int(np.argmax(ms))])
    reach = steps_to_reach(xd, md, peak_s)
    ratio = reach / step_s if (reach is not None and step_s > 0) else None
    fd, fs = finals(arms[dense]), finals(arms[base])
    st = {k: float(np.mean([np.mean([row["time_step"] for row in r.metrics]) for r in arms[k]])) for k in (dense, base)}
    return {
        "steps_ratio": ratio,
        "steps_ratio_detail": {"sparse_peak": peak_s, "sparse_peak_step": step_s, "dense_steps_to_sparse_peak": reach},
        "final_gain": float(np.mean(fd) - np.mean(fs)),
        "final_gain_ci95": list(bootstrap_diff_ci(fd, fs)),
        "peak_gain": float(md.max() - peak_s),
        "step_time_ratio": st[dense] / st[base],
    }


def comparator(name: str, specs: dict[str, dict], arms: dict) -> str:
    """The sparse arm an arm is compared with: the external judge's own verdicts for an external arm
    when ``sparse_external`` ran, else ``sparse`` (the self-judge's verdicts)."""
    return "sparse_external" if specs[name]["judge"] == "external" and "sparse_external" in arms else "sparse"


def oracle_metrics(arms: dict[str, list]) -> dict:
    """Credit headroom: oracle_dense (perfect credit, best estimator) vs oracle_sparse (perfect verdicts).

    ``oracle_steps_ratio`` and ``oracle_final_gain_ci95`` are defined as ``steps_ratio`` and
    ``final_gain_ci95`` (module docstring), on the two oracle arms.
    """
    g = gain_metrics(arms, "oracle_dense", "oracle_sparse")
    lo, hi = g["final_gain_ci95"]
    undefined = g["steps_ratio_detail"]["sparse_peak_step"] == 0
    return {
        "oracle_steps_ratio": g["steps_ratio"],
        "oracle_steps_ratio_detail": g["steps_ratio_detail"],
        "oracle_final_gain": g["final_gain"],
        "oracle_final_gain_ci95": g["final_gain_ci95"],
        "oracle_targets": {
            "oracle_steps_ratio": ("n/a: oracle_sparse never beat its step-0 score" if undefined else
                                   "met" if g["steps_ratio"] is not None
                                   and g["steps_ratio"] <= TARGETS["oracle_steps_ratio"] else "missed"),
            "oracle_final_gain_ci95_above_0": "met" if (math.isfinite(lo) and lo > 0) else "missed",
        },
    }


def pick_best(folder: Path, candidates: list[str], seeds: list[int]) -> tuple[str, dict]:
    scores = {}
    for est in candidates:
        runs = load_arm(folder, f"pilot_{est}", seeds)
        scores[est] = arm_summary(runs)["auc"]
    best = max(scores, key=lambda k: (scores[k], k == "per_position"))
    return best, scores


def fmt(x, nd=3, signed=True):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return (f"{x:+.{nd}f}" if signed else f"{x:.{nd}f}") if isinstance(x, float) else str(x)


def num(x, nd=3):
    return fmt(x, nd, signed=False)


def markdown(res: dict) -> str:
    """The results file: the targets (when best_dense and sparse ran), the contrasts, the arms table."""
    lines = ["# RL gain: dense vs sparse judge rewards (held-out exact-checker score)", "",
             f"Setting: {res['setting']}", ""]
    t = res.get("targets")
    if t is not None:
        lines += [
            f"Best dense setting (pilot, AUC of the held-out checker curve): **grad_x_input + {res['best_estimator']}** "
            + (f"(pilot AUCs: {', '.join(f'{k} {v:.3f}' for k, v in res['pilot_auc'].items())})" if res["pilot_auc"]
               else "(given with --best, no pilot)"), "",
            "| metric (best dense vs sparse) | value | target | met |", "|---|---|---|---|",
            f"| steps_ratio | {num(res['steps_ratio'], 2)} | <= 0.5 | {t['steps_ratio']} |",
            f"| final_gain (95% CI) | {fmt(res['final_gain'])} ({fmt(res['final_gain_ci95'][0])}, "
            f"{fmt(res['final_gain_ci95'][1])}) | CI excludes 0 | {t['final_gain_ci95_excludes_0']} |",
            f"| peak_gain | {fmt(res['peak_gain'])} | | |",
            f"| uniform_minus_sparse (95% CI) | {fmt(res.get('uniform_minus_sparse'))} "
            f"({fmt(res.get('uniform_minus_sparse_ci95', [None])[0])}, "
            f"{fmt(res.get('uniform_minus_sparse_ci95', [None, None])[1])}) | <= 0 expected | |",
            f"| step_time_ratio | {num(res['step_time_ratio'], 2)} | <= 1.3 | {t['step_time_ratio']} |"]
    if "oracle_final_gain" in res:
        ot = t or res.get("oracle_targets", {})
        if t is None:
            lines += ["| metric | value | target | met |", "|---|---|---|---|"]
        lines += [
            f"| oracle_steps_ratio (oracle_dense vs oracle_sparse) | {num(res.get('oracle_steps_ratio'), 2)} | <= 0.5 | "
            f"{ot.get('oracle_steps_ratio', '–')} |",
            f"| oracle_final_gain (95% CI) | {fmt(res.get('oracle_final_gain'))} "
            f"({fmt(res.get('oracle_final_gain_ci95', [None])[0])}, "
            f"{fmt(res.get('oracle_final_gain_ci95', [None, None])[1])}) "
            f"| CI > 0 | {ot.get('oracle_final_gain_ci95_above_0', '–')} |"]
    lines.append("")
    if res.get("contrasts"):
        lines += ["Contrasts (final gain vs the arm's comparator, 95% CI over seeds): " + "; ".join(
            f"{k} {fmt(v['final_gain'])} ({fmt(v['final_gain_ci95'][0])}, {fmt(v['final_gain_ci95'][1])}) "
            f"vs {v.get('comparator', 'sparse')}"
            for k, v in res["contrasts"].items()), ""]
    lines += ["| arm | setting | seeds | start | final (95% CI) | peak @ step | AUC | judge R | agreement | KL | length | "
              "adv~pos | credit on truth | s/step |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, a in res["arms"].items():
        lo, hi = a["final_ci95"]
        sequence_level = a["setting"].split(" / ")[0] in ("sparse", "oracle_sparse")  # no token credit to measure
        credit = "–" if sequence_level else num(a.get("last_credit_on_truth"))
        lines.append(f"| {name} | {a['setting']} | {a['n_seeds']} | {num(a['start'])} | {num(a['final'])} "
                     f"({num(lo)}, {num(hi)}) | {num(a['peak'])} @ {num(a['peak_step'], 0)} | {num(a['auc'])} | "
                     f"{num(a['last_judge_reward'])} | {num(a['last_agreement'])} | {num(a['last_kl'], 4)} | "
                     f"{num(a['last_response_len'], 1)} | {fmt(a['last_adv_pos_corr'], 2)} | {credit} | "
                     f"{num(a['step_time_s'], 2)} |")
    lines += ["", "Train columns (judge R, agreement, KL, length, adv~pos, credit on truth) are means of each seed's "
              "last 5 steps. `credit on truth`: share of the positive token reward on the checker's truth tokens "
              "(dense arms). `adv~pos`: correlation of advantage with token position (the paper's pooled reward-to-go makes late "
              "tokens negative).", "", f"Wall time: {res['seconds'] / 60:.1f} min."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="a few steps on a throw-away quick world (smoke test)")
    p.add_argument("--world", default=None, help="world folder (default: the bundled one; --quick builds one)")
    p.add_argument("--out", default=None, help="results folder (default benchmarks/results; quick: outputs/rl_gain_quick)")
    p.add_argument("--runs", default=None, help="run folders (default runs/rl_gain; quick: outputs/rl_gain_quick/runs)")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--prompts-per-step", type=int, default=4)
    p.add_argument("--group-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--kl", type=float, default=0.2,
                   help="k3 KL coefficient to the initial policy (0.2: the sweep in results/rl_gain_kl; "
                        "at 0.02 the judges were hacked)")
    p.add_argument("--tau", type=float, default=1.0)
    p.add_argument("--lam", type=float, default=0.5)
    p.add_argument("--max-new-tokens", type=int, default=80)
    p.add_argument("--eval-every", type=int, default=5)
    p.add_argument("--eval-prompts", type=int, default=64)
    p.add_argument("--eval-samples", type=int, default=1)
    p.add_argument("--samples-every", type=int, default=10)
    p.add_argument("--checkpoint-every", type=int, default=10)
    p.add_argument("--jobs", type=int, default=2, help="runs at a time (each one thread)")
    p.add_argument("--judge-dtype", default="float32", help="judge weights: float32 (default), bfloat16, auto")
    p.add_argument("--candidates", default="per_position,additive,dense_centered",
                   help="estimators the pilot chooses from")
    p.add_argument("--pilot-seeds", type=int, default=2)
    p.add_argument("--pilot-steps", type=int, default=20)
    p.add_argument("--best", default=None, help="skip the pilot and use this estimator as the best dense setting")
    p.add_argument("--oracle-estimator", default=None, help="estimator of the oracle_dense arm (default: the best one)")
    p.add_argument("--arms", default=None, help="comma-separated subset of arms to run (default: all)")
    a = p.parse_args(argv)

    if a.quick:
        a.seeds, a.steps, a.prompts_per_step, a.group_size = 2, 3, 2, 4
        a.max_new_tokens, a.eval_every, a.eval_prompts, a.pilot_seeds, a.pilot_steps = 12, 1, 4, 2, 2
        a.samples_every, a.checkpoint_every, a.jobs = 1, 1, min(a.jobs, 2)
        if a.world is None:
            from g2r_lens.world.build import BuildConfig, build

            a.world = str(Path(tempfile.mkdtemp(prefix="g2r-quick-world-")))
            print(f"rl_gain --quick: building a quick world in {a.world}", flush=True)
            build(a.world, BuildConfig.quick())
    out = Path(a.out or (ROOT / ("outputs/rl_gain_quick" if a.quick else "benchmarks/results")))
    runs = Path(a.runs or (ROOT / ("outputs/rl_gain_quick/runs" if a.quick else "runs/rl_gain")))
    seeds = list(range(a.seeds))
    pilot_seeds = [100 + i for i in range(a.pilot_seeds)]
    candidates = [c.strip() for c in a.candidates.split(",") if c.strip()]
    t0 = time.time()

    # 1. pilot: choose the best dense estimator on seeds the benchmark never uses
    pilot_auc: dict[str, float] = {}
    if a.best:
        best = a.best
    else:
        jobs = []
        for est in candidates:
            spec = dict(reward="grad_x_input", estimator=est, judge="self", steps=a.pilot_steps)
            for s in pilot_seeds:
                o = runs / f"pilot_{est}-s{s}"
                jobs.append((o.name, train_cmd(spec, s, o, a), o, a.pilot_steps))
        run_all(jobs, a.jobs, out / "rl_gain.log")
        best, pilot_auc = pick_best(runs, candidates, pilot_seeds)
        print(f"rl_gain: pilot picked {best} ({pilot_auc})", flush=True)

    # 2. the arms
    specs = arm_specs(best, candidates, a.oracle_estimator)
    alias = {"sparse@self": "sparse", "sparse@external": "sparse_external"}  # the same arms under their names
    wanted = ([alias.get(x.strip(), x.strip()) for x in a.arms.split(",")] if a.arms
              else [name for name, spec in specs.items() if not spec.get("optional")])
    wanted = list(dict.fromkeys(wanted))
    specs.update({x: spec for x in wanted if x not in specs and (spec := named_arm(x, best))})
    unknown = [x for x in wanted if x not in specs]
    if unknown:
        raise SystemExit(f"rl_gain: unknown arm(s) {unknown}; known: {sorted(specs)} or METHOD@JUDGE "
                         "(a reward mode of `g2r train --reward` @ self|external)")
    jobs = [(f"{name}-s{s}", train_cmd(specs[name], s, runs / f"{name}-s{s}", a), runs / f"{name}-s{s}", a.steps)
            for s in seeds for name in wanted]  # seed-major: a partial run still has every arm
    run_all(jobs, a.jobs, out / "rl_gain.log")

    # 3. results
    arms = {name: load_arm(runs, name, seeds) for name in wanted}
    summ = {}
    for name, rs in arms.items():
        sm = arm_summary(rs)
        sp = specs[name]
        sm["setting"] = f"{sp['reward']} / {sp['estimator']} · {sp['judge']} judge"
        summ[name] = sm
    res: dict = {
        "benchmark": "rl_gain", "quick": a.quick,
        "setting": (f"{len(seeds)} seeds x {a.steps} steps, {a.prompts_per_step} prompts x G={a.group_size}, lr {a.lr}, "
                    f"k3 KL {a.kl}, tau {a.tau} (relative), max {a.max_new_tokens} new tokens; held-out eval on "
                    f"{a.eval_prompts} test prompts every {a.eval_every} steps (sampled, fixed seed)"),
        "world": portable_arg(a.world) if a.world else "bundled", "best_estimator": best, "pilot_auc": pilot_auc,
        "pilot_seeds": pilot_seeds,
    }
    if "oracle_sparse" in arms and "oracle_dense" in arms:
        res.update(oracle_metrics(arms))
    # every arm against its comparator (external arms: sparse_external when it ran), where that ran
    comparators = {k: comparator(k, specs, arms) for k in arms if k not in ("sparse", "sparse_external")}
    contrasts = {k: dict(gain_metrics(arms, k, c), comparator=c) for k, c in comparators.items() if c in arms}
    if contrasts:
        res["contrasts"] = contrasts
    if "sparse" in arms and "best_dense" in arms:
        res.update(gain_metrics(arms, "best_dense", "sparse"))
        if "uniform" in arms:
            u, s = finals(arms["uniform"]), finals(arms["sparse"])
            res["uniform_minus_sparse"] = float(np.mean(u) - np.mean(s))
            res["uniform_minus_sparse_ci95"] = list(bootstrap_diff_ci(u, s))
        lo, hi = res["final_gain_ci95"]
        undefined = res["steps_ratio_detail"]["sparse_peak_step"] == 0
        res["targets"] = {
            "steps_ratio": ("n/a: sparse never beat its step-0 score" if undefined else
                            "met" if res["steps_ratio"] is not None and res["steps_ratio"] <= TARGETS["steps_ratio"]
                            else "missed"),
            "final_gain_ci95_excludes_0": "met" if (math.isfinite(lo) and (lo > 0 or hi < 0)) else "missed",
            "step_time_ratio": "met" if res["step_time_ratio"] <= TARGETS["step_time_ratio"] else "missed",
        }
        if "oracle_targets" in res:
            res["targets"].update(res["oracle_targets"])
    res["arms"] = summ
    res["seconds"] = round(time.time() - t0, 1)
    out.mkdir(parents=True, exist_ok=True)
    (out / "rl_gain.json").write_text(json.dumps(_jsonable(res), indent=1))
    (out / "rl_gain.md").write_text(markdown(res))
    curves_html(arms, out / "rl_gain_curves.html", "RL gain: held-out checker score per arm",
                f"<p>{res['setting']}. Band: 95% CI over seeds.</p>")
    print((out / "rl_gain.md").read_text())
    print(f"rl_gain: wrote {out / 'rl_gain.json'}, rl_gain.md, rl_gain_curves.html")
    print(f"rl_gain: wall time {res['seconds']:.0f} s ({res['seconds'] / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
