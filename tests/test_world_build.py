"""The bundled world: a quick build end to end, the shipped checkpoints, and the main job."""

import json
import random

import pytest
import torch

from g2r_lens.world import bundle, generate_tasks, sample_response
from g2r_lens.world.build import BuildConfig, build
from g2r_lens.world.bundle import have_models, load_judge, world_examples
from g2r_lens.world.corpus import judge_item
from g2r_lens.world.training import judge_logits


@pytest.fixture(scope="module")
def quick_world(tmp_path_factory):
    out = tmp_path_factory.mktemp("world")
    summary = build(out, BuildConfig.quick())
    return out, summary


def test_quick_build_writes_loadable_artefacts(quick_world):
    out, summary = quick_world
    from transformers import AutoModelForCausalLM, AutoTokenizer

    for name in ("policy", "judge"):
        assert (out / name / "model.safetensors").exists()
        model = AutoModelForCausalLM.from_pretrained(out / name)
        tok = AutoTokenizer.from_pretrained(out / name)
        assert tok.chat_template and model.config.vocab_size == len(tok)
    for split in ("train", "validation", "test"):
        assert (out / "tasks" / f"{split}.jsonl").exists()
    assert json.loads((out / "build.json").read_text())["params"]["judge"] == summary["params"]["judge"]
    j = load_judge(path=out / "judge")
    assert j.tokenizer.convert_ids_to_tokens([j.true_id, j.false_id]) == ["True", "False"]


@pytest.mark.parametrize("layout", ["before", "after"])
def test_prefix_shared_training_logits_equal_judge_inference(quick_world, layout):
    """The training path (shared prefix once, branched per criterion) computes exactly what Judge
    computes, with the rule before the response (short shared prefix) and after it (long one)."""
    from g2r_lens.judge import Judge
    from g2r_lens.world.formats import TEMPLATES

    out, _ = quick_world
    j0 = load_judge(path=out / "judge")
    j = Judge(j0.model, j0.tokenizer, TEMPLATES[layout])
    tasks = generate_tasks(4, seed=1, split="train")
    rng = random.Random(0)
    items = [judge_item(j, t, sample_response(t, rng, "noisy"), "noisy") for t in tasks]
    with torch.no_grad():
        train_logp = judge_logits(j.model, items, j.pad_id).log_softmax(-1)[:, j.true_id]
    ref = []
    for it, t in zip(items, tasks):
        assert len(it.conts) == len(t.rubric) and all(c for c in it.conts)
        for c in it.conts:
            with torch.no_grad():
                logits = j.model(input_ids=torch.tensor([it.prefix + c])).logits[0, -1].float()
            ref.append(logits.log_softmax(-1)[j.true_id])
    assert torch.allclose(train_logp, torch.stack(ref), atol=1e-4)


def test_world_examples_carry_checker_truth(quick_world):
    out, _ = quick_world
    tasks = bundle.load_tasks("test", out / "tasks")
    exs = world_examples("test", 6, tasks=tasks, modes=("good",))
    assert len(exs) == 6
    for ex in exs:
        assert ex.meta["checker_score"] == pytest.approx(1.0)
        for spans, local, ok in zip(ex.meta["truth_spans"], ex.meta["local"], ex.meta["checker"]):
            for s, e in spans:
                assert 0 <= s < e <= len(ex.response)
            if not local:
                assert spans == []
            elif ok:  # a satisfied local criterion always points at response characters
                assert spans


@pytest.mark.skipif(not have_models(), reason="bundled checkpoints not built yet")
def test_shipped_checkpoints_reproduce_reported_accuracy():
    """A small sample of the report's 'ordinary' accuracy, recomputed from the shipped files."""
    from pathlib import Path

    from g2r_lens.world.report import ORDINARY

    report = json.loads((Path(__file__).parents[1] / "benchmarks/results/judge_quality.json").read_text())
    judge = load_judge("external", device="cpu", dtype="float32")
    exs = world_examples("test", 40, seed=123, modes=ORDINARY)
    verdicts = judge.verdicts(exs, batch_size=32)
    hits = [v["verdict"] == t for ex, vs in zip(exs, verdicts) for v, t in zip(vs, ex.meta["checker"])]
    acc = sum(hits) / len(hits)
    reported = report["judges"]["external"]["ordinary"]["accuracy"]
    assert acc >= reported - 0.08, (acc, reported)


