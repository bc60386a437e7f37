"""Policy losses: pure functions in one registry (verl ``core_algos`` style).

A policy loss maps the log-probabilities of the sampled tokens under the current policy and under
the policy that sampled them, the advantages and the mask to a scalar loss to minimise and a dict
of float statistics::

    @register_policy_loss("my_loss")
    def my_loss(logp, old_logp, advantages, mask, clip_eps, *, n_tokens=None) -> (loss, stats)

Shapes: ``bs`` sequences, ``T`` response positions. All tensors ``[bs, T]``; ``mask`` is 1 on the
valid response tokens and 0 elsewhere (padding, prompt). The loss is a *token mean*: the sum over
valid tokens divided by ``n_tokens`` (default ``mask.sum()``), so minibatches of one batch can
pass the whole batch's token count and their gradients add up to the full-batch gradient.
"""

from __future__ import annotations

from typing import Callable

import torch

from ..registry import Registry

__all__ = ["POLICY_LOSSES", "get_policy_loss", "ppo_clip_loss", "register_policy_loss"]

PolicyLossFn = Callable[..., tuple[torch.Tensor, dict[str, float]]]

#: the policy losses, by name
POLICY_LOSSES: Registry[PolicyLossFn] = Registry("policy loss")


def register_policy_loss(name: str, **capabilities) -> Callable[[PolicyLossFn], PolicyLossFn]:
    """Decorator: register a policy loss under ``name`` (duplicates are refused)."""
    return POLICY_LOSSES.register(name, **capabilities)


def get_policy_loss(name: str) -> PolicyLossFn:
    return POLICY_LOSSES.get(name)


@register_policy_loss("ppo_clip")
def ppo_clip_loss(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor,
                  clip_eps: float = 0.2, *, n_tokens: torch.Tensor | float | None = None
                  ) -> tuple[torch.Tensor, dict[str, float]]:
    """PPO-clip policy-gradient loss (Schulman et al. 2017), token-mean aggregated.

    Args:
        logp: ``[bs, T]`` log-probabilities of the sampled tokens under the current policy (with grad).
        old_logp: ``[bs, T]`` the same under the policy that sampled them (no grad; equal to
            ``logp.detach()`` on policy, where the ratio is 1).
        advantages: ``[bs, T]`` per-token advantages.
        mask: ``[bs, T]`` 1 on valid response tokens, 0 elsewhere.
        clip_eps: the clipping range ``ε``: the ratio is clipped to ``[1 − ε, 1 + ε]``.
        n_tokens: the token count of the mean (default ``mask.sum()``; pass the whole batch's count
            when ``logp`` is one minibatch of it).

    Returns:
        ``(loss, stats)``: ``loss = Σ_t mask_t · max(−r_t A_t, −clip(r_t, 1−ε, 1+ε) A_t) / n_tokens``
        with ``r_t = exp(logp_t − old_logp_t)``, a scalar to minimise; ``stats`` holds ``pg_loss``
        (its value) and ``clip_frac`` (share of valid tokens with ``|r_t − 1| > ε``, over ``n_tokens``).
    """
    if not (logp.shape == old_logp.shape == advantages.shape == mask.shape):
        raise ValueError(f"ppo_clip_loss: logp {tuple(logp.shape)}, old_logp {tuple(old_logp.shape)}, "
                         f"advantages {tuple(advantages.shape)} and mask {tuple(mask.shape)} must share one shape")
    m = mask.to(logp.dtype)
    n = m.sum().clamp_min(1) if n_tokens is None else n_tokens
    ratio = torch.exp(logp - old_logp)
    pg = -torch.minimum(ratio * advantages, ratio.clamp(1 - clip_eps, 1 + clip_eps) * advantages)
    loss = (pg * m).sum() / n
    with torch.no_grad():
        clip_frac = float((((ratio - 1).abs() > clip_eps).to(m.dtype) * m).sum() / n)
    return loss, {"pg_loss": float(loss.detach()), "clip_frac": clip_frac}
