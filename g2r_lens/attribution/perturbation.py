"""Leave-one-out occlusion: the exact counterfactual reference.

Score of response token t = ``log p(True | x) − log p(True | x with token t replaced)``. The
replacement is a real token (the judge's neutral token by default: a space when that is one token),
never a ``[MASK]`` a causal LM never saw. Costs one forward per response token, batched.
"""

from __future__ import annotations

import torch

from ..errors import G2RError
from .base import MethodContext, RowScores, register


@register("leave_one_out", "forward", "re-score with each response token replaced by a neutral token")
def leave_one_out(ctx: MethodContext, replacement: int | str = "neutral", internal_batch_size: int = 64) -> list[RowScores]:
    judge, batch = ctx.judge, ctx.batch
    if replacement == "neutral":
        rep = judge.neutral_id
    elif replacement == "pad":
        rep = judge.pad_id
    elif isinstance(replacement, int) and not isinstance(replacement, bool):
        rep = replacement
    else:
        raise G2RError(f"unknown leave_one_out replacement {replacement!r}; use 'neutral', 'pad' or a token id")
    base = ctx.logp_true()
    sp, kv = batch.split, ctx.prefix_kv()
    jobs = [(i, p) for i, (s, e) in enumerate(sp.resp_slices) for p in range(s, e)]
    drops = torch.zeros(len(jobs))
    with torch.no_grad():
        for k in range(0, len(jobs), internal_batch_size):
            chunk = jobs[k:k + internal_batch_size]
            rows = torch.tensor([i for i, _ in chunk], device=sp.ids.device)
            ids = sp.ids[rows].clone()
            ids[torch.arange(len(chunk)), torch.tensor([p for _, p in chunk])] = rep
            lt = judge.tail_logprobs(batch, judge.embed(ids), rows=rows, kv=kv)[0]
            drops[k:k + len(chunk)] = (base[rows] - lt).float().cpu()
    out, k = [], 0
    for s, e in sp.resp_slices:
        out.append(RowScores(drops[k:k + (e - s)].clone()))
        k += e - s
    return out
