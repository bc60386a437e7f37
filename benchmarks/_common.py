"""What the benchmarks share: the offline environment, repo-relative paths, timing, result files.

Import it first, before torch or transformers (``python benchmarks/NAME.py`` puts this folder on
``sys.path``)::

    from _common import RESULTS, ROOT, Timer, nanmean, target_status, write_results  # noqa: E402

Importing it sets the offline environment (:func:`g2r_lens.runtime.offline_env`) and puts the
repository root on ``sys.path``, so a benchmark runs from a checkout without installing. Each
benchmark states its thresholds once, in one ``TARGETS`` dict, and reports them with
:func:`target_status`.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from g2r_lens.runtime import offline_env  # noqa: E402  (light: no torch, no transformers)

offline_env()

from g2r_lens.io import atomic_write, clean_json  # noqa: E402

#: where committed benchmark results live (README tables are printed from these files)
RESULTS = ROOT / "benchmarks" / "results"

__all__ = ["RESULTS", "ROOT", "Timer", "fmt", "median_time", "nanmean", "target_status", "write_results"]


def rel(path: str | Path) -> str:
    """``path`` relative to the repository root when it is inside it (for printing and provenance)."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(ROOT))
    except ValueError:
        return str(p)


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds`` (wall clock, ``time.perf_counter``)."""

    def __enter__(self) -> "Timer":
        self.seconds = math.nan
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self._t0


def median_time(fn: Callable[[], Any], repeats: int = 3, warmup: int = 0) -> tuple[float, Any]:
    """``(median seconds over repeats, the last result)`` of calling ``fn()``, after ``warmup`` calls."""
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    for _ in range(warmup):
        fn()
    times, out = [], None
    for _ in range(repeats):
        with Timer() as t:
            out = fn()
        times.append(t.seconds)
    return statistics.median(times), out


def nanmean(xs: Iterable[Any]) -> float:
    """Mean of the finite numbers among ``xs`` (None and NaN skipped); NaN when none is left."""
    vals = [float(x) for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return sum(vals) / len(vals) if vals else math.nan


def fmt(x: Any, nd: int = 3, signed: bool = False) -> str:
    """A number for a markdown table: ``nd`` decimals (a sign when ``signed``), ``–`` for None/NaN/inf."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:+.{nd}f}" if signed else f"{x:.{nd}f}"


def target_status(value: float | None, target: float, lower_is_better: bool = True) -> str:
    """``"met"`` / ``"missed"`` for one threshold (``"n/a"`` when the value is missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return "met" if (value <= target if lower_is_better else value >= target) else "missed"


def write_results(name: str, res: dict, markdown: str | None = None, out: str | Path | None = None
                  ) -> dict[str, Path]:
    """Write ``NAME.json`` (strict JSON: NaN -> null) and, when given, ``NAME.md`` into ``out``
    (default :data:`RESULTS`), atomically; return their paths."""
    out = Path(out) if out is not None else RESULTS
    paths = {"json": atomic_write(out / f"{name}.json",
                                  json.dumps(clean_json(res), indent=1, allow_nan=False) + "\n", fsync=False)}
    if markdown is not None:
        paths["md"] = atomic_write(out / f"{name}.md", markdown.rstrip("\n") + "\n", fsync=False)
    return paths
