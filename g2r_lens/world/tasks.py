"""The bundled rubric world: tasks, rubrics, splits and a response sampler (pure Python).

The world is small on purpose: a few hundred plain English words, so that tiny language models
(1-8M parameters) can learn to write responses and to judge them, and so that a person reading a
token heatmap understands every word of it.

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

**Splits.** A task's *scene* is (name, event, place, day). Scenes are hash-partitioned, once and
for all and independently of the seed, into train (80%), validation (10%) and test (10%); so no
test task shares a scene, let alone a prompt, with any train task of any seed.

**Responses.** :func:`sample_response` writes responses of dozens of words in several modes:
``good`` (follows the prompt), ``noisy`` (a random mix of right, missing and wrong content: what a
weak policy writes) and the degenerate responses an RL policy finds when it exploits a learned
judge: ``keywords``, ``repeat``, ``fragment``, ``runon``, ``misplaced``. The sampler only proposes
text; the label of any response is always what :func:`g2r_lens.world.checker.check` says.
Everything takes an explicit ``random.Random``; the global ``random`` state is never used.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

__all__ = [
    "NAMES", "EVENTS", "PLACES", "WEEKDAYS", "ITEMS", "AVOID_TOPICS", "RUDE_WORDS", "GREETINGS",
    "PEOPLE_NOUNS", "NUMBER_WORDS", "KINDS", "CHECKS", "SPLITS", "SPLIT_FILES", "RESPONSE_MODES",
    "ADVERSARIAL_MODES", "response_modes", "CRITERION_TEMPLATES",
    "Criterion", "Task", "make_criterion", "scene_split", "generate_tasks", "make_splits",
    "write_splits", "read_tasks", "load_splits", "sample_response",
]

# --------------------------------------------------------------------------------------------
# Vocabulary (deliberately small and plain)
# --------------------------------------------------------------------------------------------
NAMES = ("Maya", "Tom", "Lena", "Omar", "Sara", "Ben", "Nina", "Leo", "Ada", "Sam", "Ruth", "Jack",
         "Ivy", "Max", "Zoe", "Eli", "Mia", "Noah", "Ana", "Paul")
EVENTS = ("picnic", "party", "concert", "dinner", "game", "trip", "lunch", "fair", "market", "race",
          "quiz", "hike", "movie", "festival", "barbecue", "workshop")
PLACES = ("park", "beach", "library", "garden", "school", "museum", "cafe", "lake", "station",
          "hall", "farm", "river", "bakery", "stadium")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ITEMS = ("cake", "map", "ball", "tent", "blanket", "camera", "guitar", "kite", "lamp", "bread",
         "juice", "radio")
AVOID_TOPICS = ("rain", "cost", "traffic", "noise", "mud", "wind", "delay", "heat", "crowd", "bill",
                "homework", "exam")
RUDE_WORDS = ("stupid", "dumb", "lazy", "useless", "pathetic", "idiotic")
GREETINGS = ("hi", "hello", "dear", "hey")
#: nouns that make "<digits> <noun>" a statement of the number of people
PEOPLE_NOUNS = ("people", "guests")
NUMBERS = tuple(range(2, 13))
#: number words: never accepted by the checker (digits only), used by the sampler for wrong answers
NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
                9: "nine", 10: "ten", 11: "eleven", 12: "twelve"}
SENTENCE_LIMITS = (3, 4, 5)
WORD_LIMITS = (40, 50, 60)

KINDS = ("required", "forbidden", "prompt_dependent", "nonlocal")
CHECKS = ("mention", "avoid", "greet", "count", "day", "order", "max_sentences", "max_words")
SPLITS = ("train", "validation", "test")
SPLIT_FILES = {"train": "train.jsonl", "validation": "validation.jsonl", "test": "test.jsonl"}
_SPLIT_ALIASES = {"train": "train", "val": "validation", "valid": "validation",
                  "validation": "validation", "dev": "validation", "test": "test"}

RESPONSE_MODES = ("good", "noisy", "keywords", "repeat", "fragment", "runon", "misplaced")
ADVERSARIAL_MODES = ("keywords", "repeat", "fragment", "runon", "misplaced")
response_modes = RESPONSE_MODES  # alias

#: the fixed criterion texts, by (check, variant); ``{}`` fields come from the task
CRITERION_TEMPLATES = {
    ("mention", "event"): "The response mentions the {word}.",
    ("mention", "place"): "The response mentions the {word}.",
    ("mention", "item"): "The response mentions the {word}.",
    ("mention", "event_prompt"): "The response names the event given in the prompt.",
    ("mention", "place_prompt"): "The response names the place given in the prompt.",
    ("mention", "item_prompt"): "The response mentions the thing the prompt asks to bring.",
    ("avoid", "topic"): "The response mentions the {word}.",
    ("avoid", "rude"): "The response contains a rude word.",
    ("greet", ""): "The response greets the person named in the prompt.",
    ("count", ""): "The response states the number of people given in the prompt.",
    ("day", ""): "The response gives the day named in the prompt.",
    ("order", ""): "The response mentions the day before the place.",
    ("max_sentences", ""): "The response uses at most {n} sentences.",
    ("max_words", ""): "The response uses at most {n} words.",
}

_DEFAULT_KIND = {"mention": "required", "avoid": "forbidden", "greet": "prompt_dependent",
                 "count": "prompt_dependent", "day": "prompt_dependent", "order": "nonlocal",
                 "max_sentences": "nonlocal", "max_words": "nonlocal"}


# --------------------------------------------------------------------------------------------
# Data classes
# --------------------------------------------------------------------------------------------
def _norm_spec(spec: Mapping[str, Any] | None) -> dict:
    if not spec:
        raise ValueError("criterion has no machine-readable spec; the exact checker needs one")
    check = spec.get("check")
    if check not in CHECKS:
        raise ValueError(f"unknown check {check!r}; expected one of {CHECKS}")
    words = spec.get("words") or []
    if isinstance(words, str):
        words = [words]
    n = spec.get("n")
    return {"check": str(check), "words": [str(w) for w in words], "n": int(n or 0)}


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
            raise ValueError(f"unknown criterion kind {self.kind!r}; expected one of {KINDS}")
        self.weight = float(self.weight)
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
        spec = _norm_spec(d.get("spec"))
        kind = d.get("kind") or _DEFAULT_KIND[spec["check"]]
        local = d.get("local")
        if local is None:
            local = kind != "nonlocal"
        text = d.get("criterion", d.get("text"))
        if text is None:
            raise ValueError("criterion dict needs a 'criterion' text")
        return cls(text=str(text), weight=float(d["weight"]), kind=kind, local=bool(local),
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
    if kind is None:
        kind = "prompt_dependent" if variant.endswith("_prompt") else _DEFAULT_KIND[check]
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
        slots = {k: v for k, v in dict(d.get("slots") or {}).items() if v is not None}
        return cls(id=str(d.get("id", "")), prompt=str(d["prompt"]),
                   rubric=[c if isinstance(c, Criterion) else Criterion.from_dict(c)
                           for c in d["rubric"]],
                   split=str(d.get("split") or ""), slots=slots)

    def validate(self) -> None:
        """Raise ``ValueError`` unless the rubric follows the world's rules."""
        r = self.rubric
        if not 3 <= len(r) <= 6:
            raise ValueError(f"{self.id}: rubric has {len(r)} criteria, expected 3-6")
        kinds = [c.kind for c in r]
        if "nonlocal" not in kinds:
            raise ValueError(f"{self.id}: no nonlocal criterion")
        if "prompt_dependent" not in kinds:
            raise ValueError(f"{self.id}: no prompt-dependent criterion")
        if not any(c.weight > 0 for c in r):
            raise ValueError(f"{self.id}: no positive weight")
        for c in r:
            if (c.kind == "forbidden") != (c.weight < 0):
                raise ValueError(f"{self.id}: weight sign does not match kind in {c.text!r}")
            if c.local != (c.kind != "nonlocal"):
                raise ValueError(f"{self.id}: local flag does not match kind in {c.text!r}")


