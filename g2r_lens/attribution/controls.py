"""Controls: ``uniform`` (all scores equal, so the dense reward is spread evenly) and ``random``
(i.i.d. standard normal scores, seeded per pair so that they do not depend on batch composition)."""

from __future__ import annotations

import torch

from .base import MethodContext, RowScores, register


@register("uniform", "nothing", "control: equal credit to every response token")
def uniform(ctx: MethodContext) -> list[RowScores]:
    return [RowScores(torch.zeros(e - s)) for s, e in ctx.batch.resp_slices]


@register("random", "nothing", "control: seeded standard-normal scores")
def random(ctx: MethodContext, seed: int = 0) -> list[RowScores]:
    out = []
    for (s, e), row_seed in zip(ctx.batch.resp_slices, ctx.seeds):
        gen = torch.Generator().manual_seed((int(seed) * 1_000_003 + int(row_seed)) % (2**63))
        out.append(RowScores(torch.randn(e - s, generator=gen)))
    return out
