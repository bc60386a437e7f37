"""The RL loop end to end on a quick world: a smoke run whose checker score must rise, every
reward mode, kill-and-resume equality, run folders, the CLI and bad configs."""

import json
from dataclasses import replace

import pytest
import torch

from g2r_lens.cli import main
from g2r_lens.errors import G2RError
from g2r_lens.rl.plots import compare_runs
from g2r_lens.rl.trainer import TrainConfig, Trainer, read_jsonl, train
from g2r_lens.world.build import BuildConfig, build
from g2r_lens.world.tasks import Task, make_criterion, read_tasks

VOLATILE = ("time_",)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("rlworld")
    build(out, BuildConfig.quick())
    return out


@pytest.fixture(scope="module")
def toy_tasks(world, tmp_path_factory):
    """A rubric the (random) quick policy can learn in a few steps: one-character words are
    forbidden (about half of its 8-token samples have one), plus a positive criterion it never
    meets (so the score is 0 or -1)."""
    d = tmp_path_factory.mktemp("toytasks")
    src = read_tasks(world / "tasks" / "train.jsonl")[:8]
    rubric = [make_criterion("max_words", 1.0, n=100),
              make_criterion("avoid", -1.0, list("abcdefghijklmnopqrstuvwxyz0123456789"), variant="topic",
                             text="The response has a one-character word.")]
    for split in ("train", "test"):
        with open(d / f"{split}.jsonl", "w") as f:
            for t in src:
                f.write(json.dumps(Task(t.id, t.prompt, rubric, split=split).to_dict()) + "\n")
    return d


def small(world, **kw):
    base = dict(world=str(world), steps=3, prompts_per_step=2, group_size=4, max_new_tokens=12, eval_prompts=4,
                eval_every=2, samples_every=2, samples_groups=1, checkpoint_every=2, attr_batch_size=16,
                save_policy=False)
    base.update(kw)
    return TrainConfig(**base)


def stable(rows):
    return [{k: v for k, v in r.items() if not k.startswith(VOLATILE)} for r in rows]


def test_smoke_checker_score_rises(world, toy_tasks, tmp_path):
    cfg = TrainConfig(reward="oracle_sparse", estimator="sparse", world=str(world), tasks=str(toy_tasks), steps=20,
                      prompts_per_step=4, group_size=8, max_new_tokens=8, lr=3e-2, judge_oracles=False,
                      eval_prompts=8, eval_samples=4, eval_every=10, samples_every=0, checkpoint_every=0,
                      save_policy=False)
    train(cfg, tmp_path / "run", progress=False)
    rows = read_jsonl(tmp_path / "run" / "metrics.jsonl")
    evals = read_jsonl(tmp_path / "run" / "eval.jsonl")
    assert [r["step"] for r in rows] == list(range(1, 21)) and [e["step"] for e in evals] == [0, 10, 20]
    first = sum(r["checker_score"] for r in rows[:4]) / 4
    last = sum(r["checker_score"] for r in rows[-4:]) / 4
    assert first < -0.3 and last > first + 0.25, (first, last)
    assert evals[-1]["checker_score"] > evals[0]["checker_score"] + 0.25


@pytest.mark.parametrize("reward,estimator", [("sparse", "sparse"), ("grad_x_input", "grad2reward"),
                                              ("uniform", "per_position"), ("oracle_dense", "additive"),
                                              ("oracle_dense", "dense_centered")])
def test_every_mode_runs_and_logs(world, tmp_path, reward, estimator):
    out = tmp_path / "run"
    train(small(world, reward=reward, estimator=estimator, steps=2, save_policy=True), out, progress=False)
    rows = read_jsonl(out / "metrics.jsonl")
    assert len(rows) == 2
    for key in ("judge_reward", "checker_score", "agreement", "kl", "entropy", "response_len", "adv_mean", "adv_std",
                "adv_pos_corr", "time_generation", "time_judge", "time_attribution", "time_update", "reward"):
        assert key in rows[0]
    assert rows[0]["conservation_error"] < 1e-9
    assert rows[1]["eval_checker_score"] is not None
    samples = read_jsonl(out / "samples.jsonl")
    assert {s["step"] for s in samples} == {1, 2} and len(samples) == 2 * 4
    s = samples[0]
    assert len(s["tokens"]) == len(s["token_rewards"]) == len(s["advantages"]) == len(s["offsets"])
    assert abs(sum(s["token_rewards"]) - s["reward"]) < 1e-9
    assert (out / "ckpt" / "last.pt").exists() and (out / "policy" / "config.json").exists()
    assert json.loads((out / "config.json").read_text())["reward"] == reward


