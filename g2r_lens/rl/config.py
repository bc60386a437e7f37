"""The knobs of an RL run: one dataclass, each field with its help text.

:class:`TrainConfig` is the single list of settings of :class:`~g2r_lens.rl.trainer.Trainer` (saved
as ``config.json``; resuming requires the same config). Every field carries ``metadata={"help": ...}``
so that ``g2r rl train`` derives its flags from ``dataclasses.fields(TrainConfig)`` (nanoGPT style:
the config is the one list of knobs, and the command line comes from it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from ..errors import G2RError
from ..rewards import TAU_MODES
from .advantages import get_estimator
from .scoring import check_reward_mode

__all__ = ["EVAL_MODES", "JUDGES", "TrainConfig"]

JUDGES = ("self", "external")
EVAL_MODES = ("sampled", "greedy")


def _help(default: Any, text: str) -> Any:
    return field(default=default, metadata={"help": text})


@dataclass
class TrainConfig:
    """Everything that defines a run (saved as ``config.json``; resuming requires the same config)."""

    reward: str = _help("grad_x_input", "reward mode: sparse | oracle_sparse | oracle_dense | an attribution method")
    estimator: str = _help("grad2reward", "advantage estimator: sparse | grad2reward | additive | per_position | dense_centered")
    judge: str = _help("self", "self (frozen initial policy) or external (the bundled judge)")
    world: str | None = _help(None, "world folder (policy/, judge/, tasks/); default: the bundled one")
    tasks: str | None = _help(None, "task folder (train.jsonl, test.jsonl); default: <world>/tasks")
    seed: int = _help(0, "run seed (every random choice of a step derives from (seed, step))")
    steps: int = _help(100, "training steps")
    prompts_per_step: int = _help(8, "train prompts per step")
    group_size: int = _help(8, "samples per prompt (G >= 2)")
    lr: float = _help(2e-4, "learning rate (AdamW)")
    kl: float = _help(0.0, "k3 KL coefficient to the initial policy (0: logged only)")
    tau: float = _help(1.0, "softmax temperature of the dense reward")
    tau_mode: str = _help("relative", "relative (scale-aware, default) or absolute (paper-literal)")
    attribute_false: bool = _help(False, "also attribute criteria judged False")
    lam: float = _help(0.5, "weight of the dense term of the additive and dense_centered estimators")
    temperature: float = _help(1.0, "sampling temperature")
    top_p: float = _help(1.0, "nucleus sampling threshold")
    max_new_tokens: int = _help(96, "longest sample, in tokens")
    clip_eps: float = _help(0.2, "PPO clipping epsilon")
    ppo_epochs: int = _help(1, "passes over each step's batch")
    minibatch_size: int = _help(0, "sequences per backward pass (0: the whole batch); gradients accumulate")
    grad_clip: float = _help(1.0, "gradient-norm clip")
    weight_decay: float = _help(0.0, "AdamW weight decay")
    eval_every: int = _help(10, "steps between held-out evaluations")
    eval_prompts: int = _help(64, "held-out test prompts per evaluation")
    eval_samples: int = _help(1, "samples per held-out prompt")
    eval_mode: str = _help("sampled", "sampled (fixed seed) or greedy")
    samples_every: int = _help(10, "steps between logged sample groups")
    samples_groups: int = _help(2, "groups logged each time")
    checkpoint_every: int = _help(10, "steps between checkpoints")
    attr_batch_size: int = _help(32, "(response, criterion) pairs per attribution batch")
    judge_oracles: bool = _help(True, "also ask the judge in the oracle modes (for the agreement log)")
    device: str = _help("auto", "torch device (auto: cuda when available)")
    # bf16 grad x input gave all-NaN scores on an H100 (see the report); tiny judges cost nothing in fp32
    judge_dtype: str = _help("float32", "judge weights: float32 (default), bfloat16, auto (bf16 on a GPU)")
    save_policy: bool = _help(True, "save the final policy as a Hugging Face folder")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise G2RError(f"unknown config keys {unknown}")
        return cls(**d)

    def validate(self) -> None:
        check_reward_mode(self.reward)
        get_estimator(self.estimator)
        if self.judge not in JUDGES:
            raise G2RError(f"unknown judge {self.judge!r}; choose one of {list(JUDGES)}")
        if self.group_size < 2:
            raise G2RError(f"group_size must be at least 2 (got {self.group_size}): a group needs two samples "
                           "of a prompt to have a baseline")
        for name in ("steps", "prompts_per_step", "max_new_tokens", "ppo_epochs"):
            if getattr(self, name) < 1:
                raise G2RError(f"{name} must be at least 1 (got {getattr(self, name)})")
        for name in ("eval_every", "eval_prompts", "eval_samples", "samples_every", "samples_groups",
                     "checkpoint_every", "minibatch_size"):
            if getattr(self, name) < 0:
                raise G2RError(f"{name} must be >= 0 (got {getattr(self, name)})")
        if self.attr_batch_size < 1:
            raise G2RError("attr_batch_size must be at least 1")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise G2RError(f"lr must be a positive number (got {self.lr})")
        if not (self.kl >= 0 and math.isfinite(self.kl)):
            raise G2RError(f"kl must be >= 0 (got {self.kl})")
        if not (self.tau > 0 and math.isfinite(self.tau)):
            raise G2RError(f"tau must be positive (got {self.tau})")
        if self.tau_mode not in TAU_MODES:
            raise G2RError(f"tau_mode must be one of {list(TAU_MODES)} (got {self.tau_mode!r})")
        if not self.temperature > 0:
            raise G2RError(f"temperature must be positive (got {self.temperature})")
        if not 0 < self.top_p <= 1:
            raise G2RError(f"top_p must be in (0, 1] (got {self.top_p})")
        if not 0 < self.clip_eps < 1:
            raise G2RError(f"clip_eps must be in (0, 1) (got {self.clip_eps})")
        if self.eval_mode not in EVAL_MODES:
            raise G2RError(f"eval_mode must be one of {list(EVAL_MODES)} (got {self.eval_mode!r})")
        if not math.isfinite(self.lam):
            raise G2RError("lam must be finite")

    def estimator_params(self) -> dict[str, float]:
        return {"lam": self.lam} if self.estimator in ("additive", "dense_centered") else {}
