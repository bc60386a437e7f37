"""benchmarks/_common.py: offline env on import, result files, formatting and target checks."""

import json
import math
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import _common as C  # noqa: E402


def test_import_sets_offline_env_and_root():
    from g2r_lens.runtime import OFFLINE_ENV

    assert all(k in os.environ for k in OFFLINE_ENV)
    assert (C.ROOT / "g2r_lens" / "__init__.py").exists() and C.RESULTS == C.ROOT / "benchmarks" / "results"
    assert C.rel(C.ROOT / "benchmarks" / "x.md") == str(Path("benchmarks") / "x.md")


def test_write_results_json_and_md(tmp_path):
    paths = C.write_results("bench", {"a": math.nan, "b": (1, 2.5)}, "| x |\n\n\n", out=tmp_path)
    assert json.loads(paths["json"].read_text()) == {"a": None, "b": [1, 2.5]}
    assert paths["md"].read_text() == "| x |\n"
    assert set(C.write_results("only", {}, out=tmp_path)) == {"json"}


def test_helpers_hand_values():
    assert C.nanmean([1.0, None, math.nan, 3.0]) == 2.0 and math.isnan(C.nanmean([None]))
    assert C.fmt(0.12345) == "0.123" and C.fmt(0.5, 1, signed=True) == "+0.5" and C.fmt(math.inf) == "–"
    assert C.target_status(0.4, 0.5) == "met" and C.target_status(0.6, 0.5) == "missed"
    assert C.target_status(2.0, 1.5, lower_is_better=False) == "met" and C.target_status(None, 1) == "n/a"
    calls = []
    t, out = C.median_time(lambda: calls.append(1) or len(calls), repeats=3, warmup=1)
    assert out == 4 and len(calls) == 4 and t >= 0
    with pytest.raises(ValueError):
        C.median_time(lambda: None, repeats=0)


def test_faithfulness_command_keeps_machine_folders_out(tmp_path):
    """The faithfulness benchmark records its command in its results: absolute folders become DIR."""
    import faithfulness as F

    words = ["--data", str(tmp_path), f"--out={tmp_path}", "--out", "benchmarks/results", "--threads", "1"]
    assert F.command(words).split()[2:] == ["--data", "DIR", "--out=DIR", "--out", "benchmarks/results",
                                            "--threads", "1"]