# --------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------
def _stable_int(*parts: Any) -> int:
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return int(h[:16], 16)


def _norm_split(split: str) -> str:
    try:
        return _SPLIT_ALIASES[split.lower()]
    except KeyError:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}") from None


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
    split = _norm_split(split)
    rng = random.Random(_stable_int("g2r-world-tasks", seed, split))
    tasks: list[Task] = []
    seen: set[str] = set()
    tries = 0
    while len(tasks) < n:
        tries += 1
        if tries > 1000 * max(n, 1):
            raise RuntimeError(f"could not draw {n} distinct {split} tasks")
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
    paths = {}
    for name, tasks in splits.items():
        path = folder / SPLIT_FILES[_norm_split(name)]
        with path.open("w", encoding="utf-8") as f:
            for t in tasks:
                f.write(json.dumps(t.to_dict(), ensure_ascii=False) + "\n")
        paths[_norm_split(name)] = path
    return paths


def read_tasks(path: str | Path) -> list[Task]:
    with Path(path).open(encoding="utf-8") as f:
        return [Task.from_dict(json.loads(line)) for line in f if line.strip()]


def load_splits(folder: str | Path) -> dict[str, list[Task]]:
    folder = Path(folder)
    return {s: read_tasks(folder / fn) for s, fn in SPLIT_FILES.items() if (folder / fn).exists()}


