"""Rollout: G samples per prompt from the policy, with token ids, masks and character offsets.

The sampler is a short KV-cached loop (not ``model.generate``) so that it takes an explicit
``torch.Generator``: each training step seeds its own generator, so a run is repeatable and a
resumed run samples exactly what an uninterrupted one would have.

Layout of a :class:`Rollout` (B = prompts × G rows, groups contiguous):

    prompt_ids     [B, P]  left-padded chat-formatted prompts (``policy_prompt_ids``)
    prompt_mask    [B, P]
    response_ids   [B, T]  right-padded sampled tokens, the end token included when sampled
    response_mask  [B, T]  True on the sampled tokens (the actions), incl. the end token
    texts          B strings: the decoded response, without the end token
    offsets        per row, one (start, end) character span into its text per valid token;
                   the end token and special tokens get an empty span (len, len)

Offsets: the text is re-tokenized with ``return_offsets_mapping``; when that gives back the sampled
ids (the usual case) its offsets are used. When the policy sampled a non-canonical tokenization,
offsets come from decoding growing prefixes (a token that completes no character, such as the first
half of a multi-byte character, gets an empty span). Either way spans are monotone and inside the text.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from ..world.formats import policy_prompt_ids


@dataclass
class Rollout:
    prompt_ids: torch.Tensor
    prompt_mask: torch.Tensor
    response_ids: torch.Tensor
    response_mask: torch.Tensor
    texts: list[str]
    offsets: list[list[tuple[int, int]]]
    ended: list[bool]
    group_ids: torch.Tensor
    task_index: list[int]

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def lengths(self) -> list[int]:
        return self.response_mask.sum(1).tolist()


def end_token_ids(model: Any, tok: Any) -> list[int]:
    ids = set()
    if tok.eos_token_id is not None:
        ids.add(int(tok.eos_token_id))
    gen = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for v in ([gen] if isinstance(gen, int) else (gen or [])):
        ids.add(int(v))
    return sorted(ids)


def _left_pad(seqs: Sequence[Sequence[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    L = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), L), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), L), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, L - len(s):] = torch.tensor(list(s), dtype=torch.long)
        mask[i, L - len(s):] = 1
    return ids, mask


def _pick(logits: torch.Tensor, temperature: float, top_p: float, greedy: bool,
          generator: torch.Generator | None) -> torch.Tensor:
    if greedy:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, -1)
    if top_p < 1.0:
        sp, si = probs.sort(-1, descending=True)
        cum = sp.cumsum(-1)
        sp = torch.where(cum - sp > top_p, torch.zeros_like(sp), sp)  # keep the smallest nucleus
        probs = torch.zeros_like(probs).scatter(-1, si, sp)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def _cache_kwarg(model: Any) -> str:
    """``cache`` (transformers >= 5.2x) or ``past_key_values`` (older releases)."""
    return "cache" if "cache" in inspect.signature(type(model).forward).parameters else "past_key_values"


@torch.no_grad()
def sample_tokens(model: Any, prompts: Sequence[Sequence[int]], *, max_new_tokens: int, end_ids: Sequence[int],
                  pad_id: int, temperature: float = 1.0, top_p: float = 1.0, greedy: bool = False,
                  generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor,
                                                                     torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(prompt_ids, prompt_mask, response_ids, response_mask, ended)`` for a batch of token prompts."""
    from transformers import DynamicCache

    dev = next(model.parameters()).device
    ids, mask = _left_pad(prompts, pad_id)
    ids, mask = ids.to(dev), mask.to(dev)
    B = ids.shape[0]
    pos = (mask.cumsum(1) - 1).clamp_min(0)
    cache = DynamicCache(config=model.config)
    kw = {_cache_kwarg(model): cache}
    logits = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True, logits_to_keep=1,
                   **kw).logits[:, -1]
    nxt = pos[:, -1] + 1
    ends = torch.tensor(list(end_ids), device=dev, dtype=torch.long)
    done = torch.zeros(B, dtype=torch.bool, device=dev)
    toks, valid = [], []
    full_mask = mask
    for _ in range(max_new_tokens):
        t = _pick(logits, temperature, top_p, greedy, generator)
        t = torch.where(done, torch.full_like(t, pad_id), t)
        toks.append(t)
        valid.append(~done)
        done = done | torch.isin(t, ends)
        if bool(done.all()):
            break
        full_mask = torch.cat([full_mask, torch.ones_like(full_mask[:, :1])], 1)
        logits = model(input_ids=t[:, None], attention_mask=full_mask, position_ids=nxt[:, None],
                       use_cache=True, **kw).logits[:, -1]
        nxt = nxt + 1
    return ids, mask, torch.stack(toks, 1), torch.stack(valid, 1), done


