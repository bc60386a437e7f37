"""Ray Data integration: shard planning, settings pinning, and a local-Ray run with 2 CPU actors on
bundled-world examples that matches single-process `attribute` and resumes after a real kill.

Runs with the `ray` extra (CI installs it); skipped with the reason otherwise. G2R_RAY_TEST_N sets
the number of examples of the end-to-end test (default 200).
"""

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[ray]')")

from g2r_lens import attribute  # noqa: E402
from g2r_lens.errors import G2RError  # noqa: E402
from g2r_lens.integrations import ray as gr  # noqa: E402
from g2r_lens.world.bundle import have_models, load_judge, world_examples  # noqa: E402

N = int(os.environ.get("G2R_RAY_TEST_N", "200"))
SHARD = max(2, N // 20)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def _stop_ray_after_module():
    yield
    import ray

    if ray.is_initialized():
        ray.shutdown()


def _write_jsonl(path, exs, blank_every=0):
    with open(path, "w", encoding="utf-8") as f:
        for i, e in enumerate(exs):
            d = e.to_dict() if hasattr(e, "to_dict") else dict(e)
            f.write(json.dumps({k: d[k] for k in ("id", "prompt", "response", "rubric")}) + "\n")
            if blank_every and i % blank_every == 0:
                f.write("\n")


def _demo_rows(n):
    return [{"id": f"r{i}", "prompt": f"Say hi to person {i}.", "response": f"Hi person {i}!",
             "rubric": [{"criterion": "The response greets.", "weight": 1}]} for i in range(n)]


def test_plan_shards_reads_every_line_once_by_byte_ranges(tmp_path):
    rows = _demo_rows(23)
    p = tmp_path / "x.jsonl"
    _write_jsonl(p, rows, blank_every=4)
    shards, fp = gr.plan_shards(p, 5)
    assert [d["shard"] for d in shards] == list(range(5))
    got = [r for d in shards for r in gr._read_jsonl_range(d["path"], d["start"], d["end"], d["first_line"])]
    assert [r["id"] for r in got] == [r["id"] for r in rows]
    assert [len(gr._read_jsonl_range(d["path"], d["start"], d["end"], d["first_line"])) for d in shards] == \
        [5, 5, 5, 5, 3]
    assert gr.plan_shards(p, 5)[1] == fp
    in_mem, fp2 = gr.plan_shards(rows, 10)
    assert [len(json.loads(d["rows"])) for d in in_mem] == [10, 10, 3] and fp2 != fp
    with pytest.raises(G2RError, match="does not exist"):
        gr.plan_shards(tmp_path / "nope.jsonl", 5)
    with pytest.raises(G2RError, match="shard size"):
        gr.plan_shards(p, 0)


def test_resume_with_other_settings_is_refused(tmp_path):
    p = tmp_path / "x.jsonl"
    _write_jsonl(p, _demo_rows(3))
    out = tmp_path / "out"
    out.mkdir()
    shards, fp = gr.plan_shards(p, 2)
    (out / gr.MANIFEST).write_text(json.dumps({"format": gr.FORMAT, "shards": len(shards), "settings": {
        "judge": "external", "methods": ["grad_l1"], "method_params": {}, "tau": 1.0, "tau_mode": "relative",
        "attribute_false": False, "seed": 0, "template": "auto", "truncation": "error", "shard_size": 2,
        "input": fp}}))
    with pytest.raises(G2RError, match="other settings \\(methods\\)"):
        gr.attribute_on_ray(p, out, methods=["grad_x_input"], shard_size=2)
    with pytest.raises(G2RError, match="not written yet"):
        gr.load_results(out)


def test_attribute_batch_is_a_map_batches_callable():
    """The class works on a plain column batch (as map_batches hands it) without Ray running."""
    from g2r_lens.testing import tiny_judge

    rows = _demo_rows(3)
    fn = gr.AttributeBatch(judge=tiny_judge("llama", "chat", layers=1, hidden=32), methods=["grad_x_input", "uniform"])
    out = fn({k: np.array([r[k] for r in rows], dtype=object) for k in ("id", "prompt", "response", "rubric")})
    assert out["id"] == ["r0", "r1", "r2"]
    ref = attribute(fn.judge, rows, ["grad_x_input", "uniform"], progress=False)
    for i, e in enumerate(ref.examples):
        assert out["sparse_reward"][i] == e.sparse_reward
        assert np.allclose(out["rewards_grad_x_input"][i], e.rewards("grad_x_input"), atol=1e-6)
        assert math.isclose(sum(out["rewards_uniform"][i]), e.sparse_reward, abs_tol=1e-9)
        assert json.loads(out["result"][i])["id"] == e.id


def test_cli_ray_flags_and_errors(tmp_path, capsys):
    from g2r_lens.cli import main

    assert main(["attribute", "--ray", "--model", "external", "--out", str(tmp_path / "o")]) == 2
    assert "g2r: error: --ray needs --examples FILE.jsonl or --dataset" in capsys.readouterr().err
    p = tmp_path / "x.jsonl"
    _write_jsonl(p, _demo_rows(3))
    out = tmp_path / "out"
    out.mkdir()
    (out / gr.MANIFEST).write_text(json.dumps({"format": gr.FORMAT, "shards": 1, "settings": {"methods": ["x"]}}))
    assert main(["attribute", "--ray", "--model", "external", "--examples", str(p), "--out", str(out)]) == 2
    assert "holds a run with other settings" in capsys.readouterr().err


def _skip_if_ray_cannot_start(message: str) -> None:
    """A local Ray node that does not come up (seen only on a 2-core machine shared by ~30 jobs: the
    raylet's fixed wait for its metrics agent) is the environment, not this code: skip with the reason.
    Any other failure still fails the test."""
    if "could not start Ray" in message:
        pytest.skip(f"local Ray did not start on this machine: {message.splitlines()[-1][:300]}")


def _snapshot(out):
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted((out / "shards").glob("part-*.parquet"))}


