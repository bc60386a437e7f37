"""The run-folder format (g2r_lens.rl.runfolder): writers, readers, and errors naming file and line."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from g2r_lens.errors import G2RError
from g2r_lens.rl import runfolder as rf


def test_writer_round_trip_and_truncate(tmp_path):
    w = rf.JsonlWriter(tmp_path / rf.METRICS)
    w.append({"step": 1, "x": np.float32(0.5), "bad": math.nan, "arr": (1, 2)})
    size = w.size()
    w.append({"step": 2, "x": 1.0})
    assert [r["step"] for r in rf.read_metrics(tmp_path)] == [1, 2]
    assert rf.read_jsonl(tmp_path / rf.METRICS)[0] == {"step": 1, "x": 0.5, "bad": None, "arr": [1, 2]}
    w.truncate(size)
    assert [r["step"] for r in rf.read_metrics(tmp_path)] == [1]
    assert rf.read_jsonl(tmp_path / "missing.jsonl") == []
    with pytest.raises(G2RError, match="missing"):
        rf.JsonlWriter(tmp_path / "none.jsonl").truncate(3)


def test_bad_lines_name_file_and_line(tmp_path):
    p = tmp_path / rf.EVALS
    p.write_text('{"step": 0}\n\n{"step": 1,\n', encoding="utf-8")
    with pytest.raises(G2RError, match=r"eval\.jsonl, line 3"):
        rf.read_jsonl(p)
    p.write_text('{"step": 0}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(G2RError, match=r"line 2: expected a JSON object"):
        rf.read_evals(tmp_path)


def test_load_run_and_samples(tmp_path):
    with pytest.raises(G2RError, match="not a run folder"):
        rf.load_run(tmp_path)
    (tmp_path / rf.CONFIG).write_text("{oops", encoding="utf-8")
    with pytest.raises(G2RError, match="config.json"):
        rf.load_run(tmp_path)
    (tmp_path / rf.CONFIG).write_text(json.dumps({"seed": 3}), encoding="utf-8")
    for step, v in ((0, 0.1), (5, None), (10, 0.4)):
        rf.JsonlWriter(tmp_path / rf.EVALS).append({"step": step, "checker_score": v})
    for step in (1, 1, 2):
        rf.JsonlWriter(tmp_path / rf.SAMPLES).append({"step": step})
    run = rf.load_run(tmp_path)
    assert run.config == {"seed": 3} and run.metrics == []
    steps, vals = run.series("checker_score")
    assert steps.tolist() == [0, 10] and vals.tolist() == [0.1, 0.4]
    assert len(rf.read_samples(run)) == 3 and len(rf.read_samples(tmp_path, step=1)) == 2


def test_reading_runs_does_not_import_the_trainer():
    code = ("import sys, g2r_lens.explorer.runs, g2r_lens.rl.plots; "
            "print('g2r_lens.rl.trainer' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
