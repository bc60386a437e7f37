"""Issue 12, item 4: every CLI mistake is found before model work: exit 2, one line on stderr."""

import json

import pytest

from g2r_lens import Judge
from g2r_lens.cli import main
from g2r_lens.testing import DEMO_EXAMPLES, tiny_model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, chat_tok):
    d = tmp_path_factory.mktemp("judge")
    tiny_model(chat_tok, "qwen2", layers=1, hidden=32, seed=3).save_pretrained(d)
    chat_tok.save_pretrained(d)
    return d


@pytest.fixture
def data(tmp_path):
    p = tmp_path / "ex.jsonl"
    p.write_text("\n".join(json.dumps(d) for d in DEMO_EXAMPLES) + "\n")
    return p


@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if the model is loaded: the mistake must be found before any model work."""
    def boom(*a, **k):
        raise AssertionError("the model was loaded before the mistake was reported")
    monkeypatch.setattr(Judge, "from_pretrained", classmethod(lambda cls, *a, **k: boom()))


def _err(capfd) -> str:
    err = capfd.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("g2r: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("extra,msg", [
    (["--param", "integrated_gradients.n_steps=abc"], "n_steps"),
    (["--param", "integrated_gradients.n_steps=abc", "--attribute-false"], "n_steps"),
    (["--param", "integrated_gradients.n_steps=2.5"], "n_steps"),
    (["--param", "integrated_gradients.baseline=-1"], "baseline"),
    (["--param", "leave_one_out.replacement=-1", "--methods", "leave_one_out"], "replacement"),
    (["--param", "integrated_gradients.nope=1"], "no parameter"),
    (["--param", "leave_one_out.replacement=3"], "not among"),
    (["--batch-size", "0"], "batch_size"),
    (["--tau", "nan"], "tau"),
    (["--tau", "-1"], "tau"),
    (["--methods", ","], "no method"),
])
def test_parameter_mistakes_before_model_work(model_dir, data, tmp_path, capfd, no_model, extra, msg):
    argv = ["attribute", "--model", str(model_dir), "--examples", str(data), "--out", str(tmp_path / "o"),
            "--methods", "grad_x_input,integrated_gradients", "--quiet", *extra]
    assert main(argv) == 2
    assert msg in _err(capfd)


def test_out_naming_a_file(model_dir, data, tmp_path, capfd, no_model):
    f = tmp_path / "taken"
    f.write_text("x")
    assert main(["attribute", "--model", str(model_dir), "--examples", str(data), "--out", str(f)]) == 2
    assert "is a file" in _err(capfd)
    assert main(["attribute", "--model", str(model_dir), "--examples", str(data), "--out", str(f / "sub")]) == 2
    assert "is a file" in _err(capfd)


def test_invalid_utf8_names_file_and_line(model_dir, tmp_path, capfd, no_model):
    p = tmp_path / "bad.jsonl"
    p.write_bytes(json.dumps(DEMO_EXAMPLES[0]).encode() + b"\n" + b'{"prompt": "\xff"}\n')
    assert main(["attribute", "--model", str(model_dir), "--examples", str(p)]) == 2
    assert f"{p}:2: not valid UTF-8" in _err(capfd)


def test_examples_folder(model_dir, tmp_path, capfd, no_model):
    assert main(["attribute", "--model", str(model_dir), "--examples", str(tmp_path)]) == 2
    assert "is a folder" in _err(capfd)


@pytest.mark.parametrize("bad,msg", [
    ({"response": "   "}, "empty"),
    ({"rubric": [{"criterion": "c", "weight": "2"}]}, "not a number"),
    ({"rubric": [{"criterion": "c", "weight": True}]}, "not a number"),
    ({"rubric": [{"criterion": 5, "weight": 1}]}, "must be text"),
    ({"rubric": [{"criterion": "c", "weight": -1}]}, "positive weight"),
])
def test_example_mistakes_name_the_line(model_dir, tmp_path, capfd, no_model, bad, msg):
    p = tmp_path / "ex.jsonl"
    p.write_text(json.dumps(DEMO_EXAMPLES[0]) + "\n" + json.dumps(dict(DEMO_EXAMPLES[1], **bad)) + "\n")
    assert main(["attribute", "--model", str(model_dir), "--examples", str(p)]) == 2
    line = _err(capfd)
    assert f"{p}:2:" in line and msg in line


def test_model_folder_without_config_or_tokenizer(tmp_path, data, capfd):
    empty = tmp_path / "empty_model"
    empty.mkdir()
    assert main(["attribute", "--model", str(empty), "--examples", str(data), "--out", str(tmp_path / "o")]) == 2
    assert "no config.json" in _err(capfd)
    (empty / "config.json").write_text("{}")
    assert main(["attribute", "--model", str(empty), "--examples", str(data), "--out", str(tmp_path / "o")]) == 2
    assert "no tokenizer files" in _err(capfd)


def test_error_after_loading_is_one_line_with_quiet(model_dir, data, tmp_path, capfd):
    # the verdict words are refused only once the tokenizer is loaded: still one line, no progress bars
    assert main(["attribute", "--model", str(model_dir), "--examples", str(data), "--out", str(tmp_path / "o"),
                 "--verdict-words", "Zzqx,Qqzx", "--quiet"]) == 2
    assert "verdict word" in _err(capfd)