# --------------------------------------------------------------------------------------------
# Response sampler
# --------------------------------------------------------------------------------------------
_FILLERS = (
    "It should be a lot of fun", "Let me know if you have any questions",
    "I am really looking forward to it", "Everyone is welcome to join us",
    "I think you will enjoy it", "Tell me if you need a ride", "We will have food and music",
    "It will be good to see everyone again", "We can stay as long as we like",
    "I will send more details soon", "Please let me know if you can make it",
    "It has been a long time since we all met", "My sister will help with the food",
    "You can invite a friend if you want", "We plan to start in the morning",
    "There will be plenty to eat", "I hope you can come", "It is going to be a great day",
    "The kids are very excited", "Bring a jacket in case it gets late",
)
_GREET_TAILS = ("I hope you are well", "I have some good news", "I hope your week is going well",
                "I wanted to tell you something", "I hope you had a good week")
_GREET_QUESTIONS = ("how are you",)
_CLOSERS = ("See you soon", "See you there", "Thanks, and see you then", "Talk to you soon",
            "Have a nice day")
_CORE = {
    (1, 1, 1, "dp"): ("On {D} we are having the {E} at the {P}", "The {E} is on {D} at the {P}",
                      "This {D} there will be a {E} at the {P}",
                      "We are holding the {E} on {D} at the {P}"),
    (1, 1, 1, "pd"): ("The {E} will be at the {P} on {D}",
                      "We will meet at the {P} on {D} for the {E}",
                      "The {E} takes place at the {P} on {D}"),
    (1, 0, 1, ""): ("The {E} is on {D}", "We are having the {E} on {D}",
                    "On {D} we will have the {E}"),
    (1, 1, 0, ""): ("The {E} will be at the {P}", "We are having the {E} at the {P}"),
    (0, 1, 1, "dp"): ("On {D} we will meet at the {P}", "We meet on {D} at the {P}"),
    (0, 1, 1, "pd"): ("We will meet at the {P} on {D}", "Come to the {P} on {D}"),
    (1, 0, 0, ""): ("I wanted to tell you about the {E}", "The {E} is coming up soon"),
    (0, 1, 0, ""): ("We will meet at the {P}", "Meet us at the {P}"),
    (0, 0, 1, ""): ("It is on {D}", "We will meet on {D}"),
}
_NUMBER_OK = ("{n} people are coming", "So far {n} people have said they will come",
              "We expect {n} guests in total", "There will be {n} people there",
              "In total {n} people will join us")
