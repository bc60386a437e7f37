"""The rubric world: generator, splits, JSONL, exact checker on hand-written responses, sampler."""

from __future__ import annotations

import json
import os
import random
import statistics

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from g2r_lens.errors import G2RError, WorldError  # noqa: E402
from g2r_lens.world import (RESPONSE_MODES, Criterion, Task, analyze_response, check,  # noqa: E402
                            generate_tasks, load_splits, make_criterion, make_splits, read_tasks,
                            sample_response, scene_split, token_truth, write_splits)

# --------------------------------------------------------------------------------------------
# A hand-written task (constructors only, no generator)
# --------------------------------------------------------------------------------------------
PROMPT = ("Write a note to Maya about the picnic at the park on Friday. Say that 7 people are "
          "coming. Do not mention the rain. Use at most 3 sentences.")


def spec(check, words=(), n=0):
    return {"check": check, "words": list(words), "n": n}


PICNIC = Criterion("The response mentions the picnic.", 2.0, "required", True,
                   spec("mention", ["picnic"]))
GREET = Criterion("The response greets the person named in the prompt.", 1.0, "prompt_dependent",
                  True, spec("greet", ["Maya"]))
COUNT = Criterion("The response states the number of people given in the prompt.", 2.0,
                  "prompt_dependent", True, spec("count", ["people", "guests"], 7))
DAY = Criterion("The response gives the day named in the prompt.", 1.0, "prompt_dependent", True,
                spec("day", ["Friday"]))
RAIN = Criterion("The response mentions the rain.", -2.0, "forbidden", True,
                 spec("avoid", ["rain"]))
MAX3 = Criterion("The response uses at most 3 sentences.", 1.0, "nonlocal", False,
                 spec("max_sentences", n=3))
TASK = Task("hand-1", PROMPT, [PICNIC, GREET, COUNT, DAY, RAIN, MAX3])
NAMES = ["picnic", "greet", "count", "day", "rain", "max3"]
POS = 2 + 1 + 2 + 1 + 1  # sum of positive weights = 7

ORDER_TASK = Task("hand-2", "Tell Tom about the game on Sunday at the lake. Mention the day before "
                  "the place. Use at most 12 words.", [
                      Criterion("The response mentions the day before the place.", 1.0, "nonlocal",
                                False, spec("order", ["Sunday", "lake"])),
                      Criterion("The response uses at most 12 words.", 1.0, "nonlocal", False,
                                spec("max_words", n=12)),
                      Criterion("The response names the place given in the prompt.", 2.0,
                                "prompt_dependent", True, spec("mention", ["lake"])),
                      Criterion("The response contains a rude word.", -3.0, "forbidden", True,
                                spec("avoid", ["stupid", "lazy"])),
                  ])


def verdicts(task, response):
    res = check(task, response)
    return dict(zip(NAMES, res.satisfied)) if task is TASK else res.satisfied, res


def truth(res, i, response):
    return [response[s:e] for s, e in res.criteria[i].truth_spans]


# --------------------------------------------------------------------------------------------
# Checker on hand-written responses
# --------------------------------------------------------------------------------------------
def test_perfect_response_and_truth_spans():
    r = "Hi Maya, the picnic is at the park on Friday. 7 people are coming. See you there."
    v, res = verdicts(TASK, r)
    assert v == {"picnic": True, "greet": True, "count": True, "day": True, "rain": False,
                 "max3": True}
    assert res.score == pytest.approx(1.0)
    assert truth(res, 0, r) == ["picnic"]
    assert truth(res, 1, r) == ["Maya"]
    assert truth(res, 2, r) == ["7"]          # the digits, not the noun
    assert truth(res, 3, r) == ["Friday"]
    assert res.criteria[4].truth_spans == []  # forbidden, not present
    assert res.criteria[5].truth_spans == []  # nonlocal: never any truth


def test_empty_and_blank_responses_satisfy_nothing():
    for r in ("", "   ", "...", "\n!?\n"):
        v, res = verdicts(TASK, r)
        assert not any(v.values()), r
        assert res.score == 0.0
        assert all(c.truth_spans == [] for c in res.criteria)


