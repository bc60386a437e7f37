"""Estimator bias: advantage-position correlation on real rollouts, and length drift in short training.

Two measurements per advantage estimator (issue 10, item 2), on the bundled policy (or ``--world``):

1. **Position bias.** ``--prompts`` train prompts x ``--group-size`` samples from the *initial* policy,
   scored with each ``--rewards`` source (``oracle_dense``: the checker's score on its truth tokens;
   ``grad_x_input``: the frozen self-judge's dense reward). For every estimator: the Spearman rank
   correlation ``rho`` of advantage and token position over all valid tokens of the batch (target
   ``|rho| <= 0.1``), the Pearson one, and ``end_gap``: mean advantage of end tokens minus the mean
   advantage of the other tokens of the same responses (responses that ended; > 0 rewards ending,
   < 0 discourages it).
2. **Length drift.** A short training run per estimator (``--steps`` steps, ``--train-prompts`` x
   ``--group-size``, reward ``oracle_dense``, no judge, ``--seeds`` seeds) from the same policy; drift
   = mean response length over the last 3 steps minus the first 3 steps, seed mean, and its
   difference from ``sparse``'s drift (target: no drift beyond sparse's, i.e. ``drift - sparse <= 0``
   up to noise). The sparse arm gets the same dense reward (``sparse`` ignores it: the no-op trap),
   so it is the oracle_sparse baseline.

Outputs ``estimator_bias.json`` and ``estimator_bias.md`` in ``--out`` (default benchmarks/results);
run folders go to ``--runs`` (default outputs/estimator_bias/runs, overwritten).

    python benchmarks/estimator_bias.py            # the default size: 10 training runs of 15 steps
                                                   # (each 150-900 s on the 2-core CPU at load ~30)
    python benchmarks/estimator_bias.py --quick    # a smoke run on a throw-away quick world
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from g2r_lens.rl.advantages import compute_advantages, position_correlation  # noqa: E402
from g2r_lens.rl.rollout import rollout  # noqa: E402
from g2r_lens.rl.scoring import Scorer  # noqa: E402
from g2r_lens.rl.trainer import TrainConfig, Trainer, _jsonable, load_world, read_jsonl  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ESTIMATORS = "sparse,dense_centered,grad2reward,per_position,additive"
RHO_TARGET = 0.1


def spearman(adv: torch.Tensor, mask: torch.Tensor) -> float:
    """Spearman rho of advantage and token position over the valid tokens (average ranks for ties)."""
    m = mask.bool()
    a = adv.double()[m].numpy()
    pos = torch.arange(m.shape[1]).expand_as(m)[m].numpy()
    if len(a) < 2 or np.ptp(a) < 1e-12:
        return math.nan
    ra, rp = pd.Series(a).rank(method="average").to_numpy(), pd.Series(pos).rank(method="average").to_numpy()
    return float(np.corrcoef(ra, rp)[0, 1])  # Pearson of the ranks (pandas' spearman needs scipy)


def _nanmean(xs) -> float:
    v = [float(x) for x in xs if x is not None and math.isfinite(float(x))]
    return float(np.mean(v)) if v else math.nan


def end_gap(adv: torch.Tensor, mask: torch.Tensor, ended: list[bool]) -> float:
    """Mean advantage of end tokens minus mean advantage of the other tokens of the same responses."""
    lengths = mask.sum(1)
    ends, rest = [], []
    for i, e in enumerate(ended):
        L = int(lengths[i])
        if e and L > 1:
            ends.append(float(adv[i, L - 1]))
            rest.append(float(adv[i, : L - 1].mean()))
    return float(np.mean(ends) - np.mean(rest)) if ends else math.nan


def position_bias(a: argparse.Namespace, estimators: list[str], rewards: list[str]) -> dict:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from g2r_lens.world.bundle import load_judge

    world = load_world(TrainConfig(world=a.world, eval_prompts=0, prompts_per_step=1))
    tok = AutoTokenizer.from_pretrained(world.policy_dir)
    policy = AutoModelForCausalLM.from_pretrained(world.policy_dir, dtype=torch.float32).eval()
    rng = np.random.default_rng(a.seed)
    tasks = [world.train[i] for i in rng.choice(len(world.train), size=min(a.prompts, len(world.train)), replace=False)]
    t0 = time.perf_counter()
    ro = rollout(policy, tok, [t.prompt for t in tasks], group_size=a.group_size, max_new_tokens=a.max_new_tokens,
                 generator=torch.Generator().manual_seed(a.seed))
    print(f"estimator_bias: {len(ro)} rollouts ({np.mean(ro.lengths):.1f} tokens on average, "
          f"{np.mean([not e for e in ro.ended]):.0%} at the cap) in {time.perf_counter() - t0:.0f}s", flush=True)
    row_tasks = [tasks[i] for i in ro.task_index]
    B, T = ro.response_ids.shape
    out: dict = {"n_responses": len(ro), "mean_length": float(np.mean(ro.lengths)),
                 "hit_cap": float(np.mean([not e for e in ro.ended])), "by_reward": {}}
    for mode in rewards:
        judge = None
        if mode not in ("oracle_dense", "oracle_sparse"):
            judge = load_judge(path=world.policy_dir, device="cpu", dtype="float32", truncation="response")
        sc = Scorer(judge, mode, judge_oracles=False, batch_size=32).score(row_tasks, ro.texts, ro.offsets)
        r = torch.zeros(B, T, dtype=torch.float64)
        for i, tr in enumerate(sc.token_rewards):
            r[i, : len(tr)] = torch.as_tensor(tr, dtype=torch.float64)
        R = torch.tensor(sc.rewards, dtype=torch.float64)
        m = ro.response_mask.cpu().bool()
        res = {}
        for est in estimators:
            params = {"lam": a.lam} if est in ("additive", "dense_centered") else {}
            adv = compute_advantages(est, r, R, m, ro.group_ids, **params)
            rho = spearman(adv, m)
            res[est] = {"spearman_rho": rho, "pearson_r": position_correlation(adv, m),
                        "end_gap": end_gap(adv, m, ro.ended), "adv_abs_max": float(adv[m].abs().max()),
                        "rho_target_met": bool(abs(rho) <= RHO_TARGET) if math.isfinite(rho) else None}
        out["by_reward"][mode] = {"mean_reward": float(R.mean()), "estimators": res}
        print(f"estimator_bias: position bias with {mode} rewards done", flush=True)
    return out


def _other_config(out: Path, cfg: TrainConfig) -> bool:
    from dataclasses import asdict

    conf = out / "config.json"
    return conf.exists() and json.loads(conf.read_text()) != json.loads(json.dumps(asdict(cfg)))


def length_drift(a: argparse.Namespace, estimators: list[str], on_result=None) -> dict:
    runs = Path(a.runs)
    res: dict = {}
    for est in estimators:
        per_seed = []
        for s in range(a.seeds):
            cfg = TrainConfig(reward="oracle_dense", estimator=est, world=a.world, seed=s, steps=a.steps,
                              prompts_per_step=a.train_prompts, group_size=a.group_size, lr=a.lr, kl=a.kl, lam=a.lam,
                              max_new_tokens=a.max_new_tokens, eval_prompts=0, samples_every=0, checkpoint_every=0,
                              judge_oracles=False, save_policy=False, device="cpu")
            out = runs / f"{est}-s{s}"
            t0 = time.perf_counter()
            # a finished run with the same config is reused (the trainer resumes it at its last step);
            # another config in the folder is discarded
            Trainer(cfg, out, progress=False, overwrite=_other_config(out, cfg)).train()
            rows = read_jsonl(out / "metrics.jsonl")
            L = [r["response_len"] for r in rows]
            k = min(3, len(L))
            per_seed.append({"seed": s, "len_start": float(np.mean(L[:k])), "len_end": float(np.mean(L[-k:])),
                             "hit_cap_end": float(np.mean([r["hit_cap"] for r in rows[-k:]])),
                             "checker_start": float(np.mean([r["checker_score"] for r in rows[:k]])),
                             "checker_end": float(np.mean([r["checker_score"] for r in rows[-k:]])),
                             "adv_pos_corr": _nanmean([r["adv_pos_corr"] for r in rows]),
                             "seconds": time.perf_counter() - t0})
            print(f"estimator_bias: {est} seed {s}: length {per_seed[-1]['len_start']:.1f} -> "
                  f"{per_seed[-1]['len_end']:.1f} in {per_seed[-1]['seconds']:.0f}s", flush=True)
            if on_result is not None:
                on_result(dict(res, **{est: {"partial_seeds": per_seed}}))
        drift = [p["len_end"] - p["len_start"] for p in per_seed]
        res[est] = {"len_start": float(np.mean([p["len_start"] for p in per_seed])),
                    "len_end": float(np.mean([p["len_end"] for p in per_seed])),
                    "drift": float(np.mean(drift)), "drift_per_seed": drift,
                    "hit_cap_end": float(np.mean([p["hit_cap_end"] for p in per_seed])),
                    "checker_start": float(np.mean([p["checker_start"] for p in per_seed])),
                    "checker_end": float(np.mean([p["checker_end"] for p in per_seed])),
                    "train_adv_pos_corr": _nanmean([p["adv_pos_corr"] for p in per_seed]), "seeds": per_seed}
    if "sparse" in res:
        for est, v in res.items():
            v["drift_minus_sparse"] = v["drift"] - res["sparse"]["drift"]
    return res


def _f(x, nd=3, signed=True):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:+.{nd}f}" if signed else f"{x:.{nd}f}"


def markdown(res: dict) -> str:
    pb, ld = res["position_bias"], res["length_drift"]
    lines = ["# Estimator bias: advantage vs position, and length drift", "", f"Setting: {res['setting']}", "",
             f"## Advantage-position correlation on {pb['n_responses']} rollouts of the initial policy "
             f"(mean length {pb['mean_length']:.1f}, {pb['hit_cap']:.0%} at the cap)", "",
             "| estimator | " + " | ".join(f"{m}: Spearman rho | {m}: end gap" for m in pb["by_reward"]) + " | |rho| <= 0.1 |",
             "|---|" + "---|---|" * len(pb["by_reward"]) + "---|"]
    for est in res["estimators"]:
        cells, met = [], []
        for m, v in pb["by_reward"].items():
            e = v["estimators"][est]
            cells += [_f(e["spearman_rho"], 3), _f(e["end_gap"], 3)]
            met.append({True: "yes", False: "no", None: "n/a"}[e["rho_target_met"]])
        lines.append(f"| {est} | " + " | ".join(cells) + f" | {'/'.join(met)} |")
    lines += ["", "`end gap`: mean advantage of end tokens minus the mean of the other tokens of the same responses "
              "(< 0: ending is discouraged).", "",
              f"## Length drift over {res['steps']} training steps (reward oracle_dense, {res['seeds']} seeds)", "",
              "| estimator | length start -> end | drift | drift - sparse | at cap (end) | checker start -> end | "
              "train adv~pos (Pearson) |", "|---|---|---|---|---|---|---|"]
    for est in res.get("drift_estimators", res["estimators"]):
        v = ld[est]
        lines.append(f"| {est} | {v['len_start']:.1f} -> {v['len_end']:.1f} | {_f(v['drift'], 1)} | "
                     f"{_f(v.get('drift_minus_sparse'), 1)} | {v['hit_cap_end']:.2f} | {v['checker_start']:.3f} -> "
                     f"{v['checker_end']:.3f} | {_f(v['train_adv_pos_corr'], 2)} |")
    lines += ["", f"Wall time: {res['seconds']:.0f} s. {res.get('note', '')}".rstrip()]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run on a throw-away quick world")
    p.add_argument("--world", default=None, help="world folder (default: the bundled one)")
    p.add_argument("--out", default=None, help="results folder (default benchmarks/results)")
    p.add_argument("--runs", default=None, help="training run folders (default outputs/estimator_bias/runs)")
    p.add_argument("--estimators", default=ESTIMATORS, help="estimators of the position-bias table")
    p.add_argument("--drift-estimators", default=None,
                   help="estimators of the length-drift runs (default: --estimators; keep sparse for the reference)")
    p.add_argument("--rewards", default="oracle_dense,grad_x_input", help="dense reward sources for the position bias")
    p.add_argument("--prompts", type=int, default=16, help="prompts for the position-bias rollouts")
    p.add_argument("--group-size", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=80)
    p.add_argument("--steps", type=int, default=15, help="training steps per length-drift run")
    p.add_argument("--train-prompts", type=int, default=2, help="prompts per training step")
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--kl", type=float, default=0.0)
    p.add_argument("--lam", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--note", default="", help="a line added to the results (machine, load)")
    a = p.parse_args(argv)
    if a.quick:
        a.prompts, a.group_size, a.max_new_tokens, a.steps, a.seeds = 4, 4, 16, 4, 1
        if a.world is None:
            from g2r_lens.world.build import BuildConfig, build

            a.world = tempfile.mkdtemp(prefix="g2r-quick-world-")
            build(a.world, BuildConfig.quick())
    torch.set_num_threads(a.threads)
    out = Path(a.out or (ROOT / ("outputs/estimator_bias_quick" if a.quick else "benchmarks/results")))
    a.runs = a.runs or str(ROOT / "outputs" / ("estimator_bias_quick" if a.quick else "estimator_bias") / "runs")
    estimators = [e.strip() for e in a.estimators.split(",") if e.strip()]
    rewards = [r.strip() for r in a.rewards.split(",") if r.strip()]
    t0 = time.time()
    res = {"benchmark": "estimator_bias", "quick": a.quick, "world": a.world or "bundled", "estimators": estimators,
           "steps": a.steps, "seeds": a.seeds, "note": a.note,
           "setting": (f"position bias: {a.prompts} prompts x G={a.group_size}, max {a.max_new_tokens} new tokens, "
                       f"lam {a.lam}; length drift: {a.steps} steps x {a.train_prompts} prompts x G={a.group_size}, "
                       f"lr {a.lr}, kl {a.kl}, {a.seeds} seeds, reward oracle_dense; {a.threads} torch thread(s)"),
           "rho_target": RHO_TARGET}
    res["position_bias"] = position_bias(a, estimators, rewards)
    out.mkdir(parents=True, exist_ok=True)

    def save_partial(drift: dict) -> None:  # after every run: a killed benchmark keeps what it measured
        (out / "estimator_bias.partial.json").write_text(json.dumps(_jsonable(dict(res, length_drift=drift)), indent=1))

    save_partial({})
    drift_est = [e.strip() for e in a.drift_estimators.split(",") if e.strip()] if a.drift_estimators else estimators
    res["drift_estimators"] = drift_est
    res["length_drift"] = length_drift(a, drift_est, save_partial)
    res["seconds"] = round(time.time() - t0, 1)
    (out / "estimator_bias.partial.json").unlink(missing_ok=True)
    (out / "estimator_bias.json").write_text(json.dumps(_jsonable(res), indent=1))
    (out / "estimator_bias.md").write_text(markdown(res))
    print(markdown(res))
    print(f"estimator_bias: wrote {out / 'estimator_bias.json'} and estimator_bias.md; wall time {res['seconds']:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