_NUMBER_FIX = ("Sorry, I mean {m} people", "Actually, {m} people are coming now")
_NUMBER_MISUSED = ("We will start at {n} in the morning", "It starts at {n}",
                   "The {E} lasts {n} hours", "Bring {n} cups for the drinks")
_ITEM_OK = ("Please bring the {I} if you can", "Do not forget the {I}",
            "It would be great if you could bring the {I}", "We still need the {I}")
_ITEM_Q = ("Could you bring the {I}",)
_ITEM_NEG = ("We do not need the {I} this time", "There is no need to bring the {I}")
_AVOID_OK = ("I hope the {A} will not be a problem", "Do not worry about the {A}",
             "The {A} could be a problem", "I heard about the {A}")
_AVOID_NEG = ("There will be no {A}, I promise", "Nobody will talk about the {A}")
_RUDE = ("The last one was {R}", "Please do not be {R} about it", "Some of the plans are {R}")
_UNGREETED = ("This note is for {name}", "I am writing to {name} about this")
_NO_NAME_GREET = ("Hi there", "Hello everyone", "Hi all")
_MENTION_EXTRA = ("Do not forget the {W}", "I also want to mention the {W}")
_KEYWORD_EXTRAS = ("greeting", "number", "day", "place", "people", "sentences", "note")
_KEEP_CASE = {w.lower() for w in NAMES + WEEKDAYS} | {"i"}
MAX_FILLERS = 5  # filler sentences per response, at most (before length violations)


@dataclass
class _Clause:
    text: str           # starts with a capital letter (or digit), no final punctuation
    punct: str = "."
    mergeable: bool = True
    filler: bool = False

    @property
    def words(self) -> int:
        return len(self.text.replace(",", " ").split())


def _lower_first(text: str) -> str:
    first = text.split(" ", 1)[0].strip(",").lower()
    return text if first in _KEEP_CASE or not text[:1].isalpha() else text[:1].lower() + text[1:]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _derive(task: Task, rng: random.Random) -> dict:
    """Scene values and constraints from the task's slots and rubric specs (hand-written tasks
    without slots get random values for what the rubric does not fix)."""
    s = dict(task.slots)
    cons = {"max_sentences": 0, "max_words": 0, "order": None, "mentions": []}
    for c in task.rubric:
        sp = c.spec
        chk, words = sp["check"], sp["words"]
        if chk == "greet" and words:
            s.setdefault("name", words[0])
        elif chk == "count":
            s.setdefault("number", sp["n"])
        elif chk == "day" and words:
            s.setdefault("day", words[0])
        elif chk == "avoid" and words and words[0] not in RUDE_WORDS:
            s.setdefault("avoid", words[0])
        elif chk == "order" and len(words) >= 2:
            cons["order"] = (words[0], words[1])
            s.setdefault("day", words[0])
            s.setdefault("place", words[1])
        elif chk == "max_sentences":
            cons["max_sentences"] = sp["n"]
        elif chk == "max_words":
            cons["max_words"] = sp["n"]
        elif chk == "mention":
            cons["mentions"].extend(words)
    for key, pool in (("name", NAMES), ("event", EVENTS), ("place", PLACES), ("day", WEEKDAYS),
                      ("number", NUMBERS), ("item", ITEMS), ("avoid", AVOID_TOPICS)):
        s.setdefault(key, rng.choice(pool))
    known = {str(s[k]).lower() for k in ("event", "place", "item", "day")}
    cons["mentions"] = [w for w in cons["mentions"] if w.lower() not in known]
    cons["has"] = {c.spec["check"] for c in task.rubric}
    cons["rude"] = any(c.spec["check"] == "avoid" and set(c.spec["words"]) & set(RUDE_WORDS)
                       for c in task.rubric)
    low = task.prompt.lower()
    cons["prompt_number"] = f"{s['number']} people" in low or "count" in cons["has"]
    cons["prompt_item"] = f"the {str(s['item']).lower()}" in low or any(
        c.spec["check"] == "mention" and str(s["item"]).lower() in
        [w.lower() for w in c.spec["words"]] for c in task.rubric)
    return {"s": s, "c": cons}


