"""g2r_lens.evaluation against independent computations: brute-force pairwise AUROC over truth
masks built from character overlap by hand, deletion drops re-scored with a plain forward of the
model (full logits, no Judge code path), and Spearman from pandas ranks."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from g2r_lens import Example
from g2r_lens.errors import G2RError
from g2r_lens.evaluation import evaluate_faithfulness, localisation_pairs
from g2r_lens.testing import tiny_judge
from g2r_lens.world.bundle import world_examples

METHODS = ["grad_x_input", "leave_one_out", "uniform"]
FRACTIONS = (0.25, 0.5, 1.0)


@pytest.fixture(scope="module")
def setup():
    judge = tiny_judge("llama", "chat", layers=1, hidden=32, seed=3)
    examples = world_examples("test", 4, seed=1, modes=("good", "noisy"))
    ev = evaluate_faithfulness(judge, examples, METHODS, pairs="checker", n_curve_pairs=1, fractions=FRACTIONS,
                               progress=False)
    return judge, examples, ev


def brute_auroc(scores, labels):
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    tot = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return tot / (len(pos) * len(neg))


def hand_truth(offsets, spans):
    return [any(s < b and a < e for a, b in spans) for s, e in offsets]


def hand_pairs(examples, run, need_verdict):
    out = []
    for i, (ex, res) in enumerate(zip(examples, run.examples)):
        for k, c in enumerate(res.criteria):
            spans = ex.meta["truth_spans"][k]
            if not (ex.meta["checker"][k] and ex.meta["local"][k] and spans) or (need_verdict and not c.verdict):
                continue
            lab = hand_truth(res.offsets, spans)
            if any(lab) and not all(lab):
                out.append((i, k, lab))
    return out


def test_localisation_auroc_matches_brute_force(setup):
    _, examples, ev = setup
    pairs = hand_pairs(examples, ev.run, need_verdict=False)
    assert pairs, "the fixture must produce localisation pairs"
    assert ev.info["n_localisation_pairs"] == len(pairs)
    by_kind: dict = {}
    for i, k, lab in pairs:
        res = ev.run.examples[i]
        for m in METHODS:
            want = brute_auroc(res.methods[m].scores[k], lab)
            got = ev.pairs[(ev.pairs.example_id == res.id) & (ev.pairs.criterion == k) & (ev.pairs.method == m)]
            assert len(got) == 1
            assert got.auroc.iloc[0] == pytest.approx(want, abs=1e-12)
            by_kind.setdefault((m, examples[i].meta["kinds"][k]), []).append(want)
    table = ev.auroc_by_kind()
    for (m, kind), vals in by_kind.items():
        assert table.loc[m, kind] == pytest.approx(np.mean(vals), abs=1e-12)
    means = ev.auroc_table()
    for m in METHODS:
        vals = [v for (mm, _), vs in by_kind.items() if mm == m for v in vs]
        assert means.loc[m, "auroc"] == pytest.approx(np.mean(vals), abs=1e-12)
        assert means.loc[m, "n"] == len(vals)
    # the uniform control ties every token: AUROC exactly 0.5 on every pair
    assert (ev.pairs[ev.pairs.method == "uniform"].auroc == 0.5).all()


def test_agree_mode_keeps_only_pairs_the_judge_calls_true(setup):
    _, examples, ev = setup
    want = [(i, k) for i, k, _ in hand_pairs(examples, ev.run, need_verdict=True)]
    assert [(i, k) for i, k, _ in localisation_pairs(examples, ev.run, "agree")] == want


def _logp_true(judge, ids):
    with torch.no_grad():
        logits = judge.model(input_ids=torch.tensor([ids])).logits[0, -1].double()
    return float(torch.log_softmax(logits, -1)[judge.true_id])


def test_deletion_and_insertion_match_plain_forward(setup):
    judge, examples, ev = setup
    assert ev.info["n_curve_pairs"] == 1
    row = ev.curves.iloc[0]
    res = ev.run.examples[[r.id for r in ev.run.examples].index(row.example_id)]
    ex = examples[[e.id for e in examples].index(row.example_id)]
    k = int(row.criterion)
    pair = judge.encode(ex, k)
    T = pair.n_response
    for m in METHODS:
        s = np.asarray(res.methods[m].scores[k])
        order = sorted(range(T), key=lambda t: (-s[t], t))  # highest first, ties by position
        full = _logp_true(judge, pair.input_ids)

        def replaced(pos):
            ids = list(pair.input_ids)
            for p in pos:
                ids[pair.resp_start + p] = judge.neutral_id
            return _logp_true(judge, ids)

        empty = replaced(range(T))
        drops, gains = [0.0], [0.0]
        for f in FRACTIONS:
            n = max(1, math.ceil(f * T))
            drops.append(full - replaced(order[:n]))
            gains.append(replaced(order[n:]) - empty)
        c = ev.curves[(ev.curves.method == m)].sort_values("fraction")
        assert c.fraction.tolist() == [0.0, *FRACTIONS]
        np.testing.assert_allclose(c.deletion.to_numpy(), drops, atol=2e-4)
        np.testing.assert_allclose(c.insertion.to_numpy(), gains, atol=2e-4)
        assert ev.aopc().loc[m, "aopc_deletion"] == pytest.approx(np.mean(drops), abs=2e-4)
        assert ev.aopc().loc[m, "aopc_insertion"] == pytest.approx(np.mean(gains), abs=2e-4)
    # deleting every token leaves the all-replaced response: the drop equals full - empty
    full_del = ev.curves[(ev.curves.method == "grad_x_input") & (ev.curves.fraction == 1.0)].deletion.iloc[0]
    assert full_del == pytest.approx(full - empty, abs=2e-4)


def test_agreement_matches_pandas_spearman(setup):
    _, _, ev = setup
    vals = []
    for res in ev.run.examples:
        for k in range(len(res.criteria)):  # pairs="checker": every criterion is attributed
            a = pd.Series(res.methods["grad_x_input"].scores[k])
            b = pd.Series(res.methods["leave_one_out"].scores[k])
            vals.append(a.rank().corr(b.rank()))
    assert len(vals) == sum(len(r.criteria) for r in ev.run.examples)
    agr = ev.agreement()
    assert agr.loc["grad_x_input", "leave_one_out"] == pytest.approx(np.nanmean(vals), abs=1e-9)
    assert agr.loc["grad_x_input", "grad_x_input"] == pytest.approx(1.0)
    assert np.isnan(agr.loc["uniform", "grad_x_input"])  # constant ranks have no correlation
    summ = ev.summary()
    assert list(summ.index) == METHODS
    assert summ.loc["grad_x_input", "spearman_vs_leave_one_out"] == pytest.approx(np.nanmean(vals), abs=1e-9)
    md = ev.markdown()
    assert md.count("\n") == len(METHODS) + 1 and "| uniform | 0.500 |" in md


def test_reusing_a_run_gives_the_same_tables(setup):
    judge, examples, ev = setup
    again = evaluate_faithfulness(judge, examples, METHODS, pairs="checker", n_curve_pairs=0, run=ev.run,
                                  progress=False)
    pd.testing.assert_frame_equal(again.pairs, ev.pairs)
    assert again.curves.empty and again.aopc()["aopc_deletion"].isna().all()


def test_user_mistakes_raise_g2r_errors(setup):
    judge, examples, ev = setup
    plain = Example("Say hi.", "Hi there.", [{"criterion": "It greets.", "weight": 1}], id="x")
    with pytest.raises(G2RError, match="checker truth"):
        evaluate_faithfulness(judge, [plain], METHODS, progress=False)
    with pytest.raises(G2RError, match="pairs must be"):
        evaluate_faithfulness(judge, examples, METHODS, pairs="judge", progress=False)
    with pytest.raises(G2RError, match="no results for"):
        evaluate_faithfulness(judge, examples, ["grad_l2"], run=ev.run, progress=False)
