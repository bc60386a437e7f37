"""The mini RL loop: token-level GRPO with sparse vs dense judge rewards on the bundled world.

Modules: :mod:`~g2r_lens.rl.advantages` (pure estimators, one registry), :mod:`~g2r_lens.rl.rollout`
(sampling, offsets, log-probs), :mod:`~g2r_lens.rl.scoring` (reward modes, projection onto policy
tokens, oracles), :mod:`~g2r_lens.rl.trainer` (the loop, run folders, checkpoints),
:mod:`~g2r_lens.rl.plots` (curves with seed bands, comparisons), :mod:`~g2r_lens.rl.cli`.
"""

from .advantages import (ADVANTAGES, EPS, available_estimators, compute_advantages, get_estimator,
                         register_advantage, reward_to_go)
from .scoring import Scorer, reward_modes
from .trainer import TrainConfig, Trainer, train

__all__ = ["ADVANTAGES", "EPS", "Scorer", "TrainConfig", "Trainer", "available_estimators", "compute_advantages",
           "get_estimator", "register_advantage", "reward_modes", "reward_to_go", "train"]
