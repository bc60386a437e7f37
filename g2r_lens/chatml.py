"""The ChatML chat format: the chat template, its special tokens, and a byte-level BPE that uses them.

One home for the format that the world's tokenizer (:mod:`g2r_lens.world.build`) and the offline
test tokenizers (:mod:`g2r_lens.testing`) share::

    <|im_start|>user
    ...<|im_end|>
    <|im_start|>assistant
"""

from __future__ import annotations

from typing import Any, Iterable

__all__ = ["CHATML", "ENDOFTEXT", "IM_START", "IM_END", "PAD", "SPECIALS", "train_bpe"]

ENDOFTEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"  # ends every message; a policy's response ends with it
PAD = "<|pad|>"
#: the special tokens, in vocabulary order (ids 0-3 of a tokenizer built by :func:`train_bpe`)
SPECIALS = [ENDOFTEXT, IM_START, IM_END, PAD]

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def train_bpe(lines: Iterable[str], vocab_size: int, **special_tokens: Any) -> Any:
    """A byte-level BPE trained on ``lines`` with the ChatML :data:`SPECIALS` and chat template.

    ``special_tokens`` (``eos_token``, ``pad_token``, ``bos_token``, ``unk_token``...) go to
    ``transformers.PreTrainedTokenizerFast``. Deterministic for the same lines.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(lines, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **special_tokens)
    fast.chat_template = CHATML
    return fast
