"""benchmarks/credit_quality.py (credit of each attribution vs the oracle's) and rl_gain.py's named arms."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import credit_quality as CQ  # noqa: E402
import rl_gain  # noqa: E402


def test_credit_terms_match_the_hand_formula():
    # one group of three responses (R = 1, 0, 0.5) and one group with equal rewards (no sparse signal)
    toks = [np.array([0.6, 0.3, 0.1, 0.0]), np.array([0.0, 0.0]), np.array([0.5, 0.0, 0.0]),
            np.array([0.2, 0.2]), np.array([0.1, 0.3])]
    seq, groups = [1.0, 0.0, 0.5, 0.4, 0.4], [0, 0, 0, 1, 1]
    c, mask = CQ.credit_terms(toks, seq, groups)
    sd = float(np.std([1.0, 0.0, 0.5])) + 1e-6  # population std of the group's rewards (+ the estimator's ε)
    want = np.zeros((5, 4))
    for i in range(3):
        content = toks[i][:-1]  # every valid token but the last (the end decision)
        want[i, :len(content)] = (content - content.mean()) / sd
    np.testing.assert_allclose(c.numpy(), want, rtol=1e-6, atol=1e-9)
    assert mask.sum().item() == sum(len(t) for t in toks)


def test_pooled_r_is_one_for_the_same_credit_and_minus_one_for_its_opposite():
    a = torch.tensor([[0.5, -0.5, 0.0], [0.2, 0.1, -0.3]], dtype=torch.float64)
    mask = torch.ones_like(a, dtype=torch.bool)
    assert CQ.pooled_r(a, 3 * a, mask) == pytest.approx(1.0)
    assert CQ.pooled_r(a, -a, mask) == pytest.approx(-1.0)
    assert math.isnan(CQ.pooled_r(torch.zeros_like(a), a, mask))  # uniform credit: no correlation defined
    # tokens where neither credit is nonzero (and padding) do not count
    x = torch.tensor([[1.0, 2.0, 3.0, 0.0, 0.0]], dtype=torch.float64)
    y = torch.tensor([[3.0, 2.0, 1.0, 0.0, 0.0]], dtype=torch.float64)
    assert CQ.pooled_r(x, y, torch.ones_like(x, dtype=torch.bool)) == pytest.approx(-1.0)


def test_credit_quality_end_to_end(tmp_path):
    res = CQ.main(["--prompts", "2", "--group-size", "4", "--methods", "grad_x_input,uniform", "--judges", "self",
                   "--out", str(tmp_path)])
    rows = {r["method"]: r for r in res["rows"]}
    assert rows["oracle_dense"]["credit_r"] == 1.0 and rows["oracle_dense"]["credit_on_truth"] > 0.5
    # uniform credit puts on the truth tokens exactly their share of the response
    assert rows["uniform"]["credit_on_truth"] == pytest.approx(rows["uniform"]["base"], abs=1e-9)
    assert math.isfinite(rows["grad_x_input"]["credit_r"]) and -1.0 <= rows["grad_x_input"]["credit_r"] <= 1.0
    assert rows["uniform"]["credit_r"] is None  # identically zero credit has no correlation
    assert (tmp_path / "credit_quality.md").read_text().count("| self |") == 2
    assert "/tmp" not in res["command"] and str(tmp_path) not in res["command"]


@pytest.mark.parametrize("args, msg", [(["--methods", "grad_x_inptu"], "unknown reward mode"),
                                       (["--judges", "selff"], "unknown bundled judge"),
                                       (["--taus", "fast"], "could not convert"),
                                       (["--taus", "0"], "taus > 0"),
                                       (["--world", "no/such/folder"], "not a world folder")])
def test_bad_settings_fail_in_one_line_before_any_sampling(args, msg, tmp_path):
    with pytest.raises(SystemExit, match=msg):
        CQ.main([*args, "--out", str(tmp_path)])
    assert not list(tmp_path.iterdir())


def test_named_arms_and_comparators():
    spec = rl_gain.named_arm("leave_one_out@external", "dense_centered")
    assert spec == dict(reward="leave_one_out", estimator="dense_centered", judge="external", optional=True)
    assert rl_gain.named_arm("sparse@external", "dense_centered")["estimator"] == "sparse"
    for bad in ("leave_one_out", "nonsense@self", "grad_l2@nobody", "best_dense"):
        assert rl_gain.named_arm(bad, "dense_centered") is None
    specs = rl_gain.arm_specs("dense_centered", [])
    specs["grad_l2@external"] = rl_gain.named_arm("grad_l2@external", "dense_centered")
    assert rl_gain.comparator("grad_l2@external", specs, {"sparse": 1}) == "sparse"
    assert rl_gain.comparator("grad_l2@external", specs, {"sparse": 1, "sparse_external": 1}) == "sparse_external"
    assert rl_gain.comparator("best_dense", specs, {"sparse": 1, "sparse_external": 1}) == "sparse"


def test_markdown_without_the_best_dense_arm_still_lists_contrasts_and_arms():
    arm = dict(final_ci95=[0.4, 0.6], n_seeds=3, start=0.5, final=0.5, peak=0.6, peak_step=10, auc=0.55,
               last_judge_reward=0.5, last_agreement=0.8, last_kl=0.1, last_response_len=30.0, last_adv_pos_corr=0.0,
               step_time_s=1.0, setting="x")
    res = dict(setting="s", seconds=60.0, arms={"sparse": arm, "leave_one_out@self": arm},
               contrasts={"leave_one_out@self": dict(final_gain=0.05, final_gain_ci95=[0.01, 0.09],
                                                     comparator="sparse")})
    md = rl_gain.markdown(res)
    assert "leave_one_out@self +0.050 (+0.010, +0.090) vs sparse" in md
    assert md.count("| leave_one_out@self | x | 3 |") == 1 and "steps_ratio" not in md
