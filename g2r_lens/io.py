"""Writing files safely: JSON-safe values and atomic replacement.

- :func:`clean_json`: a JSON-safe copy of a value (NaN/inf -> ``None``, tuples -> lists, numpy
  scalars -> Python, keys -> ``str``), so that ``json.dumps(..., allow_nan=False)`` never fails on
  what the engine produces and the files stay valid JSON for other readers;
- :func:`json_object`: one JSON object from a text, or a :class:`~g2r_lens.errors.G2RError` naming
  where (file, line) and why;
- :func:`atomic_path` / :func:`atomic_write`: write next to the target and ``os.replace`` it, so a
  reader (or a resumed run) never sees half a file.
"""

from __future__ import annotations

import json
import math
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .errors import G2RError

__all__ = ["atomic_path", "atomic_write", "clean_json", "json_object"]


def clean_json(x: Any, *, exact: bool = False) -> Any:
    """JSON-safe copy: NaN/inf -> None, tuples -> lists, numpy scalars -> python, keys -> str.

    With ``exact=True`` non-finite floats become the strings ``"inf"``, ``"-inf"`` and ``"nan"``
    instead of ``None``, so that a reader can restore them exactly (results files do this).
    """
    if isinstance(x, dict):
        return {str(k): clean_json(v, exact=exact) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean_json(v, exact=exact) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        if not exact:
            return None
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


def json_object(text: str, where: str, expected: str = "a JSON object") -> dict:
    """One JSON object from ``text``; a :class:`G2RError` naming ``where`` (file, line) otherwise."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise G2RError(f"{where}: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    if not isinstance(obj, dict):
        raise G2RError(f"{where}: expected {expected}, got {type(obj).__name__}")
    return obj


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (``NAME.tmp``); on success it replaces ``path``.

    The parent folder is created. On an error the temporary file is removed and ``path`` is left
    as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if tmp.is_file():
            tmp.unlink()
        raise


def atomic_write(path: str | Path, data: bytes | str, *, fsync: bool = True) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically; with ``fsync`` also to disk."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(raw)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
    return Path(path)


def portable_arg(arg: str, cwd: Path | None = None) -> str:
    """A command-line word for a results file: an absolute path (``/tmp/w``, ``--data=/tmp/w``)
    becomes relative to ``cwd`` (default: the working directory) when it lies under it, ``DIR``
    otherwise, so that no machine's folders end up in the repository."""
    key, eq, value = arg.partition("=") if arg.startswith("--") and "=" in arg else ("", "", arg)
    if os.path.isabs(value):
        base = (cwd or Path.cwd()).resolve()
        p = Path(value).resolve()
        value = str(p.relative_to(base)) if p.is_relative_to(base) else "DIR"
    return key + eq + value