def test_word_inside_a_word_does_not_count():
    r = ("Hi Mayan, the picnics at the parking lot on Fridays are fun. "
         "We saw a rainbow and 17 people are coming.")
    v, res = verdicts(TASK, r)
    assert v == {"picnic": False, "greet": False, "count": False, "day": False, "rain": False,
                 "max3": True}
    assert res.score == pytest.approx(1 / POS)


def test_case_insensitive_and_spans_keep_original_case():
    r = "HI MAYA, THE PICNIC IS ON FRIDAY. 7 PEOPLE ARE COMING."
    v, res = verdicts(TASK, r)
    assert all(v[k] for k in ("picnic", "greet", "count", "day", "max3")) and not v["rain"]
    assert truth(res, 1, r) == ["MAYA"] and truth(res, 0, r) == ["PICNIC"]


def test_contradictory_number_fails_but_other_numbers_do_not_contradict():
    r = "Hi Maya, the picnic is on Friday. 7 people are coming. Sorry, I mean 9 people."
    v, res = verdicts(TASK, r)
    assert v["count"] is False and "9" in res.criteria[2].reason
    assert v["picnic"] and v["greet"] and v["day"] and v["max3"]
    assert res.score == pytest.approx((2 + 1 + 1 + 1) / POS)
    # a number used for something else (a time) is not a statement of the number of people
    r2 = "Hi Maya, the picnic starts at 9 on Friday. 7 people are coming."
    v2, res2 = verdicts(TASK, r2)
    assert v2["count"] is True and truth(res2, 2, r2) == ["7"]


def test_number_words_do_not_count_digits_only():
    v, _ = verdicts(TASK, "Hi Maya, seven people are coming to the picnic.")
    assert v["count"] is False and v["picnic"] is True


def test_contradictory_day_and_greeting():
    v, _ = verdicts(TASK, "The picnic is on Friday or Saturday. It will be fun.")
    assert v["day"] is False and v["picnic"] is True
    v, res = verdicts(TASK, "Hi Tom, hi Maya, the picnic is on Friday.")
    assert v["greet"] is False and "tom" in res.criteria[1].reason
    # a name without a greeting word does not greet; a bare greeting sentence does
    assert verdicts(TASK, "Maya, the picnic is on Friday.")[0]["greet"] is False
    v, res = verdicts(TASK, "Hi Maya! The picnic is on Friday.")
    assert v["greet"] is True and res.criteria[1].truth_spans == [(3, 7)]


def test_negation_is_literal_for_both_signs():
    r = "Hi Maya, there will be no picnic and no rain on Friday."
    v, res = verdicts(TASK, r)
    assert v["picnic"] is True        # "no picnic" still mentions the picnic
    assert v["rain"] is True          # and "no rain" still mentions the rain
    assert truth(res, 4, r) == ["rain"]
    assert res.score == pytest.approx((2 + 1 + 1 + 1 - 2) / POS)


def test_repeated_sentences_count_once_and_break_the_length_limit():
    r = "The picnic is on Friday. " * 4
    v, res = verdicts(TASK, r.strip())
    assert v["picnic"] and v["day"] and not v["max3"]
    assert truth(res, 0, r) == ["picnic"]          # only the first copy is counted
    assert res.criteria[0].truth_spans == [(4, 10)]
    sents = analyze_response(r)
    assert len(sents) == 4 and [s.counted for s in sents] == [True, False, False, False]


def test_keyword_list_earns_nothing_but_forbidden_words_still_fire():
    r = "Maya picnic Friday 7 people park rain"
    v, res = verdicts(TASK, r)
    assert v == {"picnic": False, "greet": False, "count": False, "day": False, "rain": True,
                 "max3": False}
    assert res.score == pytest.approx(-2 / POS)
    assert verdicts(TASK, "Maya, picnic, Friday, 7 people, park.")[1].score == 0.0  # no verb


