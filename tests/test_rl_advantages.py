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


ALL = ["sparse", "grad2reward", "additive", "per_position", "dense_centered"]


def test_registry_lists_the_estimators():
    assert set(available_estimators()) >= set(ALL)
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


@pytest.mark.parametrize("name", ALL)
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


@pytest.mark.parametrize("name", ALL)
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


# ------------------------------------------------------------------ dense_centered (issue 10)

def _random_group_batch(seed=0, B=12, T=9, groups=3):
    gen = torch.Generator().manual_seed(seed)
    g = torch.arange(groups).repeat_interleave(B // groups)
    lengths = torch.randint(3, T + 1, (B,), generator=gen)
    m = torch.arange(T)[None] < lengths[:, None]
    r = torch.rand(B, T, generator=gen, dtype=torch.float64) * m
    return r, r.sum(1), m, g, lengths


def test_dense_centered_by_hand():
    # content tokens (all valid tokens but the last): row 0 -> r [0.2, 0.3], mean 0.25, c [-0.05, +0.05];
    # row 1 -> r [0.1], c [0]; on the sparse scale σ(R) = 0.45. The last token of each row gets the
    # sparse advantage alone.
    z = 0.45 / (0.45 + EPS)
    k = 0.05 / (0.45 + EPS)
    for lam in (0.5, 2.0):
        want = torch.tensor([[z - lam * k, z + lam * k, z], [-z, -z, 0.0]], dtype=torch.float64)
        assert torch.allclose(adv("dense_centered", lam=lam), want, atol=1e-12)
    assert torch.equal(adv("dense_centered", lam=0.0), adv("sparse"))


def test_dense_centered_equals_sparse_for_uniform_or_last_token_rewards():
    _, _, m, g, lengths = _random_group_batch(1)
    R = torch.tensor([1.0, 0.0, 0.5, 0.25, -0.5, 1.0, 0.3, 0.3, 0.0, 0.7, 0.2, 0.9], dtype=torch.float64)
    B, T = m.shape
    content = m.clone()
    content[torch.arange(B), lengths - 1] = False
    uniform_content = content * (R / content.sum(1))[:, None]  # spread evenly over the text tokens
    uniform_all = m * (R / m.sum(1))[:, None]  # spread evenly over every valid token, end token included
    last = torch.zeros(B, T, dtype=torch.float64)
    last[torch.arange(B), lengths - 1] = R  # the sparse placement
    want = compute_advantages("sparse", last, R, m, g)
    for dense in (uniform_content, last):
        assert torch.equal(compute_advantages("dense_centered", dense, R, m, g, lam=1.0), want)
    # spread over every valid token, the content tokens are still uniform: identical up to rounding
    assert torch.allclose(compute_advantages("dense_centered", uniform_all, R, m, g, lam=1.0), want, atol=1e-9)
    # ...while the reward-to-go estimators move tokens even for a uniform reward
    assert not torch.allclose(compute_advantages("per_position", uniform_content, R, m, g), want)


def test_dense_centered_credit_sums_to_zero_and_the_end_token_gets_the_outcome():
    r, _, m, g, lengths = _random_group_batch(2)
    r[torch.arange(len(r)), lengths - 1] = 0.0  # the end token has no text: no dense reward on it
    R = r.sum(1)
    a = compute_advantages("dense_centered", r, R, m, g, lam=1.0)
    s = compute_advantages("sparse", r, R, m, g)
    B = len(R)
    last = lengths - 1
    # the end decision (last valid token) gets exactly the sparse advantage: no end-token bias
    assert torch.equal(a[torch.arange(B), last], s[torch.arange(B), last])
    # the credit term only moves advantage between one response's tokens: per response it sums to 0
    assert torch.allclose(((a - s) * m).sum(1), torch.zeros(B, dtype=torch.float64), atol=1e-9)
    assert ((a - s) * m).abs().sum() > 1  # and it is not empty
    # the paper's estimator instead gives every end token (G = 0) the lowest advantage of its group
    g2r = compute_advantages("grad2reward", r, R, m, g)
    for u in range(3):
        rows = torch.nonzero(g == u, as_tuple=True)[0]
        assert torch.allclose(g2r[rows, last[rows]], g2r[rows][m[rows]].min().expand(len(rows)))


def test_dense_centered_a_failed_non_local_criterion_charges_every_token():
    # one prompt, two responses of 4 text tokens + the end token. Criterion 1 (local, weight 0.5) sits
    # on token 1 in both; criterion 2 (non-local, weight 0.5: "at most N words") is met by A, failed by B.
    A = torch.tensor([0.125, 0.625, 0.125, 0.125, 0.0], dtype=torch.float64)
    Bv = torch.tensor([0.0, 0.5, 0.0, 0.0, 0.0], dtype=torch.float64)
    r, R = torch.stack([A, Bv]), torch.tensor([1.0, 0.5], dtype=torch.float64)
    m, g = torch.ones(2, 5, dtype=torch.bool), torch.tensor([0, 0])
    a = compute_advantages("dense_centered", r, R, m, g, lam=1.0)
    z = 0.25 / (0.25 + EPS)
    # the within-response credit is the same in both; the failure shows at every token, end included
    assert torch.allclose(a[0] - a[1], torch.full((5,), 2 * z, dtype=torch.float64), atol=1e-12)
    assert a[1, 1] > a[1, 0]  # the token that met criterion 1 is still credited within B
    # reward-to-go does not charge B's end token for the failure (both end tokens have G = 0)
    g2r = compute_advantages("grad2reward", r, R, m, g)
    assert g2r[0, 4] == g2r[1, 4]


def test_dense_centered_has_no_position_bias_where_the_paper_has_one():
    # mirrored credit: B's content rewards are A's reversed, same outcome, same length
    A = torch.tensor([0.4, 0.1, 0.1, 0.0, 0.2, 0.0], dtype=torch.float64)
    Bv = torch.tensor([0.2, 0.0, 0.1, 0.1, 0.4, 0.0], dtype=torch.float64)
    r, R = torch.stack([A, Bv]), torch.tensor([1.0, 0.6], dtype=torch.float64)
    m, g = torch.ones(2, 6, dtype=torch.bool), torch.tensor([0, 0])
    a = compute_advantages("dense_centered", r, R, m, g, lam=1.0)
    assert not torch.allclose(a, compute_advantages("sparse", r, R, m, g))  # the credit term is there
    assert abs(position_correlation(a, m)) < 1e-12
    assert position_correlation(compute_advantages("grad2reward", r, R, m, g), m) < -0.5
    # a longer response with the same outcome and extra zero-reward text gains nothing from its length
    long = torch.cat([A[:5], torch.zeros(4, dtype=torch.float64), A[5:]])
    r2 = torch.zeros(2, 10, dtype=torch.float64)
    r2[0, :6], r2[1] = A, long
    m2 = torch.arange(10)[None] < torch.tensor([[6], [10]])
    a2 = compute_advantages("dense_centered", r2, R, m2, g, lam=1.0)
    extra = (a2 - compute_advantages("sparse", r2, R, m2, g)) * m2
    assert torch.allclose(extra.sum(1), torch.zeros(2, dtype=torch.float64), atol=1e-12)


def test_dense_centered_equal_outcomes_give_the_sparse_advantage():
    r = torch.tensor([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]], dtype=torch.float64)
    R, m, g = torch.tensor([0.5, 0.5], dtype=torch.float64), torch.ones(2, 3, dtype=torch.bool), torch.tensor([0, 0])
    assert torch.equal(compute_advantages("dense_centered", r, R, m, g), torch.zeros(2, 3, dtype=torch.float64))


def test_dense_centered_rejects_a_bad_lam():
    with pytest.raises(G2RError, match="lam"):
        adv("dense_centered", lam=math.inf)
