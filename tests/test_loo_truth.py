"""Leave-one-out against the world checker's truth tokens, checked against hand-built references.

Leave-one-out localises the checker's truth tokens below chance on some judges. These tests pin down
that the pipeline measuring it is right (so that the number is a property of the judge, not a bug):
- the LOO score of the truth token equals the drop of log p(True) computed by hand: the edited
  response *text* rendered into the judge prompt, tokenized in one go and run through the raw HF
  model (no engine code on the reference path);
- the token mask marks the truth word's token (a byte-level BPE token with its leading space);
- an oracle that knows the truth (the exact checker re-run on the edited text) localises with
  AUROC close to 1 through the same mask and AUROC, so the orientation is right;
- :func:`g2r_lens.faithfulness.truth_reliance` (the verdict with every truth token replaced) equals
  the same hand-built reference.
"""

import numpy as np
import pytest
import torch

from g2r_lens import attribute
from g2r_lens.faithfulness import auroc, truth_reliance
from g2r_lens.spans import token_mask_for_char_spans
from g2r_lens.world.bundle import have_models, load_judge, load_tasks, world_examples
from g2r_lens.world.checker import check

pytestmark = pytest.mark.skipif(not have_models(), reason="bundled checkpoints not built yet")


@pytest.fixture(scope="module")
def world_run():
    judge = load_judge("external", device="cpu", dtype="float32")
    exs = world_examples("test", 8, seed=0, modes=("noisy", "good", "mixed", "misplaced"))
    run = attribute(judge, exs, ["leave_one_out"], batch_size=16, seed=0, progress=False)
    pairs = []
    for ex, res in zip(exs, run.examples):
        for k, c in enumerate(res.criteria):
            spans = ex.meta["truth_spans"][k]
            if c.verdict and ex.meta["checker"][k] and ex.meta["local"][k] and spans:
                labels = token_mask_for_char_spans(res.offsets, [tuple(s) for s in spans])
                if labels.any() and not labels.all():
                    pairs.append((ex, res, k, labels))
    assert len(pairs) >= 5
    return judge, pairs


def _logp_true_text(judge, prompt, criterion, response):
    """log p(True) of the whole judge prompt, tokenized in one go, through the raw HF model."""
    text = judge.render(prompt, criterion, response)
    ids = judge.tokenizer(text, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = judge.model(input_ids=torch.tensor([ids])).logits[0, -1].float()
    logp = torch.log_softmax(logits, -1)
    return float(logp[judge.true_id]), float(logp[judge.false_id]), ids


def _replace_chars(text, spans, by):
    out, pos = [], 0
    for a, b in sorted(spans):
        out += [text[pos:a], by]
        pos = b
    return "".join(out + [text[pos:]])


def test_truth_mask_marks_the_truth_word_token(world_run):
    _, pairs = world_run
    for ex, res, k, labels in pairs:
        words = sorted(ex.response[a:b].lower() for a, b in ex.meta["truth_spans"][k])
        marked = sorted(res.tokens[i].strip().lower() for i in np.nonzero(labels)[0])
        assert marked == words  # one token per truth word here (the world's content words are single tokens)
        for i in np.nonzero(labels)[0]:
            a, b = res.offsets[i]
            assert res.tokens[i] == ex.response[a:b]


def test_loo_of_truth_token_equals_hand_edited_prompt(world_run):
    judge, pairs = world_run
    neutral = judge.tokenizer.decode([judge.neutral_id])
    assert neutral == " "
    for ex, res, k, labels in pairs:
        crit = ex.rubric[k].text
        base, _, ids = _logp_true_text(judge, ex.prompt, crit, ex.response)
        assert ids == judge.encode(ex, k).input_ids  # the reference tokenizes the prompt as the engine does
        loo = res.methods["leave_one_out"].scores[k]
        for i in np.nonzero(labels)[0]:
            edited = _replace_chars(ex.response, [res.offsets[i]], neutral)
            lt, _, _ = _logp_true_text(judge, ex.prompt, crit, edited)
            assert float(loo[i]) == pytest.approx(base - lt, abs=2e-4)


def test_checker_oracle_localises_through_the_same_mask_and_auroc(world_run):
    """Score a token 1 when replacing it makes the exact checker call the criterion False: the
    perfect counterfactual judge. Its AUROC against the truth mask must be near 1 (it is ~0.99 on
    the world: the truth word's removal always flips the checker, a rare other token, e.g. the only
    verb of the sentence, sometimes does)."""
    _, pairs = world_run
    tasks = {t.id: t for t in load_tasks("test")}
    scores, reversed_ = [], []
    for ex, res, k, labels in pairs:
        task, r = tasks[ex.meta["task_id"]], ex.response
        flips = np.asarray([not check(task, r[:a] + " " + r[b:]).criteria[k].satisfied for a, b in res.offsets], float)
        assert flips[labels].all()  # removing a (single) truth word always flips the checker
        scores.append(auroc(flips, labels))
        reversed_.append(auroc(-flips, labels))
    assert np.mean(scores) > 0.95
    assert np.mean(reversed_) < 0.05  # the orientation: higher score = more truth-like


def test_truth_reliance_equals_hand_edited_prompt(world_run):
    judge, pairs = world_run
    for ex, res, k, labels in pairs[:4]:
        crit = ex.rubric[k].text
        rel = truth_reliance(judge, ex, k, labels)
        base_t, base_f, _ = _logp_true_text(judge, ex.prompt, crit, ex.response)
        edited = _replace_chars(ex.response, [res.offsets[i] for i in np.nonzero(labels)[0]], " ")
        lt, lf, _ = _logp_true_text(judge, ex.prompt, crit, edited)
        assert rel.full == pytest.approx((base_t, base_f), abs=2e-4)
        assert rel.removed == pytest.approx((lt, lf), abs=2e-4)
        assert rel.drop == pytest.approx(base_t - lt, abs=2e-4)
        assert rel.flips == (base_t > base_f and not lt > lf)
    with pytest.raises(Exception):
        truth_reliance(judge, pairs[0][0], pairs[0][2], pairs[0][3][:-1])
