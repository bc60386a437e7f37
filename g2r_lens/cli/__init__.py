"""The ``g2r`` command: one parser, one module per command group.

    g2r attribute | methods | demo | app        the engine (:mod:`g2r_lens.cli.engine`)
    g2r world build | report                    the bundled world (:mod:`g2r_lens.cli.world`)
    g2r rl train | compare                      the RL loop (:mod:`g2r_lens.cli.rl`); aliases: g2r train, g2r compare

The flags of ``g2r rl train`` and ``g2r world build`` are derived from ``TrainConfig`` and
``BuildConfig`` (:mod:`g2r_lens.cli.config_args`). A user mistake (:class:`~g2r_lens.errors.G2RError`)
prints ``g2r: error: ...`` and exits 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from ..errors import G2RError
from . import engine, rl, world
from .engine import app_command, cmd_app, cmd_attribute, cmd_demo, cmd_methods, print_summary, write_outputs

__all__ = ["app_command", "build_parser", "cmd_app", "cmd_attribute", "cmd_demo", "cmd_methods", "main",
           "print_summary", "write_outputs"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="g2r", description="g2r_lens: dense token rewards from LLM-judge verdicts")
    sub = p.add_subparsers(dest="cmd", required=True)
    engine.add_parser(sub)
    world.add_parser(sub)
    rl.add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except G2RError as e:
        print(f"g2r: error: {e}".replace("\n", " "), file=sys.stderr)  # always one line
        return 2
    except OSError as e:  # a file the user named cannot be read or written
        print(f"g2r: error: {e.strerror or e}: {e.filename!r}".replace("\n", " ") if e.filename else
              f"g2r: error: {e}".replace("\n", " "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("g2r: interrupted", file=sys.stderr)
        return 130
