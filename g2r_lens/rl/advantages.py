"""Advantage estimators: pure functions behind one registry and one signature.

Every estimator maps

    token_rewards    [B, T]  float   dense reward of each response token (0 on padding)
    sequence_rewards [B]     float   the sequence (rubric) reward R_i
    mask             [B, T]  bool    True on the response tokens that are actions (incl. the end token)
    group_ids        [B]     int     responses with the same id were sampled from the same prompt

to ``advantages [B, T]`` (float64, exactly 0 wherever ``mask`` is False). Padded positions never
enter a statistic. Estimators take keyword parameters after the four tensors (``additive`` and
``dense_centered`` have ``lam``); :func:`compute_advantages` looks one up by name.

One normalisation convention for all of them (so that sparse and dense arms are compared fairly):

* ``μ`` and ``σ`` are the mean and the **population** standard deviation (``unbiased=False``) over
  the estimator's *pool* (a group's sequences, or a group's valid tokens);
* ``z = (x − μ) / (σ + EPS)`` with ``EPS = 1e-6``;
* a pool with ``σ < EPS`` (every value equal up to rounding: an all-pass or all-fail group) gets
  ``z = 0`` exactly. :func:`zero_std_fraction` reports how many groups that was.

Reward-to-go is undiscounted (γ = 1): ``G_{i,t} = Σ_{s ≥ t} r_{i,s}`` over the valid tokens.

Why several estimators (``../shared/reference/anchors-rl.md`` §0.2 and §6.1): a dense reward that
conserves the sequence reward (Σ_t r_t = R, which every g2r_lens dense reward does) changes nothing
when fed into a sequence-level advantage. ``sparse`` is that sequence-level baseline and ignores
``token_rewards`` on purpose (the "no-op trap" is a test). The dense signal only reaches the policy
through a per-token advantage: ``grad2reward`` (the paper, faithful), ``per_position``,
``additive`` and ``dense_centered`` (the one without reward-to-go: no length or position bias).
"""

from __future__ import annotations

import functools
import inspect
from typing import Callable, Protocol

import torch

from ..errors import G2RError
from ..registry import Registry

#: the one epsilon of every z-score, and the σ below which a pool counts as constant
EPS = 1e-6


class AdvantageFn(Protocol):
    def __call__(self, token_rewards: torch.Tensor, sequence_rewards: torch.Tensor, mask: torch.Tensor,
                 group_ids: torch.Tensor, **params: float) -> torch.Tensor: ...


#: the estimators, by name (a :class:`~g2r_lens.registry.Registry`; read it like a dict)
ADVANTAGES: Registry[Callable[..., torch.Tensor]] = Registry("advantage estimator")