def test_fragment_and_runon():
    r = "Hi Maya, the picnic is on Friday. 7 people are"
    v, _ = verdicts(TASK, r)
    assert v["picnic"] and v["greet"] and v["day"] and v["max3"]
    assert v["count"] is False        # the cut-off sentence does not count
    runon = ("hi Maya the picnic is on Friday and 7 people are coming and we will have food "
             "and music and it will be fun and you can bring a friend and we can stay late and "
             "see you there.")
    v, res = verdicts(TASK, runon)
    assert not any(v.values()) and res.score == 0.0
    assert analyze_response(runon)[0].reason.startswith("run-on")


def test_copied_prompt_sentences_do_not_count():
    r = "Say that 7 people are coming. Do not mention the rain."
    v, res = verdicts(TASK, r)
    assert v["count"] is False and v["max3"] is False  # nothing counted
    assert v["rain"] is True                           # but the forbidden word is there
    assert res.score == pytest.approx(-2 / POS)
    # the same content in the response's own words counts
    assert verdicts(TASK, "I can say that 7 people are coming.")[0]["count"] is True


def test_possessive_and_sentence_counting():
    v, _ = verdicts(TASK, "Maya's picnic is on Friday!")
    assert v["picnic"] and v["day"] and not v["greet"]
    sents = analyze_response("Hi Maya! The picnic is on Friday?! Yes. See you")
    assert len(sents) == 4
    assert [s.terminated for s in sents] == [True, True, True, False]
    assert [s.counted for s in sents] == [True, True, False, False]  # "Yes." too short
    r = "Hi Maya! The picnic is on Friday?! Yes. See you there."
    assert verdicts(TASK, r)[0]["max3"] is False  # 4 sentences > 3


def test_order_and_max_words():
    t = ORDER_TASK
    assert check(t, "On Sunday we meet at the lake.").satisfied == [True, True, True, False]
    assert check(t, "We meet at the lake on Sunday.").satisfied == [False, True, True, False]
    assert check(t, "We meet on Sunday.").satisfied == [False, True, False, False]
    twelve = "On Sunday we will all meet at the lake and have fun."
    thirteen = "On Sunday we will all meet at the lake and have some fun."
    assert check(t, twelve).satisfied[1] is True
    assert check(t, thirteen).satisfied[1] is False
    # "naps" is not in VERBS: no verb, no sentence, no credit (the rule is exact, not clever)
    assert check(t, "On Sunday the lazy dog naps by the lake.").satisfied == \
        [False, False, False, True]
    res = check(t, "On Sunday the lazy dog is at the lake.")
    assert res.satisfied == [True, True, True, True]
    assert res.score == pytest.approx((1 + 1 + 2 - 3) / 4)
    assert [res.response[s:e] for s, e in res.criteria[3].truth_spans] == ["lazy"]


def test_check_accepts_dicts_and_rejects_criteria_without_spec():
    assert check(TASK.to_dict(), "Hi Maya, the picnic is on Friday.").score == \
        check(TASK, "Hi Maya, the picnic is on Friday.").score
    with pytest.raises(WorldError):
        Criterion.from_dict({"criterion": "The response is nice.", "weight": 1.0})


@pytest.mark.parametrize("bad", [
    lambda: Criterion.from_dict({"criterion": "x", "spec": spec("mention", ["picnic"])}),  # no weight
    lambda: Criterion("x", "heavy", spec=spec("mention", ["picnic"])),
    lambda: Criterion("x", float("nan"), spec=spec("mention", ["picnic"])),
    lambda: Criterion("x", 1.0, kind="optional", spec=spec("mention", ["picnic"])),
    lambda: Criterion("x", 1.0, spec=spec("rhyme")),
    lambda: make_criterion("rhyme", 1.0),
    lambda: Task.from_dict({"id": "t", "rubric": []}),  # no prompt
    lambda: Task.from_dict(["not", "a", "task"]),
    lambda: Task.from_dict({"id": "t", "prompt": "p", "rubric": "mention the picnic"}),
    lambda: Criterion.from_dict({"criterion": "x", "weight": 1, "spec": ["mention"]}),
    lambda: Criterion("x", 1.0, spec={"check": "max_words", "n": "forty"}),
    lambda: generate_tasks(1, split="holdout"),
    lambda: check(Task("t", "p", [Criterion("x", 1.0, "nonlocal", False, spec("order", ["Friday"]))]),
                  "On Friday we meet at the park."),
])
def test_malformed_world_inputs_raise_world_errors(bad):
    with pytest.raises(WorldError) as e:
        bad()
    assert isinstance(e.value, G2RError) and str(e.value)


