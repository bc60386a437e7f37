"""Gradient methods: one backward pass per batch, shared by all three.

``grad_x_input`` is the Grad2Reward operator (Eq. 3): ``b_t = g_t · e_t`` with ``g_t`` the gradient
of ``log p(True)`` w.r.t. the judge's input embedding ``e_t`` of response token t (signed).
``grad_l1`` / ``grad_l2`` are the paper's magnitude-only ablations (‖g_t‖₁, ‖g_t‖₂).
Products and norms are taken in float32 whatever the model dtype.
"""

from __future__ import annotations

from .base import MethodContext, RowScores, register


@register("grad_x_input", "input_gradients", "gradient x input embedding, signed (Grad2Reward Eq. 3)")
def grad_x_input(ctx: MethodContext) -> list[RowScores]:
    g, e, _ = ctx.input_gradients()
    prod = (g.float() * e.float()).sum(-1)
    return [RowScores(r.cpu()) for r in ctx.tail_rows(prod)]


@register("grad_l1", "input_gradients", "L1 norm of the input-embedding gradient (unsigned)")
def grad_l1(ctx: MethodContext) -> list[RowScores]:
    g, _, _ = ctx.input_gradients()
    return [RowScores(r.cpu()) for r in ctx.tail_rows(g.float().abs().sum(-1))]


@register("grad_l2", "input_gradients", "L2 norm of the input-embedding gradient (unsigned)")
def grad_l2(ctx: MethodContext) -> list[RowScores]:
    g, _, _ = ctx.input_gradients()
    return [RowScores(r.cpu()) for r in ctx.tail_rows(g.float().norm(dim=-1))]
