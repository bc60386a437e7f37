"""g2r_lens.analysis against hand-computed values, and deletion curves against direct re-scoring."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from g2r_lens import Example, Judge, attribute
from g2r_lens import analysis as A
from g2r_lens.errors import G2RError
from g2r_lens.results import CriterionResult, ExampleResult, MethodResult
from g2r_lens.testing import tiny_model


# ------------------------------------------------------------------------------- helpers
def _result(response, offsets, crits, scores, alphas=None, rewards=None, method="m", id="e"):
    """A hand-made ExampleResult; crits: [(text, weight, verdict)]."""
    T = len(offsets)
    cr = [CriterionResult(t, w, 0.9 if z else 0.1, 0.1 if z else 0.9, math.log(0.9 if z else 0.1), z)
          for t, w, z in crits]
    alphas = alphas if alphas is not None else [None if s is None else [1 / T] * T for s in scores]
    rewards = rewards if rewards is not None else [0.0] * T
    m = MethodResult(method, {}, scores, alphas, rewards, [1.0] * len(crits), [1.0] * len(crits))
    return ExampleResult(id, "p", response, [response[a:b] for a, b in offsets], list(offsets), cr, 0.0, {method: m})


# --------------------------------------------------------------------------------- words
def test_word_units_hand_example():
    text = "Hi Maya, the picnic!"
    offs = [(0, 2), (2, 5), (5, 7), (7, 8), (8, 12), (12, 15), (15, 19), (19, 20)]  # Hi| Ma|ya|,| the| pi|cnic|!
    u = A.word_units(text, offs)
    assert u.texts == ["Hi", "Maya", ",", "the", "picnic", "!"]
    assert u.spans == [(0, 2), (3, 7), (7, 8), (9, 12), (13, 19), (19, 20)]
    assert u.token_groups == [[0], [1, 2], [3], [4], [5, 6], [7]]
    assert u.token_to_unit.tolist() == [0, 1, 1, 2, 3, 4, 4, 5]


def test_word_units_whitespace_merges_and_truncation():
    # a whitespace-only token joins the next word; at the end, the previous one
    u = A.word_units("I am  ok ", [(0, 1), (1, 4), (4, 5), (5, 8), (8, 9)])
    assert u.texts == ["I", "am", "ok"]
    assert u.token_groups == [[0], [1], [2, 3, 4]]
    # one token spanning two units merges them ("a-b" is one unit)
    u = A.word_units("a-b c", [(0, 3), (3, 5)])
    assert u.texts == ["a-b", "c"]
    assert u.token_groups == [[0], [1]]
    # a truncated response: words after the last token have no tokens and are dropped
    u = A.word_units("one two three", [(0, 3), (3, 7)])
    assert u.texts == ["one", "two"]
    # apostrophes stay inside a word
    assert A.word_units("Maya's cake", [(0, 4), (4, 6), (6, 11)]).texts == ["Maya's", "cake"]


def test_aggregate_units_hand_values_and_conservation():
    u = A.word_units("ab cd", [(0, 1), (1, 2), (2, 5)])
    v = np.array([[1.0, -3.0, 2.0], [0.5, 0.25, 0.25]])
    assert A.aggregate_units(v, u).tolist() == [[-2.0, 2.0], [0.75, 0.25]]
    assert A.aggregate_units(v, u, "mean").tolist() == [[-1.0, 2.0], [0.375, 0.25]]
    assert A.aggregate_units(v, u, "max").tolist() == [[1.0, 2.0], [0.5, 0.25]]
    assert A.aggregate_units(v, u, "absmax").tolist() == [[-3.0, 2.0], [0.5, 0.25]]
    assert A.aggregate_units(v, u).sum(-1) == pytest.approx(v.sum(-1))
    with pytest.raises(G2RError):
        A.aggregate_units([1.0, 2.0], u)
    with pytest.raises(G2RError):
        A.aggregate_units(v, u, "median")


# ------------------------------------------------------------------------------ rewards
def test_criterion_rewards_hand_example():
    # weights (5, 3, -6), verdicts (T, F, T): shares w_k α_k / 8 for the True ones
    a1, a2, a3 = [0.5, 0.25, 0.25], [0.2, 0.3, 0.5], [0.1, 0.1, 0.8]
    r = _result("x y z", [(0, 1), (1, 3), (3, 5)], [("c1", 5, True), ("c2", 3, False), ("c3", -6, True)],
                [[0, 0, 0]] * 3, alphas=[a1, a2, a3])
    sh = A.criterion_rewards(r, "m")
    assert sh[0] == pytest.approx([5 * 0.5 / 8, 5 * 0.25 / 8, 5 * 0.25 / 8])
    assert sh[1] == pytest.approx([0, 0, 0])
    assert sh[2] == pytest.approx([-6 * 0.1 / 8, -6 * 0.1 / 8, -6 * 0.8 / 8])
    assert sh.sum() == pytest.approx(-1 / 8)
    with pytest.raises(G2RError):
        A.criterion_rewards(r, "nope")


def test_retemper_hand_example():
    b = [0.0, 1.0, 0.0]
    r = _result("x y z", [(0, 1), (1, 3), (3, 5)], [("c1", 2, True), ("c2", -1, False)], [b, None])
    out = A.retemper(r, 0.5, "absolute")
    e = np.exp(np.array(b) / 0.5)
    alpha = e / e.sum()
    assert out.methods["m"].alphas[0] == pytest.approx(alpha.tolist())
    assert out.methods["m"].alphas[1] is None
    assert out.methods["m"].rewards == pytest.approx((2 * alpha / 2).tolist())
    assert sum(out.methods["m"].rewards) == pytest.approx(1.0)
    assert out.methods["m"].taus[0] == 0.5 and math.isnan(out.methods["m"].taus[1])
    assert r.methods["m"].rewards == [0.0, 0.0, 0.0]  # the input is not modified


# ---------------------------------------------------------------------------- agreement
def test_rankdata_and_spearman_hand_values():
    assert A.rankdata([10, 20, 20, 5]).tolist() == [2.0, 3.5, 3.5, 1.0]
    # d = (0, 1, 1, 0): rho = 1 - 6*2 / (4*15) = 0.8
    assert A.spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    # with ties: ranks (1.5, 1.5, 3) vs (1, 2, 3): cov 1.5, var 1.5 and 2 -> 1.5/sqrt(3)
    assert A.spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(1.5 / math.sqrt(3))
    assert A.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(A.spearman([1, 1, 1], [1, 2, 3]))
    assert A.spearman([1, 2, np.nan, 3], [1, 2, 9, 3]) == pytest.approx(1.0)  # NaN pairs dropped
    with pytest.raises(G2RError):
        A.spearman([1, 2], [1, 2, 3])


def test_topk_overlap_hand_values():
    a, b = [5, 4, 3, 2, 1], [1, 5, 4, 3, 2]
    assert A.topk_overlap(a, b, 2) == 0.5  # {0,1} vs {1,2}
    assert A.topk_overlap(a, b, 4) == 0.75  # {0,1,2,3} vs {1,2,3,4}
    assert A.topk_overlap(a, b, 99) == 1.0  # k capped at n
    assert A.topk_overlap([0, 0, 0], [0, 0, 0], 2) == 1.0  # ties broken by position


def test_agreement_matrix_and_table():
    vals = {"a": [1, 2, 3, 4], "b": [1, 3, 2, 4], "c": [4, 3, 2, 1]}
    m = A.agreement_matrix(vals, "spearman")
    assert list(m.index) == ["a", "b", "c"]
    assert m.loc["a", "b"] == pytest.approx(0.8) and m.loc["b", "a"] == pytest.approx(0.8)
    assert m.loc["a", "c"] == pytest.approx(-1.0)
    assert np.diag(m.to_numpy()) == pytest.approx([1, 1, 1])
    k = A.agreement_matrix(vals, "topk", k=1)
    assert k.loc["a", "b"] == 1.0 and k.loc["a", "c"] == 0.0
    t = A.agreement_table(vals, k=2)
    assert len(t) == 3 and list(t.columns) == ["method_a", "method_b", "spearman", "top2_overlap"]
    with pytest.raises(G2RError):
        A.agreement_matrix(vals, "kendall")


# --------------------------------------------------------------------------------- truth
def test_truth_mask_and_localisation_hand_values():
    r = _result("Hi Maya, hi", [(0, 2), (2, 7), (7, 8), (8, 11)], [("c", 1, True)], [[0, 0, 0, 0]])
    assert A.truth_mask(r, [[3, 7]]).tolist() == [False, True, False, False]
    mask = [False, True, True, False]
    loc = A.localisation([0.1, 0.9, 0.5, 0.2], mask, alpha=[0.1, 0.4, 0.3, 0.2])
    assert loc == {"n_truth": 2, "precision": 1.0, "hit_at_1": 1.0, "auroc": 1.0, "alpha_mass": pytest.approx(0.7)}
    loc = A.localisation([0.9, 0.1, 0.5, 0.2], mask)
    assert loc["precision"] == 0.5 and loc["hit_at_1"] == 0.0 and math.isnan(loc["alpha_mass"])
    # truth (0.1, 0.5) vs other (0.9, 0.2): 0.5 > 0.2 and nothing else -> 1 of 4 pairs
    assert loc["auroc"] == pytest.approx(0.25)
    assert math.isnan(A.localisation([1, 2], [False, False])["precision"])


# ------------------------------------------------------------------------------ deletion
def test_ranking_and_aopc():
    assert A.ranking([0.1, 0.9, 0.5]) == [1, 2, 0]
    assert A.ranking([0.1, 0.9, 0.5], descending=False) == [0, 2, 1]
    assert A.ranking([1.0, np.nan, 2.0]) == [2, 0, 1]
    c = A.DeletionCurve([0, 1, 2], [0, 0.5, 1.0], [-1.0, -2.0, -3.0], [0, 0, 0], [0, 1], 7)
    assert c.aopc == pytest.approx(1.0)  # drops 0, 1, 2
    assert c.p_true == pytest.approx([math.exp(-1), math.exp(-2), math.exp(-3)])


@pytest.fixture(scope="module")
def small_judge(chat_tok):
    return Judge(tiny_model(chat_tok, "llama", layers=1, hidden=32, seed=3), chat_tok, name="small")


@pytest.fixture(scope="module")
def del_example():
    return Example("Write a note to Maya about the picnic.", "Hi Maya, the picnic is on Friday at the lake.",
                   [{"criterion": "The response mentions the picnic.", "weight": 2},
                    {"criterion": "The response mentions rain.", "weight": -1}], id="d")


def _direct(judge, example, k, positions, rep):
    pair = judge.encode(example, k)
    ids = list(pair.input_ids)
    for p in positions:
        ids[pair.resp_start + p] = rep
    batch = judge.collate([type(pair)(ids, pair.resp_start, pair.resp_end, pair.response_offsets,
                                      pair.response_tokens)])
    with torch.no_grad():
        return float(judge.verdict_logprobs(batch)[0][0])


def test_deletion_curve_matches_direct_rescoring(small_judge, del_example):
    j, ex = small_judge, del_example
    T = j.encode(ex, 0).n_response
    order = list(reversed(range(T)))
    curve = A.deletion_curve(j, ex, 0, order, steps=4, batch_size=3)  # several batches, padded rows
    assert curve.counts[0] == 0 and curve.counts[-1] == T and len(curve.counts) == 5
    assert curve.replacement == j.neutral_id
    assert curve.fractions == pytest.approx([c / T for c in curve.counts])
    for c, lt in zip(curve.counts, curve.logp_true):
        assert lt == pytest.approx(_direct(j, ex, 0, order[:c], j.neutral_id), abs=1e-5)
    # no deletion = the judge's own verdict log-probability
    assert curve.logp_true[0] == pytest.approx(j.verdicts([ex])[0][0]["logp_true"], abs=1e-5)
    # explicit counts, another (real) replacement token, a partial ranking
    rep = j.tokenizer(".", add_special_tokens=False)["input_ids"][0]
    c2 = A.deletion_curve(j, ex, 1, [2, 0], steps=[0, 1, 2], replacement=rep)
    assert c2.counts == [0, 1, 2] and c2.fractions == pytest.approx([0, 1 / T, 2 / T])
    assert c2.logp_true[2] == pytest.approx(_direct(j, ex, 1, [2, 0], rep), abs=1e-5)


def test_deletion_curve_agrees_with_faithfulness_module(small_judge, del_example):
    from g2r_lens.faithfulness import perturbation_curves

    j, ex = small_judge, del_example
    T = j.encode(ex, 0).n_response
    scores = np.linspace(1.0, -1.0, T) ** 3  # distinct scores: one ranking for both
    ref = perturbation_curves(j, ex, 0, scores.tolist(), fractions=(0.25, 0.5, 1.0))
    counts = [max(1, math.ceil(f * T)) for f in (0.25, 0.5, 1.0)]
    mine = A.deletion_curve(j, ex, 0, A.ranking(scores), steps=[0] + counts)
    assert mine.logp_true[0] == pytest.approx(ref.full, abs=1e-5)
    assert mine.logp_true[1:] == pytest.approx(ref.deletion, abs=1e-5)
    assert mine.aopc == pytest.approx(ref.aopc_deletion, abs=1e-5)


def test_deletion_curve_rejects_bad_input(small_judge, del_example):
    j, ex = small_judge, del_example
    T = j.encode(ex, 0).n_response
    with pytest.raises(G2RError, match="distinct"):
        A.deletion_curve(j, ex, 0, [0, 0])
    with pytest.raises(G2RError, match="distinct"):
        A.deletion_curve(j, ex, 0, [T])
    with pytest.raises(G2RError, match="out of range"):
        A.deletion_curve(j, ex, 5, [0])
    with pytest.raises(G2RError, match="vocabulary"):
        A.deletion_curve(j, ex, 0, [0], replacement=10**9)
    with pytest.raises(G2RError, match="counts"):
        A.deletion_curve(j, ex, 0, [0, 1], steps=[0, 3])
    with pytest.raises(G2RError):
        A.deletion_curve(j, ex, 0, [0], steps=0)


def test_deletion_curves_of_methods(small_judge, del_example):
    run = attribute(small_judge, [del_example], ["grad_x_input", "uniform"], attribute_false=True, progress=False)
    r = run.examples[0]
    curves = A.deletion_curves(small_judge, del_example, r, 0, steps=3, seed=1)
    assert set(curves) == {"grad_x_input", "uniform", "random order"}
    for c in curves.values():
        assert c.logp_true[0] == pytest.approx(r.criteria[0].logp_true, abs=1e-5)
        assert c.counts[-1] == len(r.tokens)
        assert c.logp_true[-1] == pytest.approx(curves["uniform"].logp_true[-1], abs=1e-5)  # all replaced
    assert curves["grad_x_input"].order == A.ranking(r.methods["grad_x_input"].scores[0])
    assert sorted(curves["random order"].order) == list(range(len(r.tokens)))
    run2 = attribute(small_judge, [del_example], ["grad_x_input"], progress=False)
    k_false = next((k for k, c in enumerate(run2.examples[0].criteria) if not c.verdict), None)
    if k_false is not None:
        with pytest.raises(G2RError, match="not attributed"):
            A.deletion_curves(small_judge, del_example, run2.examples[0], k_false, ["grad_x_input"])


# ---------------------------------------------------------------------------------- lens
def _lens_examples():
    # "a b a": criterion 0 scores (2, -1, 1) -> scaled (1, -0.5, 0.5); criterion 1 not attributed
    r1 = _result("a b a", [(0, 1), (1, 3), (3, 5)], [("c0", 1, True), ("c1", -1, False)], [[2, -1, 1], None], id="e1")
    m1 = {"kinds": ["required", "forbidden"], "truth_spans": [[[0, 1]], []], "checker": [True, True]}
    # "b a": criterion 0 scores (0.5, -0.25) -> scaled (1, -0.5)
    r2 = _result("b a", [(0, 1), (1, 3)], [("c0", 1, False), ("c1", -1, True)], [[0.5, -0.25], [0, 0]], id="e2")
    m2 = {"kinds": ["required", "forbidden"], "truth_spans": [[], []], "checker": [False, False]}
    return [r1, r2], [m1, m2]


def test_lens_records_and_table_hand_values():
    res, metas = _lens_examples()
    rec = A.lens_records(res, "m", metas=metas)
    req = rec[rec.group == "required"]
    assert req[["example_id", "phrase", "value", "truth"]].values.tolist() == [
        ["e1", "a", 1.0, True], ["e1", "b", -0.5, False], ["e1", "a", 0.5, False],
        ["e2", "b", 1.0, False], ["e2", "a", -0.5, False]]
    assert rec[rec.group == "forbidden"]["value"].tolist() == [0.0, 0.0]  # all-zero row stays zero
    t = A.lens_table(rec, min_count=1)
    a = t[(t.group == "required") & (t.phrase == "a")].iloc[0]
    assert (a.n, a.n_examples) == (3, 2)
    assert a["mean"] == pytest.approx(1 / 3) and a.total == pytest.approx(1.0)
    assert a.share_positive == pytest.approx(2 / 3) and a.truth_rate == pytest.approx(1 / 3)
    b = t[(t.group == "required") & (t.phrase == "b")].iloc[0]
    assert (b.n, b["mean"], b.truth_rate) == (2, pytest.approx(0.25), 0.0)
    assert A.lens_table(rec, min_count=3)["phrase"].tolist() == ["a"]
    assert A.top_phrases(t, "required", 5, +1)["phrase"].tolist() == ["a", "b"]
    assert A.top_phrases(t, "required", 5, -1).empty
    # word pairs: mean of the two words
    rec2 = A.lens_records(res[:1], "m", metas=metas[:1], ngram=2)
    assert rec2[rec2.group == "required"][["phrase", "value"]].values.tolist() == [["a b", 0.25], ["b a", 0.0]]
    # filters and groupings
    assert set(A.lens_records(res, "m", metas=metas, verdict=True)["example_id"]) == {"e1", "e2"}
    by_text = A.lens_records(res, "m", metas=metas, verdict=True, by="criterion")
    assert by_text["group"].unique().tolist() == ["c0", "c1"]
    assert A.lens_table(rec.iloc[:0]).empty
    with pytest.raises(G2RError):
        A.lens_records(res, "m", ngram=3)


def test_criterion_groups_and_judge_checker_table():
    res, metas = _lens_examples()
    assert A.criterion_groups(res[0], metas[0]) == ["required", "forbidden"]
    assert A.criterion_groups(res[0], {}) == ["positive weight", "negative weight"]
    assert A.criterion_groups(res[0], {}, by="criterion") == ["c0", "c1"]
    t = A.judge_checker_table(res, metas).set_index("group")
    # required: judge (T, F) vs checker (T, F) -> agree 1.0; forbidden: judge (F, T) vs checker (T, F) -> 0.0
    assert t.loc["required"].tolist() == [2, 0.5, 0.5, 1.0]
    assert t.loc["forbidden"].tolist() == [2, 0.5, 0.5, 0.0]
    assert A.judge_checker_table(res, [None, None]).empty
    assert isinstance(t, pd.DataFrame)


def test_word_reducers_are_a_registry():
    from g2r_lens.errors import DuplicateNameError, UnknownNameError

    assert A.WORD_REDUCERS.names() == ["absmax", "max", "mean", "sum"]
    assert A.WORD_REDUCERS.names(conserves_sum=True) == ["sum"]
    with pytest.raises(UnknownNameError, match="unknown aggregation 'median'; known: absmax, max, mean, sum"):
        A.aggregate_units([1.0], A.word_units("a", [(0, 1)]), "median")
    with pytest.raises(DuplicateNameError):
        A.register_word_reducer("sum")(lambda x: x.sum(-1))
    if "test_min" not in A.WORD_REDUCERS:
        A.register_word_reducer("test_min")(lambda x: x.min(-1))
    u = A.word_units("ab cd", [(0, 1), (1, 2), (2, 5)])
    assert A.aggregate_units([[3.0, -1.0, 2.0]], u, "test_min").tolist() == [[-1.0, 2.0]]
