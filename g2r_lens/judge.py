"""The judge: any Hugging Face causal LM, a rubric-grading prompt, verdicts and response spans.

The judge is asked one criterion at a time and answers with a verdict word *first*, so a single
forward pass gives both the verdict ``p(True)`` and the scalar ``log p(True)`` that attribution
methods differentiate. The prompt is rendered through the tokenizer's chat template when it has one
and through a plain template otherwise.

Where the response sits. The prompt is rendered with a placeholder in place of the response, split
around the placeholder, and the three segments (before, response, after) are tokenized separately
and concatenated. The response token span is therefore exact by construction: no token straddles
the response boundary, whatever the tokenizer, and the response tokens carry character offsets into
the response string itself. A BOS token is prepended when the tokenizer adds one by default and the
rendered chat template does not already start with it.

Only the verdict position is projected onto the vocabulary: the base transformer runs on the whole
sequence, and the LM head on one hidden state per row.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Iterator, Sequence

import torch

from .runtime import resolve_device, resolve_dtype
from .errors import (
    EmptyResponseError,
    InputTooLongError,
    ModelLoadError,
    ResponseNotFoundError,
    TemplateError,
    VerdictTokenError,
)
from .examples import Criterion, Example
from . import tokenize as _tk
from .prefix import KV, Split, prefix_cache, run_prefix, split_layout

_PLACEHOLDER = "\u241fG2R_RESPONSE_PLACEHOLDER\u241f"
# the prompt and the criterion are user text too: rendered as placeholders, tokenized as plain text
_P_PLACEHOLDER = "\u241fG2R_PROMPT_PLACEHOLDER\u241f"
_C_PLACEHOLDER = "\u241fG2R_CRITERION_PLACEHOLDER\u241f"
_USER_RE = re.compile(f"({re.escape(_P_PLACEHOLDER)}|{re.escape(_C_PLACEHOLDER)})")

#: model types whose last decoder layer ends in ``hidden = residual + mlp(norm(hidden))`` with a
#: position-wise MLP called on one positional tensor: on the cached path their last layer's MLP runs
#: at the verdict position only (see :meth:`Judge._verdict_only_mlp`)
VERDICT_ONLY_MLP_TYPES = frozenset({"llama", "qwen2", "qwen3", "mistral", "gpt2"})


@dataclass(frozen=True)
class JudgeTemplate:
    """A rubric-grading prompt whose answer starts with the verdict word.

    ``user`` is formatted with ``prompt``, ``response``, ``criterion``, ``true`` and ``false``.
    With a chat template, ``system`` (if any) and ``user`` become messages and the generation
    prompt follows, then ``answer_prefix``. Without one, ``plain`` is formatted with ``system`` and
    ``user`` and followed by ``answer_prefix``.

    The criterion comes *before* the response by default: a causal judge then reads every response
    token already knowing what it is looking for.
    """

    system: str | None = "You grade a response against one rubric criterion. Answer {true} or {false} first."
    user: str = (
        "Prompt:\n{prompt}\n\nCriterion: {criterion}\n\nResponse:\n{response}\n\n"
        "Does the response meet the criterion? Answer {true} or {false}."
    )
    plain: str = "{system}\n\n{user}\n\nVerdict:"
    answer_prefix: str = ""
    verdict_words: tuple[str, str] = ("True", "False")
    use_chat_template: bool | None = None  # None: use it when the tokenizer has one

    def digest(self) -> str:
        """Short hash of the template, recorded in every result's provenance."""
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


