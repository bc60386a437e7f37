import itertools
import math

import numpy as np
import pytest
import torch

from g2r_lens.faithfulness import auroc, perturbation_curves, precision_at_k, spearman

from reference import logp_true_full


def _auroc_bruteforce(s, y):
    pos = [a for a, b in zip(s, y) if b]
    neg = [a for a, b in zip(s, y) if not b]
    tot = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return tot / (len(pos) * len(neg))


def test_auroc_matches_pairwise_definition():
    rng = np.random.default_rng(0)
    for _ in range(20):
        s = rng.integers(0, 5, size=15).astype(float)  # many ties
        y = rng.random(15) < 0.3
        if y.all() or not y.any():
            continue
        assert auroc(s, y) == pytest.approx(_auroc_bruteforce(s, y))
    assert auroc([3, 2, 1], [True, False, False]) == 1.0
    assert auroc([1, 2, 3], [True, False, False]) == 0.0
    assert auroc([1, 1, 1], [True, False, False]) == 0.5
    assert math.isnan(auroc([1, 2], [True, True]))


def test_precision_at_k():
    assert precision_at_k([5, 4, 3, 2], [True, False, True, False]) == 0.5
    assert precision_at_k([5, 4, 3, 2], [True, True, False, False]) == 1.0
    assert precision_at_k([5, 4, 3, 2], [False, False, False, True], k=1) == 0.0


def test_spearman():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_perturbation_curves_equal_direct_rescoring(judges, examples):
    judge = judges[("llama", "chat")]
    ex = examples[0]
    pair = judge.encode(ex, 0)
    T = pair.n_response
    scores = np.random.default_rng(1).normal(size=T)
    c = perturbation_curves(judge, ex, 0, scores, fractions=(0.25, 1.0), batch_size=3)
    ids = torch.tensor([pair.input_ids])
    assert c.full == pytest.approx(float(logp_true_full(judge, ids)), abs=1e-4)
    order = np.argsort(-scores)
    k = math.ceil(0.25 * T)
    d = ids.clone()
    d[0, pair.resp_start + torch.tensor(order[:k])] = judge.neutral_id
    assert c.deletion[0] == pytest.approx(float(logp_true_full(judge, d)), abs=1e-4)
    e = ids.clone()
    e[0, pair.resp_start:pair.resp_end] = judge.neutral_id
    assert c.empty == pytest.approx(float(logp_true_full(judge, e)), abs=1e-4)
    assert c.deletion[-1] == pytest.approx(c.empty, abs=1e-4)  # removing 100% = all replaced
    assert c.insertion[-1] == pytest.approx(c.full, abs=1e-4)  # restoring 100% = original
    assert c.aopc_deletion == pytest.approx(np.mean([0, c.full - c.deletion[0], c.full - c.deletion[1]]))


def test_aopc_one_formula_for_both_curve_kinds():
    from g2r_lens.analysis import DeletionCurve as FromAnalysis
    from g2r_lens.faithfulness import Curves, DeletionCurve, aopc

    assert FromAnalysis is DeletionCurve  # one home, re-exported by analysis
    assert aopc(-1.0, [-1.0, -2.0, -4.0]) == pytest.approx((0 + 1 + 3) / 3)
    c = Curves([0.5, 1.0], deletion=[-2.0, -4.0], insertion=[-3.0, -1.5], full=-1.0, empty=-5.0)
    assert c.aopc_deletion == pytest.approx((0 + 1 + 3) / 3)
    assert c.aopc_insertion == pytest.approx((0 + 2 + 3.5) / 3)
    d = DeletionCurve([0, 1, 2], [0, 0.5, 1.0], [-1.0, -2.0, -4.0], [0, 0, 0], [0, 1], 7)
    assert d.aopc == pytest.approx(4 / 3)