def register_advantage(name: str) -> Callable[[Callable[..., torch.Tensor]], Callable[..., torch.Tensor]]:
    """Decorator: register an estimator under ``name`` (the name ``g2r train --estimator`` takes)."""

    def deco(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        @functools.wraps(fn)
        def checked(token_rewards, sequence_rewards, mask, group_ids, **params):
            return fn(*_check(token_rewards, sequence_rewards, mask, group_ids), **params)

        return ADVANTAGES.add(name, checked)

    return deco


def available_estimators() -> list[str]:
    return ADVANTAGES.names()


def get_estimator(name: str) -> Callable[..., torch.Tensor]:
    return ADVANTAGES.get(name)


def compute_advantages(name: str, token_rewards: torch.Tensor, sequence_rewards: torch.Tensor,
                       mask: torch.Tensor, group_ids: torch.Tensor, **params: float) -> torch.Tensor:
    """Validate the inputs and run the estimator ``name``."""
    fn = get_estimator(name)
    accepted = set(inspect.signature(fn).parameters) - {"token_rewards", "sequence_rewards", "mask", "group_ids"}
    bad = sorted(set(params) - accepted)
    if bad:
        raise G2RError(f"estimator {name!r} takes no parameter {bad}; it accepts {sorted(accepted) or 'none'}")
    return fn(token_rewards, sequence_rewards, mask, group_ids, **params)


# ------------------------------------------------------------------------------------------ helpers

def _check(token_rewards, sequence_rewards, mask, group_ids):
    r = torch.as_tensor(token_rewards)
    R = torch.as_tensor(sequence_rewards)
    m = torch.as_tensor(mask)
    g = torch.as_tensor(group_ids)
    if r.dim() != 2:
        raise G2RError(f"token_rewards must be [B, T], got shape {tuple(r.shape)}")
    B, T = r.shape
    if tuple(m.shape) != (B, T):
        raise G2RError(f"mask must be [B, T] = {(B, T)}, got {tuple(m.shape)}")
    if tuple(R.shape) != (B,) or tuple(g.shape) != (B,):
        raise G2RError(f"sequence_rewards and group_ids must be [B] = [{B}], got {tuple(R.shape)} and {tuple(g.shape)}")
    r, R = r.double(), R.double()
    m = m.bool()
    if not (torch.isfinite(r[m]).all() and torch.isfinite(R).all()):
        raise G2RError("rewards must be finite")
    return r * m, R, m, g


def _zscore(x: torch.Tensor) -> torch.Tensor:
    """``(x − μ) / (σ + EPS)`` over all of ``x`` (population σ); zeros when ``σ < EPS``."""
    if x.numel() == 0:
        return x
    mu = x.mean()
    sd = x.std(unbiased=False) if x.numel() > 1 else x.new_zeros(())
    if sd < EPS:
        return torch.zeros_like(x)
    return (x - mu) / (sd + EPS)


def reward_to_go(token_rewards: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Undiscounted reward-to-go ``G_{i,t} = Σ_{s ≥ t} r_{i,s}·mask_{i,s}``; 0 on padding. [B, T]."""
    r = token_rewards.double() * mask
    return torch.flip(torch.cumsum(torch.flip(r, [1]), 1), [1]) * mask


def _groups(group_ids: torch.Tensor) -> list[torch.Tensor]:
    return [torch.nonzero(group_ids == u, as_tuple=True)[0] for u in torch.unique(group_ids)]


def zero_std_fraction(sequence_rewards: torch.Tensor, group_ids: torch.Tensor) -> float:
    """Fraction of groups whose sequence rewards are all equal (σ < EPS): no sparse signal there."""
    R = torch.as_tensor(sequence_rewards).double()
    gs = _groups(torch.as_tensor(group_ids))
    return sum(float(R[i].std(unbiased=False)) < EPS if len(i) > 1 else 1 for i in gs) / max(1, len(gs))


# ------------------------------------------------------------------------------------------ estimators

@register_advantage("sparse")
def sparse(token_rewards: torch.Tensor, sequence_rewards: torch.Tensor, mask: torch.Tensor,
           group_ids: torch.Tensor) -> torch.Tensor:
    """Sequence-level GRPO: ``Â_{i,t} = (R_i − μ_g) / (σ_g + ε)``, broadcast to every valid token.

    Shapes: ``[B,T], [B], [B,T], [B] -> [B,T]``. ``token_rewards`` is ignored by design: fed a
    sum-conserving dense reward, a sequence-level advantage is unchanged (the no-op trap).
    Source: Shao et al. 2024 (DeepSeekMath, GRPO outcome supervision); TRL, verl ``grpo``.
    """
    adv = torch.zeros_like(token_rewards, dtype=torch.float64)
    for idx in _groups(group_ids):
        z = _zscore(sequence_rewards[idx].double())
        adv[idx] = z[:, None].expand(-1, adv.shape[1]).clone()
    return adv * mask


@register_advantage("grad2reward")
def grad2reward(token_rewards: torch.Tensor, sequence_rewards: torch.Tensor, mask: torch.Tensor,
                group_ids: torch.Tensor) -> torch.Tensor:
    """Token-level GRPO of Grad2Reward (Zhang et al. 2026, Sec. 4.5, Eq. 9), as written.

    ``G_{i,t} = Σ_{s≥t} r_{i,s}``; ``Â_{i,t} = (G_{i,t} − μ) / (σ + ε)`` with μ, σ pooled over **all
    valid tokens of all responses of the group**. Shapes: ``[B,T], [B], [B,T], [B] -> [B,T]``.

    Known property (reproduced, not fixed): with non-negative token rewards, G decreases along a
    response, so late tokens get systematically negative advantages, and the end token (G = 0) the
    lowest of all; the trainer logs the advantage-position correlation for that reason.
    """
    G = reward_to_go(token_rewards, mask)
    adv = torch.zeros_like(G)
    for idx in _groups(group_ids):
        sub, m = G[idx], mask[idx]
        vals = _zscore(sub[m])
        out = torch.zeros_like(sub)
        out[m] = vals
        adv[idx] = out
    return adv


@register_advantage("per_position")
def per_position(token_rewards: torch.Tensor, sequence_rewards: torch.Tensor, mask: torch.Tensor,
                 group_ids: torch.Tensor) -> torch.Tensor:
    """Reward-to-go minus a per-position group baseline, on the sparse advantage's scale.

    ``Â_{i,t} = (G_{i,t} − b_{g,t}) / (σ_g(R) + ε)`` with ``b_{g,t} = mean_{j ∈ g, t valid in j} G_{j,t}``
    (the responses of the group still running at position t) and σ_g(R) the population std of the
    group's sequence rewards (zero advantage when ``σ_g(R) < ε``, as for ``sparse``).
    Shapes: ``[B,T], [B], [B,T], [B] -> [B,T]``.

    At t = 0, ``G_{i,0} = R_i`` and ``b = μ_g``, so the first token gets exactly the sparse
    advantage; later tokens are credited only with the reward still to come, compared with what
    the group's other responses earned from the same position on. A position where one response is
    still running gets zero advantage. Source: the position-wise baselines of verl's optimal-token
    baseline and of location-aware normalisation (Yin et al. 2025); anchors-rl.md §6.1.
    """
    G = reward_to_go(token_rewards, mask)
    adv = torch.zeros_like(G)
    for idx in _groups(group_ids):
        R = sequence_rewards[idx].double()
        sd = R.std(unbiased=False) if len(idx) > 1 else R.new_zeros(())
        if sd < EPS:
            continue
        sub, m = G[idx], mask[idx].double()
        n = m.sum(0)  # responses valid at each position
        base = sub.sum(0) / n.clamp_min(1)
        adv[idx] = (sub - base[None]) * m / (sd + EPS)
    return adv


@register_advantage("additive")
def additive(token_rewards: torch.Tensor, sequence_rewards: torch.Tensor, mask: torch.Tensor,
             group_ids: torch.Tensor, lam: float = 0.5) -> torch.Tensor:
    """Sparse advantage plus ``lam`` times the normalised dense reward-to-go.

    ``Â_{i,t} = Â^{sparse}_i + λ · Â^{grad2reward}_{i,t}``: the outcome signal stays the anchor (GAR's
    dense-only collapse; PRIME's additive returns) and the dense term adds per-token credit.
    ``lam = 0`` is ``sparse``; a large ``lam`` approaches ``grad2reward``.
    Shapes: ``[B,T], [B], [B,T], [B] -> [B,T]``. Source: PRIME (Cui et al. 2025), MiniLLM;
    anchors-rl.md §6.1.
    """
    if not (lam == lam and abs(lam) < float("inf")):
        raise G2RError(f"lam must be a finite number, got {lam!r}")
    return sparse(token_rewards, sequence_rewards, mask, group_ids) + \
        float(lam) * grad2reward(token_rewards, sequence_rewards, mask, group_ids)


@register_advantage("dense_centered")
def dense_centered(token_rewards: torch.Tensor, sequence_rewards: torch.Tensor, mask: torch.Tensor,
                   group_ids: torch.Tensor, lam: float = 0.5) -> torch.Tensor:
    """Sparse advantage on every token plus a zero-mean per-token credit term (no reward-to-go).

    For response i with valid tokens ``0..L_i−1``, the *content* tokens are ``0..L_i−2`` (every valid
    token but the last, which is the end token, or the token where the length cap cut the response)::

        c_{i,t} = r_{i,t} − mean_{s content} r_{i,s}          (content tokens; 0 on the last token)
        Â_{i,t} = Â^{sparse}_i + lam · c_{i,t} / (σ_g(R) + ε)

    σ_g(R) is the population std of the group's sequence rewards: the credit is measured on the sparse
    advantage's scale (as in ``per_position``), and a group whose sequence rewards are all equal gets
    exactly the sparse advantage (0), as in ``sparse``. Shapes: ``[B,T], [B], [B,T], [B] -> [B,T]``.

    (A first version z-scored c by its own pooled std over the group's tokens: on 128 rollouts of
    the v1 policy one credited token among many then got |Â| up to 12-13 (sparse: 2.4), and in a
    15-step oracle_dense run (lr 1e-3, seed 0) the mean length went 47.2 -> 72.8 where sparse went
    46.4 -> 31.0. Dividing by σ_g(R) keeps a token's credit proportional to its share of the reward.)

    Why (issue 10; the reward-to-go failure in ``anchors-rl.md`` §6.1): with a non-negative,
    sum-conserving token reward, reward-to-go estimators (``grad2reward``, ``per_position``) give the
    end token a return of 0 while a still-running response at the same position has one >= 0, so
    ending is always discouraged and runs drift to the length cap; and a failed *non-local* criterion
    (too many words) puts no negative reward on any token, so nothing charges the response for it.
    Here

    * the **outcome** reaches every token through the sparse group advantage, so a failed criterion,
      local or not, lowers every token of the response (exactly as much as in ``sparse``);
    * the **credit** term sums to zero over each response's content tokens: it only moves advantage
      between tokens of one response (towards the tokens the dense reward credits), adds nothing to
      a longer response, and does not depend on the position, so it carries no length or position
      drift of its own;
    * the **end decision** (the last valid token) is a sequence-level decision and gets the outcome
      advantage alone: dense rewards spread over the *text* (a non-local criterion, an attribution
      of the response) never reach the end token, which would otherwise look like the one token
      that earned nothing;
    * it is **identical to** ``sparse`` when the dense reward is uniform over the content tokens or
      sits entirely on the last token (the sparse placement): then ``c ≡ 0``; and in groups with
      equal sequence rewards.

    ``lam`` weighs credit against outcome; ``lam = 0`` is ``sparse``. Sources: the "sparse advantage
    plus a zero-mean per-token credit term" candidate of issue 10; the outcome-anchored, additive
    dense-plus-outcome advantage of PRIME (Cui et al. 2025; ``anchors-rl.md`` §2.3, §6.1), with the
    per-token reward centred within the response instead of summed into a reward-to-go.
    """
    if not (lam == lam and abs(lam) < float("inf")):
        raise G2RError(f"lam must be a finite number, got {lam!r}")
    base = sparse(token_rewards, sequence_rewards, mask, group_ids)
    if lam == 0:
        return base
    lengths = mask.sum(1)
    content = mask.clone()
    rows = torch.nonzero(lengths > 0, as_tuple=True)[0]
    content[rows, lengths[rows] - 1] = False  # the last valid token: the end decision
    credit = torch.zeros_like(base)
    for idx in _groups(group_ids):
        R = sequence_rewards[idx].double()
        sd = R.std(unbiased=False) if len(idx) > 1 else R.new_zeros(())
        if sd < EPS:
            continue
        r, m = token_rewards[idx].double(), content[idx]
        n = m.sum(1, keepdim=True)
        mean = (r * m).sum(1, keepdim=True) / n.clamp_min(1)
        credit[idx] = (r - mean) * m / (sd + EPS)
    return base + float(lam) * credit


def position_correlation(advantages: torch.Tensor, mask: torch.Tensor) -> float:
    """Pearson correlation of advantage and token position over all valid tokens (nan if undefined)."""
    m = torch.as_tensor(mask).bool()
    a = torch.as_tensor(advantages).double()[m]
    pos = torch.arange(m.shape[1], dtype=torch.float64).expand_as(m)[m]
    if a.numel() < 2 or a.std() < 1e-12 or pos.std() < 1e-12:
        return float("nan")
    a, pos = a - a.mean(), pos - pos.mean()
    return float((a * pos).sum() / (a.norm() * pos.norm()))
