import math

import pytest
import torch

from g2r_lens import attribute, available_methods, dense_rewards, softmax_alpha, sparse_reward
from g2r_lens.errors import NonFiniteScoresError, RubricError


def test_sparse_reward_hand_example():
    # Grad2Reward worked example: weights (5, 3, -6), judged True on c1 and c3 -> -1/8
    assert sparse_reward([5, 3, -6], [True, False, True]) == pytest.approx(-1 / 8)
    assert sparse_reward([1, 1], [False, False]) == 0.0
    with pytest.raises(RubricError):
        sparse_reward([-1, 0], [True, True])


def test_rubric_normaliser_one_home():
    from g2r_lens.examples import rubric_normaliser
    from g2r_lens.world.checker import check

    assert rubric_normaliser([5, 3, -6]) == 8.0 and rubric_normaliser(iter([0.5, -1, 0.25])) == 0.75
    with pytest.raises(RubricError, match="no positive weight"):
        rubric_normaliser([-1.0, 0.0])
    with pytest.raises(RubricError):
        dense_rewards([torch.zeros(2)], [-1.0], [True])
    # the checker keeps its own convention: no positive weight scores 0.0
    task = {"id": "t", "prompt": "Say hi.", "rubric": [
        {"criterion": "The response has at most forty words.", "weight": -1.0, "spec": {"check": "max_words", "n": 40}}]}
    res = check(task, "We will meet at the old market on Friday morning with my sister.")
    assert res.criteria[0].satisfied
    assert res.score == 0.0


def test_dense_rewards_hand_example():
    b1 = torch.tensor([0.0, 1.0, 0.0])
    b3 = torch.tensor([2.0, 0.0, 0.0])
    d = dense_rewards([b1, torch.zeros(3), b3], [5, 3, -6], [True, False, True], tau=1.0, tau_mode="absolute")
    a1 = torch.softmax(b1.double(), 0)
    a3 = torch.softmax(b3.double(), 0)
    expected = (5 * a1 - 6 * a3) / 8
    assert torch.allclose(d.rewards, expected)
    assert d.rewards.sum().item() == pytest.approx(-1 / 8)
    assert d.sparse == pytest.approx(-1 / 8)


def test_tiny_scores_collapse_with_absolute_tau_but_not_relative():
    """The prototype's trap: |b| ~ 1e-4 makes softmax(b/τ) uniform for any τ in [0.01, 10]."""
    g = torch.Generator().manual_seed(0)
    b = 1e-4 * torch.randn(40, generator=g)
    for tau in (0.01, 0.1, 1.0, 10.0):
        _, _, h = softmax_alpha(b, tau, "absolute")
        assert h > 0.999
    a, t_eff, h = softmax_alpha(b, 1.0, "relative")
    assert h < 0.95
    assert t_eff == pytest.approx(float(b.double().std(unbiased=False)))
    # relative τ is scale-free: the same α for b and 1e6·b
    a2, _, _ = softmax_alpha(b * 1e6, 1.0, "relative")
    assert torch.allclose(a, a2)


def test_relative_tau_on_constant_scores_is_uniform():
    a, t, h = softmax_alpha(torch.full((5,), 3.0), 1.0, "relative")
    assert torch.allclose(a, torch.full((5,), 0.2, dtype=torch.float64)) and h == pytest.approx(1.0)


@pytest.mark.parametrize("tau_mode,tau", [("relative", 1.0), ("relative", 0.3), ("absolute", 1e-3)])
def test_conservation_for_every_method(judges, examples, tau_mode, tau):
    seen_nonzero = False
    for judge in judges.values():
        run = attribute(judge, examples, available_methods(), tau=tau, tau_mode=tau_mode, progress=False,
                        method_params={"integrated_gradients": {"n_steps": 4}})
        for ex in run.examples:
            expected = sparse_reward([c.weight for c in ex.criteria], [c.verdict for c in ex.criteria])
            assert ex.sparse_reward == pytest.approx(expected)
            seen_nonzero |= abs(expected) > 0
            for name, m in ex.methods.items():
                assert len(m.rewards) == len(ex.tokens)
                assert math.fsum(m.rewards) == pytest.approx(expected, abs=1e-9), name
                for c, s, h in zip(ex.criteria, m.scores, m.entropy):
                    # paper default: only criteria judged True are attributed
                    assert (s is not None) == c.verdict
                    assert (s is None) == math.isnan(h)
    assert seen_nonzero, "no example had a non-zero sparse reward: the conservation test would be vacuous"


def test_attribute_false_switch(judges, examples):
    judge = judges[("gpt2", "gpt2")]
    on = attribute(judge, examples, ["grad_x_input"], attribute_false=True, progress=False)
    off = attribute(judge, examples, ["grad_x_input"], attribute_false=False, progress=False)
    for a, b in zip(on.examples, off.examples):
        assert all(s is not None for s in a.methods["grad_x_input"].scores)
        # rewards are unchanged: criteria judged False never add reward
        assert a.methods["grad_x_input"].rewards == pytest.approx(b.methods["grad_x_input"].rewards)


def test_non_finite_scores_raise():
    with pytest.raises(NonFiniteScoresError, match="non-finite"):
        dense_rewards([torch.tensor([0.1, float("nan")])], [1.0], [True], method="m")