def test_resume_after_a_kill_equals_an_uninterrupted_run(world, tmp_path):
    cfg = small(world, reward="grad_x_input", estimator="grad2reward", steps=4, lr=1e-2, kl=0.05)
    train(cfg, tmp_path / "full", progress=False)

    class Killed(Exception):
        pass

    def kill_at_3(trainer, row):  # dies after writing step 3's rows, before any checkpoint of step 3
        if trainer.step == 3:
            raise Killed

    with pytest.raises(Killed):
        train(cfg, tmp_path / "killed", progress=False, on_step=kill_at_3)
    assert len(read_jsonl(tmp_path / "killed" / "metrics.jsonl")) == 3  # step 3 was written, not checkpointed
    t = Trainer(cfg, tmp_path / "killed", progress=False)
    assert t.step == 2 and len(read_jsonl(tmp_path / "killed" / "metrics.jsonl")) == 2
    t.train()
    # and a run stopped cleanly after 2 steps, then resumed
    train(cfg, tmp_path / "split", progress=False, stop_after=2)
    train(cfg, tmp_path / "split", progress=False)

    full = Trainer(cfg, tmp_path / "full", progress=False)
    for name in ("killed", "split"):
        for f in ("metrics.jsonl", "eval.jsonl", "samples.jsonl"):
            assert stable(read_jsonl(tmp_path / name / f)) == stable(read_jsonl(tmp_path / "full" / f)), (name, f)
        other = Trainer(cfg, tmp_path / name, progress=False)
        assert other.step == full.step == 4
        for (k, a), (_, b) in zip(full.policy.state_dict().items(), other.policy.state_dict().items()):
            assert torch.equal(a, b), k
    assert read_jsonl(tmp_path / "full" / "metrics.jsonl")[-1]["kl"] > 0


def test_a_finished_run_can_be_extended_and_other_configs_are_refused(world, tmp_path):
    cfg = small(world, reward="sparse", estimator="sparse", steps=2)
    train(cfg, tmp_path / "r", progress=False)
    train(replace(cfg, steps=3), tmp_path / "r", progress=False)
    assert [r["step"] for r in read_jsonl(tmp_path / "r" / "metrics.jsonl")] == [1, 2, 3]
    with pytest.raises(G2RError, match="another config"):
        Trainer(replace(cfg, lr=1.0), tmp_path / "r", progress=False)
    Trainer(replace(cfg, lr=1.0), tmp_path / "r", progress=False, overwrite=True)


@pytest.mark.parametrize("change,match", [
    (dict(reward="nope"), "unknown reward mode"),
    (dict(estimator="gae"), "unknown advantage estimator"),
    (dict(group_size=1), "group_size must be at least 2"),
    (dict(steps=0), "steps must be at least 1"),
    (dict(judge="gpt"), "unknown judge"),
    (dict(top_p=0.0), "top_p"),
])
def test_bad_configs_fail_fast(world, tmp_path, change, match):
    with pytest.raises(G2RError, match=match):
        Trainer(small(world, **change), tmp_path / "bad", progress=False)
    assert not (tmp_path / "bad").exists()


def test_empty_split_fails_fast(world, tmp_path):
    empty = tmp_path / "tasks"
    empty.mkdir()
    (empty / "train.jsonl").write_text("")
    with pytest.raises(G2RError, match="holds no tasks"):
        Trainer(small(world, tasks=str(empty)), tmp_path / "bad", progress=False)
    with pytest.raises(G2RError, match="no task split"):
        Trainer(small(world, tasks=str(tmp_path / "missing")), tmp_path / "bad", progress=False)


def test_cli_train_compare_and_errors(world, tmp_path, capsys):
    common = ["--world", str(world), "--steps", "2", "--prompts-per-step", "2", "--group-size", "2",
              "--max-new-tokens", "8", "--eval-prompts", "2", "--eval-every", "1", "--quiet"]
    for seed in ("0", "1"):
        for reward in ("sparse", "grad_x_input"):
            assert main(["train", "--reward", reward, "--estimator", "sparse" if reward == "sparse" else "per_position",
                         "--seed", seed, "--out", str(tmp_path / "runs" / f"{reward}-{seed}"), *common]) == 0
    assert main(["compare", *[str(p) for p in sorted((tmp_path / "runs").iterdir())], "--out", str(tmp_path / "rep")]) == 0
    out = capsys.readouterr().out
    assert "sparse/sparse·self" in out and "grad_x_input/per_position·self" in out
    res = compare_runs(sorted((tmp_path / "runs").iterdir()))
    assert {a["n_seeds"] for a in res["arms"].values()} == {2}
    html = (tmp_path / "rep" / "curves.html").read_text()
    assert "<script src=" not in html and "plotly" in html  # plotly.js inlined, no CDN
    assert main(["train", "--out", str(tmp_path / "x"), *common, "--reward", "nope"]) == 2
    assert main(["train", "--out", str(tmp_path / "x"), *common, "--group-size", "1"]) == 2
    assert "group_size must be at least 2" in capsys.readouterr().err
