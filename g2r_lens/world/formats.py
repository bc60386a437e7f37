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

__all__ = ["WORLD_TEMPLATE", "RULE_BEFORE_TEMPLATE", "RULE_AFTER_TEMPLATE", "TEMPLATES", "world_template", "policy_prompt_ids", "policy_end_id"]

# The rule *before* the response: a causal judge reads every response token already knowing what
# is checked. Training shares only the system line and task prompt across a response's criteria, so
# every criterion costs a full response forward; at equal training time its judges were less accurate
# than rule-after ones (the README's world section), and the world builds with the rule after
# (``BuildConfig.template``); kept to measure the two layouts against each other.
RULE_BEFORE_TEMPLATE = JudgeTemplate(
    system="You check one rule of a rubric. Answer {true} or {false}.",
    user="Prompt: {prompt}\nRule: {criterion}\nResponse:\n{response}\nIs the rule met? Answer {true} or {false}.",
)

#: The world's layout (rule *after* the response): every criterion of a response shares the whole
#: (prompt, response) prefix, so training runs it once and branches into one short continuation per
#: criterion (:func:`g2r_lens.world.corpus.judge_item`).
RULE_AFTER_TEMPLATE = JudgeTemplate(
    system="You check one rule of a rubric. Answer {true} or {false}.",
    user="Prompt: {prompt}\nResponse:\n{response}\nRule: {criterion}\nIs the rule met? Answer {true} or {false}.",
)

#: the judge prompt of the shipped world's judges (the layout they were trained with)
WORLD_TEMPLATE = RULE_AFTER_TEMPLATE

#: build layouts by name (``BuildConfig.template``)
TEMPLATES = {"before": RULE_BEFORE_TEMPLATE, "after": RULE_AFTER_TEMPLATE}


def world_template(folder: Any = None) -> JudgeTemplate:
    """The judge prompt a world folder's judges were trained with: its ``build.json`` records the
    layout (``config.template``); a world built before layouts were recorded used the rule-after
    layout. ``None``: the shipped world's (:data:`WORLD_TEMPLATE`)."""
    import json
    from pathlib import Path

    if folder is None:
        return WORLD_TEMPLATE
    path = Path(folder) / "build.json"
    try:
        layout = json.loads(path.read_text()).get("config", {}).get("template", "after")
    except (OSError, ValueError):
        return WORLD_TEMPLATE
    return TEMPLATES.get(layout, RULE_AFTER_TEMPLATE)


def policy_prompt_ids(tok: Any, prompt: str) -> list[int]:
    """Token ids of the policy's input for ``prompt``: a ChatML user turn and the assistant header."""
    text = tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
    return tok(text, add_special_tokens=False)["input_ids"]


def policy_end_id(tok: Any) -> int:
    """The token that ends a policy response (ChatML's end of message)."""
    return tok.convert_tokens_to_ids(IM_END)
