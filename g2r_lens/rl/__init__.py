"""The mini RL loop: token-level GRPO with sparse vs dense judge rewards on the bundled world.

Modules: :mod:`~g2r_lens.rl.advantages` (pure estimators, one registry), :mod:`~g2r_lens.rl.rollout`
(sampling, offsets, log-probs), :mod:`~g2r_lens.rl.scoring` (reward modes, projection onto policy
tokens, oracles), :mod:`~g2r_lens.rl.config` (TrainConfig, the one list of knobs),
:mod:`~g2r_lens.rl.trainer` (the loop, run folders, checkpoints),
:mod:`~g2r_lens.rl.runfolder` (the run-folder format: file names, writers, readers),
:mod:`~g2r_lens.rl.plots` (curves with seed bands, comparisons); the commands are in :mod:`g2r_lens.cli.rl`.
"""

from importlib import import_module
from typing import Any

# Loaded on first use (PEP 562), so reading run folders (:mod:`~g2r_lens.rl.runfolder`,
# :mod:`~g2r_lens.rl.plots`) does not import the trainer and torch.
_EXPORTS = {
    **dict.fromkeys(("ADVANTAGES", "EPS", "available_estimators", "compute_advantages", "get_estimator",
                     "register_advantage", "reward_to_go"), "advantages"),
    **dict.fromkeys(("Scorer", "reward_modes"), "scoring"),
    "TrainConfig": "config",
    **dict.fromkeys(("Trainer", "train"), "trainer"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
