"""Scoring: projection of judge-token rewards onto policy tokens, oracle rewards, offsets."""

import random

import numpy as np
import pytest

from g2r_lens import Judge, project_rewards
from g2r_lens.rl.rollout import token_char_offsets
from g2r_lens.rl.scoring import Scorer, agreement, credit_on_truth, oracle_dense_rewards, reward_modes
from g2r_lens.testing import tiny_model
from g2r_lens.world.bundle import WORLD_TEMPLATE
from g2r_lens.world.checker import check, token_truth
from g2r_lens.world.tasks import generate_tasks, sample_response


@pytest.fixture(scope="module")
def tasks():
    return generate_tasks(6, seed=3, split="train")


def _offsets(tok, text):
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    return [tuple(o) for o in enc["offset_mapping"]], enc["input_ids"]


def test_projection_between_tokenizers_conserves_the_sum(chat_tok, gpt2_tok, tasks):
    rng = random.Random(0)
    for t in tasks:
        text = sample_response(t, rng, "noisy")
        src, _ = _offsets(gpt2_tok, text)
        dst, _ = _offsets(chat_tok, text)
        v = np.random.default_rng(1).dirichlet(np.ones(len(src))) * 0.7
        out = project_rewards(v, src, dst)
        assert len(out) == len(dst)
        assert abs(out.sum() - 0.7) < 1e-12


def test_offsets_fall_back_to_prefix_decoding_for_non_canonical_ids(chat_tok):
    text = "Hello Maya, see you at the park."
    canon = chat_tok(text, add_special_tokens=False)["input_ids"]
    assert token_char_offsets(chat_tok, canon, text) == _offsets(chat_tok, text)[0]
    # spell the first word letter by letter: decodes to the same text, other ids
    pieces = [chat_tok.convert_tokens_to_ids(c) for c in "Hello"]
    ids = pieces + chat_tok(text[5:], add_special_tokens=False)["input_ids"]
    assert chat_tok.decode(ids) == text
    offs = token_char_offsets(chat_tok, ids, text)
    assert offs[:5] == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    assert offs[-1][1] == len(text) and all(a <= b for a, b in offs)


def test_oracle_dense_puts_the_checker_score_on_truth_tokens(chat_tok, tasks):
    rng = random.Random(2)
    for t in tasks:
        for mode in ("good", "noisy", "keywords"):
            text = sample_response(t, rng, mode)
            offs, _ = _offsets(chat_tok, text)
            offs = offs + [(len(text), len(text))]  # the end token
            res = check(t, text)
            r = oracle_dense_rewards(t, res, offs)
            assert abs(r.sum() - res.score) < 1e-12
            assert r[-1] == 0.0  # the end token carries no text
            truth = np.zeros(len(offs), bool)
            for c in res.criteria:
                if c.satisfied and c.local:
                    truth |= np.asarray(token_truth(c, offs))
            nonlocal_w = sum(c.weight for c in res.criteria if c.satisfied and not c.local)
            if nonlocal_w == 0:
                assert np.all(r[~truth] == 0)


def test_scorer_projects_a_foreign_judge_onto_policy_tokens(chat_tok, gpt2_tok, tasks):
    """The judge tokenizes with one BPE, the 'policy' with GPT-2's: rewards still add up on policy tokens."""
    judge = Judge(tiny_model(chat_tok, "llama", layers=1, hidden=32, heads=2), chat_tok, WORLD_TEMPLATE)
    rng = random.Random(4)
    ts = [tasks[i % len(tasks)] for i in range(6)]
    texts = [sample_response(t, rng, "noisy") for t in ts] + ["   "]
    ts = ts + [ts[0]]
    offsets = [_offsets(gpt2_tok, x)[0] + [(len(x), len(x))] for x in texts]
    for mode in ("grad_x_input", "uniform", "sparse", "oracle_sparse", "oracle_dense"):
        sc = Scorer(judge, mode, batch_size=4).score(ts, texts, offsets)
        for i, (r, o) in enumerate(zip(sc.token_rewards, offsets)):
            assert len(r) == len(o)
            assert abs(r.sum() - sc.rewards[i]) < 1e-9
        assert sc.max_conservation_error < 1e-9
        assert sc.judge_rewards[-1] == 0.0 and sc.rewards[-1] == (0.0 if "oracle" not in mode else sc.checks[-1].score)
        if mode in ("sparse", "oracle_sparse"):  # all of R on the last token
            assert all(np.count_nonzero(r[:-1]) == 0 for r in sc.token_rewards)
        if mode.startswith("oracle"):
            assert sc.rewards == [c.score for c in sc.checks]
        else:
            assert sc.rewards[:-1] == sc.judge_rewards[:-1]
        assert 0.0 <= agreement(sc) <= 1.0
        got, base = credit_on_truth(sc, offsets)
        assert (np.isnan(got) and np.isnan(base)) or (0 <= got <= 1 and 0 < base <= 1)
    assert {"sparse", "oracle_sparse", "oracle_dense", "grad_x_input", "uniform"} <= set(reward_modes())


