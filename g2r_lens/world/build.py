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

Judge training shares the (prompt, response) prefix of a judge prompt across that response's
criteria: the prefix runs once with a KV cache, which is then branched into one short continuation
per criterion (``Rule: ... Answer:`` then the verdict). Several verdicts per forward pass made a
prototype's judge train much faster; the token ids are exactly those :class:`~g2r_lens.Judge` builds
at inference (``Judge.encode``), which a test checks.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
from tqdm.auto import tqdm

from ..examples import Example
from ..judge import Judge
from ..chatml import IM_END, PAD, train_bpe
from .bundle import DATA_DIR
from .checker import check
from .formats import WORLD_TEMPLATE, policy_end_id, policy_prompt_ids
from .prompts import write_splits
from .responses import sample_response
from .schema import Task, read_tasks

# Response modes the policy imitates: mostly noisy, so it starts at a checker score of ~0.3-0.4.
POLICY_MODES = {"noisy": 0.75, "good": 0.08, "fragment": 0.07, "repeat": 0.03, "runon": 0.04, "keywords": 0.03}
# Response modes the judges are trained on: balanced between plausible and degenerate.
JUDGE_MODES = {"noisy": 0.38, "good": 0.17, "keywords": 0.09, "repeat": 0.08, "fragment": 0.1,
               "runon": 0.08, "misplaced": 0.1}


@dataclass
class ModelShape:
    layers: int
    hidden: int
    heads: int
    kv_heads: int | None = None
    ffn_mult: int = 3


@dataclass
class BuildConfig:
    seed: int = 0
    n_train: int = 2000
    n_val: int = 200
    n_test: int = 200
    vocab_size: int = 1024
    policy: ModelShape = field(default_factory=lambda: ModelShape(layers=4, hidden=128, heads=4))
    judge: ModelShape = field(default_factory=lambda: ModelShape(layers=5, hidden=128, heads=4))
    policy_steps: int = 1000
    judge_steps: int = 900  # base stage; the hardening stage adds judge_steps // 4
    hardening_responses: int = 1200
    sft_batch: int = 16
    judge_batch: int = 12  # responses per judge batch (each with all its criteria)
    lr: float = 2e-3
    max_new_tokens: int = 96
    threads: int = 0  # 0: torch default
    parallel: bool = True  # train the judge's base stage in a second process, beside the policy
    judge_lm_weight: float = 0.5  # auxiliary next-token loss on judge prompts (dense supervision)
    resume: bool = True  # skip stages whose outputs are complete (a `.done` marker), e.g. after a kill

    @classmethod
    def quick(cls) -> "BuildConfig":
        """A few steps of everything: for CI and smoke tests, not for use."""
        return cls(n_train=60, n_val=20, n_test=20, vocab_size=512,
                   policy=ModelShape(layers=1, hidden=32, heads=2), judge=ModelShape(layers=1, hidden=32, heads=2),
                   policy_steps=4, judge_steps=4, hardening_responses=8, sft_batch=4, judge_batch=3, max_new_tokens=24)


# ----------------------------------------------------------------------------------------- data

def _pick(rng: random.Random, table: dict[str, float]) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


def _responses(tasks: Sequence[Task], rng: random.Random, table: dict[str, float]) -> Iterator[tuple[Task, str, str]]:
    while True:
        task = rng.choice(tasks)
        mode = _pick(rng, table)
        r = sample_response(task, rng, mode)
        if r.strip():
            yield task, r, mode


def build_tokenizer(tasks: Sequence[Task], vocab_size: int, seed: int = 0) -> Any:
    rng = random.Random(seed)
    lines = []
    for t in tasks:
        lines.append(t.prompt)
        lines.extend(c.text for c in t.rubric)
        for mode in ("good", "noisy", "misplaced", "runon"):
            lines.append(sample_response(t, rng, mode))
    fixed = WORLD_TEMPLATE.user + WORLD_TEMPLATE.system + " True False Yes No"
    lines += [fixed] * 50 + ["True", "False", "Yes", "No", "system", "user", "assistant"] * 50
    return train_bpe(lines, vocab_size, eos_token=IM_END, pad_token=PAD, unk_token=None)


