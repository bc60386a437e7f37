"""The training loop: token-level GRPO on the bundled world, readable top to bottom.

One step:

1. **prompts**: ``prompts_per_step`` train tasks, drawn with a step-seeded RNG;
2. **generation**: ``group_size`` samples per prompt (:func:`~g2r_lens.rl.rollout.rollout`, a
   step-seeded ``torch.Generator``);
3. **judging / attribution**: rewards on the policy's tokens (:class:`~g2r_lens.rl.scoring.Scorer`);
   the exact checker scores every sample too (logged; the reward only in the oracle modes);
4. **advantages**: one registered estimator (:mod:`g2r_lens.rl.advantages`);
5. **update**: PPO-clip (ε = 0.2) with a token-mean over all valid tokens of the batch, an optional
   k3 KL penalty to the initial policy (the KL is always logged), gradient-norm clipping, AdamW.

Simplifications, on purpose: on-policy by default (``ppo_epochs = 1`` and one minibatch, so the
ratio is 1 and clipping is inert, as in nanochat and GRPO-Zero; more epochs are supported), no
value model, no learning-rate schedule, no reward whitening across steps.

Repeatability: every random choice of step ``s`` derives from ``(seed, s)`` (prompt choice,
sampling, the global torch/python/numpy seeds), never from state carried between steps, so the
only state a checkpoint must carry is the policy, the optimizer and the step (RNG states are saved
and restored too, for anything else that draws). A run killed and resumed from its last checkpoint
reproduces the uninterrupted run bit for bit on the same machine.

Run folder::

    config.json       the TrainConfig
    metrics.jsonl     one row per step (rewards, checker score, agreement, KL, entropy, lengths,
                      advantage statistics, time split)
    eval.jsonl        held-out evaluation rows (step 0, every ``eval_every`` steps, the last step)
    samples.jsonl     every ``samples_every`` steps: a few groups with text, tokens, offsets, token
                      rewards, advantages, verdicts and the checker's truth spans (for the explorer)
    ckpt/last.pt      policy + optimizer + RNG states + step + metric-file sizes (atomic replace)
    policy/           the final policy as a Hugging Face folder (with its tokenizer)

Held-out evaluation: the first ``eval_prompts`` tasks of the *test* split, scored by the exact
checker (never by the judge). Default ``eval_mode="sampled"``: ``eval_samples`` samples per prompt
at the training temperature with a *fixed* generator seed (derived from the run seed only), so
every evaluation of a run and every arm of a comparison with the same seed uses the same random
numbers (common random numbers: differences come from the parameters, not from sampling noise).
``eval_mode="greedy"`` decodes greedily instead.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from ..errors import G2RError
from ..io import atomic_path, atomic_write, clean_json
from ..runtime import resolve_device
from .advantages import compute_advantages, position_correlation, zero_std_fraction
from .config import EVAL_MODES, JUDGES, TrainConfig  # noqa: F401 - kept importable from here
from .losses import get_policy_loss
from .rollout import Rollout, rollout, token_logprobs
from .runfolder import (CHECKPOINT, CHECKPOINT_DIR, CONFIG, EVALS, METRICS, POLICY_DIR, RUN_FILES, SAMPLES,
                        JsonlWriter, read_jsonl)  # noqa: F401 - read_jsonl: kept importable from here
from .scoring import Scorer, agreement, credit_on_truth

# ----------------------------------------------------------------------------------------- helpers

def seed_for(*parts: Any) -> int:
    """A stable 31-bit seed from any parts (crc32 of their text)."""
    return zlib.crc32("\x1f".join(map(str, parts)).encode()) & 0x7FFFFFFF


_jsonable = clean_json  # the old private name, kept for callers that still import it


@dataclass
class World:
    policy_dir: Path
    judge_dir: Path
    train: list
    test: list


def load_world(cfg: TrainConfig) -> World:
    from ..world.bundle import DATA_DIR, load_tasks

    root = Path(cfg.world) if cfg.world else DATA_DIR
    pol, jud = root / "policy", root / "judge"
    if not (pol / "config.json").exists():
        raise G2RError(f"no policy checkpoint at {pol}; build the world with `g2r world build` or pass --world")
    if cfg.judge == "external" and not (jud / "config.json").exists():
        raise G2RError(f"no external judge checkpoint at {jud}")
    folder = Path(cfg.tasks) if cfg.tasks else root / "tasks"
    train = load_tasks("train", folder)
    if not train:
        raise G2RError(f"the train split at {folder} holds no tasks")
    if cfg.prompts_per_step > len(train):
        raise G2RError(f"prompts_per_step={cfg.prompts_per_step} but the train split has only {len(train)} tasks")
    test = []
    if cfg.eval_prompts:
        test = load_tasks("test", folder)
        if not test:
            raise G2RError(f"the test split at {folder} holds no tasks (set eval_prompts=0 to train without "
                           "held-out evaluation)")
    return World(pol, jud, train, test)


# ----------------------------------------------------------------------------------------- the trainer

class Trainer:
    """Owns the models, the optimizer and the run folder. ``Trainer(cfg, out).train()``."""

    #: the registered policy loss of the update (:mod:`g2r_lens.rl.losses`)
    policy_loss_name = "ppo_clip"

    def __init__(self, cfg: TrainConfig, out: str | Path, *, overwrite: bool = False, progress: bool = True) -> None:
        cfg.validate()
        self.cfg, self.out, self.progress = cfg, Path(out), progress
        self.policy_loss = get_policy_loss(self.policy_loss_name)
        self.world = load_world(cfg)
        self._prepare_folder(overwrite)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from ..world.bundle import load_judge

        self.device = resolve_device(cfg.device)
        self.tok = AutoTokenizer.from_pretrained(self.world.policy_dir)
        torch.manual_seed(cfg.seed)
        self.policy = AutoModelForCausalLM.from_pretrained(self.world.policy_dir, dtype=torch.float32).to(self.device)
        self.policy.train()
        self.ref = AutoModelForCausalLM.from_pretrained(self.world.policy_dir, dtype=torch.float32).to(self.device)
        self.ref.eval().requires_grad_(False)
        judge = None
        needs_judge = cfg.reward not in ("oracle_sparse", "oracle_dense") or cfg.judge_oracles
        if needs_judge:
            path = self.world.policy_dir if cfg.judge == "self" else self.world.judge_dir
            judge = load_judge(path=path, device=str(self.device), dtype=cfg.judge_dtype, truncation="response")
        self.scorer = Scorer(judge, cfg.reward, tau=cfg.tau, tau_mode=cfg.tau_mode,
                             attribute_false=cfg.attribute_false, batch_size=cfg.attr_batch_size,
                             judge_oracles=cfg.judge_oracles)
        self.opt = torch.optim.AdamW(self.policy.parameters(), lr=cfg.lr, betas=(0.9, 0.99),
                                     weight_decay=cfg.weight_decay, eps=1e-8)
        self.step = 0
        self.metrics = JsonlWriter(self.out / METRICS)
        self.evals = JsonlWriter(self.out / EVALS)
        self.samples = JsonlWriter(self.out / SAMPLES)
        self._resume()

    # ------------------------------------------------------------------ run folder
    def _prepare_folder(self, overwrite: bool) -> None:
        out, cfg = self.out, self.cfg
        conf = out / CONFIG
        if overwrite and out.exists():
            for name in RUN_FILES:
                (out / name).unlink(missing_ok=True)
            shutil.rmtree(out / CHECKPOINT_DIR, ignore_errors=True)
            shutil.rmtree(out / POLICY_DIR, ignore_errors=True)
        out.mkdir(parents=True, exist_ok=True)
        if conf.exists():
            old = json.loads(conf.read_text())
            diff = {k: (old.get(k), v) for k, v in asdict(cfg).items() if k != "steps" and old.get(k) != v}
            if diff:
                raise G2RError(f"{out} holds a run with another config ({', '.join(f'{k}: {a!r} -> {b!r}' for k, (a, b) in diff.items())}); "
                               "resume it with the same settings, or use --overwrite / another --out")
        atomic_write(conf, json.dumps(asdict(cfg), indent=1))

    def _ckpt_path(self) -> Path:
        return self.out / CHECKPOINT

    def _resume(self) -> None:
        path = self._ckpt_path()
        if not path.exists():  # fresh start (or killed before the first checkpoint): start over
            for f in (self.metrics, self.evals, self.samples):
                f.truncate(0)
            return
        state = torch.load(path, map_location="cpu", weights_only=False)  # load_state_dict moves to the device
        self.policy.load_state_dict(state["policy"])
        self.opt.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        random.setstate(state["rng"]["python"])
        np.random.set_state(state["rng"]["numpy"])
        torch.set_rng_state(state["rng"]["torch"])
        if torch.cuda.is_available() and state["rng"].get("cuda") is not None:
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        for f, key in ((self.metrics, "metrics"), (self.evals, "eval"), (self.samples, "samples")):
            f.truncate(state["files"][key])  # drop rows written after the checkpoint

    def save_checkpoint(self) -> None:
        state = {
            "step": self.step,
            "policy": self.policy.state_dict(),
            "optimizer": self.opt.state_dict(),
            "rng": {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None},
            "files": {"metrics": self.metrics.size(), "eval": self.evals.size(), "samples": self.samples.size()},
            "config": asdict(self.cfg),
        }
        with atomic_path(self._ckpt_path()) as tmp:
            torch.save(state, tmp)

    def save_policy(self) -> Path:
        dst = self.out / POLICY_DIR
        tmp = self.out / "policy.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        self.policy.save_pretrained(tmp)
        self.tok.save_pretrained(tmp)
        shutil.rmtree(dst, ignore_errors=True)
        os.replace(tmp, dst)
        return dst

    # ------------------------------------------------------------------ one step
    def _seed_step(self, step: int) -> None:
        s = seed_for(self.cfg.seed, "step", step)
        random.seed(s)
        np.random.seed(s)
        torch.manual_seed(s)

    def _generator(self, *parts: Any) -> torch.Generator:
        return torch.Generator(device=self.device).manual_seed(seed_for(self.cfg.seed, *parts))

    def _tensors(self, ro: Rollout, token_rewards: list[np.ndarray], rewards: list[float]):
        B, T = ro.response_ids.shape
        r = torch.zeros(B, T, dtype=torch.float64)
        for i, tr in enumerate(token_rewards):
            r[i, : len(tr)] = torch.as_tensor(tr, dtype=torch.float64)
        return r, torch.tensor(rewards, dtype=torch.float64), ro.response_mask.cpu(), ro.group_ids

    def _update(self, ro: Rollout, adv: torch.Tensor) -> dict[str, float]:
        cfg = self.cfg
        mask = ro.response_mask.to(self.device)
        adv = adv.to(self.device, torch.float32)
        B = mask.shape[0]
        n_tok = mask.sum().clamp_min(1)
        mb = cfg.minibatch_size or B
        chunks = [torch.arange(s, min(B, s + mb), device=self.device) for s in range(0, B, mb)]
        exact_on_policy = cfg.ppo_epochs == 1 and len(chunks) == 1
        with torch.no_grad():
            ref_lp = torch.cat([token_logprobs(self.ref, ro, cfg.temperature, rows=c)[0] for c in chunks])
            old_lp = None if exact_on_policy else \
                torch.cat([token_logprobs(self.policy, ro, cfg.temperature, rows=c)[0] for c in chunks])
        stats = {"loss": 0.0, "pg_loss": 0.0, "kl": 0.0, "kl_k1": 0.0, "entropy": 0.0, "clip_frac": 0.0,
                 "grad_norm": 0.0}
        for epoch in range(cfg.ppo_epochs):
            self.opt.zero_grad(set_to_none=True)
            ep = {k: 0.0 for k in stats}
            for c in chunks:
                lp, ent = token_logprobs(self.policy, ro, cfg.temperature, with_entropy=True, rows=c)
                m = mask[c].float()
                old = lp.detach() if old_lp is None else old_lp[c]
                # token-mean over the whole batch (n_tok), so the minibatch gradients add up
                pg_loss, pg = self.policy_loss(lp, old, adv[c], m, cfg.clip_eps, n_tokens=n_tok)
                d = ref_lp[c] - lp
                k3 = torch.exp(d) - d - 1  # unbiased, non-negative estimate of KL(π || π_ref)
                kl = (k3 * m).sum() / n_tok
                loss = pg_loss + cfg.kl * kl
                loss.backward()
                with torch.no_grad():
                    ep["loss"] += float(loss)
                    ep["pg_loss"] += pg["pg_loss"]
                    ep["kl"] += float(kl)
                    ep["kl_k1"] += float((-d * m).sum() / n_tok)
                    ep["entropy"] += float((ent * m).sum() / n_tok)
                    ep["clip_frac"] += pg["clip_frac"]
            gn = torch.nn.utils.clip_grad_norm_(self.policy.parameters(), cfg.grad_clip if cfg.grad_clip > 0 else float("inf"))
            ep["grad_norm"] = float(gn)
            self.opt.step()
            if epoch == 0:
                stats = ep  # statistics of the first epoch: the policy that sampled the batch
        return stats

    def train_step(self) -> dict[str, Any]:
        cfg, step = self.cfg, self.step + 1
        self._seed_step(step)
        t0 = time.perf_counter()
        rng = random.Random(seed_for(cfg.seed, "prompts", step))
        picked = rng.sample(range(len(self.world.train)), cfg.prompts_per_step)
        tasks = [self.world.train[i] for i in picked]
        self.policy.eval()
        ro = rollout(self.policy, self.tok, [t.prompt for t in tasks], group_size=cfg.group_size,
                     max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature, top_p=cfg.top_p,
                     generator=self._generator("gen", step))
        self.policy.train()
        t_gen = time.perf_counter() - t0
        row_tasks = [tasks[i] for i in ro.task_index]
        sc = self.scorer.score(row_tasks, ro.texts, ro.offsets, ids=[f"s{step}-{i}" for i in range(len(ro))])
        t_score = time.perf_counter() - t0 - t_gen
        r, R, m, g = self._tensors(ro, sc.token_rewards, sc.rewards)
        adv = compute_advantages(cfg.estimator, r, R, m, g, **cfg.estimator_params())
        t1 = time.perf_counter()
        up = self._update(ro, adv)
        t_up = time.perf_counter() - t1
        self.step = step
        lengths = ro.lengths
        jr = [x for x in sc.judge_rewards if x is not None]
        cot, truth_frac = credit_on_truth(sc, ro.offsets)
        av = adv[m]
        row = {
            "step": step,
            "reward": float(np.mean(sc.rewards)),
            "judge_reward": float(np.mean(jr)) if jr else math.nan,
            "checker_score": float(np.mean(sc.checker_scores)),
            "judge_minus_checker": float(np.mean(jr) - np.mean(sc.checker_scores)) if jr else math.nan,
            "agreement": agreement(sc),
            **{k: up[k] for k in ("kl", "kl_k1", "entropy", "loss", "pg_loss", "clip_frac", "grad_norm")},
            "response_len": float(np.mean(lengths)),
            "hit_cap": float(np.mean([not e for e in ro.ended])),
            "empty_frac": float(np.mean([not t.strip() for t in ro.texts])),
            "adv_mean": float(av.mean()) if av.numel() else math.nan,
            "adv_std": float(av.std(unbiased=False)) if av.numel() else math.nan,
            "adv_pos_corr": position_correlation(adv, m),
            "frac_zero_std": zero_std_fraction(R, g),
            "alpha_entropy": sc.alpha_entropy,
            "credit_on_truth": cot,
            "truth_token_frac": truth_frac,
            "conservation_error": sc.max_conservation_error,
            "time_generation": t_gen,
            "time_judge": sc.seconds.get("judge", 0.0),
            "time_attribution": sc.seconds.get("attribution", 0.0),
            "time_scoring_other": t_score - sum(sc.seconds.values()),
            "time_update": t_up,
            "time_step": time.perf_counter() - t0,
        }
        if cfg.samples_every and (step == 1 or step % cfg.samples_every == 0):
            self._dump_samples(step, ro, row_tasks, sc, adv)
        return row

    def _dump_samples(self, step: int, ro: Rollout, tasks: list, sc, adv: torch.Tensor) -> None:
        n = min(len(ro), self.cfg.samples_groups * self.cfg.group_size)
        ids = ro.response_ids.tolist()
        for i in range(n):
            L = len(ro.offsets[i])
            text = ro.texts[i]
            toks = [text[s:e] if e > s else self.tok.convert_ids_to_tokens(ids[i][k])
                    for k, (s, e) in enumerate(ro.offsets[i])]
            self.samples.append({
                "step": step, "index": i, "group": int(ro.group_ids[i]), "task_id": tasks[i].id,
                "prompt": tasks[i].prompt, "response": text, "ended": ro.ended[i],
                "rubric": [{"criterion": c.text, "weight": c.weight, "kind": c.kind} for c in tasks[i].rubric],
                "tokens": toks, "token_ids": ids[i][:L], "offsets": [list(o) for o in ro.offsets[i]],
                "token_rewards": [float(x) for x in sc.token_rewards[i]],
                "advantages": [float(x) for x in adv[i, :L]],
                "reward": sc.rewards[i], "judge_reward": sc.judge_rewards[i], "judge_verdicts": sc.judge_verdicts[i],
                "checker_score": sc.checks[i].score, "checker": sc.checks[i].satisfied,
                "truth_spans": [[list(s) for s in c.truth_spans] for c in sc.checks[i].criteria],
                "reward_mode": self.cfg.reward, "estimator": self.cfg.estimator,
            })

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def evaluate(self) -> dict[str, Any]:
        """Exact-checker score of the policy on held-out test prompts (see the module docstring)."""
        from ..world.checker import check

        cfg = self.cfg
        tasks = self.world.test[: cfg.eval_prompts]
        t0 = time.perf_counter()
        was = self.policy.training
        self.policy.eval()
        greedy = cfg.eval_mode == "greedy"
        ro = rollout(self.policy, self.tok, [t.prompt for t in tasks], group_size=1 if greedy else cfg.eval_samples,
                     max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature, top_p=cfg.top_p,
                     greedy=greedy, generator=self._generator("eval"), batch_size=64)
        self.policy.train(was)
        res = [check(tasks[i], t) for i, t in zip(ro.task_index, ro.texts)]
        by_kind: dict[str, list[bool]] = {}
        for rr in res:
            for c in rr.criteria:
                by_kind.setdefault(c.kind, []).append(c.satisfied)
        return {
            "step": self.step,
            "checker_score": float(np.mean([x.score for x in res])),
            **{f"sat_{k}": float(np.mean(v)) for k, v in sorted(by_kind.items())},
            "response_len": float(np.mean(ro.lengths)),
            "hit_cap": float(np.mean([not e for e in ro.ended])),
            "n": len(res),
            "time_eval": time.perf_counter() - t0,
        }

    # ------------------------------------------------------------------ the loop
    def train(self, *, stop_after: int | None = None,
              on_step: Callable[["Trainer", dict], None] | None = None) -> dict[str, Any]:
        """Run until ``cfg.steps`` (or ``stop_after`` more steps); returns the last rows."""
        cfg = self.cfg
        if self.step == 0 and cfg.eval_prompts and self.evals.size() == 0:
            self.evals.append(self.evaluate())
        last = self.step + stop_after if stop_after is not None else cfg.steps
        last = min(last, cfg.steps)
        bar = tqdm(total=cfg.steps, initial=self.step, desc=f"g2r train {cfg.reward}/{cfg.estimator}",
                   unit="step", disable=not self.progress)
        row: dict[str, Any] = {}
        ev: dict[str, Any] | None = None
        while self.step < last:
            row = self.train_step()
            if cfg.eval_prompts and ((cfg.eval_every and self.step % cfg.eval_every == 0) or self.step == cfg.steps):
                ev = self.evaluate()
                row["eval_checker_score"] = ev["checker_score"]
                row["time_eval"] = ev["time_eval"]
                self.evals.append(ev)
            self.metrics.append(row)
            if on_step is not None:
                on_step(self, row)
            if (cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0) or self.step == last:
                self.save_checkpoint()
            bar.update(1)
            bar.set_postfix(R=f"{row['reward']:.3f}", chk=f"{row['checker_score']:.3f}", kl=f"{row['kl']:.3f}",
                            len=f"{row['response_len']:.0f}",
                            **({"eval": f"{ev['checker_score']:.3f}"} if ev else {}))
        bar.close()
        if self.step == cfg.steps and cfg.save_policy:
            self.save_policy()
        summary = {"step": self.step, "last": row, "eval": ev}
        atomic_write(self.out / "summary.json", json.dumps(clean_json(summary), indent=1))
        return summary


def train(cfg: TrainConfig, out: str | Path, *, overwrite: bool = False, progress: bool = True,
          stop_after: int | None = None, on_step: Callable | None = None) -> dict[str, Any]:
    """Train (or resume) a run in ``out``; see :class:`TrainConfig` and the module docstring."""
    return Trainer(cfg, out, overwrite=overwrite, progress=progress).train(stop_after=stop_after, on_step=on_step)
