"""The run-folder format of ``g2r train``, in one place: file names, writers and readers.

A run folder holds::

    config.json       the TrainConfig (CONFIG)
    metrics.jsonl     one row per step (METRICS)
    eval.jsonl        held-out evaluation rows (EVALS)
    samples.jsonl     saved sample groups with tokens, token rewards and advantages (SAMPLES)
    summary.json      the end-of-run summary (SUMMARY)
    ckpt/last.pt      the resumable checkpoint (CHECKPOINT)
    policy/           the final policy as a Hugging Face folder (POLICY_DIR)

Readers import nothing from the trainer (or torch), so the explorer's Runs page and ``g2r compare``
read runs without loading the training stack. A malformed JSONL line is a :class:`G2RError` naming
the file and the line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import G2RError
from ..io import clean_json as _clean
from ..io import json_object  # noqa: F401 - kept importable from here

CONFIG = "config.json"
METRICS = "metrics.jsonl"
EVALS = "eval.jsonl"
SAMPLES = "samples.jsonl"
SUMMARY = "summary.json"
CHECKPOINT_DIR = "ckpt"
CHECKPOINT = f"{CHECKPOINT_DIR}/last.pt"
POLICY_DIR = "policy"
RUN_FILES = (CONFIG, METRICS, EVALS, SAMPLES, SUMMARY)  # the plain files (folders: CHECKPOINT_DIR, POLICY_DIR)


# ----------------------------------------------------------------------------------------- writing
class JsonlWriter:
    """Appends JSON rows (NaN/inf written as null) to one JSONL file; its size in bytes and truncation
    back to a size let a resumed run drop the rows written after its checkpoint."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def append(self, row: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(_clean(row), ensure_ascii=False) + "\n")
            f.flush()

    def size(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def truncate(self, size: int) -> None:
        if self.path.exists():
            with open(self.path, "r+b") as f:
                f.truncate(size)
        elif size:
            raise G2RError(f"{self.path} is missing but the checkpoint expects {size} bytes of it")


# ----------------------------------------------------------------------------------------- reading
def run_file(folder: str | Path, name: str) -> Path:
    """The one path rule for reading a run folder: ``folder/name`` fully resolved (every symlink,
    of a folder or of a file, followed), refused with a :class:`G2RError` when it leaves the
    resolved run folder, and so the runs root the folder was resolved under."""
    base = Path(folder).expanduser().resolve()
    full = (base / name).resolve()
    if full != base and base not in full.parents:
        raise G2RError(f"{Path(folder) / name} resolves to {full}, outside the run folder {base}; refused")
    return full


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise G2RError(f"{path}: not UTF-8 text (byte {e.start})") from None
    except IsADirectoryError:
        raise G2RError(f"{path} is a folder, not a file") from None


def read_jsonl(path: str | Path) -> list[dict]:
    """The rows of a JSONL file (``[]`` when it does not exist); blank lines are skipped."""
    path = Path(path)
    if not path.exists():
        return []
    lines = _read_text(path).splitlines()
    return [json_object(line, f"{path}, line {n}") for n, line in enumerate(lines, 1) if line.strip()]


def read_config(folder: str | Path) -> dict:
    """The run's ``config.json``; a :class:`G2RError` when the folder is not a run folder."""
    path = run_file(folder, CONFIG)
    if not path.exists():
        raise G2RError(f"{Path(folder)} is not a run folder (no {CONFIG})")
    return json_object(_read_text(path), str(path))


def read_metrics(folder: str | Path) -> list[dict]:
    return read_jsonl(run_file(folder, METRICS))


def read_evals(folder: str | Path) -> list[dict]:
    return read_jsonl(run_file(folder, EVALS))


@dataclass
class Run:
    """One run folder as read: its config, train metrics and evaluation rows."""

    path: Path
    config: dict
    metrics: list[dict]
    evals: list[dict]
    label: str = ""

    def series(self, key: str, source: str = "eval") -> tuple[np.ndarray, np.ndarray]:
        """``(steps, values)`` of one logged key, ``source`` ``"eval"`` or ``"train"``."""
        rows = self.evals if source == "eval" else self.metrics
        pts = [(r["step"], r.get(key)) for r in rows if r.get(key) is not None]
        if not pts:
            return np.zeros(0), np.zeros(0)
        s, v = zip(*pts)
        return np.asarray(s, dtype=float), np.asarray(v, dtype=float)


def load_run(path: str | Path) -> Run:
    path = Path(path)
    return Run(path, read_config(path), read_metrics(path), read_evals(path))


def read_samples(run: str | Path | Run, step: int | None = None) -> list[dict]:
    """The saved samples of a run (``samples.jsonl``), optionally of one step only."""
    rows = read_jsonl(run_file(run.path if isinstance(run, Run) else Path(run), SAMPLES))
    return [r for r in rows if step is None or r["step"] == step]
