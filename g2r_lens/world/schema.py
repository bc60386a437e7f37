"""The schema of the world: criteria, tasks, and task files (JSONL, one task per line).

A **task** is an instruction-like prompt plus a rubric of 3-6 weighted True/False criteria::

    Write a note to Maya about the picnic at the park on Friday. Say that 7 people are coming.
    Do not mention the rain. Use at most 3 sentences.

    +2.0  required          The response mentions the picnic.
    +1.5  prompt_dependent  The response states the number of people given in the prompt.
    +1.0  prompt_dependent  The response greets the person named in the prompt.
    -2.0  forbidden         The response mentions the rain.
    +1.0  nonlocal          The response uses at most 3 sentences.

Criterion kinds (``Criterion.kind``):

- ``required``: positive weight, names the content it wants ("mentions the picnic");
- ``forbidden``: negative weight, the criterion is *satisfied* when the bad content is present
  ("mentions the rain", "contains a rude word"); its weight then subtracts from the score;
- ``prompt_dependent``: positive weight, the criterion text does not contain the answer but refers
  to the prompt ("greets the person named in the prompt", "states the number of people given in
  the prompt", "gives the day named in the prompt", "names the place given in the prompt"), so a
  judge must read the prompt (two hops);
- ``nonlocal``: positive weight, a property of the whole response (at most N sentences, at most N
  words, the day mentioned before the place); no response characters are its "truth".

Every criterion carries a machine-readable ``spec`` with one fixed schema
``{"check": str, "words": list[str], "n": int}`` (the same keys on every row, so Arrow / HF
``datasets`` read the JSONL without schema conflicts); :mod:`g2r_lens.world.checker` interprets it
exactly and marks the characters that make each local criterion true.

Every rubric has 3-6 criteria, at least one ``nonlocal``, at least one ``prompt_dependent`` and at
least one positive weight. The templates per kind are fixed (see ``CRITERION_TEMPLATES``).

Task files are written one task per line (:func:`write_tasks`);
``datasets.load_dataset("json", data_files=...)`` reads them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import WorldError
from .vocab import CHECKS, CRITERION_TEMPLATES, DEFAULT_KIND, KINDS, PEOPLE_NOUNS, RUDE_WORDS

__all__ = ["SPLITS", "SPLIT_FILES", "norm_split", "Criterion", "Task", "make_criterion",
           "write_tasks", "read_tasks", "load_splits"]

SPLITS = ("train", "validation", "test")
SPLIT_FILES = {"train": "train.jsonl", "validation": "validation.jsonl", "test": "test.jsonl"}
_SPLIT_ALIASES = {"train": "train", "val": "validation", "valid": "validation",
                  "validation": "validation", "dev": "validation", "test": "test"}


def norm_split(split: str) -> str:
    """The canonical split name (``"val"``, ``"dev"``... are accepted)."""
    try:
        return _SPLIT_ALIASES[split.lower()]
    except KeyError:
        raise WorldError(f"unknown split {split!r}; expected one of {SPLITS}") from None


def _number(x: Any, what: str) -> float:
    try:
        w = float(x)
    except (TypeError, ValueError):
        raise WorldError(f"criterion {what!r}: weight {x!r} is not a number") from None
    if not math.isfinite(w):
        raise WorldError(f"criterion {what!r}: weight {x!r} is not finite")
    return w


def _norm_spec(spec: Mapping[str, Any] | None) -> dict:
    if not spec:
        raise WorldError("criterion has no machine-readable spec; the exact checker needs one")
    if not isinstance(spec, Mapping):
        raise WorldError(f"criterion spec must be a mapping {{check, words, n}}, not {spec!r}")
    check = spec.get("check")
    if check not in CHECKS:
        raise WorldError(f"unknown check {check!r}; expected one of {CHECKS}")
    words = spec.get("words") or []
    if isinstance(words, str):
        words = [words]
    try:
        n = int(spec.get("n") or 0)
    except (TypeError, ValueError):
        raise WorldError(f"criterion spec: n must be an integer, not {spec.get('n')!r}") from None
    return {"check": str(check), "words": [str(w) for w in words], "n": n}


@dataclass
class Criterion:
    """One rubric line. ``text`` is what the judge reads; ``spec`` is what the checker runs.

    JSON form: ``{"criterion": text, "weight", "kind", "local", "spec": {"check", "words", "n"}}``.
    """

    text: str
    weight: float
    kind: str = "required"
    local: bool = True
    spec: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise WorldError(f"unknown criterion kind {self.kind!r}; expected one of {KINDS}")
        self.weight = _number(self.weight, self.text)
        self.local = bool(self.local)
        self.spec = _norm_spec(self.spec)

    @property
    def criterion(self) -> str:  # the JSON key name
        return self.text

    def to_dict(self) -> dict:
        return {"criterion": self.text, "weight": self.weight, "kind": self.kind,
                "local": self.local, "spec": dict(self.spec, words=list(self.spec["words"]))}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Criterion":
        if not isinstance(d, Mapping):
            raise WorldError(f"a criterion must be a JSON object, not {d!r}")
        spec = _norm_spec(d.get("spec"))
        kind = d.get("kind") or DEFAULT_KIND[spec["check"]]
        local = d.get("local")
        if local is None:
            local = kind != "nonlocal"
        text = d.get("criterion", d.get("text"))
        if text is None:
            raise WorldError("criterion dict needs a 'criterion' text")
        if "weight" not in d:
            raise WorldError(f"criterion {text!r} has no 'weight'")
        return cls(text=str(text), weight=_number(d["weight"], text), kind=kind, local=bool(local),
                   spec=spec)


def make_criterion(check: str, weight: float, words: Sequence[str] | str = (), n: int = 0, *,
                   variant: str = "", kind: str | None = None,
                   text: str | None = None) -> Criterion:
    """Build a criterion with the world's standard text, e.g. ``make_criterion("mention", 2,
    "picnic", variant="event")`` or ``make_criterion("count", 1.5, n=7)``."""
    words = [words] if isinstance(words, str) else list(words)
    if check == "count" and not words:
        words = list(PEOPLE_NOUNS)
    if check == "avoid" and variant == "rude" and not words:
        words = list(RUDE_WORDS)
    if check not in CHECKS:
        raise WorldError(f"unknown check {check!r}; expected one of {CHECKS}")
    if kind is None:
        kind = "prompt_dependent" if variant.endswith("_prompt") else DEFAULT_KIND[check]
    if text is None:
        key = (check, variant if check in ("mention", "avoid") else "")
        if key not in CRITERION_TEMPLATES:
            key = (check, {"mention": "event", "avoid": "topic"}.get(check, ""))
        text = CRITERION_TEMPLATES[key].format(word=words[0] if words else "", n=n)
    return Criterion(text=text, weight=weight, kind=kind, local=kind != "nonlocal",
                     spec={"check": check, "words": words, "n": n})


@dataclass
class Task:
    """A prompt and its rubric. ``slots`` holds the scene values the generator used (name, event,
    place, day, number, item, avoid); optional, used by the sampler, ignored by the checker."""

    id: str
    prompt: str
    rubric: list[Criterion]
    split: str = ""
    slots: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"id": self.id, "prompt": self.prompt,
                "rubric": [c.to_dict() for c in self.rubric],
                "split": self.split, "slots": dict(self.slots)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Task":
        if not isinstance(d, Mapping):
            raise WorldError(f"a task must be a JSON object, not {type(d).__name__}")
        missing = [k for k in ("prompt", "rubric") if k not in d]
        if missing:
            raise WorldError(f"task {d.get('id', '?')!r} has no {' or '.join(map(repr, missing))}")
        if isinstance(d["rubric"], (str, Mapping)) or not isinstance(d["rubric"], Sequence):
            raise WorldError(f"task {d.get('id', '?')!r}: 'rubric' must be a list of criteria")
        slots = {k: v for k, v in dict(d.get("slots") or {}).items() if v is not None}
        return cls(id=str(d.get("id", "")), prompt=str(d["prompt"]),
                   rubric=[c if isinstance(c, Criterion) else Criterion.from_dict(c)
                           for c in d["rubric"]],
                   split=str(d.get("split") or ""), slots=slots)

    def validate(self) -> None:
        """Raise :class:`~g2r_lens.errors.WorldError` unless the rubric follows the world's rules."""
        r = self.rubric
        if not 3 <= len(r) <= 6:
            raise WorldError(f"{self.id}: rubric has {len(r)} criteria, expected 3-6")
        kinds = [c.kind for c in r]
        if "nonlocal" not in kinds:
            raise WorldError(f"{self.id}: no nonlocal criterion")
        if "prompt_dependent" not in kinds:
            raise WorldError(f"{self.id}: no prompt-dependent criterion")
        if not any(c.weight > 0 for c in r):
            raise WorldError(f"{self.id}: no positive weight")
        for c in r:
            if (c.kind == "forbidden") != (c.weight < 0):
                raise WorldError(f"{self.id}: weight sign does not match kind in {c.text!r}")
            if c.local != (c.kind != "nonlocal"):
                raise WorldError(f"{self.id}: local flag does not match kind in {c.text!r}")


def write_tasks(path: str | Path, tasks: Sequence[Task]) -> Path:
    """Write ``tasks`` to ``path``, one JSON object per line."""
    path = Path(path)
    with path.open("w", encoding="utf-8") as f:
        for t in tasks:
            f.write(json.dumps(t.to_dict(), ensure_ascii=False) + "\n")
    return path


def read_tasks(path: str | Path) -> list[Task]:
    """The tasks of a JSONL file (blank lines skipped)."""
    tasks = []
    with Path(path).open(encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                tasks.append(Task.from_dict(json.loads(line)))
            except json.JSONDecodeError as e:
                raise WorldError(f"{path}:{i}: not a JSON object ({e.msg})") from None
            except WorldError as e:
                raise WorldError(f"{path}:{i}: {e}") from None
    return tasks


def load_splits(folder: str | Path) -> dict[str, list[Task]]:
    folder = Path(folder)
    return {s: read_tasks(folder / fn) for s, fn in SPLIT_FILES.items() if (folder / fn).exists()}
