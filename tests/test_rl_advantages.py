"""Advantage estimators: hand-computed examples, the no-op trap, masks and padding."""

import math

import pytest
import torch

from g2r_lens.errors import G2RError
from g2r_lens.rl.advantages import (EPS, available_estimators, compute_advantages, position_correlation,
                                    reward_to_go, zero_std_fraction)

# two responses of one prompt: lengths 3 and 2 (the last column of row 1 is padding)
R_TOK = torch.tensor([[0.2, 0.3, 0.5], [0.1, 0.0, 0.0]], dtype=torch.float64)
MASK = torch.tensor([[1, 1, 1], [1, 1, 0]], dtype=torch.bool)
R_SEQ = torch.tensor([1.0, 0.1], dtype=torch.float64)
GID = torch.tensor([0, 0])


def adv(name, r=R_TOK, R=R_SEQ, m=MASK, g=GID, **kw):
    return compute_advantages(name, r, R, m, g, **kw)


def test_registry_lists_the_four_estimators():
    assert set(available_estimators()) >= {"sparse", "grad2reward", "additive", "per_position"}
    with pytest.raises(G2RError, match="unknown advantage estimator"):
        adv("gae")


def test_reward_to_go_is_undiscounted_and_masked():
    G = reward_to_go(R_TOK, MASK)
    assert torch.allclose(G, torch.tensor([[1.0, 0.8, 0.5], [0.1, 0.0, 0.0]], dtype=torch.float64))


def test_sparse_by_hand():
    # mean 0.55, population std 0.45
    z = 0.45 / (0.45 + EPS)
    want = torch.tensor([[z, z, z], [-z, -z, 0.0]], dtype=torch.float64)
    assert torch.allclose(adv("sparse"), want, atol=1e-12)


def test_grad2reward_by_hand():
    # G over valid tokens: [1.0, 0.8, 0.5, 0.1, 0.0]; mean 0.48; population variance 0.38 - 0.48^2 = 0.1496
    sd = math.sqrt(0.1496)
    G = torch.tensor([[1.0, 0.8, 0.5], [0.1, 0.0, 0.48]], dtype=torch.float64)
    want = (G - 0.48) / (sd + EPS) * MASK
    assert torch.allclose(adv("grad2reward"), want, atol=1e-12)
    # the documented property: late tokens negative, the position correlation negative
    assert position_correlation(adv("grad2reward"), MASK) < 0


def test_per_position_by_hand():
    # σ(R) = 0.45. t0: G [1.0, 0.1], baseline 0.55 -> ±0.45; t1: G [0.8, 0.0], baseline 0.4 -> ±0.4;
    # t2: only row 0 runs -> 0. The first token gets exactly the sparse advantage.
    s = 0.45 + EPS
    want = torch.tensor([[0.45 / s, 0.4 / s, 0.0], [-0.45 / s, -0.4 / s, 0.0]], dtype=torch.float64)
    got = adv("per_position")
    assert torch.allclose(got, want, atol=1e-12)
    assert torch.allclose(got[:, 0], adv("sparse")[:, 0], atol=1e-12)


def test_additive_is_sparse_plus_lam_dense():
    for lam in (0.0, 0.5, 2.0):
        want = adv("sparse") + lam * adv("grad2reward")
        assert torch.allclose(adv("additive", lam=lam), want, atol=1e-12)
    assert torch.equal(adv("additive", lam=0.0), adv("sparse"))


