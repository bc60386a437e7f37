"""``g2r world ...``: build the bundled world and report its judges' quality."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    w = sub.add_parser("world", help="the bundled rubric world: build models, report judge quality")
    wsub = w.add_subparsers(dest="world_cmd", required=True)
    b = wsub.add_parser("build", help="rebuild tasks, tokenizer, policy and external judge (~30 min on 2 cores)")
    b.add_argument("--out", default=None, help="output folder (default: the package's bundled data folder)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--quick", action="store_true", help="a few steps of every stage (smoke test, not for use)")
    b.set_defaults(fn=cmd_build)
    r = wsub.add_parser("report", help="judge accuracy against the exact checker (results table)")
    r.add_argument("--data", default=None, help="world folder (default: bundled)")
    r.add_argument("--n-tasks", type=int, default=100)
    r.add_argument("--out", default="benchmarks/results", help="folder for judge_quality.{json,md}")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--policy-tasks", type=int, default=200, help="test prompts of the policy section (0: skip it)")
    r.add_argument("--samples", type=int, default=8, help="policy samples per prompt (temperature 1)")
    r.set_defaults(fn=cmd_report)


def cmd_build(args: argparse.Namespace) -> int:
    from .build import BuildConfig, build

    cfg = BuildConfig.quick() if args.quick else BuildConfig()
    cfg.seed = args.seed
    summary = build(args.out, cfg)
    print(json.dumps({k: v for k, v in summary.items() if k not in ("log", "config")}, indent=1))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    import sys

    from .report import judge_quality, policy_quality, write_quality

    res = judge_quality(args.data, n_tasks=args.n_tasks, seed=args.seed)
    res["command"] = "g2r world report " + " ".join(sys.argv[3:]) if sys.argv[1:3] == ["world", "report"] \
        else "g2r world report"
    if args.policy_tasks:
        res["policy"] = policy_quality(args.data, n_tasks=args.policy_tasks, samples=args.samples, seed=args.seed)
    paths = write_quality(res, Path(args.out))
    print(paths["md"].read_text())
    return 0
