"""``g2r world build|report``: build the bundled world and report its judges' quality.

Every field of :class:`~g2r_lens.world.config.BuildConfig` is a flag of ``g2r world build`` (derived,
with its help text; model shapes as ``--policy-layers``, ``--judge-hidden``...). ``--quick`` starts
from :meth:`BuildConfig.quick` instead of the defaults; the flags given override either.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .config_args import add_config_args, config_from_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ..world.config import BuildConfig

    w = sub.add_parser("world", help="the bundled rubric world: build models, report judge quality")
    wsub = w.add_subparsers(dest="world_cmd", required=True)
    b = wsub.add_parser("build", help="rebuild tasks, tokenizer, policy and external judge (~30 min on 2 cores)")
    b.add_argument("--out", default=None, help="output folder (default: the package's bundled data folder)")
    b.add_argument("--quick", action="store_true", help="a few steps of every stage (smoke test, not for use)")
    add_config_args(b.add_argument_group("build settings (BuildConfig)"), BuildConfig)
    b.set_defaults(fn=cmd_build)
    r = wsub.add_parser("report", help="judge accuracy against the exact checker (results table)")
    r.add_argument("--data", default=None, help="world folder (default: bundled)")
    r.add_argument("--n-tasks", type=int, default=100)
    r.add_argument("--out", default="benchmarks/results", help="folder for judge_quality.{json,md}")
    r.add_argument("--seed", type=int, default=0)
    r.set_defaults(fn=cmd_report)


def build_config(args: argparse.Namespace):
    """The :class:`BuildConfig` of ``g2r world build`` (``--quick`` base, then the given flags)."""
    from ..world.config import BuildConfig

    return config_from_args(BuildConfig, args, BuildConfig.quick() if args.quick else BuildConfig())


def cmd_build(args: argparse.Namespace) -> int:
    from ..world.build import build

    summary = build(args.out, build_config(args))
    print(json.dumps({k: v for k, v in summary.items() if k not in ("log", "config")}, indent=1))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from ..world.report import judge_quality, write_quality

    res = judge_quality(args.data, n_tasks=args.n_tasks, seed=args.seed)
    paths = write_quality(res, Path(args.out))
    print(paths["md"].read_text())
    return 0
