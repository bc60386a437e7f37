"""The explorer's inputs: rubric JSON, the three text boxes and uploaded JSONL, each checked with
plain-words errors (:class:`~g2r_lens.errors.G2RError`)."""

from __future__ import annotations

import json
from typing import Any, Sequence

from ..errors import G2RError, RubricError
from ..examples import Criterion, Example, parse_examples_jsonl, validate_rubric

MAX_PROMPT_CHARS = 4000
MAX_RESPONSE_CHARS = 6000
MAX_CRITERIA = 12
MAX_CRITERION_CHARS = 400


def parse_rubric(text: str) -> list[Criterion]:
    """A rubric from JSON text: a list of ``{"criterion": str, "weight": number}`` (or strings)."""
    if text is None or not str(text).strip():
        raise RubricError("the rubric is empty; give a JSON list such as "
                          '[{"criterion": "The response mentions the picnic.", "weight": 2}]')
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise RubricError(f"the rubric is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}); "
                          'expected a list such as [{"criterion": "...", "weight": 1}]') from None
    if isinstance(obj, dict) and "rubric" in obj:
        obj = obj["rubric"]
    if not isinstance(obj, list):
        raise RubricError(f"the rubric must be a JSON list of {{criterion, weight}} objects, not a "
                          f"{type(obj).__name__}")
    if len(obj) > MAX_CRITERIA:
        raise RubricError(f"the rubric has {len(obj)} criteria; the explorer takes at most {MAX_CRITERIA}")
    crits = []
    for i, item in enumerate(obj, 1):
        try:
            c = Criterion.from_obj(item)
        except RubricError as e:
            raise RubricError(f"rubric item {i}: {e}") from None
        if len(c.text) > MAX_CRITERION_CHARS:
            raise RubricError(f"rubric item {i} is {len(c.text)} characters long; keep criteria under "
                              f"{MAX_CRITERION_CHARS}")
        crits.append(c)
    validate_rubric(crits)
    return crits


def rubric_json(rubric: Sequence[Any]) -> str:
    """Pretty JSON of a rubric (criteria objects or dicts), one criterion per line."""
    items = []
    for c in rubric:
        c = Criterion.from_obj(c) if not isinstance(c, Criterion) else c
        items.append(json.dumps({"criterion": c.text, "weight": c.weight}, ensure_ascii=False))
    return "[\n  " + ",\n  ".join(items) + "\n]"


def build_example(prompt: str, response: str, rubric_text: str, *, task: Any = None,
                  id: str = "input") -> Example:
    """Validate the three text boxes and build an :class:`Example`.

    When ``task`` (a bundled-world task) is given and the prompt and rubric are still the task's,
    the checker's verdicts and truth spans are attached (recomputed for the possibly edited
    response).
    """
    prompt = prompt or ""
    response = response or ""
    if len(prompt) > MAX_PROMPT_CHARS:
        raise G2RError(f"the prompt is {len(prompt):,} characters long; the explorer takes at most "
                       f"{MAX_PROMPT_CHARS:,}")
    if not response.strip():
        raise G2RError("the response is empty; type the response you want the judge to grade")
    if len(response) > MAX_RESPONSE_CHARS:
        raise G2RError(f"the response is {len(response):,} characters long; the explorer takes at most "
                       f"{MAX_RESPONSE_CHARS:,} (and the judge's context may be shorter still)")
    rubric = parse_rubric(rubric_text)
    ex = Example(prompt, response, rubric, id=id)
    ex.validate()
    return attach_truth(ex, task) if task is not None else ex


def attach_truth(example: Example, task: Any) -> Example:
    """The example with the bundled checker's meta, if its prompt and rubric are ``task``'s."""
    from ..world.bundle import task_example

    same = (example.prompt == task.prompt and len(example.rubric) == len(task.rubric)
            and all(a.text == b.text and float(a.weight) == float(b.weight)
                    for a, b in zip(example.rubric, task.rubric)))
    if not same:
        return example
    ex = task_example(task, example.response, mode=example.meta.get("mode", ""), id=example.id)
    return ex


def examples_from_jsonl(data: bytes | str, max_examples: int = 500) -> list[Example]:
    """Examples from JSONL text (one ``{prompt, response, rubric}`` object a line), with line numbers
    in every error."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    out = parse_examples_jsonl(text, "uploaded file")[:max_examples]
    for ex in out:
        try:
            ex.validate()
        except G2RError as e:
            raise G2RError(f"example {ex.id}: {e}") from None
    if not out:
        raise G2RError("the file holds no examples")
    ids = [e.id for e in out]
    if len(set(ids)) != len(ids):
        for n, e in enumerate(out):
            e.id = f"{e.id}#{n}"
    return out

