"""The knobs of a world build: one dataclass, each field with its help text.

``BuildConfig`` is the single list of settings of :func:`g2r_lens.world.build.build`; every field
carries ``metadata={"help": ...}`` so that a command line can be derived from
``dataclasses.fields(BuildConfig)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = ["ModelShape", "BuildConfig"]


def _help(text: str, **kw: Any) -> Any:
    return field(metadata={"help": text}, **kw)


@dataclass
class ModelShape:
    """The shape of a small Llama-style causal LM."""

    layers: int = _help("number of transformer layers")
    hidden: int = _help("hidden size (width of the residual stream)")
    heads: int = _help("attention heads")
    kv_heads: int | None = _help("key/value heads (grouped-query attention); None: as many as heads",
                                 default=None)
    ffn_mult: int = _help("feed-forward width as a multiple of the hidden size", default=3)


@dataclass
class BuildConfig:
    seed: int = _help("seed of every stage (tasks, tokenizer data, models, sampling)", default=0)
    n_train: int = _help("tasks in the train split", default=2000)
    n_val: int = _help("tasks in the validation split", default=200)
    n_test: int = _help("tasks in the test split", default=200)
    vocab_size: int = _help("BPE vocabulary size of the world tokenizer", default=1024)
    policy: ModelShape = _help("shape of the policy (its frozen copy is the self-judge)",
                               default_factory=lambda: ModelShape(layers=4, hidden=128, heads=4))
    judge: ModelShape = _help("shape of the external judge",
                              default_factory=lambda: ModelShape(layers=5, hidden=128, heads=4))
    policy_steps: int = _help("policy training steps (the hardening stage adds policy_steps // 3)",
                              default=1000)
    judge_steps: int = _help("external judge base-stage steps (the hardening stage adds judge_steps // 4)",
                             default=900)
    hardening_responses: int = _help("policy samples, labelled by the checker, added to the judges' data",
                                     default=1200)
    sft_batch: int = _help("(prompt, response) pairs per policy writing batch", default=16)
    judge_batch: int = _help("responses per judge batch (each with all its criteria)", default=12)
    lr: float = _help("peak learning rate (AdamW, warmup then cosine)", default=2e-3)
    max_new_tokens: int = _help("longest policy sample, in tokens", default=96)
    threads: int = _help("torch threads per process; 0: torch default", default=0)
    parallel: bool = _help("train the judge's base stage in a second process, beside the policy", default=True)
    judge_lm_weight: float = _help("weight of the auxiliary next-token loss on judge prompts (dense supervision)",
                                   default=0.5)
    resume: bool = _help("skip stages whose outputs are complete (a `.done` marker), e.g. after a kill",
                         default=True)

    @classmethod
    def quick(cls) -> "BuildConfig":
        """A few steps of everything: for CI and smoke tests, not for use."""
        return cls(n_train=60, n_val=20, n_test=20, vocab_size=512,
                   policy=ModelShape(layers=1, hidden=32, heads=2), judge=ModelShape(layers=1, hidden=32, heads=2),
                   policy_steps=4, judge_steps=4, hardening_responses=8, sft_batch=4, judge_batch=3, max_new_tokens=24)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "BuildConfig":
        """The inverse of ``dataclasses.asdict`` (model shapes given as dicts)."""
        raw = dict(raw)
        for key in ("policy", "judge"):
            if isinstance(raw.get(key), Mapping):
                raw[key] = ModelShape(**raw[key])
        return cls(**raw)
