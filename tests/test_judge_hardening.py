"""benchmarks/judge_hardening.py: a world copy with a re-trained external judge, measured before and after."""

import json
import shutil
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import judge_hardening as JH  # noqa: E402

from g2r_lens.world.bundle import DATA_DIR  # noqa: E402


def _fake_run(root: Path, name: str) -> Path:
    """A finished `g2r train` run folder as far as the script reads it: its final policy."""
    run = root / name
    shutil.copytree(DATA_DIR / "policy", run / "policy")
    return run


def test_hardening_writes_a_world_with_a_changed_judge_and_reports_both_sides(tmp_path):
    for n in ("arm-s0", "arm-s1"):
        _fake_run(tmp_path / "sweep", n)
    out, res_dir = tmp_path / "world", tmp_path / "res"
    res = JH.main(["--train-runs", str(tmp_path / "sweep" / "*-s0"), "--heldout-runs", str(tmp_path / "sweep" / "*-s1"),
                   "--prompts", "6", "--test-prompts", "3", "--steps", "3", "--out", str(out), "--results", str(res_dir)])
    # the world folder is a copy of the bundled one, with only the external judge's weights changed
    assert (out / "policy" / "model.safetensors").read_bytes() == (DATA_DIR / "policy" / "model.safetensors").read_bytes()
    old, new = load_file(DATA_DIR / "judge" / "model.safetensors"), load_file(out / "judge" / "model.safetensors")
    assert old.keys() == new.keys()
    assert any(not torch.equal(old[k], new[k]) for k in old)
    assert json.loads((out / "hardening.json").read_text())["judge_hardening"]["steps"] == 3
    # both test sets measured before and after, on the same criteria
    assert set(res["before"]) == set(res["after"]) == {"held-out RL policy samples (sweep/arm-s1)",
                                                       "ordinary responses (good, noisy)"}
    for k in res["before"]:
        assert res["before"][k]["n"] == res["after"][k]["n"] > 0
        assert 0.0 <= res["after"][k]["accuracy"] <= 1.0
    assert res["train_runs"] == ["sweep/arm-s0"] and res["n_train_samples"] > 0
    saved = json.loads((res_dir / "judge_hardening.json").read_text())
    assert {k: v["accuracy"] for k, v in saved["after"].items()} == {k: v["accuracy"] for k, v in res["after"].items()}
    assert str(tmp_path) not in saved["command"]  # no machine path in a results file
    assert "| ordinary responses (good, noisy) | " in (res_dir / "judge_hardening.md").read_text()
    # an earlier output of the script is replaced whole; nothing half-written is left beside it
    JH.main(["--train-runs", str(tmp_path / "sweep" / "*-s0"), "--heldout-runs", str(tmp_path / "sweep" / "*-s1"),
             "--prompts", "6", "--test-prompts", "3", "--steps", "2", "--out", str(out), "--results", str(res_dir)])
    assert json.loads((out / "hardening.json").read_text())["judge_hardening"]["steps"] == 2
    assert not out.with_name(out.name + ".tmp").exists()


def test_hardening_refuses_overlapping_or_missing_runs(tmp_path):
    _fake_run(tmp_path, "arm-s0")
    with pytest.raises(SystemExit, match="both"):
        JH.main(["--train-runs", str(tmp_path / "*"), "--heldout-runs", str(tmp_path / "arm-s0"),
                 "--out", str(tmp_path / "w")])
    with pytest.raises(SystemExit, match="no finished run"):
        JH.main(["--train-runs", str(tmp_path / "nothing*"), "--heldout-runs", str(tmp_path / "arm-s0"),
                 "--out", str(tmp_path / "w")])
    for out in (DATA_DIR, DATA_DIR.parent, DATA_DIR / "judge"):  # the world itself, a folder above it or in it
        with pytest.raises(SystemExit, match="must differ"):
            JH.main(["--train-runs", str(tmp_path / "arm-s0"), "--heldout-runs", str(tmp_path / "arm-s0"),
                     "--out", str(out)])
    keep = tmp_path / "precious"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit, match="refusing to replace"):
        JH.main(["--train-runs", str(tmp_path / "arm-s0"), "--heldout-runs", str(tmp_path / "arm-s0"),
                 "--out", str(keep)])
    assert (keep / "notes.txt").read_text() == "mine"
    with pytest.raises(SystemExit, match="not a world folder"):
        JH.main(["--world", str(tmp_path), "--train-runs", str(tmp_path / "arm-s0"),
                 "--heldout-runs", str(tmp_path / "arm-s0"), "--out", str(tmp_path / "w")])
    with pytest.raises(SystemExit, match="hacked-share"):
        JH.main(["--train-runs", str(tmp_path / "arm-s0"), "--heldout-runs", str(tmp_path / "arm-s0"),
                 "--hacked-share", "1.5", "--out", str(tmp_path / "w")])
