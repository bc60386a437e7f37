"""World v2 recipe: policy data, counterfactual twins, class-weighted verdict loss, resumable
training, half-precision weights, and the policy report's measures (hand-checked)."""

from __future__ import annotations

import os
import random
import re

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from g2r_lens.world import check, generate_tasks, sample_response  # noqa: E402
from g2r_lens.world.responses import counterfactual_twin  # noqa: E402
from g2r_lens.world.vocab import AVOID_TOPICS, EVENTS, ITEMS, NAMES, PLACES, RUDE_WORDS, WEEKDAYS  # noqa: E402


@pytest.fixture(scope="module")
def tasks():
    return generate_tasks(150, seed=3, split="train")


def _words(text):
    return re.findall(r"[A-Za-z0-9]+", text)


def test_mixed_mode_reads_the_prompt_and_is_mixed(tasks):
    """The policy's data: greeting with the prompt's name almost always, each prompt fact right most
    of the time, and every criterion kind neither always nor never satisfied."""
    rng = random.Random(0)
    greet, facts, kinds = [], {"event": [], "place": [], "day": []}, {}
    for t in tasks:
        for _ in range(2):
            r = sample_response(t, rng, "mixed")
            name = t.slots["name"]
            greet.append(re.search(rf"\b(hi|hello|dear|hey),? {name}\b", r, re.I) is not None)
            for f in facts:
                facts[f].append(str(t.slots[f]).lower() in [w.lower() for w in _words(r)])
            for c in check(t, r).criteria:
                kinds.setdefault(c.kind, []).append(c.satisfied)
    assert sum(greet) / len(greet) > 0.9
    for f, v in facts.items():
        assert sum(v) / len(v) > 0.6, f
    for k, v in kinds.items():
        assert 0.25 < sum(v) / len(v) < 0.9, k


@pytest.mark.parametrize("how", ["swap", "blank", "other", "drop"])
def test_counterfactual_twins_are_minimal_pairs(tasks, how):
    """A twin differs from its response only at one criterion's truth words (a same-type word, no
    word, a word of another type) or by dropping whole sentences, and the checker's verdict of that
    criterion flips to False."""
    pools = [{str(w).lower() for w in p} for p in (NAMES, EVENTS, PLACES, WEEKDAYS, ITEMS, AVOID_TOPICS,
                                                    RUDE_WORDS)]
    rng = random.Random(1)
    n = 0
    for t in tasks:
        r = sample_response(t, rng, "good")
        tw = counterfactual_twin(t, r, rng, edits={how: 1.0})
        if tw is None:
            continue
        n += 1
        a, b = check(t, r), check(t, tw)
        flipped = [x.satisfied and not y.satisfied and x.local for x, y in zip(a.criteria, b.criteria)]
        wa, wb = _words(r), _words(tw)
        if how in ("swap", "other"):
            assert len(wa) == len(wb)
            diff = [(x, y) for x, y in zip(wa, wb) if x != y]
            assert diff
            for x, y in diff:  # swap: same type (both numbers, or both from one pool); other: never
                same = (x.isdigit() and y.isdigit()) or any(x.lower() in p and y.lower() in p for p in pools)
                assert same == (how == "swap"), (x, y)
            assert any(flipped), (r, tw)
        elif how == "blank":  # the truth words deleted, everything else in place
            assert len(wb) < len(wa) and len(wa) - len(wb) <= 2
            it = iter(wa)
            assert all(w in it for w in wb)  # wb is a subsequence of wa
            assert any(flipped), (r, tw)
        else:
            assert len(wb) < len(wa) and set(wb) <= set(wa)
    assert n > 50