def new_model(tok: Any, shape: ModelShape, seed: int, max_positions: int = 512) -> torch.nn.Module:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=len(tok), hidden_size=shape.hidden, intermediate_size=shape.hidden * shape.ffn_mult,
        num_hidden_layers=shape.layers, num_attention_heads=shape.heads,
        num_key_value_heads=shape.kv_heads or shape.heads, max_position_embeddings=max_positions,
        tie_word_embeddings=True, bos_token_id=None, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
        rope_theta=10000.0)
    return LlamaForCausalLM(cfg)


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def sft_example(tok: Any, prompt: str, response: str) -> tuple[list[int], list[int]]:
    """(input ids, labels) for prompt -> response; loss on the response and its end token only."""
    p = policy_prompt_ids(tok, prompt)
    r = tok(response, add_special_tokens=False)["input_ids"] + [policy_end_id(tok)]
    return p + r, [-100] * len(p) + r


@dataclass
class JudgeItem:
    """One response with all its criteria: a shared prefix and one continuation per criterion."""

    prefix: list[int]
    conts: list[list[int]]
    labels: list[bool]
    kinds: list[str]
    mode: str


def judge_item(judge: Judge, task: Task, response: str, mode: str) -> JudgeItem:
    ex = Example(task.prompt, response, [{"criterion": c.text, "weight": c.weight} for c in task.rubric])
    res = check(task, response)
    pairs = [judge.encode(ex, k) for k in range(len(task.rubric))]
    prefix = pairs[0].input_ids[: pairs[0].resp_end]
    for p in pairs:
        if p.input_ids[: p.resp_end] != prefix:
            raise AssertionError("the world template must put the criterion after the response")
    return JudgeItem(prefix, [p.input_ids[p.resp_end:] for p in pairs], [c.satisfied for c in res.criteria],
                     [c.kind for c in res.criteria], mode)


# ----------------------------------------------------------------------------------------- losses

def _pad(seqs: Sequence[Sequence[int]], pad: int, side: str) -> tuple[torch.Tensor, torch.Tensor]:
    L = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), L), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), L), dtype=torch.long)
    for i, s in enumerate(seqs):
        if side == "left":
            ids[i, L - len(s):] = torch.tensor(s)
            mask[i, L - len(s):] = 1
        else:
            ids[i, : len(s)] = torch.tensor(s)
            mask[i, : len(s)] = 1
    return ids, mask


def sft_loss(model: torch.nn.Module, batch: Sequence[tuple[list[int], list[int]]], pad: int) -> torch.Tensor:
    ids, mask = _pad([b[0] for b in batch], pad, "right")
    labels, _ = _pad([b[1] for b in batch], -100, "right")
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels[:, 1:].reshape(-1),
                                             ignore_index=-100)


def judge_logits(model: torch.nn.Module, items: Sequence[JudgeItem], pad: int,
                 return_prefix: bool = False):
    """Verdict-position logits ``[Σ criteria, V]``: each prefix once, branched per criterion.

    With ``return_prefix``, also ``(prefix hidden states, prefix ids, prefix mask)`` for an
    auxiliary language-modelling loss on the prefix.
    """
    from transformers import DynamicCache

    pre, pmask = _pad([it.prefix for it in items], pad, "left")
    ppos = (pmask.cumsum(1) - 1).clamp_min(0)
    cache = DynamicCache(config=model.config)
    hp = model.model(input_ids=pre, attention_mask=pmask, position_ids=ppos, past_key_values=cache,
                     use_cache=True).last_hidden_state
    rows = torch.tensor([i for i, it in enumerate(items) for _ in it.conts])
    cache.reorder_cache(rows)
    conts = [c for it in items for c in it.conts]
    cids, cmask = _pad(conts, pad, "right")
    plen = pmask.sum(1)[rows]
    cpos = plen[:, None] + torch.arange(cids.shape[1])[None]
    full_mask = torch.cat([pmask[rows], cmask], dim=1)
    h = model.model(input_ids=cids, attention_mask=full_mask, position_ids=cpos, past_key_values=cache,
                    use_cache=True).last_hidden_state
    last = cmask.sum(1) - 1
    logits = model.lm_head(h[torch.arange(len(conts)), last]).float()
    return (logits, (hp, pre, pmask)) if return_prefix else logits