def _other(rng: random.Random, pool: Sequence, value) -> Any:
    return rng.choice([x for x in pool if str(x).lower() != str(value).lower()])


def _plan(rng: random.Random, mode: str, c: dict) -> dict:
    """What each content slot should look like in the response."""
    good = {"greet": "yes", "event": True, "place": True, "day": "yes",
            "order": "dp" if c["order"] else rng.choice(("dp", "pd")),
            "number": "yes" if c["prompt_number"] else "no",
            "item": "yes" if c["prompt_item"] else "no",
            "extras": True, "avoid": "no", "rude": False, "fit": True, "copy": 0}
    if mode == "good":
        if "greet" not in c["has"] and rng.random() < 0.3:
            good["greet"] = "no"
        return good
    if mode == "noisy":
        p = dict(good)
        p["greet"] = rng.choices(("yes", "no", "wrong", "ungreeted"), (5, 3, 1, 1))[0]
        p["event"] = rng.random() < 0.55
        p["place"] = rng.random() < 0.55
        p["day"] = rng.choices(("yes", "no", "wrong", "both"), (5, 3, 1, 1))[0]
        p["order"] = rng.choice(("dp", "pd"))
        p["number"] = rng.choices(("yes", "no", "wrong", "both", "misused", "words"),
                                  (5, 3, 1, 1, 1, 1))[0]
        p["item"] = rng.choices(("yes", "no", "negated"), (5, 4, 1))[0]
        p["extras"] = rng.random() < 0.5
        p["avoid"] = rng.choices(("no", "yes", "negated"), (6, 3, 1))[0]
        p["rude"] = rng.random() < 0.25
        p["fit"] = rng.random() < 0.6
        return p
    if mode == "misplaced":
        p = dict(good)
        menu = ["greet", "number", "day", "item", "avoid", "copy", "order"]
        for m in rng.sample(menu, rng.randint(2, 4)):
            if m == "greet":
                p["greet"] = rng.choice(("wrong", "ungreeted"))
            elif m == "number":
                p["number"] = rng.choice(("misused", "both", "words"))
            elif m == "day":
                p["day"] = "both"
            elif m == "item":
                p["item"] = "negated"
            elif m == "avoid":
                p["avoid"] = "negated"
            elif m == "copy":
                p["copy"] = rng.randint(1, 2)
            elif m == "order":
                p["order"] = "pd"
        return p
    raise ValueError(mode)


