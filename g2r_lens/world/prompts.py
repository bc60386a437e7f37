"""The task generator: prompts and rubrics drawn from the vocabulary, and the train / validation /
test splits.

**Splits.** A task's *scene* is (name, event, place, day). Scenes are hash-partitioned, once and
for all and independently of the seed, into train (80%), validation (10%) and test (10%); so no
test task shares a scene, let alone a prompt, with any train task of any seed.

:func:`generate_tasks` is deterministic in ``(seed, split)``; the global ``random`` state is never
used.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import WorldError
from .schema import SPLIT_FILES, Criterion, Task, make_criterion, norm_split, write_tasks
from .vocab import (AVOID_TOPICS, EVENTS, ITEMS, NAMES, NUMBERS, PEOPLE_NOUNS, PLACES, RUDE_WORDS,
                    SENTENCE_LIMITS, WEEKDAYS, WORD_LIMITS)

__all__ = ["scene_split", "generate_tasks", "make_splits", "write_splits"]


def _stable_int(*parts: Any) -> int:
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return int(h[:16], 16)




def scene_split(name: str, event: str, place: str, day: str) -> str:
    """The split a scene belongs to: a fixed hash partition (80/10/10), independent of the seed."""
    b = _stable_int("g2r-world-scene", name.lower(), event.lower(), place.lower(),
                    day.lower()) % 100
    return "train" if b < 80 else ("validation" if b < 90 else "test")


_OPENERS = (
    "Write a note to {name} about the {event} at the {place} on {day}.",
    "Write a short message to {name} about the {event} on {day} at the {place}.",
    "Send {name} a note about the {event} at the {place} on {day}.",
    "Tell {name} about the {event} on {day} at the {place}.",
)
_PROMPT_NUMBER = ("Say that {number} people are coming.",
                  "Tell them that {number} people are coming.",
                  "Mention that {number} people will come.")
_PROMPT_ITEM = ("Ask them to bring the {item}.", "Remind them to bring the {item}.")
_PROMPT_GREET = ("Start with a greeting.", "Greet them first.")
_PROMPT_AVOID = ("Do not mention the {avoid}.", "Do not talk about the {avoid}.")
_PROMPT_RUDE = ("Be kind.", "Keep it friendly.", "Be polite.")
_PROMPT_ORDER = ("Mention the day before the place.",)
_PROMPT_MAX_SENT = ("Use at most {n} sentences.", "Write no more than {n} sentences.")
_PROMPT_MAX_WORDS = ("Use at most {n} words.", "Keep it to at most {n} words.")

_POS_W = (1.0, 1.5, 2.0, 2.5, 3.0)
_NEG_W = (-1.0, -1.5, -2.0, -2.5, -3.0)


def _weighted_sample(rng: random.Random, items: Sequence[str], weights: Sequence[float], k: int):
    items, weights, out = list(items), list(weights), []
    for _ in range(min(k, len(items))):
        i = rng.choices(range(len(items)), weights=weights)[0]
        out.append(items.pop(i))
        weights.pop(i)
    return out


def _build_task(rng: random.Random, task_id: str, split: str, scene: tuple) -> Task:
    name, event, place, day = scene
    s = {"name": name, "event": event, "place": place, "day": day,
         "number": rng.choice(NUMBERS), "item": rng.choice(ITEMS),
         "avoid": rng.choice(AVOID_TOPICS)}

    nonlocal_ = _weighted_sample(rng, ["max_sentences", "max_words", "order"], [3, 2, 2],
                                 1 if rng.random() < 0.75 else 2)
    pd = _weighted_sample(rng, ["greet", "count", "day", "event", "place", "item"],
                          [3, 3, 2, 1, 1, 1], 1 if rng.random() < 0.5 else 2)
    req_pool = [x for x in ("event", "place", "item") if x not in pd]
    req = _weighted_sample(rng, req_pool, [2, 1, 1][: len(req_pool)], rng.choice((0, 1, 1, 2)))
    forb = []
    if rng.random() < 0.6:
        forb.append("topic")
    if rng.random() < 0.35:
        forb.append("rude")
    while len(nonlocal_) + len(pd) + len(req) + len(forb) < 3:
        rest = [x for x in ("event", "place", "item") if x not in pd and x not in req]
        req.append(rng.choice(rest))
    while len(nonlocal_) + len(pd) + len(req) + len(forb) > 6:
        (req if req else forb).pop()

    rubric: list[Criterion] = []
    for x in nonlocal_:
        if x == "max_sentences":
            s_n = rng.choice(SENTENCE_LIMITS)
            rubric.append(make_criterion("max_sentences", rng.choice(_POS_W[:3]), n=s_n))
        elif x == "max_words":
            rubric.append(make_criterion("max_words", rng.choice(_POS_W[:3]),
                                         n=rng.choice(WORD_LIMITS)))
        else:
            rubric.append(make_criterion("order", rng.choice(_POS_W[:3]), [day, place]))
    for x in pd:
        w = rng.choice(_POS_W)
        if x == "greet":
            rubric.append(make_criterion("greet", w, [name]))
        elif x == "count":
            rubric.append(make_criterion("count", w, list(PEOPLE_NOUNS), n=s["number"]))
        elif x == "day":
            rubric.append(make_criterion("day", w, [day]))
        else:
            rubric.append(make_criterion("mention", w, [s[x]], variant=x + "_prompt"))
    for x in req:
        rubric.append(make_criterion("mention", rng.choice(_POS_W), [s[x]], variant=x))
    for x in forb:
        if x == "topic":
            rubric.append(make_criterion("avoid", rng.choice(_NEG_W), [s["avoid"]],
                                         variant="topic"))
        else:
            rubric.append(make_criterion("avoid", rng.choice(_NEG_W[1:]), list(RUDE_WORDS),
                                         variant="rude"))
    rng.shuffle(rubric)

    checks = {(c.spec["check"], c.spec["words"][0] if c.spec["words"] else "") for c in rubric}
    has = lambda chk: any(c.spec["check"] == chk for c in rubric)  # noqa: E731
    fmt = dict(s)
    parts = [rng.choice(_OPENERS).format(**fmt)]
    mid = []
    if has("count") or rng.random() < 0.3:
        mid.append(rng.choice(_PROMPT_NUMBER).format(**fmt))
    if ("mention", s["item"]) in checks or rng.random() < 0.3:
        mid.append(rng.choice(_PROMPT_ITEM).format(**fmt))
    if has("greet") and rng.random() < 0.5:
        mid.append(rng.choice(_PROMPT_GREET))
    rng.shuffle(mid)
    parts += mid
    if ("avoid", s["avoid"]) in checks:
        parts.append(rng.choice(_PROMPT_AVOID).format(**fmt))
    if ("avoid", RUDE_WORDS[0]) in checks:
        parts.append(rng.choice(_PROMPT_RUDE))
    if has("order"):
        parts.append(rng.choice(_PROMPT_ORDER))
    for c in rubric:
        if c.spec["check"] == "max_sentences":
            parts.append(rng.choice(_PROMPT_MAX_SENT).format(n=c.spec["n"]))
        elif c.spec["check"] == "max_words":
            parts.append(rng.choice(_PROMPT_MAX_WORDS).format(n=c.spec["n"]))
    task = Task(id=task_id, prompt=" ".join(parts), rubric=rubric, split=split, slots=s)
    task.validate()
    return task


def generate_tasks(n: int, seed: int = 0, split: str = "train") -> list[Task]:
    """``n`` distinct tasks of one split; deterministic in ``(seed, split)``.

    Scenes are drawn only from the split's share of the hash partition (:func:`scene_split`),
    and prompts are unique within the returned list."""
    split = norm_split(split)
    rng = random.Random(_stable_int("g2r-world-tasks", seed, split))
    tasks: list[Task] = []
    seen: set[str] = set()
    tries = 0
    while len(tasks) < n:
        tries += 1
        if tries > 1000 * max(n, 1):
            raise WorldError(f"could not draw {n} distinct {split} tasks")
        scene = (rng.choice(NAMES), rng.choice(EVENTS), rng.choice(PLACES), rng.choice(WEEKDAYS))
        if scene_split(*scene) != split:
            continue
        task = _build_task(rng, f"{split}-{seed}-{len(tasks):05d}", split, scene)
        if task.prompt in seen:
            continue
        seen.add(task.prompt)
        tasks.append(task)
    return tasks


def make_splits(seed: int = 0, n_train: int = 2000, n_val: int = 200,
                n_test: int = 200) -> dict[str, list[Task]]:
    """``{"train": [...], "validation": [...], "test": [...]}``; disjoint by construction."""
    return {"train": generate_tasks(n_train, seed, "train"),
            "validation": generate_tasks(n_val, seed, "validation"),
            "test": generate_tasks(n_test, seed, "test")}


def write_splits(folder: str | Path, seed: int = 0, n_train: int = 2000, n_val: int = 200,
                 n_test: int = 200, splits: Mapping[str, Sequence[Task]] | None = None
                 ) -> dict[str, Path]:
    """Write ``train.jsonl``, ``validation.jsonl`` and ``test.jsonl`` (one task per line) and
    return their paths; ``datasets.load_dataset("json", data_files=paths)`` reads them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if splits is None:
        splits = make_splits(seed, n_train, n_val, n_test)
    return {norm_split(name): write_tasks(folder / SPLIT_FILES[norm_split(name)], tasks)
            for name, tasks in splits.items()}
