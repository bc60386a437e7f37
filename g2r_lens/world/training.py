"""Model training of the world build: model construction, losses, the training loop, sampling.

Judge training shares the (prompt, response) prefix of a judge prompt across that response's
criteria: the prefix runs once with a KV cache, which is then branched into one short continuation
per criterion (``Rule: ... Answer:`` then the verdict). Several verdicts per forward pass made a
prototype's judge train much faster; the token ids are exactly those :class:`~g2r_lens.Judge` builds
at inference (``Judge.encode``), which a test checks.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from tqdm.auto import tqdm

from .config import ModelShape
from .corpus import JudgeItem
from .formats import policy_end_id, policy_prompt_ids

__all__ = ["new_model", "n_params", "pad_batch", "sft_loss", "judge_logits", "judge_loss", "train",
           "sample_policy"]


def new_model(tok: Any, shape: ModelShape, seed: int, max_positions: int = 512) -> torch.nn.Module:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=len(tok), hidden_size=shape.hidden, intermediate_size=shape.hidden * shape.ffn_mult,
        num_hidden_layers=shape.layers, num_attention_heads=shape.heads,
        num_key_value_heads=shape.kv_heads or shape.heads, max_position_embeddings=max_positions,
        tie_word_embeddings=True, bos_token_id=None, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
        rope_theta=shape.rope_theta)
    return LlamaForCausalLM(cfg)


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def pad_batch(seqs: Sequence[Sequence[int]], pad: int, side: str) -> tuple[torch.Tensor, torch.Tensor]:
    L = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), L), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), L), dtype=torch.long)
    for i, s in enumerate(seqs):
        if side == "left":
            ids[i, L - len(s):] = torch.tensor(s)
            mask[i, L - len(s):] = 1
        else:
            ids[i, : len(s)] = torch.tensor(s)
            mask[i, : len(s)] = 1
    return ids, mask


def sft_loss(model: torch.nn.Module, batch: Sequence[tuple[list[int], list[int]]], pad: int) -> torch.Tensor:
    ids, mask = pad_batch([b[0] for b in batch], pad, "right")
    labels, _ = pad_batch([b[1] for b in batch], -100, "right")
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels[:, 1:].reshape(-1),
                                             ignore_index=-100)


def judge_logits(model: torch.nn.Module, items: Sequence[JudgeItem], pad: int,
                 return_prefix: bool = False):
    """Verdict-position logits ``[Σ criteria, V]``: each prefix once, branched per criterion.

    With ``return_prefix``, also ``(prefix hidden states, prefix ids, prefix mask, continuation
    hidden states, continuation ids, continuation mask)`` for an auxiliary language-modelling loss.
    """
    from transformers import DynamicCache

    pre, pmask = pad_batch([it.prefix for it in items], pad, "left")
    ppos = (pmask.cumsum(1) - 1).clamp_min(0)
    cache = DynamicCache(config=model.config)
    hp = model.model(input_ids=pre, attention_mask=pmask, position_ids=ppos, cache=cache,
                     use_cache=True).last_hidden_state
    rows = torch.tensor([i for i, it in enumerate(items) for _ in it.conts])
    cache.reorder_cache(rows)
    conts = [c for it in items for c in it.conts]
    cids, cmask = pad_batch(conts, pad, "right")
    plen = pmask.sum(1)[rows]
    cpos = plen[:, None] + torch.arange(cids.shape[1])[None]
    full_mask = torch.cat([pmask[rows], cmask], dim=1)
    h = model.model(input_ids=cids, attention_mask=full_mask, position_ids=cpos, cache=cache,
                    use_cache=True).last_hidden_state
    last = cmask.sum(1) - 1
    logits = model.lm_head(h[torch.arange(len(conts)), last]).float()
    return (logits, (hp, pre, pmask, h, cids, cmask)) if return_prefix else logits


def judge_loss(model, items, pad, true_id, false_id, lm_weight: float = 0.0,
               balance: bool = True) -> tuple[torch.Tensor, float]:
    """Verdict cross-entropy (+ ``lm_weight`` x next-token loss on the judge prompts).

    Each verdict is weighted by its item's ``weights`` (see :func:`~.corpus.mark_contrasts`).
    With ``balance``, True and False verdicts of the batch weigh equally (class-weighted loss: a
    judge cannot win by leaning to the majority verdict of a criterion kind). The auxiliary
    language-modelling loss gives the judge dense supervision (every prompt token, on the shared
    prefix and on each continuation up to the verdict) instead of one bit per verdict; without it
    the external judge sat near chance for hundreds of steps.
    """
    logits, (hp, pre, pmask, hc, cids, cmask) = judge_logits(model, items, pad, return_prefix=True)
    target = torch.tensor([true_id if y else false_id for it in items for y in it.labels])
    per = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    is_true = (target == true_id).float()
    item_w = torch.tensor([w for it in items for w in (it.weights or [1.0] * len(it.labels))])
    if balance and 0 < is_true.sum() < len(is_true):
        w = is_true / is_true.sum() + (1 - is_true) / (1 - is_true).sum()
    else:
        w = torch.ones_like(per)
    w = w * item_w
    loss = (per * w).sum() / w.sum().clamp_min(1e-12)
    if lm_weight:
        lm = model.lm_head(hp[:, :-1]).float()
        labels = pre[:, 1:].masked_fill(pmask[:, 1:] == 0, -100)
        lm_c = model.lm_head(hc[:, :-1]).float()
        # continuation tokens up to (not including) the verdict position's target
        cl = cids[:, 1:].masked_fill(cmask[:, 1:] == 0, -100)
        lm_all = torch.cat([lm.reshape(-1, lm.shape[-1]), lm_c.reshape(-1, lm_c.shape[-1])])
        lab_all = torch.cat([labels.reshape(-1), cl.reshape(-1)])
        loss = loss + lm_weight * torch.nn.functional.cross_entropy(lm_all, lab_all, ignore_index=-100)
    acc = float((logits[:, true_id] > logits[:, false_id]).eq(target == true_id).float().mean())
    return loss, acc


def _schedule(step: int, total: int, lr: float, warmup: int = 50) -> float:
    if step < warmup:
        return lr * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))


def train(model, steps: int, lr: float, make_loss, desc: str, log: list | None = None,
          checkpoint: Any = None, every: int = 200) -> None:
    """AdamW, warmup then cosine. With ``checkpoint`` (a file path), the model, optimiser, step and
    log are saved every ``every`` steps and a killed run resumes there (the data stream after a
    resume differs from an uninterrupted run's)."""
    from pathlib import Path

    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, betas=(0.9, 0.98))
    start = 0
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt is not None and ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        start = state["step"]
        if log is not None:
            log[:] = state["log"]
    model.train()
    bar = tqdm(range(start, steps), desc=desc, unit="step", initial=start, total=steps, mininterval=10)
    ema = None
    for step in bar:
        for g in opt.param_groups:
            g["lr"] = _schedule(step, steps, lr)
        loss, stats = make_loss(step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        lv = loss.item()
        ema = lv if ema is None else 0.98 * ema + 0.02 * lv
        bar.set_postfix(loss=f"{ema:.3f}", **{k: f"{v:.3f}" for k, v in stats.items()}, refresh=False)
        if log is not None and step % 50 == 0:
            log.append({"stage": desc, "step": step, "loss": lv, **stats})
        if ckpt is not None and (step + 1) % every == 0 and step + 1 < steps:
            tmp = ckpt.with_suffix(".tmp")
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step + 1,
                        "log": list(log or [])}, tmp)
            tmp.replace(ckpt)
    if ckpt is not None and ckpt.exists():
        ckpt.unlink()
    model.eval()


@torch.no_grad()
def sample_policy(model, tok, prompts: Sequence[str], *, max_new_tokens: int = 96, temperature: float = 1.0,
                  top_p: float = 1.0, seed: int = 0, batch: int = 32, greedy: bool = False) -> list[str]:
    """Sample one response per prompt (left-padded batched generation); ``greedy``: argmax decoding."""
    torch.manual_seed(seed)
    out = []
    end = policy_end_id(tok)
    for s in range(0, len(prompts), batch):
        ids, mask = pad_batch([policy_prompt_ids(tok, p) for p in prompts[s:s + batch]], tok.pad_token_id, "left")
        kw = {"do_sample": False} if greedy else {"do_sample": True, "temperature": temperature, "top_p": top_p}
        gen = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens, eos_token_id=end,
                             pad_token_id=tok.pad_token_id, **kw)
        for row in gen[:, ids.shape[1]:].tolist():
            if end in row:
                row = row[: row.index(end)]
            out.append(tok.decode([t for t in row if t != tok.pad_token_id], skip_special_tokens=True))
    return out
