"""Re-harden the external judge on the responses of RL policies that fooled it (issue 10).

On world v4 at a low KL (0.02) every judge-rewarded RL arm is hacked: the held-out checker score
peaks at step 10-15 and falls while the judge's reward keeps rising
(`benchmarks/results/rl_gain_loo/kl0.02/`). That low KL is also the only regime where perfect token
credit beats perfect verdicts (`benchmarks/results/credit_headroom_v4/`), so hacking and credit
headroom conflict. This script measures one way out: a round of adversarial hardening. It

1. samples the final policies of finished `g2r train` runs (``--train-runs``, globs) on training
   prompts, temperature 1, as the RL loop samples them, and labels every criterion with the exact
   checker;
2. continues the external judge's training on those samples mixed with its ordinary data stream
   (the world build's hardening stage: same loss, same stream, lr = the base stage's / 3, warmup
   then cosine);
3. writes a world folder that is the given world with the new judge (``--out``), for
   ``benchmarks/rl_gain.py --world``;
4. reports the judge's accuracy against the checker before and after (the saved fp16 judge, as
   the RL loop loads it), on held-out hacked samples
   (the final policies of other runs, ``--heldout-runs``, on *test* prompts: use other seeds than
   the training runs') and on ordinary test responses (forgetting shows there).

    python benchmarks/judge_hardening.py --train-runs "runs/rl_loo_kl0.02/sparse*-s[01]" \\
        --heldout-runs "runs/rl_loo_kl0.02/sparse*-s2" --out outputs/world_hardened
    python benchmarks/rl_gain.py --world outputs/world_hardened --kl 0.02 ...

Results: ``judge_hardening.{json,md}`` in ``--results`` (default benchmarks/results/judge_hardening).
"""

from __future__ import annotations

import argparse
import glob
import json
import random
import shutil
import sys
import time
from pathlib import Path

import _common  # noqa: E402,F401  (benchmarks/_common.py: offline env, repo root on sys.path)
from _common import write_results  # noqa: E402

import torch  # noqa: E402

from g2r_lens.io import portable_arg  # noqa: E402
from g2r_lens.judge import Judge  # noqa: E402
from g2r_lens.world.build import _items, _judge_lr, _judge_stream, save_half  # noqa: E402
from g2r_lens.world.bundle import DATA_DIR, load_tasks, task_example  # noqa: E402
from g2r_lens.world.config import BuildConfig  # noqa: E402
from g2r_lens.world.formats import TEMPLATES  # noqa: E402
from g2r_lens.world.report import ORDINARY  # noqa: E402
from g2r_lens.world.responses import sample_response  # noqa: E402
from g2r_lens.world.training import judge_loss, sample_policy, train  # noqa: E402


def run_folders(patterns: str) -> list[Path]:
    """Finished run folders (with a ``policy/`` folder) matching comma-separated globs."""
    found = sorted({Path(p) for pat in patterns.split(",") if pat.strip() for p in glob.glob(pat.strip())})
    runs = [p for p in found if (p / "policy" / "config.json").exists()]
    if not runs:
        raise SystemExit(f"judge_hardening: no finished run folder (with policy/) matches {patterns!r}")
    return runs


def label(run: Path) -> str:
    """A run's name with its parent folder's (runs of several sweeps share names like ``sparse-s0``)."""
    return f"{run.parent.name}/{run.name}"