def test_a_dense_arm_runs_no_separate_verdict_forward(chat_tok, tasks, monkeypatch):
    """Issue 10 item 4: the dense pass's forward yields the verdicts. Scoring a batch with a dense mode
    forwards every (response, criterion) pair through the judge once, as the sparse mode does, and
    never calls the verdict-only path."""
    judge = Judge(tiny_model(chat_tok, "llama", layers=1, hidden=32, heads=2), chat_tok, WORLD_TEMPLATE)
    rng = random.Random(5)
    ts = [tasks[i % len(tasks)] for i in range(5)]
    texts = [sample_response(t, rng, "noisy") for t in ts]
    offsets = [_offsets(chat_tok, x)[0] + [(len(x), len(x))] for x in texts]
    n_pairs = sum(len(t.rubric) for t in ts)
    rows = []  # (pass kind, rows) of every decoder forward: the engine runs each batch's prompt prefix
    # once without gradient (token ids, "prefix") and the response onward per pair (embeddings, "tail")

    def record(m, args, kw, out):
        embeds = kw.get("inputs_embeds")
        rows.append(("tail", embeds.shape[0]) if embeds is not None else ("prefix", kw["input_ids"].shape[0]))

    def total(kind):
        return sum(n for k, n in rows if k == kind)

    decoder = judge.model.get_decoder()
    hook = decoder.register_forward_hook(record, with_kwargs=True)
    try:
        Scorer(judge, "sparse", batch_size=4).score(ts, texts, offsets)
        assert total("tail") == n_pairs  # the sparse arm: every pair once
        sparse_prefix_rows = total("prefix")
        calls = []
        monkeypatch.setattr(judge, "verdicts", lambda *a, **k: calls.append(1) or [])
        for mode in ("grad_x_input", "uniform"):
            rows.clear()
            sc = Scorer(judge, mode, batch_size=4).score(ts, texts, offsets)
            assert total("tail") == n_pairs, (mode, rows)  # each pair forwarded once, no extra verdict pass
            assert total("prefix") <= max(sparse_prefix_rows, n_pairs), (mode, rows)
            assert all(v is not None and len(v) == len(t.rubric) for v, t in zip(sc.judge_verdicts, ts))
        assert calls == []
    finally:
        hook.remove()


def test_reward_modes_are_registered_functions(chat_tok, tasks):
    from g2r_lens.errors import DuplicateNameError
    from g2r_lens.rl.scoring import REWARD_MODES, ModeResult, register_reward_mode

    assert REWARD_MODES.names(oracle=True) == ["oracle_dense", "oracle_sparse"]
    assert REWARD_MODES.names(oracle=False) == ["sparse"]
    with pytest.raises(DuplicateNameError):
        register_reward_mode("sparse")(lambda scorer, s: None)

    @register_reward_mode("test_half_on_first_token", oracle=True)
    def half(scorer, s):  # a new mode is one decorated function
        n = len(s.texts)
        tok = [np.eye(1, len(o))[0] * 0.5 for o in s.offsets]
        return ModeResult([0.5] * n, tok, [None] * n, [None] * n)

    texts = [sample_response(t, random.Random(0), "good") for t in tasks[:2]]
    offs = [_offsets(chat_tok, x)[0] for x in texts]
    sc = Scorer(None, "test_half_on_first_token", judge_oracles=False).score(tasks[:2], texts, offs)
    assert sc.rewards == [0.5, 0.5] and [float(r[0]) for r in sc.token_rewards] == [0.5, 0.5]
    assert sc.max_conservation_error == 0.0 and [c.score for c in sc.checks] == [check(t, x).score for t, x in zip(tasks, texts)]
    # an oracle mode without judge_oracles needs no judge; sparse does
    with pytest.raises(Exception, match="needs a judge"):
        Scorer(None, "sparse")
