"""verl integration: our estimators through verl's own compute_advantage, the grpo no-op trap, and the
g2r reward manager on the bundled world (same and different policy tokenizer).

Runs with the `verl` extra (CI installs it); skipped with the reason otherwise.
"""

import asyncio
import math

import numpy as np
import pytest
import torch

verl = pytest.importorskip("verl", reason="the verl extra is not installed (pip install -e '.[verl]')")

from omegaconf import OmegaConf  # noqa: E402
from verl import DataProto  # noqa: E402
from verl.trainer.config import AlgoConfig  # noqa: E402
from verl.trainer.ppo.core_algos import get_adv_estimator_fn  # noqa: E402
from verl.trainer.ppo.ray_trainer import compute_advantage  # noqa: E402

from g2r_lens import attribute, project_rewards  # noqa: E402
from g2r_lens.errors import G2RError  # noqa: E402
from g2r_lens.integrations import verl as gv  # noqa: E402
from g2r_lens.rl.advantages import available_estimators, compute_advantages  # noqa: E402
from g2r_lens.world.bundle import bundled_path, have_models, load_judge, world_examples  # noqa: E402
from g2r_lens.world.formats import policy_end_id, policy_prompt_ids  # noqa: E402

needs_world = pytest.mark.skipif(not have_models(), reason="bundled world checkpoints missing")