def token_char_offsets(tok: Any, ids: Sequence[int], text: str) -> list[tuple[int, int]]:
    """Character span of each token of ``ids`` inside ``text`` (= their decoded string)."""
    ids = [int(i) for i in ids]
    if not ids:
        return []
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    if list(enc["input_ids"]) == ids:
        return [(int(s), int(e)) for s, e in enc["offset_mapping"]]
    out, prev = [], 0
    for i in range(len(ids)):
        p = tok.decode(ids[: i + 1], skip_special_tokens=True)
        end = len(p) if text.startswith(p) else prev
        end = min(max(prev, end), len(text))
        out.append((prev, end))
        prev = end
    if out and prev < len(text):  # whatever decoding cleaned up belongs to the last token
        out[-1] = (out[-1][0], len(text))
    return out


def rollout(model: Any, tok: Any, prompts: Sequence[str], *, group_size: int, max_new_tokens: int,
            temperature: float = 1.0, top_p: float = 1.0, greedy: bool = False,
            generator: torch.Generator | None = None, batch_size: int = 0) -> Rollout:
    """``group_size`` samples of every prompt (rows ``i*G .. i*G+G-1`` belong to prompt ``i``)."""
    end_ids = end_token_ids(model, tok)
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else end_ids[0]
    p_ids = [policy_prompt_ids(tok, p) for p in prompts]
    rows = [p_ids[i] for i in range(len(prompts)) for _ in range(group_size)]
    step = batch_size or len(rows)
    parts = [sample_tokens(model, rows[s:s + step], max_new_tokens=max_new_tokens, end_ids=end_ids, pad_id=pad_id,
                           temperature=temperature, top_p=top_p, greedy=greedy, generator=generator)
             for s in range(0, len(rows), step)]
    P = max(p[0].shape[1] for p in parts)
    T = max(p[2].shape[1] for p in parts)
    dev = parts[0][0].device

    def lpad(x, n, v):
        return torch.cat([torch.full((x.shape[0], n - x.shape[1]), v, dtype=x.dtype, device=dev), x], 1)

    def rpad(x, n, v):
        return torch.cat([x, torch.full((x.shape[0], n - x.shape[1]), v, dtype=x.dtype, device=dev)], 1)

    pid = torch.cat([lpad(p[0], P, pad_id) for p in parts])
    pm = torch.cat([lpad(p[1], P, 0) for p in parts])
    rid = torch.cat([rpad(p[2], T, pad_id) for p in parts])
    rm = torch.cat([rpad(p[3], T, False) for p in parts])
    ended = torch.cat([p[4] for p in parts]).tolist()
    ends = set(end_ids)
    texts, offsets = [], []
    for row, m in zip(rid.tolist(), rm.tolist()):
        valid = [t for t, v in zip(row, m) if v]
        body = valid[:-1] if valid and valid[-1] in ends else valid
        text = tok.decode(body, skip_special_tokens=True)
        offs = token_char_offsets(tok, body, text) + [(len(text), len(text))] * (len(valid) - len(body))
        texts.append(text)
        offsets.append(offs)
    groups = torch.arange(len(prompts)).repeat_interleave(group_size)
    return Rollout(pid, pm, rid, rm.bool(), texts, offsets, [bool(e) for e in ended], groups,
                   [i for i in range(len(prompts)) for _ in range(group_size)])


def token_logprobs(model: Any, ro: Rollout, temperature: float = 1.0, *, with_entropy: bool = False,
                   rows: slice | torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Log-probabilities ``[b, T]`` (float32) of the sampled tokens under ``model`` at ``temperature``,
    and optionally the entropy of each position's distribution. The LM head runs on response
    positions only. Differentiable (wrap in ``torch.no_grad()`` for old / reference log-probs)."""
    sel = slice(None) if rows is None else rows
    pid, pm = ro.prompt_ids[sel], ro.prompt_mask[sel]
    rid, rm = ro.response_ids[sel], ro.response_mask[sel].long()
    P, T = pid.shape[1], rid.shape[1]
    ids = torch.cat([pid, rid], 1)
    mask = torch.cat([pm, rm], 1)
    pos = (mask.cumsum(1) - 1).clamp_min(0)
    base = model.get_decoder() if hasattr(model, "get_decoder") else model.model
    h = base(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False).last_hidden_state
    logits = model.get_output_embeddings()(h[:, P - 1:P + T - 1]).float() / temperature
    logp_all = torch.log_softmax(logits, -1)
    logp = logp_all.gather(-1, rid[..., None]).squeeze(-1)
    ent = None
    if with_entropy:
        with torch.no_grad():
            ent = -(logp_all.exp() * logp_all).sum(-1)
    return logp, ent