def policy_responses(run: Path, tasks: list, seed: int, max_new_tokens: int) -> list[tuple]:
    """``(task, response, "policy")`` triples: one sample per task from the run's final policy."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(run / "policy")
    model = AutoModelForCausalLM.from_pretrained(run / "policy", dtype=torch.float32).eval()
    out = sample_policy(model, tok, [t.prompt for t in tasks], max_new_tokens=max_new_tokens, temperature=1.0,
                        seed=seed)
    return [(t, r, "policy") for t, r in zip(tasks, out) if r.strip()]


def accuracy(judge: Judge, triples: list[tuple]) -> dict:
    """Verdict accuracy against the checker (all criteria; and on the criteria the checker calls False,
    where a hacked judge errs)."""
    exs = [task_example(t, r, mode=m, id=f"{t.id}-{i}") for i, (t, r, m) in enumerate(triples)]
    with torch.inference_mode():
        verdicts = judge.verdicts(exs, batch_size=32)
    ok, ok_false = [], []
    for ex, vs in zip(exs, verdicts):
        for truth, v in zip(ex.meta["checker"], vs):
            ok.append(v["verdict"] == truth)
            if not truth:
                ok_false.append(v["verdict"] == truth)
    return {"accuracy": sum(ok) / max(1, len(ok)), "n": len(ok),
            "accuracy_on_false": sum(ok_false) / max(1, len(ok_false)), "n_false": len(ok_false)}


def markdown(res: dict) -> str:
    lines = ["# Judge hardening on the responses of hacked RL policies", "", f"`{res['command']}`", "",
             f"Training samples: {res['n_train_samples']} responses from {len(res['train_runs'])} runs "
             f"({', '.join(res['train_runs'])}) on training prompts; {res['steps']} steps of "
             f"{res['judge_batch']} responses, {res['hacked_share']:.0%} of them these samples, lr {res['lr']:.2g}.", "",
             "| test set (test prompts) | n criteria | accuracy before | after | on checker-False criteria, before | after |",
             "|---|---|---|---|---|---|"]
    for name in res["before"]:
        b, a = res["before"][name], res["after"][name]
        lines.append(f"| {name} | {b['n']} | {b['accuracy']:.3f} | {a['accuracy']:.3f} | {b['accuracy_on_false']:.3f} "
                     f"| {a['accuracy_on_false']:.3f} |")
    lines += ["", f"held-out runs: {', '.join(res['heldout_runs'])}.", "",
              f"Wall time: {res['seconds'] / 60:.1f} min (sampling, {res['steps']} training steps, evaluation).", ""]
    return "\n".join(lines)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--world", default=None, help="world folder (default: the bundled one)")
    ap.add_argument("--train-runs", required=True, help="comma-separated globs of finished `g2r train` run folders")
    ap.add_argument("--heldout-runs", required=True, help="globs of other runs (other seeds) for the held-out test")
    ap.add_argument("--prompts", type=int, default=300, help="training prompts sampled per training run")
    ap.add_argument("--test-prompts", type=int, default=100, help="test prompts per held-out run and for ordinary responses")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--hacked-share", type=float, default=0.5, help="share of each batch drawn from the RL samples")
    ap.add_argument("--max-new-tokens", type=int, default=80, help="as the RL loop samples (g2r train's default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: every core)")
    ap.add_argument("--out", required=True, help="world folder to write (a copy of --world with the new judge)")
    ap.add_argument("--results", default="benchmarks/results/judge_hardening")
    a = ap.parse_args(argv)
    if not 0.0 <= a.hacked_share <= 1.0:
        raise SystemExit("judge_hardening: --hacked-share must be in [0, 1]")
    t0 = time.time()
    torch.set_num_threads(a.threads or torch.get_num_threads())
    world = Path(a.world) if a.world else DATA_DIR
    out = Path(a.out)
    if not (world / "build.json").exists() or not (world / "judge" / "config.json").exists():
        raise SystemExit(f"judge_hardening: {world} is not a world folder (no build.json or judge/)")
    w, o = world.resolve(), out.resolve()
    if o == w or o in w.parents or w in o.parents:
        raise SystemExit("judge_hardening: --out must differ from the world folder and not contain it or lie in it "
                         "(the world is copied, not changed)")
    if out.exists() and not (out / "hardening.json").exists():
        raise SystemExit(f"judge_hardening: --out {out} exists and is not an earlier output of this script "
                         "(no hardening.json): refusing to replace it")
    cfg = BuildConfig.from_dict(json.loads((world / "build.json").read_text())["config"])
    train_tasks, test_tasks = load_tasks("train", world / "tasks"), load_tasks("test", world / "tasks")
    rng = random.Random(a.seed)
    train_runs, heldout_runs = run_folders(a.train_runs), run_folders(a.heldout_runs)
    overlap = {p.resolve() for p in train_runs} & {p.resolve() for p in heldout_runs}
    if overlap:
        raise SystemExit(f"judge_hardening: runs in both --train-runs and --heldout-runs: {sorted(map(str, overlap))}")

    print(f"judge_hardening: sampling {len(train_runs)} training runs x {a.prompts} prompts", flush=True)
    hacked = [x for i, run in enumerate(train_runs)
              for x in policy_responses(run, rng.sample(train_tasks, min(a.prompts, len(train_tasks))), a.seed + i,
                                        a.max_new_tokens)]
    if not hacked and a.hacked_share > 0:
        raise SystemExit("judge_hardening: the training runs gave no non-empty response (raise --prompts, "
                         "or --hacked-share 0)")
    tests = test_tasks[:a.test_prompts]
    test_sets = {f"held-out RL policy samples ({label(run)})": policy_responses(run, tests, a.seed + 1000 + i,
                                                                             a.max_new_tokens)
                 for i, run in enumerate(heldout_runs)}
    trng = random.Random(a.seed + 1)
    test_sets["ordinary responses (good, noisy)"] = [(t, r, m) for t in tests for m in ORDINARY
                                                    if (r := sample_response(t, trng, m)).strip()]

    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(world / "judge")
    model = AutoModelForCausalLM.from_pretrained(world / "judge", dtype=torch.float32)
    judge = Judge(model, tok, TEMPLATES[cfg.template])
    model.eval()
    before = {k: accuracy(judge, v) for k, v in test_sets.items()}

    stream = _judge_stream(train_tasks, cfg, a.seed + 5)
    mrng, xrng = random.Random(a.seed + 3), random.Random(a.seed + 42)
    pad, true_id, false_id = tok.pad_token_id, judge.true_id, judge.false_id
    lr = _judge_lr(cfg) / 3

    def make_loss(step):
        mix = [mrng.choice(hacked) if mrng.random() < a.hacked_share else next(stream) for _ in range(cfg.judge_batch)]
        loss, acc = judge_loss(model, _items(judge, mix, cfg, xrng), pad, true_id, false_id, cfg.judge_lm_weight,
                               cfg.balance)
        return loss, {"acc": acc}

    model.requires_grad_(True)
    train(model, a.steps, lr, make_loss, "external judge (hardening on RL samples)")
    model.requires_grad_(False)
    # the new world is written next to --out and moved into place whole (an interrupted run leaves no
    # half-written world); the judge is saved as the world ships it (fp16) and measured as loaded back
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(world, tmp)
    save_half(model, tmp / "judge")
    tok.save_pretrained(tmp / "judge")
    note = {"judge_hardening": {"train_runs": [label(p) for p in train_runs], "steps": a.steps,
                                "hacked_share": a.hacked_share, "seed": a.seed}}
    (tmp / "hardening.json").write_text(json.dumps(note, indent=1))
    saved = AutoModelForCausalLM.from_pretrained(tmp / "judge", dtype=torch.float32).eval()
    after = {k: accuracy(Judge(saved, tok, TEMPLATES[cfg.template]), v) for k, v in test_sets.items()}
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)

    res = {"command": "python benchmarks/judge_hardening.py " + " ".join(
               portable_arg(x) for x in (sys.argv[1:] if argv is None else argv)),
           "world": portable_arg(str(world)), "train_runs": [label(p) for p in train_runs], "heldout_runs": [label(p) for p in heldout_runs],
           "n_train_samples": len(hacked), "steps": a.steps, "judge_batch": cfg.judge_batch, "lr": lr,
           "hacked_share": a.hacked_share, "before": before, "after": after, "seconds": round(time.time() - t0, 1)}
    write_results("judge_hardening", res, markdown(res), out=a.results)
    print(markdown(res))
    return res


if __name__ == "__main__":
    main()