def judge_loss(model, items, pad, true_id, false_id, lm_weight: float = 0.0) -> tuple[torch.Tensor, float]:
    """Verdict cross-entropy (+ ``lm_weight`` x next-token loss on the shared prefixes).

    The auxiliary language-modelling loss gives the judge dense supervision (every prefix token)
    instead of one bit per verdict; without it the external judge sat near chance for hundreds of
    steps, while the policy (which also learns to write) learned to judge.
    """
    logits, (hp, pre, pmask) = judge_logits(model, items, pad, return_prefix=True)
    target = torch.tensor([true_id if y else false_id for it in items for y in it.labels])
    loss = torch.nn.functional.cross_entropy(logits, target)
    if lm_weight:
        lm = model.lm_head(hp[:, :-1]).float()
        labels = pre[:, 1:].masked_fill(pmask[:, 1:] == 0, -100)
        loss = loss + lm_weight * torch.nn.functional.cross_entropy(lm.reshape(-1, lm.shape[-1]), labels.reshape(-1),
                                                                    ignore_index=-100)
    acc = float((logits[:, true_id] > logits[:, false_id]).eq(target == true_id).float().mean())
    return loss, acc


# ----------------------------------------------------------------------------------------- training

def _schedule(step: int, total: int, lr: float, warmup: int = 50) -> float:
    if step < warmup:
        return lr * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))


def train(model, steps: int, lr: float, make_loss, desc: str, log: list | None = None) -> None:
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, betas=(0.9, 0.98))
    model.train()
    bar = tqdm(range(steps), desc=desc, unit="step")
    ema = None
    for step in bar:
        for g in opt.param_groups:
            g["lr"] = _schedule(step, steps, lr)
        loss, stats = make_loss(step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        lv = loss.item()
        ema = lv if ema is None else 0.98 * ema + 0.02 * lv
        bar.set_postfix(loss=f"{ema:.3f}", **{k: f"{v:.3f}" for k, v in stats.items()})
        if log is not None and step % 50 == 0:
            log.append({"stage": desc, "step": step, "loss": lv, **stats})
    model.eval()


@torch.no_grad()
def sample_policy(model, tok, prompts: Sequence[str], *, max_new_tokens: int = 96, temperature: float = 1.0,
                  top_p: float = 1.0, seed: int = 0, batch: int = 32) -> list[str]:
    """Sample one response per prompt (left-padded batched generation)."""
    torch.manual_seed(seed)
    out = []
    end = policy_end_id(tok)
    for s in range(0, len(prompts), batch):
        ids, mask = _pad([policy_prompt_ids(tok, p) for p in prompts[s:s + batch]], tok.pad_token_id, "left")
        gen = model.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=temperature, top_p=top_p,
                             max_new_tokens=max_new_tokens, eos_token_id=end, pad_token_id=tok.pad_token_id)
        for row in gen[:, ids.shape[1]:].tolist():
            if end in row:
                row = row[: row.index(end)]
            out.append(tok.decode([t for t in row if t != tok.pad_token_id], skip_special_tokens=True))
    return out


def _done(folder: Path) -> None:
    (folder / ".done").write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))


def _is_done(folder: Path, cfg: BuildConfig) -> bool:
    return cfg.resume and (folder / ".done").exists()


def train_judge_base(out: Path, cfg: BuildConfig) -> None:
    """Stage 5a: the external judge on ordinary and adversarial responses (no policy data needed)."""
    from transformers import AutoTokenizer

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    tok = AutoTokenizer.from_pretrained(out / "tokenizer")
    train_tasks = read_tasks(out / "tasks" / "train.jsonl")
    judge = new_model(tok, cfg.judge, cfg.seed + 10)
    jj = Judge(judge, tok, WORLD_TEMPLATE)
    judge.requires_grad_(True)
    stream = _responses(train_tasks, random.Random(cfg.seed + 4), JUDGE_MODES)
    log: list[dict] = []

    def loss_fn(step):
        items = [judge_item(jj, t, r, m) for t, r, m in (next(stream) for _ in range(cfg.judge_batch))]
        loss, acc = judge_loss(judge, items, tok.pad_token_id, jj.true_id, jj.false_id, cfg.judge_lm_weight)
        return loss, {"acc": acc}

    train(judge, cfg.judge_steps, cfg.lr, loss_fn, "external judge (base)", log)
    judge.save_pretrained(out / "judge_base")
    (out / "judge_base" / "log.json").write_text(json.dumps(log))
    _done(out / "judge_base")


