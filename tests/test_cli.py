import json

import pytest

from g2r_lens import AttributionRun, Judge
from g2r_lens.cli import main
from g2r_lens.testing import DEMO_EXAMPLES, tiny_model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, chat_tok):
    d = tmp_path_factory.mktemp("judge")
    tiny_model(chat_tok, "qwen2", layers=2, hidden=64, seed=3).save_pretrained(d)
    chat_tok.save_pretrained(d)
    return d


def test_from_pretrained_loads_offline(model_dir):
    j = Judge.from_pretrained(model_dir)
    assert j._chat and j.name == str(model_dir)
    assert (model_dir / "model.safetensors").exists()


def test_attribute_from_jsonl(model_dir, tmp_path, capsys):
    data = tmp_path / "ex.jsonl"
    data.write_text("\n".join(json.dumps(d) for d in DEMO_EXAMPLES) + "\n")
    out = tmp_path / "out"
    rc = main(["attribute", "--model", str(model_dir), "--examples", str(data), "--methods",
               "grad_x_input,integrated_gradients", "--param", "integrated_gradients.n_steps=4",
               "--attribute-false", "--out", str(out), "--quiet"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "top words (grad_x_input)" in text and "picnic" in text
    run = AttributionRun.load_json(out / "attributions.json")
    assert [e.id for e in run.examples] == ["picnic", "library"]
    assert run.provenance["methods"]["integrated_gradients"]["n_steps"] == 4
    assert AttributionRun.load_parquet(out / "attributions.parquet").examples[0].tokens == run.examples[0].tokens
    assert (out / "report.html").stat().st_size > 100_000


def test_attribute_inline(model_dir, tmp_path):
    rc = main(["attribute", "--model", str(model_dir), "--prompt", "Say hi.", "--response", "Hi there!",
               "--rubric", '[{"criterion": "Greets.", "weight": 1}]', "--out", str(tmp_path), "--quiet"])
    assert rc == 0 and (tmp_path / "attributions.json").exists()


@pytest.mark.parametrize("args,msg", [
    (["--rubric", "[{bad json"], "not valid JSON"),
    (["--rubric", '[{"criterion": "x", "weight": -1}]'], "positive weight"),
    (["--methods", "nope"], "unknown attribution method"),
    (["--response", ""], "empty"),
])
def test_bad_input_exits_2_with_message(model_dir, tmp_path, capsys, args, msg):
    base = {"--prompt": "Say hi.", "--response": "Hi!", "--rubric": '[{"criterion": "Greets.", "weight": 1}]'}
    for k, v in zip(args[::2], args[1::2]):
        base[k] = v
    argv = ["attribute", "--model", str(model_dir), "--out", str(tmp_path), "--quiet"]
    for k, v in base.items():
        argv += [k, v]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "g2r: error:" in err and msg in err and "Traceback" not in err


def test_missing_model_folder(tmp_path, capsys):
    rubric = '[{"criterion": "The response greets.", "weight": 1}]'
    assert main(["attribute", "--model", str(tmp_path / "none"), "--prompt", "p", "--response", "r",
                 "--rubric", rubric, "--out", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_demo_runs(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--quiet"]) == 0
    assert (tmp_path / "report.html").exists()
    assert "sparse reward" in capsys.readouterr().out


def test_methods_lists_registry(capsys):
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    for m in ("grad_x_input", "integrated_gradients", "attention_rollout", "leave_one_out", "uniform", "random"):
        assert m in out