def _clauses(rng: random.Random, p: dict, d: dict) -> tuple[list[_Clause], list[_Clause]]:
    """(head, body): the greeting clause (if any) and the content clauses."""
    s, c = d["s"], d["c"]
    name, E, P, D, n = s["name"], s["event"], s["place"], s["day"], int(s["number"])
    head: list[_Clause] = []
    g = rng.choice(("Hi", "Hello", "Dear", "Hey", "Hi"))
    if p["greet"] in ("yes", "wrong"):
        who = name if p["greet"] == "yes" else _other(rng, NAMES, name)
        r = rng.random()
        if r < 0.15:
            g = g if g != "Dear" else "Hi"
            head.append(_Clause(f"{g} {who}", "!", mergeable=False))
        elif r < 0.3:
            head.append(_Clause(f"{g} {who}, {rng.choice(_GREET_QUESTIONS)}", "?", mergeable=False))
        else:
            head.append(_Clause(f"{g} {who}, {rng.choice(_GREET_TAILS)}"))
    elif p["greet"] == "no" and rng.random() < 0.5:
        head.append(_Clause(f"{rng.choice(_NO_NAME_GREET)}, {rng.choice(_GREET_TAILS)}"))
    body: list[_Clause] = []
    if p["greet"] == "ungreeted":
        body.append(_Clause(rng.choice(_UNGREETED).format(name=name)))
    day = D if p["day"] in ("yes", "both") else (_other(rng, WEEKDAYS, D) if p["day"] == "wrong"
                                                  else None)
    key = (int(p["event"]), int(p["place"]), int(day is not None))
    key = key + ((p["order"],) if key[1] and key[2] else ("",))
    if key in _CORE:
        core = rng.choice(_CORE[key])
        if p["day"] == "both" and rng.random() < 0.5:
            core = core.replace("{D}", "{D} or {D2}")
        body.append(_Clause(core.format(E=E, P=P, D=day, D2=_other(rng, WEEKDAYS, D))))
        if p["day"] == "both" and "{D2}" not in core:
            body.append(_Clause(f"Sorry, I mean {_other(rng, WEEKDAYS, D)}", mergeable=False))
    num = p["number"]
    if num in ("yes", "both"):
        body.append(_Clause(rng.choice(_NUMBER_OK).format(n=n)))
        if num == "both":
            body.append(_Clause(rng.choice(_NUMBER_FIX).format(m=_other(rng, NUMBERS, n)),
                                mergeable=False))
    elif num == "wrong":
        body.append(_Clause(rng.choice(_NUMBER_OK).format(n=_other(rng, NUMBERS, n))))
    elif num == "misused":
        body.append(_Clause(rng.choice(_NUMBER_MISUSED).format(n=n, E=E)))
    elif num == "words":
        body.append(_Clause(_cap(rng.choice(_NUMBER_OK[:1] + _NUMBER_OK[3:]).format(
            n=NUMBER_WORDS.get(n, str(n))))))
    I = s["item"]
    if p["item"] == "yes":
        if rng.random() < 0.25:
            body.append(_Clause(rng.choice(_ITEM_Q).format(I=I), "?", mergeable=False))
        else:
            body.append(_Clause(rng.choice(_ITEM_OK).format(I=I)))
    elif p["item"] == "negated":
        body.append(_Clause(rng.choice(_ITEM_NEG).format(I=I)))
    if p["extras"]:
        for w in c["mentions"]:
            body.append(_Clause(rng.choice(_MENTION_EXTRA).format(W=w)))
    if p["avoid"] in ("yes", "negated"):
        pool = _AVOID_OK if p["avoid"] == "yes" else _AVOID_NEG
        body.append(_Clause(rng.choice(pool).format(A=s["avoid"])))
    if p["rude"]:
        body.append(_Clause(rng.choice(_RUDE).format(R=rng.choice(RUDE_WORDS))))
    return head, body


def _merge_to(clauses: list[_Clause], limit: int) -> list[_Clause]:
    """Merge adjacent statements (", and ") until at most ``limit`` sentences, if possible."""
    out = list(clauses)
    while len(out) > limit:
        best = None
        for i in range(len(out) - 1):
            a, b = out[i], out[i + 1]
            if not (a.mergeable and b.mergeable and a.punct == "." and b.punct == "."):
                continue
            w = a.words + b.words + 1
            if w <= 28 and (best is None or w < best[0]):
                best = (w, i)
        if best is None:
            return out
        i = best[1]
        a, b = out[i], out[i + 1]
        out[i:i + 2] = [_Clause(f"{a.text}, and {_lower_first(b.text)}", ".", True,
                                a.filler and b.filler)]
    return out