def test_read_tasks_names_the_bad_line(tmp_path):
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps(TASK.to_dict()) + "\n\n{not json\n")
    with pytest.raises(WorldError, match=r"tasks.jsonl:3"):
        read_tasks(path)
    path.write_text(json.dumps({"id": "t", "prompt": "p"}) + "\n")
    with pytest.raises(WorldError, match=r"tasks.jsonl:1: task 't' has no 'rubric'"):
        read_tasks(path)


def test_token_truth():
    r = "Hi Maya, the picnic is fun."
    res = check(TASK, r)
    # a special token (0, 0), then "Hi", " Maya", ",", " the", " pic", "nic", " is", " fun", "."
    offsets = [(0, 0), (0, 2), (2, 7), (7, 8), (8, 12), (12, 16), (16, 19), (19, 22), (22, 26),
               (26, 27)]
    assert token_truth(res.criteria[0], offsets) == [False] * 5 + [True, True] + [False] * 3
    assert token_truth(res.criteria[1], offsets) == [False, False, True] + [False] * 7
    assert token_truth([(5, 6)], [(0, 5), (4, 6), (6, 9)]) == [False, True, False]
    assert res.criteria[5].satisfied and token_truth(res.criteria[5], offsets) == [False] * 10


def test_score_without_positive_weight_is_zero():
    """The checker's convention (the engine's rubric normaliser raises instead)."""
    t = Task("neg", PROMPT, [RAIN])
    assert check(t, "There will be no rain.").satisfied == [True]
    assert check(t, "There will be no rain.").score == 0.0


# --------------------------------------------------------------------------------------------
# Generator, splits, files
# --------------------------------------------------------------------------------------------
def test_generator_is_deterministic_per_seed_and_split():
    a = [t.to_dict() for t in generate_tasks(30, seed=3, split="train")]
    b = [t.to_dict() for t in generate_tasks(30, seed=3, split="train")]
    c = [t.to_dict() for t in generate_tasks(30, seed=4, split="train")]
    assert a == b
    assert [x["prompt"] for x in a] != [x["prompt"] for x in c]
    assert len({x["prompt"] for x in a}) == 30


def test_rubric_rules_hold():
    tasks = generate_tasks(300, seed=0, split="train")
    kinds_seen = set()
    for t in tasks:
        t.validate()
        kinds = [c.kind for c in t.rubric]
        assert 3 <= len(t.rubric) <= 6
        assert "nonlocal" in kinds and "prompt_dependent" in kinds
        assert any(c.weight > 0 for c in t.rubric)
        for c in t.rubric:
            assert c.local == (c.kind != "nonlocal")
            assert (c.weight < 0) == (c.kind == "forbidden")
            assert 1 <= abs(c.weight) <= 3
            if c.kind == "prompt_dependent":  # the text refers to the prompt, not the answer
                for w in c.spec["words"] + [str(c.spec["n"])]:
                    if w not in ("people", "guests", "0"):
                        assert w.lower() not in c.text.lower(), (c.text, w)
                        assert w.lower() in t.prompt.lower(), (t.prompt, w)
        kinds_seen.update(kinds)
    assert kinds_seen == {"required", "forbidden", "prompt_dependent", "nonlocal"}


def test_splits_are_disjoint():
    sp = make_splits(seed=0, n_train=400, n_val=60, n_test=60)
    prompts = {k: {t.prompt for t in v} for k, v in sp.items()}
    scenes = {k: {(t.slots["name"], t.slots["event"], t.slots["place"], t.slots["day"])
                  for t in v} for k, v in sp.items()}
    for a in sp:
        for b in sp:
            if a < b:
                assert not prompts[a] & prompts[b]
                assert not scenes[a] & scenes[b]
    for k in sp:
        assert {scene_split(*s) for s in scenes[k]} == {k}
    # another seed's test split never meets this seed's train split
    other = {t.prompt for t in generate_tasks(60, seed=1, split="test")}
    assert not other & prompts["train"]


