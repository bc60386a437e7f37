"""The attribution registry and the one call signature shared by every method.

A method is a function ``fn(ctx: MethodContext, **params) -> list[RowScores]`` registered with
:func:`register`, which declares what the method needs from the engine (``needs=``). It receives a whole padded batch of (response, criterion) pairs and returns one
score per response token for every row. All methods explain the same scalar: the judge's
``log p(True)`` at the verdict position. Positive scores push the judge towards True.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from ..errors import DuplicateNameError, G2RError, UnknownMethodError
from ..registry import Registry
from ..judge import Batch, Judge


@dataclass
class RowScores:
    """Scores of one row's response tokens plus optional per-row diagnostics."""

    scores: torch.Tensor  # [T] float32, on CPU
    info: dict[str, float] = field(default_factory=dict)


class MethodContext:
    """What a method sees: the judge, the batch, and lazily computed shared quantities.

    Everything runs on the cached layout (:mod:`g2r_lens.prefix`): the prefix's keys/values are
    computed once per batch (:meth:`prefix_kv`) and reused by every pass. Methods that declare
    ``needs="input_gradients"`` share one forward + backward per batch through :meth:`input_gradients`.
    """

    def __init__(self, judge: Judge, batch: Batch, seeds: list[int] | None = None) -> None:
        self.judge = judge
        self.batch = batch
        self.seeds = seeds or [0] * len(batch)
        self._kv: Any = None
        self._kv_done = False
        self._grads: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self._logp: tuple[torch.Tensor, torch.Tensor] | None = None

    def prefix_kv(self) -> Any:
        """The prefix keys/values of this batch (computed on first use, then shared)."""
        if not self._kv_done:
            self._kv, self._kv_done = self.judge.prefix_kv(self.batch), True
        return self._kv

    def logp_true(self) -> torch.Tensor:
        """``log p(True)`` of every row on the unperturbed input, float32 [B]."""
        if self._logp is None:
            with torch.no_grad():
                self._logp = self.judge.tail_logprobs(self.batch, kv=self.prefix_kv())
        return self._logp[0]

    def logp_false(self) -> torch.Tensor:
        """``log p(False)`` of every row on the unperturbed input, float32 [B]."""
        self.logp_true()
        assert self._logp is not None
        return self._logp[1]

    def input_gradients(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(g, e, log p(True))``: gradient of each row's ``log p(True)`` w.r.t. its tail embeddings.

        ``g`` and ``e`` are ``[B, T, d]`` in tail coordinates (slice them with :meth:`tail_rows`).
        One forward and one backward over the tails for the whole batch: rows do not interact, so
        the gradient of the summed objective is each row's own gradient. Parameters need no
        gradient (frozen), and the prefix is a constant cache.
        """
        if self._grads is None:
            judge = self.judge
            kv = self.prefix_kv()
            with torch.enable_grad():
                e = judge.embed(self.batch.split.ids).detach().requires_grad_(True)
                lt, lf = judge.tail_logprobs(self.batch, e, kv=kv)
                (g,) = torch.autograd.grad(lt.sum(), e)
            self._grads = (g.detach(), e.detach(), lt.detach())
            if self._logp is None:
                self._logp = (lt.detach(), lf.detach())
        return self._grads

    def tail_rows(self, tail: torch.Tensor) -> list[torch.Tensor]:
        """Slice a ``[B, T, ...]`` tail-layout tensor into each row's response positions."""
        return [tail[i, s:e] for i, (s, e) in enumerate(self.batch.split.resp_slices)]

    def response_rows(self, full: torch.Tensor) -> list[torch.Tensor]:
        """Slice a ``[B, L, ...]`` full-sequence tensor into each row's response positions."""
        return [full[i, s:e] for i, (s, e) in enumerate(self.batch.resp_slices)]


MethodFn = Callable[..., list[RowScores]]


# What a method needs from the engine. The engine dispatches on this, never on method names.
NEEDS = {
    "input_gradients": "the batch's shared forward + backward (MethodContext.input_gradients)",
    "gradients": "its own gradient passes (e.g. integrated gradients)",
    "forward": "its own no-grad forward passes (e.g. leave-one-out)",
    "attention": "attention weights of a full-sequence forward",
    "nothing": "no model pass (controls)",
}
_FAMILY = {"input_gradients": "gradient", "gradients": "integrated", "forward": "perturbation",
           "attention": "attention", "nothing": "control"}


@dataclass(frozen=True)
class MethodSpec:
    name: str
    fn: MethodFn
    needs: str  # one of NEEDS
    description: str
    defaults: dict[str, Any]
    cheap: bool  # True: run on every row of a batch (its pass is paid for); False: only the rows needing it

    @property
    def family(self) -> str:
        """Legacy label (gradient / integrated / perturbation / attention / control) for listings."""
        return _FAMILY[self.needs]

    def resolve_params(self, params: dict[str, Any] | None) -> dict[str, Any]:
        params = dict(params or {})
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise UnknownMethodError(
                f"method {self.name!r} has no parameter(s) {sorted(unknown)}; it takes {sorted(self.defaults)}"
            )
        return {**self.defaults, **params}


#: every attribution method, with the capabilities it declared (``needs``, ``cheap``)
REGISTRY: Registry[MethodSpec] = Registry("attribution method", UnknownMethodError)


def register(name: str, needs: str, description: str = "", *, cheap: bool | None = None
             ) -> Callable[[MethodFn], MethodFn]:
    """Register ``fn(ctx, **params) -> list[RowScores]`` under ``name``.

    ``needs`` declares what the method needs from the engine (a key of :data:`NEEDS`); ``cheap``
    (default: True for ``input_gradients`` and ``nothing``) runs it on whole batches. Parameters
    are the keyword arguments with defaults. A name can be registered once (:class:`DuplicateNameError`).
    """
    if needs not in NEEDS:
        raise G2RError(f"method {name!r}: needs={needs!r} is not one of {sorted(NEEDS)}")
    if name in REGISTRY:
        raise DuplicateNameError(f"attribution method {name!r} is already registered")
    cheap = needs in ("input_gradients", "nothing") if cheap is None else bool(cheap)

    def deco(fn: MethodFn) -> MethodFn:
        sig = inspect.signature(fn)
        defaults = {
            k: p.default for k, p in sig.parameters.items()
            if k != "ctx" and p.default is not inspect.Parameter.empty
        }
        REGISTRY.add(name, MethodSpec(name, fn, needs, description, defaults, cheap), needs=needs, cheap=cheap)
        return fn

    return deco


def get_method(name: str) -> MethodSpec:
    if name not in REGISTRY:
        raise UnknownMethodError(f"unknown attribution method {name!r}; available: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def available_methods() -> list[str]:
    return sorted(REGISTRY)
