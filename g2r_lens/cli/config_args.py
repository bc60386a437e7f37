"""Command-line flags derived from a config dataclass (the config is the one list of knobs).

:func:`add_config_args` adds one ``--flag`` per field of a dataclass, with the field's
``metadata["help"]`` and its default; nested dataclass fields become prefixed flags
(``BuildConfig.policy.layers`` -> ``--policy-layers``). :func:`config_from_args` builds the config
back from the parsed namespace, on top of a base instance, changing only the flags that were given.

Types: ``int``, ``float``, ``str`` and their ``X | None`` forms take a value; a ``bool`` field becomes
``--name`` / ``--no-name``.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, Iterable, TypeVar

__all__ = ["add_config_args", "config_from_args"]

C = TypeVar("C")
_SCALARS = (int, float, str)


def _dest(prefix: str, name: str) -> str:
    return f"{prefix}{name}"


def _flag(prefix: str, name: str) -> str:
    return "--" + _dest(prefix, name).replace("_", "-")


def _scalar(tp: Any) -> type | None:
    """``int``/``float``/``str``/``bool`` for ``tp`` or ``tp | None``; None for anything else."""
    if tp in (*_SCALARS, bool):
        return tp
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and args[0] in _SCALARS:
            return args[0]
    return None


def add_config_args(parser: argparse.ArgumentParser | argparse._ArgumentGroup, cls: type, *,
                    base: Any = None, exclude: Iterable[str] = (), prefix: str = "",
                    help_overrides: dict[str, str] | None = None) -> None:
    """One flag per field of the dataclass ``cls`` (defaults shown from ``base``, else ``cls()``)."""
    base = base if base is not None else cls()
    hints = typing.get_type_hints(cls)
    exclude, overrides = set(exclude), help_overrides or {}
    for f in dataclasses.fields(cls):
        if f.name in exclude:
            continue
        tp, default = hints[f.name], getattr(base, f.name)
        help_text = overrides.get(f.name, f.metadata.get("help", ""))
        if dataclasses.is_dataclass(tp):
            add_config_args(parser, tp, base=default, prefix=_dest(prefix, f.name) + "_")
            continue
        kind = _scalar(tp)
        if kind is None:
            raise TypeError(f"{cls.__name__}.{f.name}: no command-line form for type {tp!r}")
        dest, flag = _dest(prefix, f.name), _flag(prefix, f.name)
        if kind is bool:
            parser.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                                help=f"{help_text} (default: {'on' if default else 'off'})")
        else:
            parser.add_argument(flag, dest=dest, type=kind, default=argparse.SUPPRESS,
                                metavar=dest.upper(), help=f"{help_text} (default: {default})")


def config_from_args(cls: type[C], args: argparse.Namespace, base: C | None = None, *, prefix: str = "") -> C:
    """``base`` (default ``cls()``) with every field whose flag was given on the command line replaced."""
    base = base if base is not None else cls()
    hints = typing.get_type_hints(cls)
    given = vars(args)
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        dest = _dest(prefix, f.name)
        if dataclasses.is_dataclass(hints[f.name]):
            sub = config_from_args(hints[f.name], args, getattr(base, f.name), prefix=dest + "_")
            if sub != getattr(base, f.name):
                changes[f.name] = sub
        elif dest in given:
            changes[f.name] = given[dest]
    return dataclasses.replace(base, **changes)
