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
    rope_theta: float = _help("RoPE base; a large base leaves more of a small head's dimensions nearly unrotated "
                              "over a response, for matching a word by its content far away", default=10000.0)


@dataclass
class BuildConfig:
    seed: int = _help("seed of every stage (tasks, tokenizer data, models, sampling)", default=0)
    n_train: int = _help("tasks in the train split", default=2000)
    n_val: int = _help("tasks in the validation split", default=200)
    n_test: int = _help("tasks in the test split", default=200)
    vocab_size: int = _help("BPE vocabulary size of the world tokenizer", default=1024)
    policy: ModelShape = _help("shape of the policy (its frozen copy is the self-judge)",
                               default_factory=lambda: ModelShape(layers=3, hidden=64, heads=4))
    judge: ModelShape = _help("shape of the external judge (small and trained long: a 3-layer d=64 judge reached "
                              "0.91 on ordinary responses in the time a 4-layer d=128 one reached 0.76)",
                              default_factory=lambda: ModelShape(layers=3, hidden=64, heads=4))
    policy_sft_steps: int = _help("policy warm-up steps on writing only (copying the prompt's facts is learned "
                                  "late; judging starts from a model that already reads its prompt)", default=4000)
    policy_steps: int = _help("policy training steps (writing and judging)", default=2500)
    policy_hard_steps: int = _help("policy hardening steps (judging its own samples too); 0: policy_steps // 4",
                                   default=400)
    policy_extra_steps: int = _help("a last policy stage (writing and judging, own samples in the judge mix, a fresh "
                                    "schedule at lr / 2): small models learn to copy the prompt's facts late",
                                    default=600)
    judge_steps: int = _help("external judge base-stage steps", default=14000)
    judge_hard_steps: int = _help("external judge hardening steps (with policy samples); 0: judge_steps // 4",
                                  default=1500)
    hardening_responses: int = _help("policy samples, labelled by the checker, added to the judges' data",
                                     default=800)
    sft_batch: int = _help("(prompt, response) pairs per policy writing batch", default=32)
    judge_batch: int = _help("responses per judge batch (each with all its criteria)", default=8)
    lr: float = _help("peak learning rate of the policy (AdamW, warmup then cosine)", default=3e-3)
    judge_lr: float = _help("peak learning rate of the external judge's base stage; 0: lr", default=4e-3)
    judge_extra_criteria: int = _help("checker-labelled criteria added to each judge response beyond its rubric (scene "
                                      "facts, distractors, limits; cheap with the rule after the response)", default=0)
    max_new_tokens: int = _help("longest policy sample, in tokens", default=80)
    threads: int = _help("torch threads per process; 0: torch default", default=0)
    parallel: bool = _help("train the judge's base stage in a second process, beside the policy", default=True)
    judge_lm_weight: float = _help("weight of the auxiliary next-token loss on judge prompts (dense supervision)",
                                   default=0.5)
    template: str = _help("judge prompt layout: 'after' (the rule after the response: one response forward per "
                          "response, a short continuation per criterion) or 'before' (the rule before it: a full "
                          "response forward per criterion); recorded in build.json", default="after")
    twin_rate: float = _help("share of judge responses followed by their counterfactual twin (the truth words of "
                             "one criterion edited, see twin_edits)", default=0.5)
    twin_edits: str = _help("how twins edit the truth words: 'all' (a same-type word 0.4, the word deleted 0.25, a "
                            "word of another type 0.2, its sentence removed 0.15) or 'v3' (same-type word 0.75, "
                            "sentence removed 0.25: judges trained so answered from the sentence frame)",
                            default="all")
    balance: bool = _help("class-weighted verdict loss (True and False weigh equally in each batch)", default=True)
    policy_judge_batch: int = _help("responses per judge batch inside the policy's training (self-judge)",
                                    default=8)
    resume: bool = _help("skip stages whose outputs are complete (a `.done` marker), e.g. after a kill",
                         default=True)

    @classmethod
    def quick(cls) -> "BuildConfig":
        """A few steps of everything: for CI and smoke tests, not for use."""
        return cls(n_train=60, n_val=20, n_test=20, vocab_size=512,
                   policy=ModelShape(layers=1, hidden=32, heads=2), judge=ModelShape(layers=1, hidden=32, heads=2),
                   policy_sft_steps=2, policy_steps=4, judge_extra_criteria=2, judge_steps=4, policy_hard_steps=2, policy_extra_steps=2, judge_hard_steps=2, hardening_responses=8, sft_batch=4, judge_batch=3, max_new_tokens=24,
                   policy_judge_batch=3)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "BuildConfig":
        """The inverse of ``dataclasses.asdict`` (model shapes given as dicts)."""
        raw = dict(raw)
        for key in ("policy", "judge"):
            if isinstance(raw.get(key), Mapping):
                raw[key] = ModelShape(**raw[key])
        return cls(**raw)