def test_contrast_weights_mark_the_verdicts_a_twin_flips(tasks):
    """mark_contrasts weighs exactly the criteria whose checker labels differ between a response and
    its twin (on both), nothing on unpaired items; the weighted loss is the hand formula."""
    from g2r_lens.testing import tiny_judge
    from g2r_lens.world.corpus import judge_item, mark_contrasts
    from g2r_lens.world.formats import TEMPLATES
    from g2r_lens.world.training import judge_logits, judge_loss
    from g2r_lens.judge import Judge

    tj = tiny_judge("llama", "chat", layers=1, hidden=32)
    j = Judge(tj.model, tj.tokenizer, TEMPLATES["after"])
    rng = random.Random(5)
    items, expect = [], []
    for t in tasks[:12]:
        r = sample_response(t, rng, "good")
        tw = counterfactual_twin(t, r, rng, edits={"swap": 1.0})
        a = judge_item(j, t, r, "good")
        items.append(a)
        if tw is None:
            expect.append(None)
            continue
        b = judge_item(j, t, tw, "twin")
        items.append(b)
        diff = [x != y for x, y in zip(a.labels, b.labels)]
        assert any(diff)
        expect += [diff, diff]
    items.append(judge_item(j, tasks[20], sample_response(tasks[20], rng, "noisy"), "twin"))  # no original
    expect.append(None)
    out = mark_contrasts(items, 3.0)
    for it, d in zip(out, expect):
        assert it.weights == (None if d is None else [3.0 if x else 1.0 for x in d])
    with torch.no_grad():
        logits = judge_logits(j.model, out, j.pad_id).log_softmax(-1)
        loss, _ = judge_loss(j.model, out, j.pad_id, j.true_id, j.false_id, 0.0, False)
    labels = [y for it in out for y in it.labels]
    w = [x for it in out for x in (it.weights or [1.0] * len(it.labels))]
    nll = [-logits[i, j.true_id if y else j.false_id].item() for i, y in enumerate(labels)]
    assert loss.item() == pytest.approx(sum(a * b for a, b in zip(w, nll)) / sum(w), rel=1e-4)
    r = sample_response(tasks[0], random.Random(1), "good")
    tw = counterfactual_twin(tasks[0], r, random.Random(2), edits={"swap": 1.0})
    fresh = [judge_item(j, tasks[0], r, "good"), judge_item(j, tasks[0], tw, "twin")]
    assert fresh[0].labels != fresh[1].labels
    assert [it.weights for it in mark_contrasts(fresh, 1.0)] == [None, None]  # weight 1: nothing to mark


def test_class_weighted_verdict_loss_matches_hand_formula():
    from g2r_lens.testing import tiny_judge
    from g2r_lens.world.corpus import judge_item
    from g2r_lens.world.formats import TEMPLATES
    from g2r_lens.world.training import judge_logits, judge_loss

    j = tiny_judge("llama", "chat", layers=1, hidden=32)
    from g2r_lens.judge import Judge

    j = Judge(j.model, j.tokenizer, TEMPLATES["before"])
    ts = generate_tasks(3, seed=2, split="train")
    rng = random.Random(0)
    items = [judge_item(j, t, sample_response(t, rng, "noisy"), "noisy") for t in ts]
    labels = [y for it in items for y in it.labels]
    assert 0 < sum(labels) < len(labels)
    with torch.no_grad():
        logits = judge_logits(j.model, items, j.pad_id)
        loss, _ = judge_loss(j.model, items, j.pad_id, j.true_id, j.false_id, 0.0, True)
        plain, _ = judge_loss(j.model, items, j.pad_id, j.true_id, j.false_id, 0.0, False)
    logp = logits.log_softmax(-1)
    nll_t = [-logp[i, j.true_id].item() for i, y in enumerate(labels) if y]
    nll_f = [-logp[i, j.false_id].item() for i, y in enumerate(labels) if not y]
    assert loss.item() == pytest.approx(0.5 * sum(nll_t) / len(nll_t) + 0.5 * sum(nll_f) / len(nll_f), rel=1e-4)
    assert plain.item() == pytest.approx((sum(nll_t) + sum(nll_f)) / len(labels), rel=1e-4)


