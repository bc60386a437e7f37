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
from .bundle import DATA_DIR, WORLD_TEMPLATE
from .checker import check
from .tasks import ADVERSARIAL_MODES, Task, generate_tasks, sample_response, write_splits, read_tasks

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"]

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
    judge: ModelShape = field(default_factory=lambda: ModelShape(layers=6, hidden=160, heads=5))
    policy_steps: int = 1000
    judge_steps: int = 1600
    hardening_responses: int = 1200
    sft_batch: int = 16
    judge_batch: int = 12  # responses per judge batch (each with all its criteria)
    lr: float = 2e-3
    max_new_tokens: int = 96
    threads: int = 0  # 0: torch default

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
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    rng = random.Random(seed)
    lines = []
    for t in tasks:
        lines.append(t.prompt)
        lines.extend(c.text for c in t.rubric)
        for mode in ("good", "noisy", "misplaced", "runon"):
            lines.append(sample_response(t, rng, mode))
    fixed = WORLD_TEMPLATE.user + WORLD_TEMPLATE.system + " True False Yes No"
    lines += [fixed] * 50 + ["True", "False", "Yes", "No", "system", "user", "assistant"] * 50
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(lines, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|pad|>",
                                   unk_token=None)
    fast.chat_template = CHATML
    return fast


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


def policy_prompt_ids(tok: Any, prompt: str) -> list[int]:
    text = tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
    return tok(text, add_special_tokens=False)["input_ids"]


def sft_example(tok: Any, prompt: str, response: str) -> tuple[list[int], list[int]]:
    """(input ids, labels) for prompt -> response; loss on the response and its end token only."""
    p = policy_prompt_ids(tok, prompt)
    r = tok(response, add_special_tokens=False)["input_ids"] + [tok.convert_tokens_to_ids("<|im_end|>")]
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


def judge_logits(model: torch.nn.Module, items: Sequence[JudgeItem], pad: int) -> torch.Tensor:
    """Verdict-position logits ``[Σ criteria, V]``: each prefix once, branched per criterion."""
    from transformers import DynamicCache

    pre, pmask = _pad([it.prefix for it in items], pad, "left")
    ppos = (pmask.cumsum(1) - 1).clamp_min(0)
    cache = DynamicCache(config=model.config)
    model.model(input_ids=pre, attention_mask=pmask, position_ids=ppos, past_key_values=cache, use_cache=True)
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
    return model.lm_head(h[torch.arange(len(conts)), last]).float()


def judge_loss(model, items, pad, true_id, false_id) -> tuple[torch.Tensor, float]:
    logits = judge_logits(model, items, pad)
    target = torch.tensor([true_id if y else false_id for it in items for y in it.labels])
    loss = torch.nn.functional.cross_entropy(logits, target)
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
    end = tok.convert_tokens_to_ids("<|im_end|>")
    for s in range(0, len(prompts), batch):
        ids, mask = _pad([policy_prompt_ids(tok, p) for p in prompts[s:s + batch]], tok.pad_token_id, "left")
        gen = model.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=temperature, top_p=top_p,
                             max_new_tokens=max_new_tokens, eos_token_id=end, pad_token_id=tok.pad_token_id)
        for row in gen[:, ids.shape[1]:].tolist():
            if end in row:
                row = row[: row.index(end)]
            out.append(tok.decode([t for t in row if t != tok.pad_token_id], skip_special_tokens=True))
    return out


def build(out: str | Path | None = None, cfg: BuildConfig | None = None) -> dict[str, Any]:
    """Run every stage; returns a summary (also written to ``build.json``)."""
    cfg = cfg or BuildConfig()
    out = Path(out) if out else DATA_DIR
    out.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    t0 = time.time()
    log: list[dict] = []
    rng = random.Random(cfg.seed)

    # 1. tasks
    write_splits(out / "tasks", seed=cfg.seed, n_train=cfg.n_train, n_val=cfg.n_val, n_test=cfg.n_test)
    train_tasks = read_tasks(out / "tasks" / "train.jsonl")

    # 2. tokenizer
    tok = build_tokenizer(train_tasks, cfg.vocab_size, cfg.seed)
    tok_dir = out / "tokenizer"
    tok.save_pretrained(tok_dir)

    # 3. policy: SFT on noisy responses + judge prompts (multi-task)
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
    policy_score = sum(check(t, r).score for t, r, _ in hard) / max(1, len(hard))

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
    policy.generation_config.eos_token_id = tok.convert_tokens_to_ids("<|im_end|>")
    policy.generation_config.pad_token_id = pad
    policy.save_pretrained(out / "policy")
    tok.save_pretrained(out / "policy")

    # 5. external judge
    judge = new_model(tok, cfg.judge, cfg.seed + 10)
    jj = Judge(judge, tok, WORLD_TEMPLATE)
    judge.requires_grad_(True)

    def ext_loss(step):
        mix = [hard_rng.choice(hard) if hard_rng.random() < 0.25 else next(jd_stream) for _ in range(cfg.judge_batch)]
        items = [judge_item(jj, t, r, m) for t, r, m in mix]
        loss, acc = judge_loss(judge, items, pad, true_id, false_id)
        return loss, {"acc": acc}

    train(judge, cfg.judge_steps, cfg.lr, ext_loss, "external judge", log)
    judge.requires_grad_(False)
    judge.save_pretrained(out / "judge")
    tok.save_pretrained(out / "judge")

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
