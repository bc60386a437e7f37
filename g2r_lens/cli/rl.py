"""``g2r rl train`` and ``g2r rl compare`` (also ``g2r train`` / ``g2r compare``).

    g2r rl train --reward grad_x_input --estimator per_position --judge self --seed 0 --steps 100 --out runs/g2r-s0
    g2r rl train --reward sparse --estimator sparse --out runs/sparse-s0          # the baseline
    g2r rl compare runs/* --out report                                            # table + curves

Every field of :class:`~g2r_lens.rl.config.TrainConfig` is a flag (derived, with its help text).
Re-running the same ``g2r rl train`` command on a folder resumes it from its last checkpoint
(``--steps`` may grow); another config in the same folder is refused unless ``--overwrite``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import G2RError
from .config_args import add_config_args, config_from_args

TRAIN_HELP = "RL-train the bundled policy with sparse or dense judge rewards"
COMPARE_HELP = "compare run folders: table and learning curves with seed bands"


def add_train_args(t: argparse.ArgumentParser) -> None:
    from ..rl.advantages import available_estimators
    from ..rl.config import TrainConfig
    from ..rl.scoring import reward_modes

    add_config_args(t, TrainConfig, help_overrides={
        "reward": f"reward mode, one of {reward_modes()}",
        "estimator": f"advantage estimator, one of {available_estimators()}"})
    t.add_argument("--out", required=True, help="run folder, e.g. runs/NAME")
    t.add_argument("--overwrite", action="store_true", help="discard what --out holds and start over")
    t.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(fn=cmd_train)


def add_compare_args(c: argparse.ArgumentParser) -> None:
    c.add_argument("runs", nargs="+", help="run folders (seeds of one setting are grouped into one arm)")
    c.add_argument("--out", default="report", help="output folder (compare.md, compare.json, curves.html)")
    c.set_defaults(fn=cmd_compare)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """``g2r rl train|compare``, plus the top-level aliases ``g2r train`` and ``g2r compare``."""
    r = sub.add_parser("rl", help="the mini RL loop: train a policy, compare runs")
    rsub = r.add_subparsers(dest="rl_cmd", required=True)
    train_desc = "Token-level GRPO on the bundled world. Re-run the same command to resume."
    add_train_args(rsub.add_parser("train", help=TRAIN_HELP, description=train_desc))
    add_compare_args(rsub.add_parser("compare", help=COMPARE_HELP))
    add_train_args(sub.add_parser("train", help="alias of `g2r rl train`", description=train_desc))
    add_compare_args(sub.add_parser("compare", help="alias of `g2r rl compare`"))


def config_from(args: argparse.Namespace):
    from ..rl.config import TrainConfig

    return config_from_args(TrainConfig, args)


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    from ..rl.trainer import Trainer

    if args.threads:
        torch.set_num_threads(args.threads)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    cfg = config_from(args)
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
    from ..rl.plots import write_compare

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