def _render(clauses: Sequence[_Clause], rng: random.Random) -> str:
    out = []
    for i, cl in enumerate(clauses):
        sep = "" if i == 0 else ("\n" if rng.random() < 0.08 else " ")
        out.append(sep + cl.text + cl.punct)
    return "".join(out)


def _n_words(clauses: Sequence[_Clause]) -> int:
    return sum(c.words for c in clauses)


def _compose(rng: random.Random, p: dict, d: dict, prompt: str) -> list[_Clause]:
    c = d["c"]
    head, body = _clauses(rng, p, d)
    rng.shuffle(body)
    if p["copy"]:
        sents = [x.strip() for x in prompt.replace("?", ".").split(".") if x.strip()]
        for x in rng.sample(sents, min(p["copy"], len(sents))):
            body.insert(rng.randint(0, len(body)), _Clause(x, mergeable=False))
    max_s, max_w = c["max_sentences"], c["max_words"]
    target = rng.randint(30, 62)
    if p["fit"] and max_w:
        target = min(target, max_w - rng.randint(1, 6))
    fillers = [_Clause(f, filler=True) for f in rng.sample(_FILLERS, len(_FILLERS))]
    closer = [_Clause(rng.choice(_CLOSERS), filler=True)] if rng.random() < 0.5 else []
    seq = head + body
    for _ in range(MAX_FILLERS):
        if _n_words(seq) + _n_words(closer) + fillers[-1].words > target:
            break
        seq.insert(rng.randint(len(head), len(seq)), fillers.pop())
    seq = seq + closer
    if not p["fit"]:
        # break a length constraint on purpose (when there is one)
        while fillers and ((max_s and len(seq) <= max_s) or (max_w and _n_words(seq) <= max_w)):
            seq.insert(rng.randint(len(head), len(seq)), fillers.pop())
        return seq
    for _ in range(len(seq)):
        fits_w = not max_w or _n_words(seq) <= max_w
        merged = _merge_to(seq, max_s) if max_s else seq
        if fits_w and (not max_s or len(merged) <= max_s):
            return merged
        drop = [i for i, x in enumerate(seq) if x.filler]
        if not drop:
            return merged
        seq.pop(rng.choice(drop))
    return seq


def _sentence_mode(rng: random.Random, task: Task, mode: str) -> str:
    d = _derive(task, rng)
    return _render(_compose(rng, _plan(rng, mode, d["c"]), d, task.prompt), rng)


def _good(rng: random.Random, task: Task, tries: int = 8) -> str:
    from .checker import check  # local import: checker imports this module

    best, best_score = "", float("-inf")
    for _ in range(tries):
        text = _sentence_mode(rng, task, "good")
        res = check(task, text)
        if all(r.satisfied == (r.weight > 0) for r in res.criteria):
            return text
        if res.score > best_score:
            best, best_score = text, res.score
    return best


def _keywords(rng: random.Random, task: Task) -> str:
    d = _derive(task, rng)
    s = d["s"]
    kw = [s["name"], s["event"], s["place"], s["day"], str(s["number"]), "people", s["item"]]
    kw += d["c"]["mentions"]
    if rng.random() < 0.3:
        kw.append(s["avoid"])
    kw += rng.sample(_KEYWORD_EXTRAS, rng.randint(0, 3))
    target = rng.randint(8, 30)
    words: list[str] = []
    while len(words) < target:
        chunk = list(kw)
        rng.shuffle(chunk)
        words += chunk
    words = words[:target]
    if rng.random() < 0.5:
        words = [w if w in NAMES or w in WEEKDAYS else w.lower() for w in words]
    sep = rng.choice((" ", ", ", " "))
    text = sep.join(words)
    if rng.random() < 0.3:
        text = f"{rng.choice(('Hi', 'Hello'))} {s['name']}, {text}"
    if rng.random() < 0.5:
        text = _cap(text) + "."
    return text


