"""Inputs: a rubric criterion, an example to judge, and the sparse rubric reward."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from .errors import EmptyResponseError, G2RError, RubricError
from .io import json_object
from .params import real_number


@dataclass(frozen=True)
class Criterion:
    """One rubric item: a criterion sentence and a real weight (negative = undesirable)."""

    text: str
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise RubricError(f"a rubric criterion must be text, got {self.text!r} ({type(self.text).__name__})")
        if not self.text.strip():
            raise RubricError("a rubric criterion has an empty text")
        # a real number: True and "2" are refused, not coerced (g2r_lens.params)
        w = real_number(self.weight, f"criterion {self.text!r}: weight", error=RubricError)
        object.__setattr__(self, "weight", w)

    @classmethod
    def from_obj(cls, obj: Any) -> "Criterion":
        """Accept ``{"criterion": str, "weight": float}`` (also ``text``), a string, or a Criterion."""
        if isinstance(obj, Criterion):
            return obj
        if isinstance(obj, str):
            return cls(obj, 1.0)
        if isinstance(obj, dict):
            text = obj.get("criterion", obj.get("text"))
            if text is None:
                raise RubricError(f"rubric item {obj!r} has no 'criterion' key")
            return cls(text, obj.get("weight", 1.0))
        raise RubricError(f"rubric item {obj!r} is neither a string nor a {{criterion, weight}} object")


def validate_rubric(rubric: Sequence[Criterion]) -> None:
    if len(rubric) == 0:
        raise RubricError("the rubric has no criteria")
    if not any(c.weight > 0 for c in rubric):
        raise RubricError(
            "the rubric has no criterion with a positive weight, so the normalised reward "
            "sum(w*verdict)/sum(max(w,0)) is undefined; add at least one positive weight"
        )


@dataclass
class Example:
    """A prompt, a policy response and the rubric to grade it with."""

    prompt: str
    response: str
    rubric: list[Criterion]
    id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rubric = [Criterion.from_obj(c) for c in self.rubric]
        if not isinstance(self.prompt, str):
            raise G2RError(f"example {self.id!r}: prompt must be a string, got {type(self.prompt).__name__}")
        if not isinstance(self.response, str):
            raise G2RError(f"example {self.id!r}: response must be a string, got {type(self.response).__name__}")

    def validate(self) -> None:
        if not self.response.strip():
            raise EmptyResponseError(f"example {self.id!r}: the response is empty; there is nothing to attribute")
        validate_rubric(self.rubric)

    @classmethod
    def from_dict(cls, d: dict[str, Any], default_id: str | None = None) -> "Example":
        for key in ("prompt", "response", "rubric"):
            if key not in d:
                raise G2RError(f"example {d.get('id', default_id)!r} has no {key!r} field")
        rubric = d["rubric"]
        if isinstance(rubric, str):
            try:
                rubric = json.loads(rubric)
            except json.JSONDecodeError as e:
                raise RubricError(f"rubric is not valid JSON: {e}") from None
        if not isinstance(rubric, list):
            raise RubricError("rubric must be a list of {criterion, weight} objects")
        meta = {k: v for k, v in d.items() if k not in ("prompt", "response", "rubric", "id")}
        return cls(d["prompt"], d["response"], rubric, id=str(d.get("id", default_id)), meta=meta)

    def to_dict(self) -> dict[str, Any]:
        d = {"id": self.id, "prompt": self.prompt, "response": self.response,
             "rubric": [{"criterion": c.text, "weight": c.weight} for c in self.rubric]}
        d.update(self.meta)
        return d


def rubric_normaliser(weights: Iterable[float]) -> float:
    """The rubric normaliser ``Σ_k max(w_k, 0)``, the denominator of every rubric reward.

    Raises :class:`RubricError` when no weight is positive (the normalised reward is undefined).
    """
    denom = sum(max(float(w), 0.0) for w in weights)
    if denom <= 0:
        raise RubricError("the rubric has no positive weight")
    return denom


def sparse_reward(weights: Iterable[float], verdicts: Iterable[bool]) -> float:
    """The rubric reward ``Σ w_k·1[z_k] / Σ max(w_k, 0)`` (Grad2Reward Alg. 1)."""
    weights = [float(w) for w in weights]
    verdicts = [bool(v) for v in verdicts]
    denom = rubric_normaliser(weights)
    return sum(w for w, v in zip(weights, verdicts) if v) / denom


def parse_examples_jsonl(text: str, source: str = "input", default_prefix: str = "line") -> list[Example]:
    """Examples from JSONL text, one ``{prompt, response, rubric}`` object a line; every error names
    ``source`` and the line number."""
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        d = json_object(line, f"{source}:{i}", "a JSON object with prompt, response and rubric")
        try:
            ex = Example.from_dict(d, default_id=f"{default_prefix}{i}")
            ex.validate()  # empty response, no positive weight: named with the line, before any model work
            out.append(ex)
        except G2RError as e:
            raise type(e)(f"{source}:{i}: {e}") from None
    return out


def load_examples(path: str | Path) -> list[Example]:
    """Read examples from a JSONL file: one ``{prompt, response, rubric:[{criterion, weight}]}`` per line."""
    path = Path(path)
    if not path.exists():
        raise G2RError(f"examples file {str(path)!r} does not exist")
    if not path.is_file():
        raise G2RError(f"examples file {str(path)!r} is a folder, not a JSONL file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise G2RError(f"{path}:{line}: not valid UTF-8 (byte {raw[e.start]:#04x})") from None
    out = parse_examples_jsonl(text, str(path), f"{path.stem}-")
    if not out:
        raise G2RError(f"examples file {str(path)!r} holds no examples")
    return out
