"""Training data of the world build: response streams, the tokenizer, and model inputs.

- :func:`response_stream`: endless (task, response, mode) triples, modes drawn from a table
  (:data:`POLICY_MODES` for the policy's writing, :data:`JUDGE_MODES` for judge prompts);
- :func:`build_tokenizer`: a byte-level BPE trained on world text (:mod:`g2r_lens.chatml`);
- :func:`sft_example` (prompt -> response) and :func:`judge_item` (one response with all its
  criteria, as a shared prefix and one continuation per criterion).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from ..chatml import IM_END, PAD, train_bpe
from ..errors import TemplateError
from ..examples import Example
from ..judge import Judge
from .checker import check
from .formats import WORLD_TEMPLATE, policy_end_id, policy_prompt_ids
from .responses import counterfactual_twin, sample_response
from .schema import Criterion, Task, make_criterion
from .vocab import (AVOID_TOPICS, EVENTS, ITEMS, NAMES, NUMBERS, PLACES, RUDE_WORDS, SENTENCE_LIMITS, WEEKDAYS,
                    WORD_LIMITS)

__all__ = ["POLICY_MODES", "JUDGE_MODES", "response_stream", "twin_stream", "build_tokenizer", "sft_example", "JudgeItem",
           "judge_item", "mark_contrasts", "extra_criteria", "with_extra_criteria"]

# Response modes the policy imitates: mostly ``mixed`` (each item from the prompt right, missing or
# wrong; right the likeliest), a few degenerate ones (what RL may amplify).
POLICY_MODES = {"mixed": 0.9, "good": 0.04, "fragment": 0.03, "repeat": 0.01, "runon": 0.01, "keywords": 0.01}
# Response modes the judges are trained on: balanced between plausible and degenerate. A share of
# them (``twin_rate`` in the build) are followed by their counterfactual twin (the same response
# with one truth word swapped or its sentence removed).
JUDGE_MODES = {"noisy": 0.24, "mixed": 0.2, "good": 0.12, "keywords": 0.08, "repeat": 0.08, "fragment": 0.1,
               "runon": 0.08, "misplaced": 0.1}


def _pick(rng: random.Random, table: dict[str, float]) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


def response_stream(tasks: Sequence[Task], rng: random.Random, table: dict[str, float]) -> Iterator[tuple[Task, str, str]]:
    """Endless ``(task, response, mode)``: a random task, a mode drawn from ``table``, a non-empty response."""
    while True:
        task = rng.choice(tasks)
        mode = _pick(rng, table)
        r = sample_response(task, rng, mode)
        if r.strip():
            yield task, r, mode


def twin_stream(stream: Iterator[tuple[Task, str, str]], rng: random.Random,
                rate: float, edits: dict[str, float] | None = None) -> Iterator[tuple[Task, str, str]]:
    """``stream`` where, with probability ``rate``, a response is followed by its counterfactual twin
    (mode ``twin``): a minimal pair whose verdicts differ only through the truth words (``edits``:
    see :func:`~.responses.counterfactual_twin`)."""
    for task, r, mode in stream:
        yield task, r, mode
        if rate and rng.random() < rate:
            tw = counterfactual_twin(task, r, rng, edits)
            if tw and tw.strip():
                yield task, tw, "twin"


def extra_criteria(task: Task, rng: random.Random, k: int) -> list[Criterion]:
    """``k`` more criteria for ``task``'s scene, beyond its rubric (texts not already in it): the
    scene's facts and same-type distractors to mention (most of them absent from a response, so
    the judge learns that a word must be *there*), the prompt-dependent checks, the forbidden topic
    or another one, rude words, sentence and word limits, the day-before-place order.

    With the rule after the response, every criterion of a response shares the (prompt, response)
    prefix and costs only its own rule tokens: many checker-labelled verdicts per response forward,
    which is most of what a small judge learns from."""
    if k <= 0:
        return []
    s = dict(task.slots)
    pools = {"event": EVENTS, "place": PLACES, "item": ITEMS}
    cands: list[Criterion] = []
    for x, pool in pools.items():
        if s.get(x):
            cands.append(make_criterion("mention", 1.0, [str(s[x])], variant=x))
            cands.append(make_criterion("mention", 1.0, [str(s[x])], variant=x + "_prompt"))
        for w in rng.sample(pool, 2):
            cands.append(make_criterion("mention", 1.0, [w], variant=x))
    if s.get("name"):
        cands.append(make_criterion("greet", 1.0, [str(s["name"])]))
    if s.get("day"):
        cands.append(make_criterion("day", 1.0, [str(s["day"])]))
        if s.get("place"):
            cands.append(make_criterion("order", 1.0, [str(s["day"]), str(s["place"])]))
    if s.get("number"):
        cands.append(make_criterion("count", 1.0, n=int(s["number"])))
    for w in {str(s.get("avoid") or rng.choice(AVOID_TOPICS)), rng.choice(AVOID_TOPICS)}:
        cands.append(make_criterion("avoid", -1.0, [w], variant="topic"))
    cands.append(make_criterion("avoid", -1.0, list(RUDE_WORDS), variant="rude"))
    cands.append(make_criterion("max_sentences", 1.0, n=rng.choice(SENTENCE_LIMITS)))
    cands.append(make_criterion("max_words", 1.0, n=rng.choice(WORD_LIMITS)))
    have = {c.text for c in task.rubric}
    fresh: dict[str, Criterion] = {}  # by text: one criterion per text, first one kept
    for c in cands:
        if c.text not in have:
            fresh.setdefault(c.text, c)
    return rng.sample(list(fresh.values()), min(k, len(fresh)))


def with_extra_criteria(task: Task, rng: random.Random, k: int) -> Task:
    """``task`` with :func:`extra_criteria` appended to its rubric (the prompt unchanged)."""
    import dataclasses

    extra = extra_criteria(task, rng, k)
    return dataclasses.replace(task, rubric=list(task.rubric) + extra) if extra else task


def mark_contrasts(items: Sequence[JudgeItem], weight: float, base: float = 1.0) -> list[JudgeItem]:
    """Give ``weight`` to the verdicts that a counterfactual twin flips: for each ``twin`` item that
    follows its original, the criteria (matched by their rule tokens) whose checker labels differ,
    on both items. Those verdicts are the only ones a minimal pair adds, and the only ones the
    sentence frame cannot decide; at weight 1 they are a few of the batch's verdicts and a small
    judge learns to answer them from the frame. Every other verdict weighs ``base`` (0: train on
    the contrasts alone, where the frame says nothing). Items are changed in place and returned."""
    if weight == 1 and base == 1:
        return list(items)
    if base != 1:
        for it in items:
            it.weights = [float(base)] * len(it.labels)
    for prev, it in zip(items, items[1:]):
        if it.mode != "twin" or prev.mode == "twin":
            continue
        where = {tuple(c): i for i, c in enumerate(prev.conts)}
        for k, c in enumerate(it.conts):
            i = where.get(tuple(c))
            if i is not None and prev.labels[i] != it.labels[k]:
                prev.weights = prev.weights or [float(base)] * len(prev.labels)
                it.weights = it.weights or [float(base)] * len(it.labels)
                prev.weights[i] = it.weights[k] = float(weight)
    return list(items)


def build_tokenizer(tasks: Sequence[Task], vocab_size: int, seed: int = 0) -> Any:
    rng = random.Random(seed)
    lines = []
    for t in tasks:
        lines.append(t.prompt)
        lines.extend(c.text for c in t.rubric)
        for mode in ("good", "noisy", "misplaced", "runon"):
            lines.append(sample_response(t, rng, mode))
    fixed = WORLD_TEMPLATE.user + WORLD_TEMPLATE.system + " True False Yes No"
    lines += [fixed] * 50 + ["True", "False", "Yes", "No", "system", "user", "assistant"] * 300
    # the world's content words as single tokens (with and without a leading space, any case):
    # copying a name or a place is then one attention step
    words = [str(w) for pool in (NAMES, EVENTS, PLACES, WEEKDAYS, ITEMS, AVOID_TOPICS, RUDE_WORDS, NUMBERS)
             for w in pool]
    lines += [" ".join(f"{w} {w.lower()} {w.capitalize()}\n{w}" for w in words)] * 8
    return train_bpe(lines, vocab_size, eos_token=IM_END, pad_token=PAD, unk_token=None)


def sft_example(tok: Any, prompt: str, response: str) -> tuple[list[int], list[int]]:
    """(input ids, labels) for prompt -> response; loss on the response and its end token only."""
    p = policy_prompt_ids(tok, prompt)
    r = tok(response, add_special_tokens=False)["input_ids"] + [policy_end_id(tok)]
    return p + r, [-100] * len(p) + r


@dataclass
class JudgeItem:
    """One response with all its criteria: a shared prefix and one continuation per criterion."""

    prefix: list[int]
    conts: list[list[int]]
    labels: list[bool]
    kinds: list[str]
    mode: str
    weights: list[float] | None = None  # per-criterion loss weights (None: all 1; see mark_contrasts)


def judge_item(judge: Judge, task: Task, response: str, mode: str) -> JudgeItem:
    """One response with all its criteria, split into the longest prefix that every criterion's
    judge prompt shares and one continuation per criterion (with the rule after the response, the
    prefix holds the response; with it before, only the system line and the task prompt)."""
    ex = Example(task.prompt, response, [{"criterion": c.text, "weight": c.weight} for c in task.rubric])
    res = check(task, response)
    pairs = [judge.encode(ex, k) for k in range(len(task.rubric))]
    n = min(len(p.input_ids) for p in pairs) - 1  # every continuation keeps at least one token
    first = pairs[0].input_ids
    for p in pairs[1:]:
        n = next((i for i in range(n) if p.input_ids[i] != first[i]), n)
    if n < 1:
        raise TemplateError("the judge prompts of one response share no prefix")
    return JudgeItem(first[:n], [p.input_ids[n:] for p in pairs], [c.satisfied for c in res.criteria],
                     [c.kind for c in res.criteria], mode)
