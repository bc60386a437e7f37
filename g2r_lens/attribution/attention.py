"""Attention baselines, read from the verdict position.

``attention_last``: last layer, mean over heads, the verdict position's attention to each response
token: the "attention-based credit" of ABC (Chan et al., 2024). ``attention_rollout``: Abnar &
Zuidema (2020); per layer ``Â = ½·mean_heads(A) + ½·I`` (rows renormalised), multiplied from the
last layer down, keeping only the verdict row. Both are unsigned. The judge switches to eager
attention only for these calls (and back).
"""

from __future__ import annotations

import torch

from ..errors import G2RError
from .base import MethodContext, RowScores, register


def _attentions(ctx: MethodContext) -> tuple[torch.Tensor, ...]:
    with torch.no_grad(), ctx.judge.eager_attention():
        _, _, att = ctx.judge.verdict_logprobs(ctx.batch, output_attentions=True)
    if not att or att[0] is None:
        raise G2RError(f"the judge model {type(ctx.judge.model).__name__} does not return attention weights")
    return att


@register("attention_last", "attention", "last-layer attention from the verdict position, mean over heads")
def attention_last(ctx: MethodContext) -> list[RowScores]:
    att = _attentions(ctx)[-1].float().mean(1)  # [B, L, L]
    rows = torch.arange(att.shape[0], device=att.device)
    from_verdict = att[rows, ctx.batch.verdict_pos]  # [B, L]
    return [RowScores(r.cpu()) for r in ctx.response_rows(from_verdict)]


@register("attention_rollout", "attention", "attention rollout (Abnar & Zuidema 2020) from the verdict position")
def attention_rollout(ctx: MethodContext, residual: float = 0.5) -> list[RowScores]:
    att = _attentions(ctx)
    B, L = ctx.batch.input_ids.shape
    rows = torch.arange(B, device=att[0].device)
    eye = torch.eye(L, device=att[0].device)
    r = torch.zeros(B, L, device=att[0].device)
    r[rows, ctx.batch.verdict_pos] = 1.0
    for a in reversed(att):
        a = (1 - residual) * a.float().mean(1) + residual * eye
        a = a / a.sum(-1, keepdim=True).clamp_min(1e-12)
        r = torch.bmm(r[:, None, :], a)[:, 0]
    return [RowScores(x.cpu()) for x in ctx.response_rows(r)]