def _repeat(rng: random.Random, task: Task) -> str:
    d = _derive(task, rng)
    s = d["s"]
    if rng.random() < 0.5:  # one sentence, repeated
        _, body = _clauses(rng, _plan(rng, "good", d["c"]), d)
        body = [b for b in body if b.punct == "."] or [_Clause(f"The {s['event']} is fun")]
        sent = rng.choice(body).text + "."
        k = max(3, round(rng.randint(25, 60) / max(1, len(sent.split()))))
        return " ".join([sent] * k)
    phrase = rng.choice((f"the {s['event']} at the {s['place']}", f"{s['number']} people",
                         f"hi {s['name']}", f"the {s['event']} on {s['day']}",
                         f"{s['event']} {s['place']} {s['day']}",
                         f"see you at the {s['place']}"))
    k = max(4, round(rng.randint(25, 60) / len(phrase.split())))
    sep = rng.choice((" ", ", "))
    text = _cap(sep.join([phrase] * k))
    return text + ("." if rng.random() < 0.5 else "")


def _fragment(rng: random.Random, task: Task) -> str:
    from .checker import analyze_response

    text = _good(rng, task, tries=3) if rng.random() < 0.6 else _sentence_mode(rng, task, "noisy")
    sents = [x for x in analyze_response(text) if len(x.words) >= 3]
    if not sents:
        return text
    # cut inside one of the later sentences, after at least one word and before its last word
    sent = rng.choice(sents[-2:])
    cut_word = sent.words[rng.randint(len(sent.words) // 3, len(sent.words) - 2)]
    return text[: cut_word.end]


def _runon(rng: random.Random, task: Task) -> str:
    d = _derive(task, rng)
    p = _plan(rng, rng.choice(("good", "noisy")), d["c"])
    head, body = _clauses(rng, p, d)
    rng.shuffle(body)
    parts = [h.text for h in head] + [b.text for b in body]
    fillers = rng.sample(_FILLERS, MAX_FILLERS + 1)
    target = rng.randint(45, 75)
    while fillers and sum(len(x.replace(",", " ").split()) for x in parts) < target:
        parts.insert(rng.randint(len(head), len(parts)), fillers.pop())
    joiner = rng.choice((" and ", " and ", ", ", " and then "))
    text = parts[0] + "".join(joiner + _lower_first(x) for x in parts[1:])
    return text + ("." if rng.random() < 0.5 else "")


def sample_response(task: Task, rng: random.Random | int | None = None,
                    mode: str = "noisy") -> str:
    """One response to ``task`` in one of :data:`RESPONSE_MODES`.

    - ``good``: follows the prompt; satisfies every criterion of the rubric (checked, retried);
    - ``noisy``: each content item right, missing or wrong at random (wrong name/number/day,
      contradictions, forbidden topic, rude word, length violations): a weak policy;
    - ``keywords``: a bare list of the rubric's keywords, no sentences;
    - ``repeat``: one sentence or phrase repeated;
    - ``fragment``: a response cut off mid-sentence;
    - ``runon``: one very long sentence (clauses chained with "and");
    - ``misplaced``: right words in the wrong role (the number as a time, the name not greeted,
      two days, a negated item or forbidden topic, prompt sentences copied verbatim).

    The label of the result is whatever :func:`g2r_lens.world.checker.check` says."""
    if rng is None or isinstance(rng, int):
        rng = random.Random(rng or 0)
    if mode == "good":
        return _good(rng, task)
    if mode in ("noisy", "misplaced"):
        return _sentence_mode(rng, task, mode)
    if mode == "keywords":
        return _keywords(rng, task)
    if mode == "repeat":
        return _repeat(rng, task)
    if mode == "fragment":
        return _fragment(rng, task)
    if mode == "runon":
        return _runon(rng, task)
    raise ValueError(f"unknown mode {mode!r}; expected one of {RESPONSE_MODES}")