@dataclass
class EncodedPair:
    """One (example, criterion) pair, tokenized for the judge."""

    input_ids: list[int]
    resp_start: int  # token index of the first response token
    resp_end: int  # one past the last response token
    response_offsets: list[tuple[int, int]]  # character offsets of response tokens in the response
    response_tokens: list[str]
    truncated_tokens: int = 0  # response tokens dropped to fit the context

    @property
    def verdict_pos(self) -> int:
        return len(self.input_ids) - 1

    @property
    def n_response(self) -> int:
        return self.resp_end - self.resp_start

    def keep_response_tokens(self, n: int) -> "EncodedPair":
        """A copy with only the first ``n`` response tokens (the rest counted as truncated)."""
        if n >= self.n_response:
            return self
        cut = self.n_response - n
        return EncodedPair(
            input_ids=self.input_ids[: self.resp_start + n] + self.input_ids[self.resp_end:],
            resp_start=self.resp_start, resp_end=self.resp_start + n,
            response_offsets=self.response_offsets[:n], response_tokens=self.response_tokens[:n],
            truncated_tokens=self.truncated_tokens + cut)


@dataclass
class Batch:
    """Padded tensors for a list of :class:`EncodedPair` (either padding side)."""

    input_ids: torch.Tensor  # [B, L]
    attention_mask: torch.Tensor  # [B, L]
    position_ids: torch.Tensor  # [B, L]
    verdict_pos: torch.Tensor  # [B]
    resp_slices: list[tuple[int, int]]  # response token span of each row, in padded coordinates
    pairs: list[EncodedPair] = field(default_factory=list)
    split: Split | None = None  # the cached layout (prefix / tail), see :mod:`g2r_lens.prefix`

    def __len__(self) -> int:
        return self.input_ids.shape[0]


# device and dtype rules live in g2r_lens.runtime (one home); these names stay for old imports
_resolve_device = resolve_device
_resolve_dtype = resolve_dtype