def test_trap_sum_conserving_dense_reward_changes_nothing_in_sparse():
    """A dense reward that adds up to R, fed to a sequence-level advantage, is a no-op."""
    gen = torch.Generator().manual_seed(0)
    B, T = 12, 9
    g = torch.arange(3).repeat_interleave(4)
    R = torch.rand(B, generator=gen, dtype=torch.float64) * 2 - 0.5
    lengths = torch.randint(3, T + 1, (B,), generator=gen)
    m = torch.arange(T)[None] < lengths[:, None]
    alpha = torch.rand(B, T, generator=gen, dtype=torch.float64) * m
    alpha = alpha / alpha.sum(1, keepdim=True)
    dense = alpha * R[:, None]  # Σ_t dense = R
    last = torch.zeros(B, T, dtype=torch.float64)
    last[torch.arange(B), lengths - 1] = R  # the sparse placement
    a_dense = compute_advantages("sparse", dense, R, m, g)
    a_sparse = compute_advantages("sparse", last, R, m, g)
    assert torch.equal(a_dense, a_sparse)
    # verl-style: the sequence reward recovered by summing the dense reward gives the same advantages
    a_summed = compute_advantages("sparse", dense, dense.sum(1), m, g)
    assert torch.allclose(a_summed, a_sparse, atol=1e-9)
    # ...while a per-token estimator does see the redistribution
    assert not torch.allclose(compute_advantages("grad2reward", dense, R, m, g),
                              compute_advantages("grad2reward", last, R, m, g))


@pytest.mark.parametrize("name", ["sparse", "grad2reward", "additive", "per_position"])
def test_padding_is_zero_and_never_enters_the_statistics(name):
    base = adv(name)
    assert torch.all(base[~MASK] == 0)
    # garbage in padded positions, and extra padding columns: nothing changes
    r = R_TOK.clone()
    r[1, 2] = 99.0
    assert torch.equal(adv(name, r=r), base)
    r_wide = torch.cat([R_TOK, torch.full((2, 3), 7.0, dtype=torch.float64)], 1)
    m_wide = torch.cat([MASK, torch.zeros(2, 3, dtype=torch.bool)], 1)
    wide = adv(name, r=r_wide, m=m_wide)
    assert torch.equal(wide[:, :3], base) and torch.all(wide[:, 3:] == 0)


@pytest.mark.parametrize("name", ["sparse", "grad2reward", "additive", "per_position"])
def test_groups_are_independent(name):
    other = torch.tensor([[0.0, 0.6, 0.0], [0.3, 0.3, 0.3]], dtype=torch.float64)
    r = torch.cat([R_TOK, other])
    R = torch.cat([R_SEQ, other.sum(1)])
    m = torch.cat([MASK, torch.ones(2, 3, dtype=torch.bool)])
    g = torch.tensor([5, 5, 2, 2])  # arbitrary ids, any order
    both = compute_advantages(name, r, R, m, g)
    assert torch.allclose(both[:2], adv(name), atol=1e-12)


def test_constant_groups_get_zero_sparse_advantage():
    r = torch.tensor([[0.5, 0.5], [0.2, 0.8]], dtype=torch.float64)
    R = torch.tensor([1.0, 1.0], dtype=torch.float64)
    m = torch.ones(2, 2, dtype=torch.bool)
    g = torch.tensor([0, 0])
    assert torch.equal(compute_advantages("sparse", r, R, m, g), torch.zeros(2, 2, dtype=torch.float64))
    assert torch.equal(compute_advantages("per_position", r, R, m, g), torch.zeros(2, 2, dtype=torch.float64))
    # the paper's estimator still moves tokens in an all-equal group (position-driven)
    assert compute_advantages("grad2reward", r, R, m, g).abs().sum() > 0
    assert zero_std_fraction(R, g) == 1.0
    # a single-sample group has no baseline either
    assert torch.equal(compute_advantages("sparse", r[:1], R[:1], m[:1], g[:1]), torch.zeros(1, 2, dtype=torch.float64))


def test_bad_inputs_fail_clearly():
    with pytest.raises(G2RError, match=r"\[B, T\]"):
        compute_advantages("sparse", R_TOK[0], R_SEQ, MASK, GID)
    with pytest.raises(G2RError, match="mask"):
        compute_advantages("sparse", R_TOK, R_SEQ, MASK[:, :2], GID)
    with pytest.raises(G2RError, match="finite"):
        compute_advantages("sparse", R_TOK, torch.tensor([math.nan, 0.0]), MASK, GID)
    with pytest.raises(G2RError, match="parameter"):
        compute_advantages("sparse", R_TOK, R_SEQ, MASK, GID, lam=1.0)
