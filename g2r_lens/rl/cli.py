"""``g2r train`` and ``g2r compare``.

    g2r train --reward grad_x_input --estimator per_position --judge self --seed 0 --steps 100 --out runs/g2r-s0
    g2r train --reward sparse --estimator sparse --out runs/sparse-s0          # the baseline
    g2r compare runs/* --out report                                            # table + curves

Re-running the same ``g2r train`` command on a folder resumes it from its last checkpoint (``--steps``
may grow); another config in the same folder is refused unless ``--overwrite``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

from ..errors import G2RError


def add_parser(sub: argparse._SubParsersAction) -> None:
    from .advantages import available_estimators
    from .scoring import reward_modes
    from .trainer import TrainConfig

    d = TrainConfig()
    t = sub.add_parser("train", help="RL-train the bundled policy with sparse or dense judge rewards",
                       description="Token-level GRPO on the bundled world. Re-run the same command to resume.")
    t.add_argument("--reward", default=d.reward, help=f"reward mode, one of {reward_modes()}")
    t.add_argument("--estimator", default=d.estimator, help=f"advantage estimator, one of {available_estimators()}")
    t.add_argument("--judge", default=d.judge, help="self (frozen initial policy) or external (the bundled judge)")
    t.add_argument("--seed", type=int, default=d.seed)
    t.add_argument("--steps", type=int, default=d.steps)
    t.add_argument("--prompts-per-step", type=int, default=d.prompts_per_step)
    t.add_argument("--group-size", type=int, default=d.group_size, help="samples per prompt (G >= 2)")
    t.add_argument("--lr", type=float, default=d.lr)
    t.add_argument("--kl", type=float, default=d.kl, help="k3 KL coefficient to the initial policy (0: logged only)")
    t.add_argument("--tau", type=float, default=d.tau)
    t.add_argument("--tau-mode", default=d.tau_mode, help="relative (scale-aware, default) or absolute (paper-literal)")
    t.add_argument("--lam", type=float, default=d.lam, help="weight of the dense term of the additive estimator")
    t.add_argument("--temperature", type=float, default=d.temperature)
    t.add_argument("--top-p", type=float, default=d.top_p)
    t.add_argument("--max-new-tokens", type=int, default=d.max_new_tokens)
    t.add_argument("--ppo-epochs", type=int, default=d.ppo_epochs)
    t.add_argument("--minibatch-size", type=int, default=d.minibatch_size)
    t.add_argument("--eval-every", type=int, default=d.eval_every)
    t.add_argument("--eval-prompts", type=int, default=d.eval_prompts)
    t.add_argument("--eval-samples", type=int, default=d.eval_samples)
    t.add_argument("--eval-mode", default=d.eval_mode, help="sampled (fixed seed) or greedy")
    t.add_argument("--samples-every", type=int, default=d.samples_every)
    t.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every)
    t.add_argument("--attr-batch-size", type=int, default=d.attr_batch_size)
    t.add_argument("--device", default=d.device)
    t.add_argument("--judge-dtype", default=d.judge_dtype, help="judge weights: float32 (default), bfloat16, auto (bf16 on a GPU)")
    t.add_argument("--world", default=None, help="world folder (default: the bundled one)")
    t.add_argument("--tasks", default=None, help="task folder (default: <world>/tasks)")
    t.add_argument("--out", required=True, help="run folder, e.g. runs/NAME")
    t.add_argument("--overwrite", action="store_true", help="discard what --out holds and start over")
    t.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(fn=cmd_train)

    c = sub.add_parser("compare", help="compare run folders: table and learning curves with seed bands")
    c.add_argument("runs", nargs="+", help="run folders (seeds of one setting are grouped into one arm)")
    c.add_argument("--out", default="report", help="output folder (compare.md, compare.json, curves.html)")
    c.set_defaults(fn=cmd_compare)


def config_from_args(args: argparse.Namespace):
    from .trainer import TrainConfig

    names = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in vars(args).items() if k in names})


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    from .trainer import Trainer

    if args.threads:
        torch.set_num_threads(args.threads)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    cfg = config_from_args(args)
    trainer = Trainer(cfg, args.out, overwrite=args.overwrite, progress=not args.quiet)
    if trainer.step:
        print(f"g2r train: resuming {args.out} at step {trainer.step}", file=sys.stderr)
    summary = trainer.train()
    ev = summary.get("eval") or {}
    print(json.dumps({"out": str(args.out), "step": summary["step"],
                      "eval_checker_score": ev.get("checker_score"),
                      "last_judge_reward": (summary.get("last") or {}).get("judge_reward")}))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .plots import write_compare

    runs = [r for r in args.runs if (Path(r) / "config.json").exists()]
    skipped = sorted(set(args.runs) - set(runs))
    if skipped:
        print(f"g2r compare: skipping {len(skipped)} folder(s) without config.json: {skipped[:5]}", file=sys.stderr)
    if not runs:
        raise G2RError("none of the given folders is a run folder (no config.json)")
    paths = write_compare(runs, args.out)
    print(paths["md"].read_text())
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
