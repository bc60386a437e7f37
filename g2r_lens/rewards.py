"""Attribution scores -> dense token rewards that add up exactly to the sparse rubric reward.

For each criterion k judged True, ``α_k = softmax(b_k / τ_k)`` over the response tokens, and

    r_t = Σ_{k: z_k} w_k · α_{k,t} / Σ_k max(w_k, 0)          (Grad2Reward Alg. 1)

so ``Σ_t r_t = Σ_k w_k·1[z_k] / Σ_k max(w_k, 0)``, the sparse reward, for every method.

Temperature. Raw gradient x input scores of small judges are tiny (about 1e-4 was measured), so
with any absolute τ near 1 the softmax is exactly uniform and the paper-literal dense reward
silently becomes the uniform control. The default is therefore *relative*: ``τ_k = tau · std_t(b_k)``
(the softmax then acts on z-scores, whatever the method's scale). ``tau_mode="absolute"`` gives the
paper-literal ``τ_k = tau``. Every result reports the normalised entropy ``H(α_k) / log T``
(1 = uniform), so a collapse to uniform can never go unnoticed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch

from .errors import G2RError, NonFiniteScoresError
from .examples import rubric_normaliser

TAU_MODES = ("relative", "absolute")


@dataclass
class DenseRewards:
    rewards: torch.Tensor  # [T] float64, sums to the sparse reward
    alphas: torch.Tensor  # [K, T]; zero rows for criteria that were not attributed
    taus: list[float]  # effective temperature per criterion (nan when not attributed)
    entropy: list[float]  # normalised entropy of α_k per criterion (nan when not attributed)
    sparse: float


def softmax_alpha(b: torch.Tensor, tau: float = 1.0, tau_mode: str = "relative") -> tuple[torch.Tensor, float, float]:
    """``(α, τ_eff, normalised entropy)`` for one criterion's scores ``b`` [T]."""
    if tau_mode not in TAU_MODES:
        raise G2RError(f"tau_mode must be one of {TAU_MODES}, got {tau_mode!r}")
    if not (isinstance(tau, (int, float)) and math.isfinite(tau) and tau > 0):
        raise G2RError(f"tau must be a positive finite number, got {tau!r}")
    b = b.double()
    T = b.numel()
    if T == 0:
        raise G2RError("cannot spread a reward over zero tokens")
    if tau_mode == "absolute":
        t_eff = float(tau)
    else:
        scale = float(b.std(unbiased=False)) if T > 1 else 0.0
        t_eff = float(tau) * scale if scale > 0 else math.inf
    alpha = torch.full_like(b, 1.0 / T) if math.isinf(t_eff) else torch.softmax(b / t_eff, dim=0)
    ent = float(-(alpha * torch.log(alpha.clamp_min(1e-300))).sum())
    return alpha, t_eff, (ent / math.log(T) if T > 1 else 1.0)


def dense_rewards(
    scores: Sequence[torch.Tensor | None],
    weights: Sequence[float],
    verdicts: Sequence[bool],
    *,
    tau: float = 1.0,
    tau_mode: str = "relative",
    n_tokens: int | None = None,
    method: str = "?",
) -> DenseRewards:
    """Dense rewards of one response from per-criterion scores (``None`` = not attributed).

    Criteria judged False never contribute to the rewards (their α is still returned when they were
    attributed, for inspection), so conservation holds whether or not they were attributed.
    """
    K = len(weights)
    if not (len(scores) == len(verdicts) == K):
        raise G2RError("scores, weights and verdicts must have one entry per criterion")
    denom = rubric_normaliser(weights)
    T = n_tokens if n_tokens is not None else next(int(s.numel()) for s in scores if s is not None)
    alphas = torch.zeros(K, T, dtype=torch.float64)
    rewards = torch.zeros(T, dtype=torch.float64)
    taus, ents = [math.nan] * K, [math.nan] * K
    for k, (s, w, z) in enumerate(zip(scores, weights, verdicts)):
        if s is None:
            if z:
                raise G2RError(f"criterion {k} was judged True but has no attribution scores")
            continue
        if s.numel() != T:
            raise G2RError(f"criterion {k}: {s.numel()} scores for {T} response tokens")
        if not torch.isfinite(s).all():
            raise NonFiniteScoresError(
                f"method {method!r} produced non-finite scores for criterion {k} "
                f"({int((~torch.isfinite(s)).sum())} of {T} tokens); try float32 or fewer IG steps"
            )
        a, t_eff, h = softmax_alpha(s, tau, tau_mode)
        taus[k], ents[k], alphas[k] = t_eff, h, a
        if z:
            rewards += float(w) * a / denom
    sparse = sum(float(w) for w, z in zip(weights, verdicts) if z) / denom
    return DenseRewards(rewards, alphas, taus, ents, sparse)