class Judge:
    """A frozen causal LM used as a rubric judge.

    Parameters are frozen (``requires_grad_(False)``): attribution only ever differentiates with
    respect to the input embeddings, so no parameter gradient is ever computed or stored.

    Batches are right-padded by default. With left padding, the query rows of pad positions see no
    key at all; fused attention kernels can return NaN for such rows, and in the backward pass a
    NaN there reaches the real positions' gradients (seen with a bf16 judge on a GPU). Right padding
    never leaves a row without keys. Position ids are explicit, so either side gives the same
    numbers (tested).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: Any,
        template: JudgeTemplate | None = None,
        *,
        name: str | None = None,
        padding_side: str = "right",
        max_length: int | None = None,
        truncation: str = "error",
        gradient_checkpointing: bool = False,
    ) -> None:
        if padding_side not in ("left", "right"):
            raise ValueError("padding_side must be 'left' or 'right'")
        if truncation not in ("error", "response"):
            raise ValueError("truncation must be 'error' (refuse) or 'response' (cut the response's tail)")
        self.model = model.eval()
        self.model.requires_grad_(False)
        self._attn_lock = threading.RLock()  # eager_attention switches a shared model (e.g. in the app)
        if gradient_checkpointing:
            # Trades one extra forward for activation memory on long inputs. Non-reentrant
            # checkpointing works with frozen parameters and gradients w.r.t. inputs_embeds.
            if hasattr(self.model, "activation_checkpointing_enable"):  # transformers >= 5
                self.model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
            else:
                self.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            # HF checkpoints a layer only when that layer is in training mode; flip the flag on the
            # checkpointed layers alone, so dropout and every other submodule stay in eval mode.
            from transformers.modeling_layers import GradientCheckpointingLayer

            # The prefix cache is read-only (g2r_lens.prefix), so a recomputed layer reads the same
            # keys/values: the layers may keep it under checkpointing.
            for mod in self.model.modules():
                if isinstance(mod, GradientCheckpointingLayer):
                    mod.training = True
                    mod._can_checkpoint_with_cache = True
        self._last_mlp = None if gradient_checkpointing else self._find_last_mlp()
        self.tokenizer = tokenizer
        self._tok_memo: dict[tuple, Any] = {}
        self.template = template or JudgeTemplate()
        self.name = name or getattr(getattr(model, "config", None), "_name_or_path", None) or type(model).__name__
        self.padding_side = padding_side
        self.truncation = truncation
        self.max_length = max_length or self._context_length()
        self.pad_id = self._pad_id()
        self._bos_prefix = self._bos_to_prepend()
        self._chat = self._uses_chat_template()
        self.true_id, self.false_id = self._verdict_ids()
        self.neutral_id = self._neutral_id()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike,
        template: JudgeTemplate | None = None,
        *,
        device: str | torch.device | None = "auto",
        dtype: str | torch.dtype | None = "auto",
        trust_remote_code: bool = False,
        **kwargs: Any,
    ) -> "Judge":
        """Load a judge from a local folder (or a hub id where the network allows)."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = str(path)
        dev = _resolve_device(device)
        dt = _resolve_dtype(dtype, dev)
        expanded = os.path.expanduser(path)
        is_hub_id = path.count("/") <= 1 and not path.startswith((".", "/", "~")) and not os.path.exists(expanded)
        if not is_hub_id and not os.path.isdir(expanded):
            raise ModelLoadError(f"judge model folder {path!r} does not exist")
        path = expanded if not is_hub_id else path
        if not is_hub_id:  # say what is missing before transformers tries (and prints) its fallbacks
            names = set(os.listdir(path))
            if "config.json" not in names:
                raise ModelLoadError(f"judge model folder {path!r} has no config.json (not a Hugging Face model folder)")
            if not names & {"tokenizer.json", "tokenizer_config.json", "vocab.json", "tokenizer.model", "spiece.model"}:
                raise ModelLoadError(f"judge model folder {path!r} has no tokenizer files "
                                     "(tokenizer.json / tokenizer_config.json)")
        try:
            tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
            model = AutoModelForCausalLM.from_pretrained(path, dtype=dt, trust_remote_code=trust_remote_code)
        except Exception as e:  # any loader failure is a bad path / bad folder for the user
            first = (str(e).strip().splitlines() or [""])[0]
            raise ModelLoadError(f"could not load a causal LM and tokenizer from {path!r}: "
                                 f"{type(e).__name__}: {first}") from e
        model.to(dev)
        return cls(model, tok, template, name=path, **kwargs)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    def _find_last_mlp(self) -> torch.nn.Module | None:
        """The last decoder layer's MLP where :data:`VERDICT_ONLY_MLP_TYPES` allows running it at the
        verdict position only (None otherwise: the layer then runs in full)."""
        cfg = getattr(self.model, "config", None)
        if getattr(cfg, "model_type", None) not in VERDICT_ONLY_MLP_TYPES:
            return None
        base = self._base()
        layers = getattr(base, "layers", None)
        if layers is None:
            layers = getattr(base, "h", None)
        n = getattr(cfg, "num_hidden_layers", None)
        if not isinstance(layers, torch.nn.ModuleList) or not len(layers) or (n is not None and n != len(layers)):
            return None
        mlp = getattr(layers[-1], "mlp", None)
        return mlp if isinstance(mlp, torch.nn.Module) else None

    @contextlib.contextmanager
    def _verdict_only_mlp(self, verdict_pos: torch.Tensor | None) -> Iterator[None]:
        """Run the last decoder layer's MLP on the verdict positions only (``None``: on one position,
        for prefix passes, which need only the keys/values every layer computes from its input).

        Only the verdict position's final hidden state reaches the LM head, and the last layer's MLP
        is position-wise, so the other positions' MLP outputs are never used. A pre-hook hands the MLP
        the ``[B, 1, d]`` verdict rows; the layer's ``residual + mlp(...)`` broadcasts, so the verdict
        position gets exactly its value (the other positions of the last layer's output are then
        meaningless, and nothing reads them). This removes most of one layer's forward and backward
        work. The hook acts only in the calling thread; it is off under gradient checkpointing
        (the backward would recompute the layer outside this context)."""
        mlp = self._last_mlp
        if mlp is None:
            yield
            return
        tid = threading.get_ident()

        def pre(_mod: torch.nn.Module, args: tuple) -> tuple | None:
            if threading.get_ident() != tid or len(args) != 1 or args[0].dim() != 3:
                return None
            x = args[0]
            if verdict_pos is None:
                return (x[:, :1],)
            return (x[torch.arange(x.shape[0], device=x.device), verdict_pos].unsqueeze(1),)

        handle = mlp.register_forward_pre_hook(pre)
        try:
            yield
        finally:
            handle.remove()

    def _context_length(self) -> int:
        cfg = getattr(self.model, "config", None)
        for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
            v = getattr(cfg, key, None)
            if isinstance(v, int) and v > 0:
                return v
        v = getattr(self.tokenizer, "model_max_length", None)
        return v if isinstance(v, int) and 0 < v < 10**7 else 4096

    def _pad_id(self) -> int:
        for v in (self.tokenizer.pad_token_id, self.tokenizer.eos_token_id, self.tokenizer.bos_token_id):
            if v is not None:
                return int(v)
        return 0  # padded positions are always masked out, so the id itself never matters

    def _bos_to_prepend(self) -> list[int]:
        bos = self.tokenizer.bos_token_id
        if bos is None:
            return []
        ids = self.tokenizer("a", add_special_tokens=True)["input_ids"]
        return [int(bos)] if ids and ids[0] == bos else []

    def _uses_chat_template(self) -> bool:
        has = bool(getattr(self.tokenizer, "chat_template", None))
        want = self.template.use_chat_template
        if want and not has:
            raise TemplateError("the template asks for a chat template but the tokenizer has none")
        return has if want is None else bool(want)

    def _verdict_ids(self) -> tuple[int, int]:
        words = self.template.verdict_words
        if len(words) != 2 or words[0] == words[1]:
            raise VerdictTokenError(f"verdict_words must be two different words, got {words!r}")
        before, after = self._render_split("p", "c")
        end = (before + "r" + after)
        specials = [t for t in (getattr(self.tokenizer, "all_special_tokens", None) or []) if t]
        sep = "" if (end[-1].isspace() or any(end.endswith(t) for t in specials)) else " "
        ids = []
        for w in words:
            if not w or not w.strip():
                raise VerdictTokenError("a verdict word is empty")
            enc = self.tokenizer(sep + w, add_special_tokens=False)["input_ids"]
            unk = self.tokenizer.unk_token_id
            if len(enc) != 1:
                pieces = self.tokenizer.convert_ids_to_tokens(enc)
                raise VerdictTokenError(
                    f"verdict word {w!r} (as {sep + w!r} after the prompt) is {len(enc)} tokens {pieces} for this "
                    f"tokenizer; choose verdict words that are single tokens (e.g. True/False or Yes/No)"
                )
            if unk is not None and enc[0] == unk:
                raise VerdictTokenError(f"verdict word {w!r} is not in the judge's vocabulary (it maps to the unknown token)")
            ids.append(int(enc[0]))
        return ids[0], ids[1]

    def _neutral_id(self) -> int:
        """A token that says nothing, used by leave-one-out and as an optional IG baseline."""
        for text in (" ", "\u2581", "."):
            enc = self.tokenizer(text, add_special_tokens=False)["input_ids"]
            if len(enc) == 1 and enc[0] != self.tokenizer.unk_token_id:
                return int(enc[0])
        return self.pad_id

    # ------------------------------------------------------------------ rendering
    def _fill(self, prompt: str, criterion: str, response: str) -> tuple[str | None, str]:
        t = self.template
        words = dict(true=t.verdict_words[0], false=t.verdict_words[1])
        try:
            user = t.user.format(prompt=prompt, response=response, criterion=criterion, **words)
            system = t.system.format(**words) if t.system else None
        except (KeyError, IndexError) as e:
            raise TemplateError(f"the judge template has an unknown field {e}") from None
        return system, user

    def render(self, prompt: str, criterion: str, response: str) -> str:
        """The full judge prompt text, ending right before the verdict token."""
        before, after = self._render_split(prompt, criterion)
        return before + response + after

    def _render_split(self, prompt: str, criterion: str) -> tuple[str, str]:
        before, after = self._render_parts(prompt, criterion)
        return "".join(t for t, _ in before), "".join(t for t, _ in after)

    def _render_parts(self, prompt: str, criterion: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
        """The judge prompt before and after the response as ``(text, is_user)`` parts.

        The template is rendered with placeholders for the prompt, the criterion and the response,
        so user text never passes through the template engine (and a placeholder's text inside it is
        plain text); the prompt and criterion parts are then tokenized as plain text."""
        system, user = self._fill(_P_PLACEHOLDER, _C_PLACEHOLDER, _PLACEHOLDER)
        if self._chat:
            msgs = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
            text = self.tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        else:
            text = self.template.plain.format(system=system or "", user=user).lstrip("\n")
        text = text + self.template.answer_prefix
        n = text.count(_PLACEHOLDER)
        if n != 1:
            raise ResponseNotFoundError(
                f"the response occurs {n} times in the rendered judge prompt (expected once); "
                "the template or chat template must place {response} exactly once and verbatim"
            )
        values = {_P_PLACEHOLDER: prompt, _C_PLACEHOLDER: criterion}
        sides = []
        for side in text.split(_PLACEHOLDER):
            parts = []
            for i, piece in enumerate(_USER_RE.split(side)):
                if i % 2:
                    parts.append((values[piece], True))
                elif piece:
                    parts.append((piece, False))
            sides.append(parts)
        return sides[0], sides[1]

    # ------------------------------------------------------------------ encoding
    def encode(self, example: Example, criterion: Criterion | int) -> EncodedPair:
        """Tokenize one (example, criterion) pair; the response span is exact by construction."""
        if isinstance(criterion, int):
            criterion = example.rubric[criterion]
        if not example.response.strip():
            raise EmptyResponseError(f"example {example.id!r}: the response is empty; there is nothing to attribute")
        before, after = self._render_parts(example.prompt, criterion.text)
        tok = self.tokenizer
        # one tokenization routine (g2r_lens.tokenize): user text never becomes a control token;
        # memoised, since the criteria of an example share the response and every pair the template
        b_ids = self._memo(("parts", tuple(before)), lambda: _tk.encode_parts(tok, before))
        bos = self._bos_prefix if not (tok.bos_token and before and not before[0][1]
                                       and before[0][0].startswith(tok.bos_token)) else []
        r_ids, r_off, r_txt = self._memo(("response", example.response), lambda: self._encode_response(example.response))
        r_ids, r_off, r_txt = list(r_ids), list(r_off), list(r_txt)
        a_ids = self._memo(("parts", tuple(after)), lambda: _tk.encode_parts(tok, after))
        if not r_ids:
            raise ResponseNotFoundError(f"example {example.id!r}: the response tokenizes to no tokens")
        fixed = len(bos) + len(b_ids) + len(a_ids)
        total = fixed + len(r_ids)
        dropped = 0
        if total > self.max_length:
            room = self.max_length - fixed
            if self.truncation == "error" or room < 1:
                raise InputTooLongError(
                    f"example {example.id!r}, criterion {criterion.text!r}: the judge prompt is {total} tokens "
                    f"({len(r_ids)} of them the response) but the judge's context is {self.max_length}; "
                    f"shorten the input or use truncation='response' to drop the response's last "
                    f"{total - self.max_length} tokens (recorded in the result)"
                )
            dropped = len(r_ids) - room
            r_ids, r_off, r_txt = r_ids[:room], r_off[:room], r_txt[:room]
        ids = [*bos, *b_ids, *r_ids, *a_ids]
        start = len(bos) + len(b_ids)
        return EncodedPair(
            input_ids=[int(i) for i in ids],
            resp_start=start,
            resp_end=start + len(r_ids),
            response_offsets=r_off,
            response_tokens=r_txt,
            truncated_tokens=dropped,
        )

    def _encode_response(self, response: str) -> tuple[tuple[int, ...], tuple, tuple[str, ...]]:
        r_ids, r_off = _tk.encode_user(self.tokenizer, response, what="response")
        return tuple(r_ids), tuple(r_off), tuple(_tk.token_texts(response, r_off))  # they join back to it

    def _memo(self, key: tuple, compute: Any) -> Any:
        """``compute()`` memoised per judge (bounded; keyed by the vocabulary size too, so tokens added
        to the tokenizer invalidate it). Values are treated as immutable by the callers."""
        key = (len(self.tokenizer), *key)
        hit = self._tok_memo.get(key)
        if hit is None:
            if len(self._tok_memo) >= 4096:
                self._tok_memo.clear()
            hit = self._tok_memo[key] = compute()
        return hit

    def collate(self, pairs: Sequence[EncodedPair], padding_side: str | None = None) -> Batch:
        """Pad pairs into a batch; position ids are explicit so padding never shifts positions."""
        side = padding_side or self.padding_side
        L = max(len(p.input_ids) for p in pairs)
        B = len(pairs)
        ids = torch.full((B, L), self.pad_id, dtype=torch.long)
        mask = torch.zeros((B, L), dtype=torch.long)
        pos = torch.zeros((B, L), dtype=torch.long)
        vpos, slices = [], []
        for i, p in enumerate(pairs):
            n = len(p.input_ids)
            off = L - n if side == "left" else 0
            ids[i, off:off + n] = torch.tensor(p.input_ids)
            mask[i, off:off + n] = 1
            pos[i, off:off + n] = torch.arange(n)
            vpos.append(off + n - 1)
            slices.append((off + p.resp_start, off + p.resp_end))
        dev = self.device
        return Batch(ids.to(dev), mask.to(dev), pos.to(dev), torch.tensor(vpos, device=dev), slices, list(pairs),
                     split_layout(pairs, self.pad_id, side, dev))

    # ------------------------------------------------------------------ forward
    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.model.get_input_embeddings()(input_ids)

    def _base(self) -> torch.nn.Module:
        return self.model.get_decoder() if hasattr(self.model, "get_decoder") else self.model.base_model

    def _verdict_head(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``log p(True), log p(False)`` in float32 from the verdict positions' hidden states ``[B, d]``."""
        logits = self.model.get_output_embeddings()(h).float()
        cfg = getattr(self.model, "config", None)
        scale = getattr(cfg, "logit_scale", None)
        if isinstance(scale, (int, float)):
            logits = logits * scale
        cap = getattr(cfg, "final_logit_softcapping", None)
        if cap:
            logits = torch.tanh(logits / cap) * cap
        logp = torch.log_softmax(logits, dim=-1)
        return logp[:, self.true_id], logp[:, self.false_id]

    def prefix_kv(self, batch: Batch) -> KV | None:
        """Keys/values of the batch's distinct prefixes (the tokens before the response), no grad."""
        with self._verdict_only_mlp(None):  # the last layer's MLP output of a prefix is never read
            return run_prefix(self._base(), batch.split)

    def tail_logprobs(
        self,
        batch: Batch,
        tail_embeds: torch.Tensor | None = None,
        *,
        rows: torch.Tensor | None = None,
        kv: KV | None | str = "compute",
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(log p(True), log p(False))`` of ``rows`` (default: all) from their tail embeddings.

        ``tail_embeds`` ``[len(rows), T, d]`` are the input embeddings of the tail
        (``batch.split.ids[rows]``: the response and what follows it); the prefix enters as its cached
        keys/values ``kv`` (from :meth:`prefix_kv`; computed here when not given). This is the engine's
        one forward path; differentiating it w.r.t. ``tail_embeds`` gives the response gradients.
        """
        sp = batch.split
        if rows is None:
            rows = torch.arange(len(sp), device=sp.ids.device)
        if isinstance(kv, str):
            kv = self.prefix_kv(batch)
        if tail_embeds is None:
            tail_embeds = self.embed(sp.ids[rows])
        prow = sp.prefix_row[rows]
        vpos = sp.verdict_pos[rows]
        with self._verdict_only_mlp(vpos):
            out = self._base()(
                inputs_embeds=tail_embeds,
                attention_mask=torch.cat([sp.prefix_mask[prow], sp.mask[rows]], dim=1),
                position_ids=sp.pos[rows],
                cache=prefix_cache(kv, prow),
                use_cache=kv is not None,
            )
        hidden = out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]
        h = hidden[torch.arange(hidden.shape[0], device=hidden.device), vpos]
        return self._verdict_head(h)

    def verdict_logprobs(
        self,
        batch: Batch,
        inputs_embeds: torch.Tensor | None = None,
        *,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor, Any]:
        """``(log p(True), log p(False), attentions)`` at the verdict position of each row, in float32.

        Without ``inputs_embeds`` and attentions this is the cached path (:meth:`tail_logprobs`).
        With full-sequence ``inputs_embeds`` or ``output_attentions`` the whole sequence runs in one
        pass (the uncached reference, and what the attention methods read). The LM head is applied
        to the verdict position only.
        """
        if inputs_embeds is None and not output_attentions and batch.split is not None:
            return (*self.tail_logprobs(batch), None)
        if inputs_embeds is None:
            inputs_embeds = self.embed(batch.input_ids)
        out = self._base()(
            inputs_embeds=inputs_embeds,
            attention_mask=batch.attention_mask,
            position_ids=batch.position_ids,
            use_cache=False,
            output_attentions=output_attentions,
        )
        hidden = out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]
        rows = torch.arange(hidden.shape[0], device=hidden.device)
        lt, lf = self._verdict_head(hidden[rows, batch.verdict_pos])
        return lt, lf, getattr(out, "attentions", None)

    @contextlib.contextmanager
    def eager_attention(self) -> Iterator[None]:
        """Switch to eager attention (needed to read attention weights) and back."""
        with self._attn_lock:
            cfg = self.model.config
            prev = getattr(cfg, "_attn_implementation", None)
            if prev == "eager":
                yield
                return
            self.model.set_attn_implementation("eager")
            try:
                yield
            finally:
                self.model.set_attn_implementation(prev)

    # ------------------------------------------------------------------ verdicts
    @torch.no_grad()
    def verdicts(self, examples: Sequence[Example], batch_size: int = 16) -> list[list[dict[str, float]]]:
        """Per example, per criterion: ``p_true``, ``p_false``, ``verdict`` (p_true > p_false)."""
        pairs = [(i, k, self.encode(ex, k)) for i, ex in enumerate(examples) for k in range(len(ex.rubric))]
        out: list[list[dict[str, float]]] = [[{} for _ in ex.rubric] for ex in examples]
        order = sorted(range(len(pairs)), key=lambda j: len(pairs[j][2].input_ids))
        for s in range(0, len(order), batch_size):
            chunk = [pairs[j] for j in order[s:s + batch_size]]
            lt, lf, _ = self.verdict_logprobs(self.collate([c[2] for c in chunk]))
            for (i, k, _), a, b in zip(chunk, lt.tolist(), lf.tolist()):
                out[i][k] = verdict_record(a, b)
        return out


def verdict_record(logp_true: float, logp_false: float) -> dict[str, Any]:
    return {
        "logp_true": logp_true,
        "p_true": math.exp(logp_true),
        "p_false": math.exp(logp_false),
        "verdict": bool(logp_true > logp_false),
    }