@pytest.mark.skipif(not have_models(), reason="bundled world checkpoints missing")
def test_two_cpu_actors_match_single_process_and_a_killed_run_resumes(tmp_path):
    exs = world_examples("test", N, seed=11)
    src = tmp_path / "data.jsonl"
    _write_jsonl(src, exs)
    out = tmp_path / "out"
    n_shards = math.ceil(N / SHARD)
    kw = dict(judge="external", methods=["grad_x_input"], shard_size=SHARD, num_actors=2, progress=False)

    # 1. `g2r attribute --ray` in its own process group, killed (SIGKILL, whole group) once two shards
    #    are written
    cmd = [sys.executable, "-m", "g2r_lens.cli", "attribute", "--ray", "--model", "external", "--examples", str(src),
           "--out", str(out), "--methods", "grad_x_input", "--shard-size", str(SHARD), "--ray-actors", "2", "--quiet"]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 1200
    try:
        while len(_snapshot(out) if (out / "shards").exists() else {}) < 2:
            if proc.poll() is not None:
                err = proc.stderr.read().decode()[-2000:]
                _skip_if_ray_cannot_start(err)
                pytest.fail(f"the first run ended before it was killed: {err}")
            assert time.monotonic() < deadline, "no shard written in time"
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    before = _snapshot(out)
    assert 2 <= len(before) < n_shards, "the kill came too late to test resuming"

    # 2. resume in this process: only the missing shards are computed, the finished files are untouched
    try:
        summary = gr.attribute_on_ray(src, out, **kw)
    except G2RError as e:
        _skip_if_ray_cannot_start(str(e))
        raise
    assert summary["shards_skipped"] == len(before)
    assert summary["shards_written"] == n_shards - len(before)
    assert summary["examples_written"] == N - sum(
        min(SHARD, N - int(name[5:10]) * SHARD) for name in before)
    after = _snapshot(out)
    assert len(after) == n_shards
    assert {k: after[k] for k in before} == before
    assert gr.attribute_on_ray(src, out, **kw)["shards_written"] == 0  # a finished run does nothing

    # 3. the same results as single-process attribute
    got = gr.load_results(out)
    ref = attribute(load_judge("external"), exs, ["grad_x_input"], progress=False)
    assert [e.id for e in got.examples] == [e.id for e in ref.examples]
    for a, b in zip(got.examples, ref.examples):
        assert a.sparse_reward == b.sparse_reward
        assert [c.verdict for c in a.criteria] == [c.verdict for c in b.criteria]
        assert a.tokens == b.tokens
        # shards batch examples with other neighbours and padding than one process does, which moves
        # fp32 sums; on a criterion the judge is sure of (p(True) 0.999) the gradient of log p(True)
        # is ~4e-5 and moves by ~1e-3 of that, and relative tau turns it into a reward change of
        # 2.2e-5 (test-0-00193 at N=200; the same without Ray: python benchmarks/batch_noise.py)
        assert np.allclose(a.rewards("grad_x_input"), b.rewards("grad_x_input"), atol=1e-4)
        assert math.isclose(float(sum(a.rewards("grad_x_input"))), b.sparse_reward, abs_tol=1e-5)


def test_core_package_and_cli_import_neither_engine():
    code = ("import sys, g2r_lens, g2r_lens.cli; from g2r_lens.cli import build_parser; build_parser(); "
            "from g2r_lens import attribute; import g2r_lens.integrations; "
            "bad = sorted(m for m in ('ray', 'verl') if m in sys.modules); assert not bad, bad")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
