"""``g2r world build|report``: build the bundled world and report its judges' quality.

Every field of :class:`~g2r_lens.world.config.BuildConfig` is a flag of ``g2r world build`` (derived,
with its help text; model shapes as ``--policy-layers``, ``--judge-hidden``...). ``--quick`` starts
from :meth:`BuildConfig.quick` instead of the defaults; the flags given override either.
"""

from __future__ import annotations

import argparse
import json
import sys
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
    b.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE",
                   help="override a BuildConfig knob, e.g. --set policy_steps=3000 (repeatable; "
                        "model shapes: policy.layers=4)")
    b.set_defaults(fn=cmd_build)
    r = wsub.add_parser("report", help="judge accuracy against the exact checker (results table)")
    r.add_argument("--data", default=None, help="world folder (default: bundled)")
    r.add_argument("--n-tasks", type=int, default=100)
    r.add_argument("--out", default="benchmarks/results", help="folder for judge_quality.{json,md}")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--policy-tasks", type=int, default=200, help="test prompts of the policy section (0: skip it)")
    r.add_argument("--samples", type=int, default=8, help="policy samples per prompt (temperature 1)")
    r.set_defaults(fn=cmd_report)


def set_knob(cfg, item: str) -> None:
    """Apply ``KNOB=VALUE`` (or ``policy.KNOB=VALUE``) to a :class:`BuildConfig`, typed by its field."""
    from dataclasses import fields

    from ..errors import WorldError

    key, sep, value = item.partition("=")
    if not sep:
        raise WorldError(f"--set wants KNOB=VALUE, not {item!r}")
    target, name = cfg, key.strip()
    if "." in name:
        head, name = name.split(".", 1)
        target = getattr(cfg, head, None)
        if target is None or not hasattr(target, "__dataclass_fields__"):
            raise WorldError(f"unknown model shape {head!r}; use policy.* or judge.*")
    known = {f.name: f for f in fields(target)}
    if name not in known:
        raise WorldError(f"unknown build knob {key!r}; known: {', '.join(sorted(known))}")
    old = getattr(target, name)
    try:
        if isinstance(old, bool):
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError(value)
            new = value.lower() in ("true", "1")
        elif old is None or isinstance(old, int):
            new = None if value.lower() == "none" else int(value)
        elif isinstance(old, float):
            new = float(value)
        else:
            new = value
    except ValueError:
        raise WorldError(f"--set {key}: {value!r} is not a valid {type(old).__name__}") from None
    setattr(target, name, new)


def build_config(args: argparse.Namespace):
    """The :class:`BuildConfig` of ``g2r world build`` (``--quick`` base, then the given flags)."""
    from ..world.config import BuildConfig

    return config_from_args(BuildConfig, args, BuildConfig.quick() if args.quick else BuildConfig())


def cmd_build(args: argparse.Namespace) -> int:
    from ..world.build import build

    cfg = build_config(args)
    for item in args.set:
        set_knob(cfg, item)
    summary = build(args.out, cfg)
    from ..world.bundle import DATA_DIR

    bj = Path(args.out or DATA_DIR) / "build.json"  # record how the build was asked for
    rec = json.loads(bj.read_text())
    rec["command"] = portable_command("build")
    bj.write_text(json.dumps(rec, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k not in ("log", "config")}, indent=1))
    return 0


def portable_command(verb: str, argv: list[str] | None = None) -> str:
    """How ``g2r world VERB`` was asked for, for a results file: absolute paths (a machine's folders)
    become paths relative to the working directory when they lie under it, ``DIR`` otherwise."""
    from ..io import portable_arg

    argv = list(sys.argv if argv is None else argv)
    if argv[1:3] != ["world", verb]:
        return f"g2r world {verb}"
    return " ".join([f"g2r world {verb}", *map(portable_arg, argv[3:])])


def cmd_report(args: argparse.Namespace) -> int:
    from ..world.report import judge_quality, policy_quality, write_quality

    res = judge_quality(args.data, n_tasks=args.n_tasks, seed=args.seed)
    res["command"] = portable_command("report")
    if args.policy_tasks:
        res["policy"] = policy_quality(args.data, n_tasks=args.policy_tasks, samples=args.samples, seed=args.seed)
    paths = write_quality(res, Path(args.out))
    print(paths["md"].read_text())
    return 0
