"""g2r_lens: attribution toolkit and visualiser for LLM-as-a-Judge rewards.

Open a judge's True/False rubric verdicts with attribution methods and turn them into dense token
rewards that add up exactly to the sparse rubric reward (Grad2Reward, Zhang et al. 2026).

    >>> from g2r_lens import Judge, attribute
    >>> judge = Judge.from_pretrained("path/to/judge")
    >>> run = attribute(judge, [{"prompt": ..., "response": ..., "rubric": [{"criterion": ..., "weight": 1}]}],
    ...                 methods=["grad_x_input", "integrated_gradients"])
"""

__version__ = "0.1.0"

from importlib import import_module as _import_module
from typing import Any as _Any

from .errors import *  # noqa: E402,F401,F403

# The engine's names load on first use (PEP 562): importing a light module such as
# :mod:`g2r_lens.runtime` or :mod:`g2r_lens.errors` does not import torch and transformers, so
# :func:`g2r_lens.runtime.offline_env` can run before they read their environment.
_EXPORTS = {
    **dict.fromkeys(("available_methods", "get_method", "register"), "attribution"),
    "attribute": "core",
    **dict.fromkeys(("Criterion", "Example", "load_examples", "sparse_reward"), "examples"),
    **dict.fromkeys(("Judge", "JudgeTemplate"), "judge"),
    **dict.fromkeys(("AttributionRun", "ExampleResult", "MethodResult"), "results"),
    **dict.fromkeys(("dense_rewards", "softmax_alpha"), "rewards"),
    "project_rewards": "spans",
}

__all__ = [
    "AttributionRun", "Criterion", "Example", "ExampleResult", "Judge", "JudgeTemplate", "MethodResult",
    "attribute", "available_methods", "dense_rewards", "get_method", "load_examples", "project_rewards",
    "register", "softmax_alpha", "sparse_reward",
]


def __getattr__(name: str) -> _Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
