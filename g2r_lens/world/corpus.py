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
from .responses import sample_response
from .schema import Task

__all__ = ["POLICY_MODES", "JUDGE_MODES", "response_stream", "build_tokenizer", "sft_example", "JudgeItem",
           "judge_item"]

# Response modes the policy imitates: mostly noisy, so it starts at a checker score of ~0.3-0.4.
POLICY_MODES = {"noisy": 0.75, "good": 0.08, "fragment": 0.07, "repeat": 0.03, "runon": 0.04, "keywords": 0.03}
# Response modes the judges are trained on: balanced between plausible and degenerate.
JUDGE_MODES = {"noisy": 0.38, "good": 0.17, "keywords": 0.09, "repeat": 0.08, "fragment": 0.1,
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


def build_tokenizer(tasks: Sequence[Task], vocab_size: int, seed: int = 0) -> Any:
    rng = random.Random(seed)
    lines = []
    for t in tasks:
        lines.append(t.prompt)
        lines.extend(c.text for c in t.rubric)
        for mode in ("good", "noisy", "misplaced", "runon"):
            lines.append(sample_response(t, rng, mode))
    fixed = WORLD_TEMPLATE.user + WORLD_TEMPLATE.system + " True False Yes No"
    lines += [fixed] * 50 + ["True", "False", "Yes", "No", "system", "user", "assistant"] * 50
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


def judge_item(judge: Judge, task: Task, response: str, mode: str) -> JudgeItem:
    ex = Example(task.prompt, response, [{"criterion": c.text, "weight": c.weight} for c in task.rubric])
    res = check(task, response)
    pairs = [judge.encode(ex, k) for k in range(len(task.rubric))]
    prefix = pairs[0].input_ids[: pairs[0].resp_end]
    for p in pairs:
        if p.input_ids[: p.resp_end] != prefix:
            raise TemplateError("the world template must put the criterion after the response")
    return JudgeItem(prefix, [p.input_ids[p.resp_end:] for p in pairs], [c.satisfied for c in res.criteria],
                     [c.kind for c in res.criteria], mode)
