"""Build the bundled world: task splits, tokenizer, policy (= self-judge) and external judge.

``g2r world build`` runs every stage, seeded, with progress bars, and writes standard Hugging Face
artefacts under ``g2r_lens/world/data`` (or ``--out``) that ``AutoTokenizer`` and
``AutoModelForCausalLM.from_pretrained(path)`` load offline.

Stages
1. tasks: seeded train / validation / test splits (disjoint scenes), JSONL.
2. tokenizer: byte-level BPE trained on world text, ChatML chat template.
3. policy: a small Llama-shaped LM trained on two jobs at once: writing responses to prompts
   (supervised on *noisy* responses, so its checker score starts well below the maximum and RL has
   room) and answering judge prompts (so that a frozen copy of it is a usable *self-judge*).
4. hardening data: responses sampled from that policy, labelled by the exact checker, added to the
   judges' data (a policy's own mistakes are what an RL run will show the judge).
5. external judge: a larger model trained on judge prompts only, on ordinary, adversarial
   (keyword lists, repetition, fragments, run-ons, misplaced content) and policy responses, all
   labelled by the checker.

Modules: :mod:`~g2r_lens.world.config` (the knobs), :mod:`~g2r_lens.world.corpus` (data and
tokenizer), :mod:`~g2r_lens.world.training` (models, losses, loop); this module runs the stages.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import torch

from ..errors import WorldError
from ..io import atomic_path
from ..judge import Judge
from .bundle import DATA_DIR
from .checker import check
from .config import BuildConfig, ModelShape
from .corpus import (JUDGE_MODES, POLICY_MODES, build_tokenizer, judge_item, response_stream, sft_example,
                     twin_stream, with_extra_criteria)
from .formats import TEMPLATES, policy_end_id
from .prompts import write_splits
from .responses import twin_edits
from .schema import Task, read_tasks
from .training import judge_loss, n_params, new_model, sample_policy, sft_loss, train

__all__ = ["BuildConfig", "ModelShape", "build", "train_policy", "train_judge_base"]


def save_half(model: torch.nn.Module, folder: Path) -> None:
    """Save ``model`` with fp16 weights (half the bytes in git) and an fp32 ``dtype`` in its config,
    so that ``from_pretrained`` (default dtype) still gives an fp32 model on CPU."""
    from safetensors.torch import load_file, save_file

    model.save_pretrained(folder)
    path = folder / "model.safetensors"
    weights = load_file(path)
    save_file({k: v.to(torch.float16).contiguous() for k, v in weights.items()}, path, metadata={"format": "pt"})


def _where(load_start: tuple) -> dict[str, Any]:
    """Where the build ran: device, cores, threads, and the load average at its start and end (a
    1-minute load above the cores used means the CPU was shared with other work)."""
    import platform

    return {"device": "cpu", "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "processor": platform.processor() or platform.machine(), "python": platform.python_version(),
            "loadavg_start": [round(x, 2) for x in load_start],
            "loadavg_end": [round(x, 2) for x in os.getloadavg()]}


def _done(folder: Path) -> None:
    (folder / ".done").write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))


def _is_done(folder: Path, cfg: BuildConfig) -> bool:
    return cfg.resume and (folder / ".done").exists()


def _judge_stream(tasks: Sequence[Task], cfg: BuildConfig, seed: int):
    """Judge responses (:data:`JUDGE_MODES`), a share followed by their counterfactual twin."""
    return twin_stream(response_stream(tasks, random.Random(seed), JUDGE_MODES), random.Random(seed + 100),
                       cfg.twin_rate, twin_edits(cfg.twin_edits))


def _items(judge: Judge, triples, cfg: BuildConfig, rng: random.Random) -> list:
    """Judge items of ``(task, response, mode)`` triples, each rubric extended by
    ``cfg.judge_extra_criteria`` checker-labelled criteria (:func:`~.corpus.with_extra_criteria`)."""
    return [judge_item(judge, with_extra_criteria(t, rng, cfg.judge_extra_criteria), r, m) for t, r, m in triples]


def _judge_lr(cfg: BuildConfig) -> float:
    return cfg.judge_lr or cfg.lr


def train_judge_base(out: Path, cfg: BuildConfig) -> None:
    """Stage 5a: the external judge on ordinary and adversarial responses (no policy data needed)."""
    from transformers import AutoTokenizer

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    tok = AutoTokenizer.from_pretrained(out / "tokenizer")
    train_tasks = read_tasks(out / "tasks" / "train.jsonl")
    judge = new_model(tok, cfg.judge, cfg.seed + 10)
    jj = Judge(judge, tok, TEMPLATES[cfg.template])
    judge.requires_grad_(True)
    stream = _judge_stream(train_tasks, cfg, cfg.seed + 4)
    xrng = random.Random(cfg.seed + 40)
    log: list[dict] = []

    def loss_fn(step):
        items = _items(jj, [next(stream) for _ in range(cfg.judge_batch)], cfg, xrng)
        loss, acc = judge_loss(judge, items, tok.pad_token_id, jj.true_id, jj.false_id, cfg.judge_lm_weight,
                               cfg.balance)
        return loss, {"acc": acc}

    train(judge, cfg.judge_steps, _judge_lr(cfg), loss_fn, "external judge (base)", log, checkpoint=out / "judge_base.ckpt")
    judge.save_pretrained(out / "judge_base")
    (out / "judge_base" / "log.json").write_text(json.dumps(log))
    _done(out / "judge_base")


def train_policy(out: Path, cfg: BuildConfig, tok: Any, train_tasks: Sequence[Task], log: list) -> torch.nn.Module:
    """Stages 3-4: the policy learns to write (noisy) responses and to judge; then a hardening
    stage adds judge prompts on its own samples (so the self-judge has seen what it writes)."""
    rng = random.Random(cfg.seed)
    policy = new_model(tok, cfg.policy, cfg.seed)
    pj = Judge(policy, tok, TEMPLATES[cfg.template])
    policy.requires_grad_(True)
    true_id, false_id, pad = pj.true_id, pj.false_id, tok.pad_token_id
    sft_stream = response_stream(train_tasks, random.Random(cfg.seed + 1), POLICY_MODES)
    jd_stream = _judge_stream(train_tasks, cfg, cfg.seed + 2)
    jb = cfg.policy_judge_batch
    xrng = random.Random(cfg.seed + 41)

    if cfg.policy_sft_steps:  # writing only first: the model learns to read its prompt before it judges
        snap = out / "policy_sft.pt"
        if cfg.resume and snap.exists():
            policy.load_state_dict(torch.load(snap, weights_only=True))
        else:
            def sft_only(step):
                sft = [sft_example(tok, t.prompt, r) for t, r, _ in (next(sft_stream) for _ in range(cfg.sft_batch))]
                return sft_loss(policy, sft, pad), {}

            train(policy, cfg.policy_sft_steps, cfg.lr, sft_only, "policy (writing)", log,
                  checkpoint=out / "policy_sft.ckpt")
            with atomic_path(snap) as tmp:
                torch.save(policy.state_dict(), tmp)

    def policy_loss(step):
        sft = [sft_example(tok, t.prompt, r) for t, r, _ in (next(sft_stream) for _ in range(cfg.sft_batch))]
        items = _items(pj, [next(jd_stream) for _ in range(jb)], cfg, xrng)
        l1 = sft_loss(policy, sft, pad)
        l2, acc = judge_loss(policy, items, pad, true_id, false_id, 0.0, cfg.balance)
        return l1 + l2, {"sft": l1.item(), "judge_acc": acc}

    train(policy, cfg.policy_steps, cfg.lr, policy_loss, "policy (sft + judge)", log,
          checkpoint=out / "policy.ckpt")
    policy.requires_grad_(False)

    # 4. hardening data: the policy's own samples, labelled by the checker
    hard_tasks = [rng.choice(train_tasks) for _ in range(cfg.hardening_responses)]
    samples = sample_policy(policy, tok, [t.prompt for t in hard_tasks], max_new_tokens=cfg.max_new_tokens,
                            temperature=1.0, seed=cfg.seed)
    hard = [(t, r, "policy") for t, r in zip(hard_tasks, samples) if r.strip()]

    # a short second policy stage: judge prompts on its own samples too (self-judge hardening)
    policy.requires_grad_(True)
    hard_rng = random.Random(cfg.seed + 3)

    def policy_hard_loss(step):
        sft = [sft_example(tok, t.prompt, r) for t, r, _ in (next(sft_stream) for _ in range(cfg.sft_batch))]
        mix = [hard_rng.choice(hard) if hard_rng.random() < 0.5 else next(jd_stream) for _ in range(jb)]
        items = _items(pj, mix, cfg, xrng)
        l1 = sft_loss(policy, sft, pad)
        l2, acc = judge_loss(policy, items, pad, true_id, false_id, 0.0, cfg.balance)
        return l1 + l2, {"sft": l1.item(), "judge_acc": acc}

    train(policy, cfg.policy_hard_steps or max(1, cfg.policy_steps // 4), cfg.lr / 3, policy_hard_loss, "policy (hardening)", log,
          checkpoint=out / "policy_hard.ckpt")
    _save_policy(policy, tok, out)
    return policy


def _save_policy(policy: torch.nn.Module, tok: Any, out: Path) -> None:
    policy.requires_grad_(False)
    policy.generation_config.eos_token_id = policy_end_id(tok)
    policy.generation_config.pad_token_id = tok.pad_token_id
    save_half(policy, out / "policy")
    tok.save_pretrained(out / "policy")


def extend_policy(out: Path, cfg: BuildConfig, tok: Any, train_tasks: Sequence[Task], policy: torch.nn.Module,
                  log: list) -> torch.nn.Module:
    """Stage 4c: ``policy_extra_steps`` more of writing and judging (half of the judge responses its
    own samples), on a fresh schedule at ``lr / 2``: copying the prompt's facts (event, place, day,
    number, item) is learned after copying its name, and late."""
    rng = random.Random(cfg.seed + 11)
    pj = Judge(policy, tok, TEMPLATES[cfg.template])
    hard_tasks = [rng.choice(train_tasks) for _ in range(max(1, cfg.hardening_responses // 2))]
    samples = sample_policy(policy, tok, [t.prompt for t in hard_tasks], max_new_tokens=cfg.max_new_tokens,
                            temperature=1.0, seed=cfg.seed + 11)
    hard = [(t, r, "policy") for t, r in zip(hard_tasks, samples) if r.strip()] or [(hard_tasks[0], "Hi.", "policy")]
    policy.requires_grad_(True)
    sft_stream = response_stream(train_tasks, random.Random(cfg.seed + 12), POLICY_MODES)
    jd_stream = _judge_stream(train_tasks, cfg, cfg.seed + 13)
    pad = tok.pad_token_id
    xrng = random.Random(cfg.seed + 43)

    def loss_fn(step):
        sft = [sft_example(tok, t.prompt, r) for t, r, _ in (next(sft_stream) for _ in range(cfg.sft_batch))]
        mix = [rng.choice(hard) if rng.random() < 0.5 else next(jd_stream) for _ in range(cfg.policy_judge_batch)]
        items = _items(pj, mix, cfg, xrng)
        l1 = sft_loss(policy, sft, pad)
        l2, acc = judge_loss(policy, items, pad, pj.true_id, pj.false_id, 0.0, cfg.balance)
        return l1 + l2, {"sft": l1.item(), "judge_acc": acc}

    train(policy, cfg.policy_extra_steps, cfg.lr / 2, loss_fn, "policy (copying)", log,
          checkpoint=out / "policy_extra.ckpt")
    _save_policy(policy, tok, out)
    return policy


def build(out: str | Path | None = None, cfg: BuildConfig | None = None) -> dict[str, Any]:
    """Run every stage; returns a summary (also written to ``build.json``)."""
    cfg = cfg or BuildConfig()
    if cfg.template not in TEMPLATES:
        raise WorldError(f"unknown judge layout {cfg.template!r}; use one of {sorted(TEMPLATES)}")
    twin_edits(cfg.twin_edits)  # an unknown name fails here, before any training
    out = Path(out) if out else DATA_DIR
    out.mkdir(parents=True, exist_ok=True)
    if cfg.parallel and not cfg.threads:
        cfg.threads = 1  # one core per process: small matmuls gain little from a second thread
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    t0 = time.time()
    load_start = os.getloadavg()
    log: list[dict] = []
    rng = random.Random(cfg.seed)

    # 1. tasks
    write_splits(out / "tasks", seed=cfg.seed, n_train=cfg.n_train, n_val=cfg.n_val, n_test=cfg.n_test)
    train_tasks = read_tasks(out / "tasks" / "train.jsonl")

    # 2. tokenizer
    tok_dir = out / "tokenizer"
    if _is_done(tok_dir, cfg):
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(tok_dir)
    else:
        tok = build_tokenizer(train_tasks, cfg.vocab_size, cfg.seed)
        tok.save_pretrained(tok_dir)
        _done(tok_dir)

    # 5a. the external judge's base stage needs no policy data: with `parallel`, it trains in a
    # second process on the other core while the policy trains here.
    proc = None
    judge_done = _is_done(out / "judge", cfg)
    if cfg.parallel and not judge_done and not _is_done(out / "judge_base", cfg):
        import subprocess
        import sys

        (out / "build_config.json").write_text(json.dumps(asdict(cfg)))
        proc = subprocess.Popen([sys.executable, "-m", "g2r_lens.world.build", "--judge-base", str(out)])

    try:
        # 3-4. policy (skipped when complete, e.g. when a build resumes)
        from transformers import AutoModelForCausalLM

        if _is_done(out / "policy", cfg):
            policy = AutoModelForCausalLM.from_pretrained(out / "policy")
        else:
            policy = train_policy(out, cfg, tok, train_tasks, log)
            _done(out / "policy")
            (out / "policy_sft.pt").unlink(missing_ok=True)
        if cfg.policy_extra_steps and not (cfg.resume and (out / "policy" / ".extra_done").exists()):
            policy = extend_policy(out, cfg, tok, train_tasks, policy, log)
            (out / "policy" / ".extra_done").write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
        pj = Judge(policy, tok, TEMPLATES[cfg.template])
        true_id, false_id, pad = pj.true_id, pj.false_id, tok.pad_token_id
        jd_stream = _judge_stream(train_tasks, cfg, cfg.seed + 5)
        hard_rng = random.Random(cfg.seed + 3)

        # 4b. hardening data for the external judge: the final policy's own samples, checker-labelled
        hard_tasks = [rng.choice(train_tasks) for _ in range(cfg.hardening_responses)]
        samples = sample_policy(policy, tok, [t.prompt for t in hard_tasks], max_new_tokens=cfg.max_new_tokens,
                                temperature=1.0, seed=cfg.seed + 7)
        hard = [(t, r, "policy") for t, r in zip(hard_tasks, samples) if r.strip()]
        policy_score = sum(check(t, r).score for t, r, _ in hard) / max(1, len(hard))
    except BaseException:  # interrupted or failed: do not leave the judge process running
        if proc is not None:
            proc.terminate()
        raise

    # 5. external judge: base stage (5a), then hardening on a mix that includes the policy's samples
    if judge_done:  # a resumed build whose external judge is complete
        judge = AutoModelForCausalLM.from_pretrained(out / "judge")
        return _summary(out, cfg, policy, judge, tok, policy_score, t0, load_start, log)
    if proc is not None:
        if proc.wait() != 0:
            raise WorldError("the external judge's base stage failed (see its output above)")
    elif not _is_done(out / "judge_base", cfg):
        train_judge_base(out, cfg)
    if cfg.parallel:  # the second process is done: the hardening stage may use every core
        torch.set_num_threads(os.cpu_count() or 1)
    judge = AutoModelForCausalLM.from_pretrained(out / "judge_base")
    log.extend(json.loads((out / "judge_base" / "log.json").read_text()))
    jj = Judge(judge, tok, TEMPLATES[cfg.template])
    judge.requires_grad_(True)

    xrng = random.Random(cfg.seed + 42)

    def ext_loss(step):
        mix = [hard_rng.choice(hard) if hard_rng.random() < 0.4 else next(jd_stream) for _ in range(cfg.judge_batch)]
        items = _items(jj, mix, cfg, xrng)
        loss, acc = judge_loss(judge, items, pad, true_id, false_id, cfg.judge_lm_weight, cfg.balance)
        return loss, {"acc": acc}

    train(judge, cfg.judge_hard_steps or max(1, cfg.judge_steps // 4), _judge_lr(cfg) / 3, ext_loss, "external judge (hardening)", log,
          checkpoint=out / "judge_hard.ckpt")
    judge.requires_grad_(False)
    save_half(judge, out / "judge")
    tok.save_pretrained(out / "judge")
    _done(out / "judge")
    shutil.rmtree(out / "judge_base", ignore_errors=True)
    return _summary(out, cfg, policy, judge, tok, policy_score, t0, load_start, log)


def _summary(out, cfg, policy, judge, tok, policy_score, t0, load_start, log) -> dict[str, Any]:
    seconds = round(time.time() - t0, 1)
    runs = [{"seconds": seconds, "where": _where(load_start)}]
    prev = out / "build.json"
    if cfg.resume and prev.exists():  # a resumed build: its time adds to the earlier runs'
        try:
            old = json.loads(prev.read_text())
            runs = old.get("runs") or [{"seconds": old.get("seconds", 0.0), "where": old.get("where", {})}]
            runs = runs + [{"seconds": seconds, "where": _where(load_start)}]
            log = list(old.get("log", [])) + list(log)
        except (ValueError, OSError):
            pass
    summary = {
        "config": asdict(cfg),
        "params": {"policy": n_params(policy), "judge": n_params(judge)},
        "vocab_size": len(tok),
        "policy_sample_checker_score": policy_score,
        "seconds": round(sum(r["seconds"] for r in runs), 1),
        "where": _where(load_start),
        "runs": runs,
        "torch": torch.__version__,
        "log": log,
    }
    (out / "build.json").write_text(json.dumps(summary, indent=1))
    return summary


if __name__ == "__main__":  # internal entry point of the parallel judge stage
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--judge-base":
        folder = Path(sys.argv[2])
        train_judge_base(folder, BuildConfig.from_dict(json.loads((folder / "build_config.json").read_text())))
    else:
        raise SystemExit("use `g2r world build`")