def test_jsonl_round_trip_and_datasets_loading(tmp_path):
    sp = make_splits(seed=0, n_train=20, n_val=5, n_test=5)
    paths = write_splits(tmp_path, splits=sp)
    assert sorted(p.name for p in paths.values()) == ["test.jsonl", "train.jsonl",
                                                     "validation.jsonl"]
    back = load_splits(tmp_path)
    for k in sp:
        assert [t.to_dict() for t in back[k]] == [t.to_dict() for t in sp[k]]
    line = json.loads(paths["train"].read_text().splitlines()[0])
    assert set(line) >= {"id", "prompt", "rubric"}
    assert set(line["rubric"][0]) >= {"criterion", "weight", "kind", "local", "spec"}
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("json", data_files={k: str(p) for k, p in paths.items()},
                               cache_dir=str(tmp_path / "cache"))
    assert ds["train"].num_rows == 20 and ds["test"].num_rows == 5
    row = ds["validation"][0]
    t = Task.from_dict(row)  # arrow fills absent keys with None; from_dict tolerates it
    assert t.to_dict() == sp["validation"][0].to_dict()
    r = "Hi, this is a short note."
    assert check(row, r).score == check(sp["validation"][0], r).score


# --------------------------------------------------------------------------------------------
# Sampler
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sampled():
    tasks = generate_tasks(120, seed=0, split="train")
    out = {}
    for mode in RESPONSE_MODES:
        rng = random.Random(11)
        rows = []
        for t in tasks:
            r = sample_response(t, rng, mode)
            rows.append((t, r, check(t, r)))
        out[mode] = rows
    return out


def test_sampler_is_deterministic_and_rejects_unknown_modes():
    t = generate_tasks(1, seed=0, split="test")[0]
    for mode in RESPONSE_MODES:
        assert sample_response(t, random.Random(5), mode) == sample_response(t, random.Random(5),
                                                                             mode)
    with pytest.raises(WorldError):
        sample_response(t, random.Random(0), "sloppy")


def test_sampler_modes_have_their_documented_scores(sampled):
    mean = {m: statistics.mean(res.score for _, _, res in rows) for m, rows in sampled.items()}
    assert mean["good"] > 0.95
    assert 0.2 <= mean["noisy"] <= 0.6
    assert mean["keywords"] <= 0.05 and mean["runon"] <= 0.05
    assert mean["repeat"] < 0.5 and mean["fragment"] < mean["good"] - 0.1
    assert mean["misplaced"] < mean["good"] - 0.1
    # noisy responses are really mixed: some perfect, many partial, some negative
    noisy = [res.score for _, _, res in sampled["noisy"]]
    assert statistics.pstdev(noisy) > 0.15 and min(noisy) < 0.2 and max(noisy) == 1.0


def test_sampler_lengths_and_shapes(sampled):
    words = {m: statistics.mean(len(r.split()) for _, r, _ in rows) for m, rows in sampled.items()}
    for m in ("good", "noisy", "misplaced", "repeat"):
        assert 25 <= words[m] <= 70, (m, words[m])
    assert words["runon"] > 45 and words["fragment"] >= 20
    for _, r, _ in sampled["fragment"]:
        assert not analyze_response(r)[-1].terminated
    for _, r, _ in sampled["runon"]:
        assert not any(s.counted for s in analyze_response(r))
    for _, r, _ in sampled["keywords"]:
        assert not any(s.counted and len(s.words) > 2 for s in analyze_response(r))
    for _, r, _ in sampled["good"]:
        assert len(analyze_response(r)) >= 2  # several sentences


def test_truth_spans_point_at_the_spec_words(sampled):
    n_checked = 0
    for rows in sampled.values():
        for t, r, res in rows:
            for c, cc in zip(t.rubric, res.criteria):
                if not cc.satisfied or not c.local:
                    assert cc.truth_spans == []
                    continue
                assert cc.truth_spans, (c.text, r)
                want = {w.lower() for w in c.spec["words"]}
                if c.spec["check"] == "count":
                    want = {str(c.spec["n"])}
                for s, e in cc.truth_spans:
                    assert r[s:e].lower() in want
                    n_checked += 1
    assert n_checked > 500