@pytest.mark.skipif(not have_models(), reason="bundled checkpoints not built yet")
def test_main_job_on_bundled_world(tmp_path, capsys):
    from g2r_lens.cli import main

    assert main(["demo", "--out", str(tmp_path), "--quiet", "-n", "2"]) == 0
    out = capsys.readouterr().out
    assert "checker:" in out and "top words (grad_x_input)" in out
    assert (tmp_path / "report.html").exists()


def test_build_config_fields_carry_help_and_round_trip():
    """Every knob has help text (the CLI derives its flags from it); asdict -> from_dict is lossless."""
    from dataclasses import asdict, fields

    from g2r_lens.world.config import ModelShape

    for cls in (BuildConfig, ModelShape):
        for f in fields(cls):
            assert f.metadata.get("help", "").strip(), f"{cls.__name__}.{f.name} has no help"
    cfg = BuildConfig.quick()
    back = BuildConfig.from_dict(json.loads(json.dumps(asdict(cfg))))
    assert back == cfg and isinstance(back.judge, ModelShape)


def test_bundled_judges_are_external_and_self_with_folder_aliases(tmp_path):
    from g2r_lens.errors import ModelLoadError, WorldError

    assert sorted(bundle.JUDGES) == ["external", "self"]
    assert [bundle.judge_name(w) for w in ("external", "judge", "self", "policy")] == \
        ["external", "external", "self", "self"]
    assert bundle.judge_folder("judge", tmp_path) == tmp_path / "judge"
    assert bundle.judge_folder("self", tmp_path) == tmp_path / "policy"
    with pytest.raises(WorldError):
        bundle.judge_name("reward_model")
    with pytest.raises(ModelLoadError):
        load_judge(path=tmp_path)


def test_report_names_the_judges_external_and_self(quick_world, tmp_path):
    from g2r_lens.world.report import judge_quality, write_quality

    out, _ = quick_world
    res = judge_quality(out, n_tasks=2, judges=("judge", "self"))
    assert list(res["judges"]) == ["external", "self"]
    for acc in res["judges"].values():
        assert 0.0 <= acc["ordinary"]["accuracy"] <= 1.0 and acc["ordinary"]["n"] > 0
    assert "mode:twin" in res["judges"]["external"]
    from g2r_lens.world.responses import TWIN_EDITS

    flips = {k: v["n"] for k, v in res["judges"]["external"].items() if k.startswith("flip:")}
    assert "flip:original" in flips and set(flips) <= {"flip:" + e for e in (*TWIN_EDITS, "original")}
    assert flips["flip:original"] <= sum(n for k, n in flips.items() if k != "flip:original")
    from g2r_lens.world.report import policy_quality

    res["policy"] = pol = policy_quality(out, n_tasks=2, samples=2, max_new_tokens=8)
    assert pol["name_in_greeting"]["n"] == 4 and set(pol["facts"]) >= {"event", "place", "day"}
    assert 0.0 <= pol["checker_score"]["greedy"] <= 1.0
    md = write_quality(res, tmp_path)["md"].read_text()
    assert "| external judge | self judge |" in md and "greeting names the prompt's person" in md


def test_a_complete_build_resumes_without_training(quick_world, monkeypatch):
    """Every stage is marked done: a second `build` trains nothing, keeps the models, and adds its
    run to build.json (the build's time is the sum of its runs)."""
    import g2r_lens.world.build as wb

    out, summary = quick_world
    before = (out / "judge" / "model.safetensors").read_bytes()
    monkeypatch.setattr(wb, "train", lambda *a, **k: pytest.fail("a complete build trained again"))
    again = wb.build(out, BuildConfig.quick())
    assert (out / "judge" / "model.safetensors").read_bytes() == before
    assert len(again["runs"]) == 2 and again["seconds"] >= summary["seconds"]
