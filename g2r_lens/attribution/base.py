"""The attribution registry and the one call signature shared by every method.

A method is a function ``fn(ctx: MethodContext, **params) -> list[RowScores]`` registered with
:func:`register`. It receives a whole padded batch of (response, criterion) pairs and returns one
score per response token for every row. All methods explain the same scalar: the judge's
``log p(True)`` at the verdict position. Positive scores push the judge towards True.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from ..errors import UnknownMethodError
from ..judge import Batch, Judge


@dataclass
class RowScores:
    """Scores of one row's response tokens plus optional per-row diagnostics."""

    scores: torch.Tensor  # [T] float32, on CPU
    info: dict[str, float] = field(default_factory=dict)


class MethodContext:
    """What a method sees: the judge, the batch, and lazily computed shared quantities.

    Gradient-family methods (``grad_x_input``, ``grad_l1``, ``grad_l2``) share one backward pass per
    batch through :meth:`input_gradients`.
    """

    def __init__(self, judge: Judge, batch: Batch, seeds: list[int] | None = None) -> None:
        self.judge = judge
        self.batch = batch
        self.seeds = seeds or [0] * len(batch)
        self._grads: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self._logp: tuple[torch.Tensor, torch.Tensor] | None = None

    def logp_true(self) -> torch.Tensor:
        """``log p(True)`` of every row on the unperturbed input, float32 [B]."""
        if self._logp is None:
            with torch.no_grad():
                lt, lf, _ = self.judge.verdict_logprobs(self.batch)
            self._logp = (lt, lf)
        return self._logp[0]

    def logp_false(self) -> torch.Tensor:
        """``log p(False)`` of every row on the unperturbed input, float32 [B]."""
        self.logp_true()
        assert self._logp is not None
        return self._logp[1]

    def input_gradients(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(g, e, log p(True))``: gradient of each row's ``log p(True)`` w.r.t. its input embeddings.

        One forward and one backward for the whole batch: rows do not interact, so the gradient of
        the summed objective is each row's own gradient. Parameters need no gradient (frozen).
        """
        if self._grads is None:
            judge = self.judge
            with torch.enable_grad():
                e = judge.embed(self.batch.input_ids).detach().requires_grad_(True)
                lt, lf, _ = judge.verdict_logprobs(self.batch, inputs_embeds=e)
                (g,) = torch.autograd.grad(lt.sum(), e)
            self._grads = (g.detach(), e.detach(), lt.detach())
            if self._logp is None:
                self._logp = (lt.detach(), lf.detach())
        return self._grads

    def response_rows(self, full: torch.Tensor) -> list[torch.Tensor]:
        """Slice a ``[B, L, ...]`` tensor into each row's response positions."""
        return [full[i, s:e] for i, (s, e) in enumerate(self.batch.resp_slices)]


MethodFn = Callable[..., list[RowScores]]


@dataclass(frozen=True)
class MethodSpec:
    name: str
    fn: MethodFn
    family: str
    description: str
    defaults: dict[str, Any]

    def resolve_params(self, params: dict[str, Any] | None) -> dict[str, Any]:
        params = dict(params or {})
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise UnknownMethodError(
                f"method {self.name!r} has no parameter(s) {sorted(unknown)}; it takes {sorted(self.defaults)}"
            )
        return {**self.defaults, **params}


REGISTRY: dict[str, MethodSpec] = {}


def register(name: str, family: str, description: str) -> Callable[[MethodFn], MethodFn]:
    def deco(fn: MethodFn) -> MethodFn:
        sig = inspect.signature(fn)
        defaults = {
            k: p.default for k, p in sig.parameters.items()
            if k != "ctx" and p.default is not inspect.Parameter.empty
        }
        REGISTRY[name] = MethodSpec(name, fn, family, description, defaults)
        return fn

    return deco


def get_method(name: str) -> MethodSpec:
    if name not in REGISTRY:
        raise UnknownMethodError(f"unknown attribution method {name!r}; available: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def available_methods() -> list[str]:
    return sorted(REGISTRY)
