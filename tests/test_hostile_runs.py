"""Issue 12, item 6: every file read under a runs root is resolved and refused when it leaves it."""

import json

import pytest

from g2r_lens.errors import G2RError
from g2r_lens.explorer.runs import load_runs
from g2r_lens.rl import runfolder as rf


def _run_folder(root, name="r1"):
    d = root / name
    d.mkdir(parents=True)
    (d / rf.CONFIG).write_text(json.dumps({"reward": "dense", "estimator": "grpo", "judge": "j"}))
    (d / rf.METRICS).write_text(json.dumps({"step": 1, "reward": 0.5}) + "\n")
    (d / rf.EVALS).write_text(json.dumps({"step": 1, "reward": 0.4}) + "\n")
    (d / rf.SAMPLES).write_text(json.dumps({"step": 1, "tokens": ["a"]}) + "\n")
    return d


@pytest.mark.parametrize("victim", [rf.CONFIG, rf.METRICS, rf.EVALS, rf.SAMPLES])
def test_file_symlink_leaving_the_root_is_refused(tmp_path, victim):
    root = tmp_path / "runs"
    d = _run_folder(root)
    secret = tmp_path / "outside" / "secret.json"
    secret.parent.mkdir()
    secret.write_text(json.dumps({"step": 1, "password": "hunter2"}) + "\n")
    (d / victim).unlink()
    (d / victim).symlink_to(secret)
    with pytest.raises(G2RError, match="outside the run folder"):
        run = rf.load_run(d)
        rf.read_samples(run)
    runs, errs = load_runs(root, ["r1"])
    if victim != rf.SAMPLES:
        assert runs == [] and "outside the run folder" in errs[0] and "hunter2" not in errs[0]


def test_symlink_inside_the_run_folder_is_fine(tmp_path):
    d = _run_folder(tmp_path / "runs")
    (d / "metrics.real.jsonl").write_text(json.dumps({"step": 3}) + "\n")
    (d / rf.METRICS).unlink()
    (d / rf.METRICS).symlink_to(d / "metrics.real.jsonl")
    assert [r["step"] for r in rf.load_run(d).metrics] == [3]


def test_not_utf8_is_a_typed_error_naming_the_file(tmp_path):
    d = _run_folder(tmp_path / "runs")
    (d / rf.METRICS).write_bytes(b'{"step": 1, "x": "\xff"}\n')
    with pytest.raises(G2RError, match="metrics.jsonl: not UTF-8"):
        rf.load_run(d)
