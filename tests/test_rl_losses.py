"""rl/losses: the pure PPO-clip loss against a hand computation; the loss registry."""

import math

import pytest
import torch

from g2r_lens.errors import DuplicateNameError, UnknownNameError
from g2r_lens.rl.losses import POLICY_LOSSES, get_policy_loss, ppo_clip_loss, register_policy_loss


def _hand(logp, old, adv, mask, eps, n):
    total, clipped = 0.0, 0
    for lp_row, o_row, a_row, m_row in zip(logp, old, adv, mask):
        for lp, o, a, m in zip(lp_row, o_row, a_row, m_row):
            if not m:
                continue
            r = math.exp(lp - o)
            rc = min(max(r, 1 - eps), 1 + eps)
            total += max(-r * a, -rc * a)
            clipped += abs(r - 1) > eps
    return total / n, clipped / n


def test_ppo_clip_matches_hand_computation():
    logp = [[-1.0, -0.5, -2.0], [-0.2, -3.0, -1.0]]
    old = [[-1.5, -0.5, -1.0], [-0.2, -2.0, -9.0]]  # ratios e^0.5, 1, e^-1 / 1, e^-1, (masked)
    adv = [[1.0, -2.0, -1.0], [0.5, 2.0, 3.0]]
    mask = [[1, 1, 1], [1, 1, 0]]
    t = lambda x: torch.tensor(x, dtype=torch.float64)  # noqa: E731
    lp = t(logp).requires_grad_(True)
    loss, stats = ppo_clip_loss(lp, t(old), t(adv), t(mask), 0.2)
    want, frac = _hand(logp, old, adv, mask, 0.2, 5)
    assert float(loss.detach()) == pytest.approx(want, abs=1e-12) and stats["pg_loss"] == pytest.approx(want, abs=1e-12)
    assert stats["clip_frac"] == pytest.approx(frac) and frac == pytest.approx(3 / 5)
    # gradient: clipped tokens (ratio outside the range on the side the advantage favours) get none
    loss.backward()
    g = lp.grad
    assert g[0, 0] == 0.0  # r = e^0.5 > 1.2 with A > 0: clipped
    assert g[0, 1] == pytest.approx(2.0 / 5)  # r = 1: d(-r A)/dlogp = -A r / n
    assert g[0, 2] == 0.0  # r = e^-1 < 0.8 with A < 0: clipped
    assert g[1, 2] == 0.0  # masked
    # n_tokens: a minibatch normalised by the whole batch's count
    loss2, _ = ppo_clip_loss(t(logp), t(old), t(adv), t(mask), 0.2, n_tokens=10)
    assert float(loss2) == pytest.approx(want / 2)


def test_on_policy_ratio_is_one():
    lp = torch.randn(2, 4, dtype=torch.float64)
    adv = torch.randn(2, 4, dtype=torch.float64)
    mask = torch.ones(2, 4)
    loss, stats = ppo_clip_loss(lp, lp, adv, mask, 0.2)
    assert float(loss) == pytest.approx(float(-adv.mean())) and stats["clip_frac"] == 0.0
    with pytest.raises(ValueError, match="share one shape"):
        ppo_clip_loss(lp, lp, adv[:, :3], mask, 0.2)


def test_registry():
    assert get_policy_loss("ppo_clip") is ppo_clip_loss and "ppo_clip" in POLICY_LOSSES.names()
    with pytest.raises(DuplicateNameError):
        register_policy_loss("ppo_clip")(ppo_clip_loss)
    with pytest.raises(UnknownNameError, match="unknown policy loss 'ppo'; known: ppo_clip"):
        get_policy_loss("ppo")
