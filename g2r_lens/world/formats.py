"""The world's text formats, shared by the build, the shipped bundle, the report and RL rollouts.

- :data:`WORLD_TEMPLATE`: the judge prompt of the world's judges;
- :func:`policy_prompt_ids`: the policy's input (the task prompt as a ChatML user turn, then the
  assistant header); the policy's response ends with :func:`policy_end_id`.

The chat template and special tokens themselves live in :mod:`g2r_lens.chatml`.
"""

from __future__ import annotations

from typing import Any

from ..chatml import IM_END
from ..judge import JudgeTemplate

__all__ = ["WORLD_TEMPLATE", "policy_prompt_ids", "policy_end_id"]

# The world's judge prompt: the criterion comes *after* the response, so that all criteria of one
# response share the (prompt, response) prefix. Training runs that prefix once per response and
# branches into one short continuation per criterion (several verdicts per forward pass).
WORLD_TEMPLATE = JudgeTemplate(
    system="You check one rule of a rubric. Answer {true} or {false}.",
    user="Prompt: {prompt}\nResponse:\n{response}\nRule: {criterion}\nIs the rule met? Answer {true} or {false}.",
)


def policy_prompt_ids(tok: Any, prompt: str) -> list[int]:
    """Token ids of the policy's input for ``prompt``: a ChatML user turn and the assistant header."""
    text = tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
    return tok(text, add_special_tokens=False)["input_ids"]


def policy_end_id(tok: Any) -> int:
    """The token that ends a policy response (ChatML's end of message)."""
    return tok.convert_tokens_to_ids(IM_END)
