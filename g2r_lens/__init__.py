"""g2r_lens: attribution toolkit and visualiser for LLM-as-a-Judge rewards.

Open a judge's True/False rubric verdicts with attribution methods and turn them into dense token
rewards that add up exactly to the sparse rubric reward (Grad2Reward, Zhang et al. 2026).

    >>> from g2r_lens import Judge, attribute
    >>> judge = Judge.from_pretrained("path/to/judge")
    >>> run = attribute(judge, [{"prompt": ..., "response": ..., "rubric": [{"criterion": ..., "weight": 1}]}],
    ...                 methods=["grad_x_input", "integrated_gradients"])
"""

__version__ = "0.1.0"

from .attribution import available_methods, get_method, register  # noqa: E402
from .core import attribute  # noqa: E402
from .errors import *  # noqa: E402,F401,F403
from .examples import Criterion, Example, load_examples, sparse_reward  # noqa: E402
from .judge import Judge, JudgeTemplate  # noqa: E402
from .results import AttributionRun, ExampleResult, MethodResult  # noqa: E402
from .rewards import dense_rewards, softmax_alpha  # noqa: E402
from .spans import project_rewards  # noqa: E402

__all__ = [
    "AttributionRun", "Criterion", "Example", "ExampleResult", "Judge", "JudgeTemplate", "MethodResult",
    "attribute", "available_methods", "dense_rewards", "get_method", "load_examples", "project_rewards",
    "register", "softmax_alpha", "sparse_reward",
]