def test_training_resumes_from_its_checkpoint(tmp_path):
    from g2r_lens.world.training import train

    model = torch.nn.Linear(3, 1)
    x = torch.randn(8, 3)
    calls = []

    def loss_fn(step):
        calls.append(step)
        if step == 5 and len(calls) == 6:
            raise KeyboardInterrupt  # killed after the step-4 checkpoint
        return model(x).pow(2).mean(), {}

    ckpt = tmp_path / "stage.ckpt"
    with pytest.raises(KeyboardInterrupt):
        train(model, 8, 1e-2, loss_fn, "t", [], checkpoint=ckpt, every=2)
    assert ckpt.exists()
    calls.clear()
    train(model, 8, 1e-2, loss_fn, "t", [], checkpoint=ckpt, every=2)
    assert calls == [4, 5, 6, 7] and not ckpt.exists()


def test_half_precision_weights_load_as_fp32(tmp_path):
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    from g2r_lens.testing import tiny_judge
    from g2r_lens.world.build import save_half

    model = tiny_judge("llama", "chat", layers=1, hidden=32).model
    save_half(model, tmp_path)
    assert {v.dtype for v in load_file(tmp_path / "model.safetensors").values()} == {torch.float16}
    back = AutoModelForCausalLM.from_pretrained(tmp_path)
    assert next(back.parameters()).dtype == torch.float32
    for (n, a), (_, b) in zip(model.state_dict().items(), back.state_dict().items()):
        assert torch.allclose(a.float(), b, atol=1e-2, rtol=1e-3), n


def test_policy_report_measures_on_hand_examples():
    from g2r_lens.world.report import _phi_pairs, fact_correct, greets_name, prompt_facts
    from g2r_lens.world.schema import Task

    t = Task("x", "Send Paul a note about the movie at the beach on Tuesday. Say that 7 people are coming. "
                  "Ask them to bring the guitar.", [],
             slots={"name": "Paul", "event": "movie", "place": "beach", "day": "Tuesday", "number": 7,
                    "item": "guitar", "avoid": "rain"})
    assert prompt_facts(t) == {"event": "movie", "place": "beach", "day": "Tuesday", "number": "7", "item": "guitar"}
    t2 = Task("y", "Tell Sam about the fair on Monday at the park.", [],
              slots={"name": "Sam", "event": "fair", "place": "park", "day": "Monday", "number": 4, "item": "map"})
    assert set(prompt_facts(t2)) == {"event", "place", "day"}
    assert greets_name("Paul", "Hi Paul, I hope you are well.") and greets_name("Paul", "Dear paul!")
    assert not greets_name("Paul", "Dear Sam, Paul says hi.") and not greets_name("Paul", "Hi Pauline.")
    assert fact_correct("number", "7", "There will be 7 guests.") and not fact_correct("number", "7", "At 7 pm.")
    assert fact_correct("place", "beach", "At the Beach.") and not fact_correct("place", "beach", "beaches")
    # rows: samples, columns: criteria c0=1100, c1=1010, c2=1010, c3=0101; by hand phi(c0, c1) = 0,
    # phi(c0, c2) = 0, phi(c0, c3) = 0, phi(c1, c2) = 1, phi(c1, c3) = -1, phi(c2, c3) = -1
    rows = [[1, 1, 1, 0], [1, 0, 0, 1], [0, 1, 1, 0], [0, 0, 0, 1]]
    assert _phi_pairs(rows) == pytest.approx([0.0, 0.0, 0.0, 1.0, -1.0, -1.0], abs=1e-9)
    assert _phi_pairs([[1, 0], [1, 1]]) == []  # a constant criterion has no correlation