def _batch(seed=0, B=6, T=7, G=3):
    """Hand-built verl batch: dense token rewards, right-padded responses, string uids in groups of G."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(2, T + 1, (B,), generator=g)
    mask = (torch.arange(T)[None] < lengths[:, None]).float()
    r = torch.rand(B, T, generator=g) * mask
    uid = np.array([f"prompt-{i // G}" for i in range(B)], dtype=object)
    return DataProto.from_dict(tensors={"token_level_rewards": r, "response_mask": mask}, non_tensors={"uid": uid})


def test_estimators_are_registered_in_verls_registry():
    for name in available_estimators():
        assert get_adv_estimator_fn("g2r_" + name) is not None


@pytest.mark.parametrize("name", ["sparse", "grad2reward", "per_position", "additive"])
def test_compute_advantage_with_our_names_gives_our_advantages(name):
    data = _batch(seed=1)
    out = compute_advantage(data, "g2r_" + name, config=AlgoConfig(adv_estimator="g2r_" + name))
    r, m = data.batch["token_level_rewards"], data.batch["response_mask"].bool()
    gid = torch.tensor([int(u.split("-")[1]) for u in data.non_tensor_batch["uid"]])
    ours = compute_advantages(name, r, (r.double() * m).sum(-1), m, gid).float()
    assert torch.equal(out.batch["advantages"], ours)
    assert torch.equal(out.batch["returns"], ours)
    assert (out.batch["advantages"][~m] == 0).all()


def test_grad2reward_through_verl_matches_a_hand_computation():
    # one group, two responses of lengths 3 and 2: reward-to-go, z-scored over the group's 5 tokens
    r = torch.tensor([[0.2, 0.3, 0.5], [0.1, 0.0, 0.0]])
    m = torch.tensor([[1.0, 1, 1], [1, 1, 0]])
    data = DataProto.from_dict(tensors={"token_level_rewards": r, "response_mask": m},
                               non_tensors={"uid": np.array(["a", "a"], dtype=object)})
    adv = compute_advantage(data, "g2r_grad2reward", config=AlgoConfig()).batch["advantages"]
    G = [1.0, 0.8, 0.5, 0.1, 0.0]
    mu, sd = sum(G) / 5, math.sqrt(sum((x - sum(G) / 5) ** 2 for x in G) / 5)
    want = [[(1.0 - mu) / (sd + 1e-6), (0.8 - mu) / (sd + 1e-6), (0.5 - mu) / (sd + 1e-6)],
            [(0.1 - mu) / (sd + 1e-6), (0.0 - mu) / (sd + 1e-6), 0.0]]
    assert torch.allclose(adv, torch.tensor(want), atol=1e-6)


def test_additive_lam_from_register_params_and_config():
    data = _batch(seed=2)
    r, m = data.batch["token_level_rewards"], data.batch["response_mask"].bool()
    gid = torch.tensor([int(u.split("-")[1]) for u in data.non_tensor_batch["uid"]])
    want = compute_advantages("additive", r, (r.double() * m).sum(-1), m, gid, lam=2.0).float()
    try:
        gv.register_estimators({"additive": {"lam": 2.0}})
        got = compute_advantage(data, "g2r_additive", config=AlgoConfig()).batch["advantages"]
    finally:
        gv.register_estimators()
    assert torch.equal(got, want)
    cfg = OmegaConf.create({"g2r_params": {"additive": {"lam": 2.0}}})
    got2, _ = get_adv_estimator_fn("g2r_additive")(token_level_rewards=r, response_mask=m.float(),
                                                  index=data.non_tensor_batch["uid"], config=cfg)
    assert torch.equal(got2, want)
    with pytest.raises(G2RError, match="unknown estimators"):
        gv.register_estimators({"gae": {}})


def test_grpo_discards_the_dense_signal_and_ours_keeps_it():
    """The trap: verl's grpo sums token rewards first, so a dense reward and the same total on the
    last token give identical advantages; g2r_grad2reward tells them apart."""
    data = _batch(seed=3)
    r, m = data.batch["token_level_rewards"], data.batch["response_mask"]
    last = m.sum(-1).long() - 1
    sparse_r = torch.zeros_like(r)
    sparse_r[torch.arange(len(r)), last] = r.sum(-1)

    def run(est, rewards):
        d = DataProto.from_dict(tensors={"token_level_rewards": rewards.clone(), "response_mask": m.clone()},
                                non_tensors={"uid": data.non_tensor_batch["uid"].copy()})
        return compute_advantage(d, est, config=AlgoConfig(adv_estimator=est)).batch["advantages"]

    assert torch.allclose(run("grpo", r), run("grpo", sparse_r), atol=1e-6)
    assert torch.allclose(run("g2r_sparse", r), run("g2r_sparse", sparse_r), atol=1e-6)
    assert (run("g2r_grad2reward", r) - run("g2r_grad2reward", sparse_r)).abs().max() > 0.1


# ------------------------------------------------------------------------------ reward manager

@pytest.fixture(scope="module")
def world_tok():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(bundled_path("tokenizer")))


@pytest.fixture(scope="module")
def world_judge():
    return load_judge("external", device="cpu", dtype="float32")


def _rollout_batch(exs, tok, rubric_in="ground_truth", end=True):
    """A verl-shaped batch: left-padded prompts, right-padded responses (+ end token), masks."""
    pids = [policy_prompt_ids(tok, e.prompt) if tok.chat_template else tok(e.prompt)["input_ids"] for e in exs]
    rids = [tok(e.response, add_special_tokens=False)["input_ids"] + ([policy_end_id(tok)] if end else [])
            for e in exs]
    P, L = max(map(len, pids)) + 2, max(map(len, rids)) + 3
    pad = tok.pad_token_id or 0
    prompts = torch.full((len(exs), P), pad)
    responses = torch.full((len(exs), L), pad)
    am = torch.zeros(len(exs), P + L, dtype=torch.long)
    for i, (p, r) in enumerate(zip(pids, rids)):
        prompts[i, P - len(p):] = torch.tensor(p)
        responses[i, :len(r)] = torch.tensor(r)
        am[i, P - len(p):P + len(r)] = 1
    rub = [[{"criterion": c.text, "weight": c.weight} for c in e.rubric] for e in exs]
    nt = {"raw_prompt": np.array([[{"role": "user", "content": e.prompt}] for e in exs] + [None], dtype=object)[:-1]}
    if rubric_in == "ground_truth":
        nt["reward_model"] = np.array([{"style": "rubric", "ground_truth": rb} for rb in rub] + [None],
                                      dtype=object)[:-1]
    return DataProto.from_dict(tensors={"prompts": prompts, "responses": responses, "attention_mask": am,
                                        "input_ids": torch.cat([prompts, responses], 1)}, non_tensors=nt)


def _cfg(method="grad_x_input", enable=True, pool=False, crf="pkg://g2r_lens.integrations.verl", **extra):
    return OmegaConf.create({"reward": {"reward_model": {"enable": enable, "enable_resource_pool": pool},
                                        "custom_reward_function": {"path": crf, "name": "compute_score"},
                                        "reward_kwargs": {"g2r": {"judge": "external", "method": method,
                                                                  "device": "cpu", "dtype": "float32", **extra}}}})


@pytest.fixture(scope="module")
def world_case(world_tok, world_judge):
    """Six bundled-world examples, their verl batch, and the reference: g2r_lens.attribute itself."""
    if not have_models():
        pytest.skip("bundled world checkpoints missing")
    exs = world_examples("test", 6, seed=5)
    run = attribute(world_judge, exs, ["grad_x_input"], progress=False)
    return exs, _rollout_batch(exs, world_tok), run


@needs_world
def test_reward_manager_on_the_world_sums_to_sparse_and_equals_attribute(world_tok, world_judge, world_case):
    exs, data, run = world_case
    mgr = gv.G2RRewardManager(_cfg(), world_tok, None, judge=world_judge)
    rt, extra = mgr.score_batch(data)
    assert rt.shape == data.batch["responses"].shape and rt.dtype == torch.float32
    P = data.batch["prompts"].shape[1]
    for i, (e, er) in enumerate(zip(exs, run.examples)):
        n = int(data.batch["attention_mask"][i, P:].sum())
        assert rt[i, n:].abs().sum() == 0  # padding
        assert rt[i, n - 1] == 0  # the end token covers no text
        assert math.isclose(float(rt[i].sum()), er.sparse_reward, abs_tol=1e-5)
        assert math.isclose(extra["g2r_sparse_reward"][i], er.sparse_reward, abs_tol=1e-12)
        # the policy's tokens are the judge's here: projection is the identity
        ids = data.batch["responses"][i, :n - 1].tolist()
        offs = world_tok(e.response, add_special_tokens=False, return_offsets_mapping=True)
        assert offs["input_ids"] == ids
        want = project_rewards(er.rewards("grad_x_input"), er.offsets, offs["offset_mapping"])
        assert np.allclose(rt[i, :n - 1].numpy(), want, atol=1e-6)
        assert np.allclose(want, er.rewards("grad_x_input"), atol=1e-6)
        assert extra["g2r_n_true"][i] == sum(c.verdict for c in er.criteria)
    assert any(abs(float(rt[i].sum())) > 0 for i in range(len(exs)))


@needs_world
def test_tokenizer_mismatch_is_projected_by_characters(world_judge, gpt2_tok, world_case):
    exs, _, run = world_case
    data = _rollout_batch(exs, gpt2_tok, end=False)
    settings = gv.RewardSettings(judge="external", method="grad_x_input")
    rt, _ = gv.reward_tensor(data, world_judge, gpt2_tok, settings)
    differ = 0
    for i, (e, er) in enumerate(zip(exs, run.examples)):
        # independent reference: spread each judge token's reward evenly over its characters, then add
        # up the characters of each GPT-2 token
        per_char = np.zeros(len(e.response))
        for (s, t), v in zip(er.offsets, er.rewards("grad_x_input")):
            assert t > s
            per_char[s:t] += v / (t - s)
        enc = gpt2_tok(e.response, add_special_tokens=False, return_offsets_mapping=True)
        want = [per_char[s:t].sum() for s, t in enc["offset_mapping"]]
        differ += [tuple(o) for o in enc["offset_mapping"]] != [tuple(o) for o in er.offsets]
        n = len(want)
        assert np.allclose(rt[i, :n].numpy(), want, atol=1e-6)
        assert rt[i, n:].abs().sum() == 0
        assert math.isclose(float(rt[i].sum()), er.sparse_reward, abs_tol=1e-5)
    assert differ >= 1  # the two tokenizations really differ somewhere


@needs_world
def test_run_single_and_assemble_rm_scores_write_the_dense_tensor(world_tok, world_judge, world_case):
    exs, full, run = world_case
    exs = exs[:3]
    data = _rollout_batch(exs, world_tok, rubric_in="table")
    table = {e.prompt: [{"criterion": c.text, "weight": c.weight} for c in e.rubric] for e in exs}
    mgr = gv.G2RRewardManager(_cfg(), world_tok, None, judge=world_judge)
    mgr._table = table

    async def all_rows():
        return [await mgr.run_single(data[i:i + 1]) for i in range(len(data))]

    outs = asyncio.run(all_rows())
    rm = gv.G2RRewardManager.assemble_rm_scores(data, [o["reward_score"] for o in outs])
    P = data.batch["prompts"].shape[1]
    for i, er in enumerate(run.examples[:3]):
        n = int(data.batch["attention_mask"][i, P:].sum())
        assert np.allclose(rm[i, :n - 1].numpy(), er.rewards("grad_x_input"), atol=1e-6)
        assert rm[i, n - 1:].abs().sum() == 0
        info = outs[i]["reward_extra_info"]
        assert {"acc", "g2r_sparse_reward", "g2r_p_true_mean", "g2r_alpha_entropy"} <= set(info)
        assert math.isclose(info["acc"], er.sparse_reward, abs_tol=1e-12)

    sp = gv.G2RRewardManager(_cfg(method="sparse"), world_tok, None, judge=world_judge)
    sp._table = table
    async def concurrently():  # as verl's RewardLoopWorker.compute_score_batch runs them
        return await asyncio.gather(*[sp.run_single(data[i:i + 1]) for i in range(len(data))])

    outs = asyncio.run(concurrently())
    rm = gv.G2RRewardManager.assemble_rm_scores(data, [o["reward_score"] for o in outs])
    last = data.batch["attention_mask"][:, P:].sum(1) - 1
    for i, er in enumerate(run.examples[:3]):
        assert rm[i].count_nonzero() <= 1
        assert math.isclose(float(rm[i, last[i]]), er.sparse_reward, abs_tol=1e-6)


def test_dense_arm_on_the_agent_loop_path_is_refused(world_tok):
    with pytest.raises(G2RError, match=r"reward\.reward_model\.enable=True"):
        gv.G2RRewardManager(_cfg(enable=False), world_tok, None)
    with pytest.raises(G2RError, match="enable_resource_pool=False"):
        gv.G2RRewardManager(_cfg(pool=True), world_tok, None)
    with pytest.raises(G2RError, match="custom_reward_function.path"):
        gv.G2RRewardManager(_cfg(crf=None), world_tok, None)
    with pytest.raises(G2RError, match="marker"):
        gv.compute_score("src", "text", "[]", {})
    gv.G2RRewardManager(_cfg(method="sparse", enable=False), world_tok, None)  # the sparse arm works there
    with pytest.raises(G2RError, match="neither 'sparse'"):
        gv.RewardSettings(method="nope")
    with pytest.raises(G2RError, match="unknown g2r reward option"):
        gv.RewardSettings.from_mapping({"judg": "external"})


def test_registered_under_g2r_in_the_reward_loop_registry():
    from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls

    assert get_reward_manager_cls("g2r") is gv.G2RRewardManager


def test_verls_own_loader_builds_the_manager_from_the_example_config(world_tok):
    """The strings of examples/verl/run.sh resolve through verl's own loader (both arms)."""
    from verl.trainer.ppo.reward import load_reward_manager

    for method, enable in (("grad_x_input", True), ("sparse", False)):
        cfg = _cfg(method=method, enable=enable)
        cfg.reward.reward_manager = {"source": "importlib", "name": "G2RRewardManager",
                                     "module": {"path": "pkg://g2r_lens.integrations.verl"}}
        mgr = load_reward_manager(cfg, world_tok)
        assert isinstance(mgr, gv.G2RRewardManager) and mgr.settings.method == method
        assert mgr.settings.dense == (method != "sparse")


def test_example_data_and_rubric_table(tmp_path):
    """examples/verl/make_data.py writes verl parquet whose rubrics the manager's table reads back."""
    import subprocess
    import sys
    from pathlib import Path

    import pandas as pd

    from g2r_lens.world.bundle import load_tasks

    repo = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, str(repo / "examples/verl/make_data.py"), "--out", str(tmp_path), "--limit", "3"],
                   check=True, cwd=repo, env={**__import__("os").environ, "PYTHONPATH": str(repo)})
    df = pd.read_parquet(tmp_path / "train.parquet")
    assert len(df) == 3 and list(df.prompt[0][0].keys()) == ["role", "content"]
    table = gv.load_rubric_table(f"{tmp_path / 'train.parquet'},{tmp_path / 'val.parquet'}")
    assert len(table) == 6
    t = load_tasks("train")[0]
    assert table[t.prompt] == [{"criterion": c.text, "weight": c.weight} for c in t.rubric]
    with pytest.raises(G2RError, match="does not exist"):
        gv.load_rubric_table(tmp_path / "nope.parquet")