def train_policy(out: Path, cfg: BuildConfig, tok: Any, train_tasks: Sequence[Task], log: list) -> torch.nn.Module:
    """Stages 3-4: the policy learns to write (noisy) responses and to judge; then a hardening
    stage adds judge prompts on its own samples (so the self-judge has seen what it writes)."""
    rng = random.Random(cfg.seed)
    policy = new_model(tok, cfg.policy, cfg.seed)
    pj = Judge(policy, tok, WORLD_TEMPLATE)
    policy.requires_grad_(True)
    true_id, false_id, pad = pj.true_id, pj.false_id, tok.pad_token_id
    sft_stream = _responses(train_tasks, random.Random(cfg.seed + 1), POLICY_MODES)
    jd_stream = _responses(train_tasks, random.Random(cfg.seed + 2), JUDGE_MODES)

    def policy_loss(step):
        sft = [sft_example(tok, t.prompt, r) for t, r, _ in (next(sft_stream) for _ in range(cfg.sft_batch))]
        items = [judge_item(pj, t, r, m) for t, r, m in (next(jd_stream) for _ in range(cfg.judge_batch))]
        l1 = sft_loss(policy, sft, pad)
        l2, acc = judge_loss(policy, items, pad, true_id, false_id)
        return l1 + l2, {"sft": l1.item(), "judge_acc": acc}

    train(policy, cfg.policy_steps, cfg.lr, policy_loss, "policy (sft + judge)", log)
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
        mix = [hard_rng.choice(hard) if hard_rng.random() < 0.5 else next(jd_stream) for _ in range(cfg.judge_batch)]
        items = [judge_item(pj, t, r, m) for t, r, m in mix]
        l1 = sft_loss(policy, sft, pad)
        l2, acc = judge_loss(policy, items, pad, true_id, false_id)
        return l1 + l2, {"sft": l1.item(), "judge_acc": acc}

    train(policy, max(1, cfg.policy_steps // 3), cfg.lr / 3, policy_hard_loss, "policy (hardening)", log)
    policy.requires_grad_(False)
    policy.generation_config.eos_token_id = policy_end_id(tok)
    policy.generation_config.pad_token_id = pad
    policy.save_pretrained(out / "policy")
    tok.save_pretrained(out / "policy")
    return policy


def build(out: str | Path | None = None, cfg: BuildConfig | None = None) -> dict[str, Any]:
    """Run every stage; returns a summary (also written to ``build.json``)."""
    cfg = cfg or BuildConfig()
    out = Path(out) if out else DATA_DIR
    out.mkdir(parents=True, exist_ok=True)
    if cfg.parallel and not cfg.threads:
        cfg.threads = 1  # one core per process: small matmuls gain little from a second thread
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    t0 = time.time()
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
    if cfg.parallel and not _is_done(out / "judge_base", cfg):
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
        pj = Judge(policy, tok, WORLD_TEMPLATE)
        true_id, false_id, pad = pj.true_id, pj.false_id, tok.pad_token_id
        jd_stream = _responses(train_tasks, random.Random(cfg.seed + 2), JUDGE_MODES)
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
    if proc is not None:
        if proc.wait() != 0:
            raise RuntimeError("the external judge's base stage failed (see its output above)")
    elif not _is_done(out / "judge_base", cfg):
        train_judge_base(out, cfg)
    judge = AutoModelForCausalLM.from_pretrained(out / "judge_base")
    log.extend(json.loads((out / "judge_base" / "log.json").read_text()))
    jj = Judge(judge, tok, WORLD_TEMPLATE)
    judge.requires_grad_(True)

    def ext_loss(step):
        mix = [hard_rng.choice(hard) if hard_rng.random() < 0.4 else next(jd_stream) for _ in range(cfg.judge_batch)]
        items = [judge_item(jj, t, r, m) for t, r, m in mix]
        loss, acc = judge_loss(judge, items, pad, true_id, false_id, cfg.judge_lm_weight)
        return loss, {"acc": acc}

    train(judge, max(1, cfg.judge_steps // 4), cfg.lr / 3, ext_loss, "external judge (hardening)", log)
    judge.requires_grad_(False)
    judge.save_pretrained(out / "judge")
    tok.save_pretrained(out / "judge")
    shutil.rmtree(out / "judge_base", ignore_errors=True)

    summary = {
        "config": asdict(cfg),
        "params": {"policy": n_params(policy), "judge": n_params(judge)},
        "vocab_size": len(tok),
        "policy_sample_checker_score": policy_score,
        "seconds": round(time.time() - t0, 1),
        "torch": torch.__version__,
        "log": log,
    }
    (out / "build.json").write_text(json.dumps(summary, indent=1))
    return summary


if __name__ == "__main__":  # internal entry point of the parallel judge stage
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--judge-base":
        folder = Path(sys.argv[2])
        raw = json.loads((folder / "build_config.json").read_text())
        raw["policy"] = ModelShape(**raw["policy"])
        raw["judge"] = ModelShape(**raw["judge"])
        train_judge_base(folder, BuildConfig(**raw))
    else:
        raise SystemExit("use `g2r world build`")