def test_build_knobs_from_the_command_line():
    from g2r_lens.errors import WorldError
    from g2r_lens.world.build import BuildConfig
    from g2r_lens.cli.world import set_knob

    cfg = BuildConfig()
    for item in ("policy_steps=3000", "lr=0.001", "template=after", "balance=false", "judge.layers=2"):
        set_knob(cfg, item)
    assert (cfg.policy_steps, cfg.lr, cfg.template, cfg.balance, cfg.judge.layers) == (3000, 1e-3, "after", False, 2)
    for bad in ("policy_steps", "nope=1", "policy_steps=many", "judge.width=3", "balance=maybe"):
        with pytest.raises(WorldError):
            set_knob(cfg, bad)


def test_a_world_folder_names_its_judge_layout(tmp_path):
    """Judges load with the layout they were trained with: build.json's config.template; a world
    from before layouts were recorded (no key) used the rule-after layout."""
    import json

    from g2r_lens.world.formats import (RULE_AFTER_TEMPLATE, RULE_BEFORE_TEMPLATE, WORLD_TEMPLATE,
                                        world_template)

    assert RULE_BEFORE_TEMPLATE.user.index("{criterion}") < RULE_BEFORE_TEMPLATE.user.index("{response}")
    assert RULE_AFTER_TEMPLATE.user.index("{criterion}") > RULE_AFTER_TEMPLATE.user.index("{response}")
    assert world_template(None) is WORLD_TEMPLATE and world_template(tmp_path) is WORLD_TEMPLATE
    (tmp_path / "build.json").write_text(json.dumps({"config": {"seed": 0}}))
    assert world_template(tmp_path) is RULE_AFTER_TEMPLATE
    (tmp_path / "build.json").write_text(json.dumps({"config": {"template": "before"}}))
    assert world_template(tmp_path) is RULE_BEFORE_TEMPLATE


def test_recorded_world_commands_hold_no_machine_path(tmp_path, monkeypatch):
    """build.json and judge_quality.json record the command line; absolute folders of the machine
    become ``DIR`` (or a path relative to the working directory when they lie under it)."""
    from g2r_lens.cli.world import portable_command

    monkeypatch.chdir(tmp_path)
    outside = str(tmp_path.parent / "elsewhere" / "w")
    inside = str(tmp_path / "runs" / "w")
    assert portable_command("build", ["g2r", "world", "build", "--seed", "1", "--out", outside]) == \
        "g2r world build --seed 1 --out DIR"
    assert portable_command("report", ["g2r", "world", "report", f"--data={inside}", "--out", "res"]) == \
        "g2r world report --data=runs/w --out res"
    assert portable_command("report", ["python", "-m", "x"]) == "g2r world report"


def test_extra_criteria_are_new_distinct_and_checker_labelled():
    """Extra judge criteria: k of them (at most as many as the scene offers), none repeating a rubric
    text or each other; the checker labels them on the extended task (what the judge trains on)
    without changing its answers for the rubric's own criteria."""
    import random as _random

    from g2r_lens.world.checker import check
    from g2r_lens.world.corpus import extra_criteria, with_extra_criteria
    from g2r_lens.world.prompts import generate_tasks
    from g2r_lens.world.responses import sample_response

    rng = _random.Random(3)
    for task in generate_tasks(12, seed=5, split="validation"):
        extra = extra_criteria(task, rng, 6)
        texts = [c.text for c in extra]
        assert len(extra) == 6 and len(set(texts)) == 6
        assert not set(texts) & {c.text for c in task.rubric}
        assert len(extra_criteria(task, rng, 500)) < 500  # bounded by the scene's candidates
        assert extra_criteria(task, rng, 0) == [] and with_extra_criteria(task, rng, 0) is task
        longer = with_extra_criteria(task, rng, 4)
        assert longer.prompt == task.prompt and longer.rubric[:len(task.rubric)] == task.rubric
        response = sample_response(task, rng, "mixed")
        res = check(longer, response)
        assert [c.text for c in res.criteria][len(task.rubric):] == [c.text for c in longer.rubric[len(task.rubric):]]
        assert res.criteria[:len(task.rubric)] == check(task, response).criteria
