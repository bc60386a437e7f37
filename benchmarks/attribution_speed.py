#!/usr/bin/env python
"""Attribution speed benchmark (not a test): g2r_lens vs captum, side by side in one run.

On the same (response, criterion) pairs it times

- ``verdict``      verdicts only, no gradient (``Judge.verdicts``: encode, batch, one forward);
- ``dense``        dense rewards with ``grad_x_input`` end to end (``g2r_lens.attribute`` with
                   ``attribute_false=True``, so every pair is attributed; includes softmax/rewards);
- ``dense_gc``     the same with ``Judge(..., gradient_checkpointing=True)``;
- ``captum_gxi``   captum's ``LLMGradientAttribution(LayerGradientXActivation(model, embeddings))``,
                   one pair at a time, target = the verdict token ``True``;
- ``ours_igN``     ``integrated_gradients`` (N = 16, 32 steps, baseline ``"neutral"``, Gauss-Legendre)
                   through ``attribute``;
- ``captum_igN``   captum's ``LLMGradientAttribution(LayerIntegratedGradients)`` at the same steps,
                   quadrature, baseline and internal batch size.

Captum gets exactly our input ids through a small ``TextTokenInput`` subclass whose interpretable
features are the response positions (see ``ResponseTokenInput``): captum then replaces exactly the
response tokens by the baseline token (our neutral token) and keeps the judge prompt fixed, which is
what our ``baseline="neutral"`` does, and it returns one score per response token.

Timing: one warm-up (a single pair) per mode, then ``--repeats`` rounds; in each round every mode
runs once (interleaved, so load from other processes hits all modes alike); the median is kept.
On CPU torch runs one thread by default (``--threads``): on a shared 2-core machine two threads
competing for busy cores made every mode 5-7x slower and erratic.
Memory: each mode runs once more in its own process (``--mode X --child``, no warm-up) before the
timing: on CPU ``ru_maxrss`` and the mode's own peak RSS (the kernel's high-water mark, reset after
set-up) with its increase over the RSS after set-up (model and data loaded); on CUDA
``torch.cuda.max_memory_allocated`` and its increase over the memory allocated after set-up.

    .venv/bin/python benchmarks/attribution_speed.py                      # ~7M Llama judge, CPU
    .venv/bin/python benchmarks/attribution_speed.py --shape qwen2-1b --tag h100   # on a GPU
"""

from __future__ import annotations

import argparse
import copy
import functools
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import random
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

IG_STEPS = (16, 32)
ALL_MODES = ["verdict", "dense", "dense_gc", "captum_gxi",
             *[f"{who}_ig{n}" for n in IG_STEPS for who in ("ours", "captum")]]
DESCRIPTIONS = {
    "verdict": "verdicts only (Judge.verdicts, no grad)",
    "dense": "dense rewards, grad_x_input (attribute, attribute_false=True)",
    "dense_gc": "dense rewards, grad_x_input, gradient_checkpointing=True",
    "captum_gxi": "captum LLMGradientAttribution(LayerGradientXActivation)",
    **{f"ours_ig{n}": f"ours integrated_gradients, {n} steps (attribute)" for n in IG_STEPS},
    **{f"captum_ig{n}": f"captum LLMGradientAttribution(LayerIntegratedGradients), {n} steps" for n in IG_STEPS},
}
# The targets, stated once: name -> (comparison, limit); max_rel_diff's limit depends on the dtype.
TARGETS = {
    "captum_over_ours_gxi": (">=", 2.0),
    "captum_over_ours_ig": (">=", 2.0),
    "dense_over_verdict": ("<=", 2.5),
    "dense_memory_over_verdict": ("<=", 3.0),
    "max_rel_diff_vs_captum": ("<", {"float32": 1e-5, "other": 5e-2}),
}
# (captum mode, ours mode) pairs compared on values and time
COMPARISONS = {"gxi": ("captum_gxi", "dense"), **{f"ig{n}": (f"captum_ig{n}", f"ours_ig{n}") for n in IG_STEPS}}

SHAPES = {
    # ~7M parameters with the 4000-token chat BPE
    "small": dict(arch="llama", layers=6, hidden=256, heads=4, kv_heads=2, intermediate=768, max_positions=1024,
                  n_responses=32, n_criteria=4, response_tokens=0, batch_size=8, ig_responses=1,
                  # 32 rows: one pair's 32 steps per pass for both tools (captum cannot span pairs; at 64 ours
                  # packed two pairs into 64-row passes, which run slower per row on the CPU: 1.21 vs 0.95 s/pair)
                  ig_internal_batch_size=32),
    # Qwen2-style ~1B (non-embedding ~1.0B; the vocabulary is the small test tokenizer's, not Qwen2's 152k)
    "qwen2-1b": dict(arch="qwen2", layers=16, hidden=2048, heads=16, kv_heads=8, intermediate=8192,
                     max_positions=4096, n_responses=8, n_criteria=2, response_tokens=1024, batch_size=8,
                     ig_responses=0, ig_internal_batch_size=8),
}


def log(*a: Any) -> None:
    print(*a, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------- setup
@functools.lru_cache(maxsize=None)
def _tokenizer(vocab_size: int) -> Any:
    from g2r_lens.testing import chat_bpe_tokenizer

    return chat_bpe_tokenizer(vocab_size)


def build_tokenizer(args: argparse.Namespace) -> Any:
    return _tokenizer(args.vocab_size)


def build_model(args: argparse.Namespace, tok: Any, device: torch.device, dtype: torch.dtype) -> torch.nn.Module:
    shape = SHAPES[args.shape]
    layers = args.layers or shape["layers"]
    if args.shape == "small":
        from g2r_lens.testing import tiny_model

        model = tiny_model(tok, "llama", layers=layers, hidden=args.hidden or shape["hidden"], heads=shape["heads"],
                           seed=0, max_positions=args.max_positions or shape["max_positions"])
        return model.to(device=device, dtype=dtype)
    from transformers import Qwen2Config, Qwen2ForCausalLM

    hidden = args.hidden or shape["hidden"]
    inter = shape["intermediate"] * hidden // shape["hidden"]
    cfg = Qwen2Config(vocab_size=len(tok), hidden_size=hidden, intermediate_size=inter,
                      num_hidden_layers=layers, num_attention_heads=shape["heads"],
                      num_key_value_heads=shape["kv_heads"],
                      max_position_embeddings=args.max_positions or shape["max_positions"],
                      tie_word_embeddings=False, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    with torch.device(device):  # initialise directly on the device (fast for 1B on a GPU)
        model = Qwen2ForCausalLM(cfg)
    model.set_attn_implementation("sdpa")
    return model.to(dtype=dtype).eval()


def build_examples(args: argparse.Namespace, tok: Any) -> list[Any]:
    """``n_responses`` world tasks (test split, seed 0) that have >= n_criteria criteria, one noisy
    response each (or several concatenated up to ``response_tokens`` judge tokens), first
    ``n_criteria`` criteria of each rubric."""
    from g2r_lens import Example
    from g2r_lens.world import generate_tasks, sample_response

    n, K = args.n_responses, args.n_criteria
    tasks = []
    pool = 2 * n + 8
    while len(tasks) < n:
        tasks = [t for t in generate_tasks(pool, seed=0, split="test")
                 if len(t.rubric) >= K and any(c.weight > 0 for c in t.rubric[:K])][:n]
        pool *= 2
    rng = random.Random(0)
    out = []
    for t in tasks:
        resp = sample_response(t, rng, "noisy")
        if args.response_tokens:
            parts = [resp]
            while len(tok(" ".join(parts), add_special_tokens=False)["input_ids"]) < args.response_tokens:
                parts.append(sample_response(t, rng, "noisy"))
            text = " ".join(parts)
            enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
            resp = text[: enc["offset_mapping"][args.response_tokens - 1][1]]
        out.append(Example(t.prompt, resp, [{"criterion": c.text, "weight": c.weight} for c in t.rubric[:K]],
                           id=t.id))
    return out


def make_response_input_class() -> type:
    from captum.attr import TextTokenInput

    class ResponseTokenInput(TextTokenInput):
        """captum's ``TextTokenInput`` on the rendered judge prompt, with our exact token ids and the
        response positions as the only interpretable features.

        ``TextTokenInput`` tokenizes the text itself; we check its ids equal the judge's (and use the
        judge's where they would not). Its ``skip_tokens`` selects features by token *id*, not
        position, so instead we set ``itp_mask`` (the attribute ``skip_tokens`` fills) to the
        response span: captum's own ``to_model_input`` then swaps exactly the response tokens for
        ``baselines`` (our neutral token id) on the IG path, and ``LLMGradientAttribution`` returns
        one score per response token.
        """

        def __init__(self, text: str, tokenizer: Any, ids: list[int], start: int, end: int, baseline: int) -> None:
            super().__init__(text, tokenizer, baselines=int(baseline))
            self.ids_match = self.inp_tensor[0].tolist() == list(ids)
            if not self.ids_match:
                self.inp_tensor = torch.tensor([ids], dtype=torch.long)
            mask = torch.zeros_like(self.inp_tensor, dtype=torch.bool)
            mask[0, start:end] = True
            self.itp_mask = mask
            self.itp_tensor = self.inp_tensor[mask].unsqueeze(0)
            self.values = tokenizer.convert_ids_to_tokens(self.itp_tensor[0].tolist())
            self.n_itp_features = len(self.values)

    return ResponseTokenInput


class Setup:
    """Everything a mode needs: judge(s), examples, captum wrappers and inputs."""

    def __init__(self, args: argparse.Namespace, modes: list[str]) -> None:
        from g2r_lens import Judge
        from g2r_lens.runtime import resolve_device as _resolve_device, resolve_dtype as _resolve_dtype

        self.args = args
        self.device = _resolve_device(args.device)
        self.dtype = _resolve_dtype(args.dtype, self.device)
        t0 = time.perf_counter()
        self.tok = build_tokenizer(args)
        self.examples = build_examples(args, self.tok)
        base_model = build_model(args, self.tok, self.device, self.dtype)
        self.params = sum(p.numel() for p in base_model.parameters())
        emb = base_model.get_input_embeddings().weight.numel()
        head = base_model.get_output_embeddings().weight.numel()
        self.params_non_embedding = self.params - emb - head
        needs_plain = any(m != "dense_gc" for m in modes)
        template = None
        if args.template == "world":
            from g2r_lens.world.formats import WORLD_TEMPLATE as template
        self.judge = Judge(base_model, self.tok, template, name=f"random-{args.shape}") if needs_plain else None
        self.judge_gc = None
        if "dense_gc" in modes:
            gc_model = copy.deepcopy(base_model) if needs_plain else base_model
            self.judge_gc = Judge(gc_model, self.tok, template, name=f"random-{args.shape}-gc",
                                  gradient_checkpointing=True)
        j = self.judge or self.judge_gc
        self.ig_examples = self.examples[: args.ig_responses] if args.ig_responses else self.examples
        self.pairs = [(i, k, j.encode(ex, k)) for i, ex in enumerate(self.examples) for k in range(len(ex.rubric))]
        self.seq_lens = [len(p.input_ids) for _, _, p in self.pairs]
        self.resp_lens = [p.n_response for _, _, p in self.pairs]
        self.captum_inputs: list[Any] = []
        self.ids_match = None
        if any(m.startswith("captum") for m in modes):
            from captum.attr import (LayerGradientXActivation, LayerIntegratedGradients,
                                     LLMGradientAttribution)

            model, emb_layer = self.judge.model, self.judge.model.get_input_embeddings()
            self.captum_gxi = LLMGradientAttribution(LayerGradientXActivation(model, emb_layer), self.tok)
            self.captum_ig = LLMGradientAttribution(LayerIntegratedGradients(model, emb_layer), self.tok)
            self.target = torch.tensor([self.judge.true_id])
            cls = make_response_input_class()
            for i, k, p in self.pairs:
                ex = self.examples[i]
                text = self.judge.render(ex.prompt, ex.rubric[k].text, ex.response)
                self.captum_inputs.append(cls(text, self.tok, p.input_ids, p.resp_start, p.resp_end,
                                              self.judge.neutral_id))
            self.ids_match = sum(x.ids_match for x in self.captum_inputs)
        self.setup_s = time.perf_counter() - t0

    def n_pairs(self, mode: str) -> int:
        exs = self.ig_examples if "_ig" in mode else self.examples
        return sum(len(e.rubric) for e in exs)

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()


# ------------------------------------------------------------------------------------------- modes
Values = dict[tuple[int, int], torch.Tensor]


def run_mode(S: Setup, mode: str, warmup: bool = False) -> Values | None:
    """Run one mode on all its pairs (or on a single pair when ``warmup``); return per-pair
    response-token scores keyed by (example index, criterion index), None for ``verdict``."""
    from g2r_lens import Example, attribute

    a = S.args
    exs = S.ig_examples if "_ig" in mode else S.examples
    if warmup:  # one pair: the first example's first positively weighted criterion
        ex = exs[0]
        k = next(k for k, c in enumerate(ex.rubric) if c.weight > 0)
        exs = [Example(ex.prompt, ex.response, [ex.rubric[k]], id=ex.id)]
    n_ex = len(exs)
    if mode == "verdict":
        S.judge._tok_memo.clear()
        S.judge.verdicts(exs, batch_size=a.batch_size)
        return None
    if mode in ("dense", "dense_gc") or mode.startswith("ours_ig"):
        judge = S.judge_gc if mode == "dense_gc" else S.judge
        if mode.startswith("ours_ig"):
            method = "integrated_gradients"
            params = {method: dict(n_steps=int(mode[len("ours_ig"):]), baseline="neutral",
                                   integration="gausslegendre", internal_batch_size=a.ig_internal_batch_size)}
        else:
            method, params = "grad_x_input", None
        judge._tok_memo.clear()  # every run tokenizes afresh (the memo then helps only within a run)
        run = attribute(judge, exs, method, method_params=params, attribute_false=True,
                        batch_size=a.batch_size, progress=False)
        return {(i, k): torch.tensor(s, dtype=torch.float64)
                for i, r in enumerate(run.examples) for k, s in enumerate(r.methods[method].scores)}
    if mode.startswith("captum"):
        out: Values = {}
        for (i, k, _), inp in zip(S.pairs, S.captum_inputs):
            if i >= n_ex or (warmup and out):
                continue
            if mode == "captum_gxi":
                res = S.captum_gxi.attribute(inp, target=S.target)
            else:
                res = S.captum_ig.attribute(inp, target=S.target, n_steps=int(mode[len("captum_ig"):]),
                                            method="gausslegendre", internal_batch_size=a.ig_internal_batch_size)
            out[(i, k)] = res.token_attr[0].detach().to("cpu", torch.float64)
        return out
    raise ValueError(mode)


def timed(S: Setup, fn: Callable[[], Any]) -> tuple[float, Any]:
    S.sync()
    t0 = time.perf_counter()
    out = fn()
    S.sync()
    return time.perf_counter() - t0, out


def max_rel_diff(ours: Values, ref: Values) -> dict[str, float]:
    """Max over pairs of max_t |ours - captum| / max_t |captum| (per pair), and the median."""
    rel = []
    for key, r in ref.items():
        o = ours[key]
        assert o.shape == r.shape, (key, o.shape, r.shape)
        rel.append(float((o - r).abs().max() / r.abs().max().clamp_min(1e-30)))
    return {"max": max(rel), "median": statistics.median(rel), "pairs": len(rel)}


# ------------------------------------------------------------------------------------------- memory
def _proc_status_kib(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak_rss() -> bool:
    """Reset the kernel's RSS high-water mark (VmHWM) of this process; Linux >= 4.0."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def child(args: argparse.Namespace) -> None:
    """Set up, then run one mode once (no warm-up) and report its peak memory as one JSON line.

    CPU: ``ru_maxrss`` is the peak RSS over the child's whole life (set-up included); the mode's own
    peak is the kernel's high-water mark ``VmHWM`` after resetting it at the end of set-up, and the
    increase is that peak minus the RSS after set-up (model and data loaded).
    CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats`` at the end of set-up,
    and its increase over ``memory_allocated`` after set-up.
    """
    mode = args.mode
    S = Setup(args, [mode])
    gc.collect()
    S.sync()
    rec: dict[str, Any] = {"mode": mode, "device": S.device.type, "pairs": S.n_pairs(mode)}
    MiB = 2**20
    rec.update(seq_len_max=max(S.seq_lens), resp_len_max=max(S.resp_lens))
    if S.device.type == "cuda":
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        rec["run_s"], _ = timed(S, lambda: run_mode(S, mode))
        peak = torch.cuda.max_memory_allocated()
        rec.update(metric="torch.cuda.max_memory_allocated", setup_mib=base / MiB, peak_mib=peak / MiB,
                   increase_mib=(peak - base) / MiB)
    else:
        base = _rss_bytes()
        reset = _reset_peak_rss()
        rec["run_s"], _ = timed(S, lambda: run_mode(S, mode))
        hwm = _proc_status_kib("VmHWM")
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        peak = hwm * 1024 if (reset and hwm is not None) else maxrss
        rec.update(metric="peak RSS of the mode (VmHWM reset after set-up)" if reset else "ru_maxrss",
                   setup_mib=base / MiB, peak_mib=peak / MiB, increase_mib=(peak - base) / MiB,
                   ru_maxrss_mib=maxrss / MiB, peak_reset_after_setup=reset)
    print(json.dumps(rec), flush=True)


def child_args(args: argparse.Namespace, mode: str) -> list[str]:
    out = [sys.executable, str(Path(__file__).resolve()), "--child", "--mode", mode,
           "--device", args.device, "--dtype", args.dtype, "--shape", args.shape,
           "--n-responses", str(args.n_responses), "--n-criteria", str(args.n_criteria),
           "--response-tokens", str(args.response_tokens), "--batch-size", str(args.batch_size),
           "--ig-responses", str(args.ig_responses), "--ig-internal-batch-size", str(args.ig_internal_batch_size),
           "--vocab-size", str(args.vocab_size), "--threads", str(args.threads), "--template", args.template]
    for flag, v in (("--layers", args.layers), ("--hidden", args.hidden), ("--max-positions", args.max_positions)):
        if v:
            out += [flag, str(v)]
    return out


def measure_memory(args: argparse.Namespace, mode: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    p = subprocess.run(child_args(args, mode), capture_output=True, text=True, cwd=str(ROOT))
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        log(f"  memory child for {mode} failed (rc {p.returncode}):\n{p.stderr[-3000:]}")
        return {"error": f"rc {p.returncode}: {p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ''}"}
    rec = json.loads(lines[-1])
    rec["child_wall_s"] = time.perf_counter() - t0
    log(f"memory {mode}: {json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in rec.items()})}")
    return rec


# ------------------------------------------------------------------------------------------- report
def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt(x: Any, nd: int = 3) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5):
            return f"{x:.2e}"
        return f"{x:.{nd}f}"
    return str(x)


def device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    name = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name} ({os.cpu_count()} logical CPUs, torch threads {torch.get_num_threads()})"


def profile_dense(S: Setup) -> list[str]:
    """cProfile of one dense run: the top functions by cumulative and by own time."""
    prof = cProfile.Profile()
    prof.enable()
    run_mode(S, "dense")
    prof.disable()
    out = []
    for key in ("cumulative", "tottime"):
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats(key).print_stats(18)
        out.append(f"--- sorted by {key} ---\n" + buf.getvalue().split("\n", 4)[-1])
    return out


def markdown(R: dict[str, Any]) -> str:
    modes, r = R["modes"], R["ratios"]
    L = [f"# Attribution speed: g2r_lens vs captum ({R['shape']} shape, {R['device']['type']})", ""]
    L.append(f"Judge: random-init {R['model']['arch']} with {R['model']['params']:,} parameters "
             f"({R['model']['params_non_embedding']:,} without embeddings/LM head; vocab {R['model']['vocab']}), "
             f"{R['model']['dtype']}, on {R['device']['name']}.  ")
    L.append(f"Pairs: {R['data']['n_responses']} responses x {R['data']['n_criteria']} criteria = "
             f"{R['data']['n_pairs']} (response, criterion) pairs from `g2r_lens.world` (test split, noisy "
             f"responses); judge prompts {R['data']['seq_len_min']}-{R['data']['seq_len_max']} tokens "
             f"(mean {R['data']['seq_len_mean']:.0f}), responses mean {R['data']['resp_len_mean']:.0f} tokens. "
             f"IG modes use the first {R['data']['ig_responses']} responses ({R['data']['ig_pairs']} pairs). "
             f"Batch size {R['settings']['batch_size']}, IG internal batch {R['settings']['ig_internal_batch_size']} "
             f"rows (ours and captum alike).  ")
    L.append(f"Timing: warm-up once (one pair), median of {R['settings']['repeats']} interleaved rounds; "
             f"torch threads {R['settings']['torch_threads']}. "
             f"Load average at start/end: {R['load_avg_start']} / {R['load_avg_end']}.  ")
    L.append(f"torch {R['versions']['torch']}, transformers {R['versions']['transformers']}, "
             f"captum {R['versions']['captum']}, python {R['versions']['python']}.")
    L += ["", "| mode | what | pairs | s/pair (median) | prompt tokens/s | total s (median) | all runs (s) | "
          "peak mem (MiB) | mem increase over setup (MiB) | max rel diff vs captum |",
          "|---|---|---:|---:|---:|---:|---|---:|---:|---:|"]
    for m, d in modes.items():
        mem = d.get("memory") or {}
        diff = d.get("max_rel_diff_vs_captum")
        L.append(f"| {m} | {DESCRIPTIONS[m]} | {d['pairs']} | {fmt(d['s_per_pair'], 4)} | {d['tokens_per_s']:.0f} | "
                 f"{fmt(d['median_s'], 2)} | "
                 f"{', '.join(f'{x:.2f}' for x in d['seconds'])} | {fmt(mem.get('peak_mib'), 1)} | "
                 f"{fmt(mem.get('increase_mib'), 1)} | {fmt(diff)} |")
    L += ["", "## Ratios and targets", "", "| ratio | value | target | met |", "|---|---:|---|---|"]
    for name, t in R["targets"].items():
        L.append(f"| {name} | {fmt(t['value'])} | {t['target']} | "
                 f"{'—' if t['met'] is None else ('yes' if t['met'] else '**no**')} |")
    extra = ["dense_gc_over_verdict", "captum_over_ours_ig16", "captum_over_ours_ig32", "dense_gc_memory_over_verdict"]
    for name in extra:
        if name not in R["targets"]:
            L.append(f"| {name} | {fmt(r.get(name))} | (info) | — |")
    if R.get("sweep"):
        L += ["", "## Response share sweep (when caching pays)", "",
              "verdict / dense / captum_gxi on the same pairs with short and long responses, in both layouts "
              "(default: criterion before the response, one prefix per pair; world: rule after the response, "
              "the criteria of one response share one cached prefix). Interleaved rounds, medians.", "",
              "| layout | response tokens | pairs | response share of the prompt | dense tokens/s | verdict tokens/s "
              "| dense / verdict | captum / ours (gxi) |", "|---|---|---:|---:|---:|---:|---:|---:|"]
        for w in R["sweep"]:
            tps = w["tokens_per_s"]
            L.append(f"| {w['layout']} | {w['response_tokens']} (mean {w['resp_len_mean']:.0f}) | {w['pairs']} | "
                     f"{w['response_share']:.2f} | {tps.get('dense', 0):.0f} | {tps.get('verdict', 0):.0f} | "
                     f"{fmt(w['dense_over_verdict'])} | {fmt(w['captum_over_ours_gxi'])} |")
    if R.get("long_input"):
        L += ["", "## Long input", "", "One pair with a long response, each mode once in its own process (cold: no "
              "warm-up); `dense_gc` is dense rewards with `gradient_checkpointing=True`.", "",
              "| mode | prompt tokens | response tokens | seconds | peak mem (MiB) | increase over setup (MiB) |",
              "|---|---:|---:|---:|---:|---:|"]
        for m, d in R["long_input"].items():
            L.append(f"| {m} | {d.get('seq_len_max', '—')} | {d.get('resp_len_max', '—')} | {fmt(d.get('run_s'), 2)} | "
                     f"{fmt(d.get('peak_mib'), 1)} | {fmt(d.get('increase_mib'), 1)} |")
    L += ["", "## What is compared", ""]
    L.append("- Prefix caching: g2r_lens runs the judge prompt's tokens before "
             "the response once per batch without gradient and differentiates only the tail (response and what "
             "follows); captum runs and differentiates the whole prompt. `verdict` is `Judge.verdicts` (encode, sort by length, batch, no-grad prefix + tail; LM head at the "
             "verdict position only). `dense`/`dense_gc`/`ours_igN` are `g2r_lens.attribute(..., "
             "attribute_false=True)` end to end (encode, verdicts, attribution, softmax, dense rewards, result "
             "objects). The captum modes run one pair at a time (captum's LLM wrappers take one input); their "
             "inputs are built before the clock starts (this favours captum).")
    L.append("- Captum's input: a `TextTokenInput` subclass on the rendered judge prompt. Its tokenization of "
             f"the rendered text equals the judge's ids for {R['data']['captum_ids_match']} of "
             f"{R['data']['n_pairs']} pairs (the judge's ids are used where not). Its interpretable mask (what "
             "`skip_tokens` sets) is the response span, because `skip_tokens` selects by token id and cannot "
             "express a span. Target: `torch.tensor([true_id])`, whose log-prob at the last position is exactly "
             "our `log p(True)`.")
    L.append("- Gradient x input: captum's `LayerGradientXActivation` on the input-embedding layer, summed over the "
             "hidden dimension by `LLMGradientAttribution` = our `grad_x_input` (g·e).")
    L.append("- Integrated gradients: captum's `LayerIntegratedGradients` on the input-embedding layer through "
             "`LLMGradientAttribution` with the baseline token = the judge's neutral token "
             f"(id {R['settings']['neutral_id']}): with the response-span mask, captum's baseline input replaces "
             "exactly the response tokens and keeps the prompt, i.e. our `baseline=\"neutral\"`. Both use "
             "Gauss-Legendre quadrature and the same `internal_batch_size`; captum's passes cannot span pairs, so "
             "each of its passes holds min(steps, internal batch) rows of one pair, while ours packs rows of "
             "several pairs up to the internal batch (hence ours' larger IG memory when the internal batch exceeds the "
             "steps; the small shape uses 32 rows, so at 32 steps both tools run the same one-pair passes). So the "
             "user-facing captum "
             "route computes the identical quantity; no separate raw `LayerIntegratedGradients` comparison was "
             "needed.")
    L.append("- Value agreement: per pair `max_t |ours - captum| / max_t |captum|`, maximum over pairs.")
    L.append("- Memory: each mode once in its own process, no warm-up, run before the timing; "
             + ("the mode's peak RSS (kernel high-water mark `VmHWM`, reset after set-up; `ru_maxrss` is in the "
                "JSON) and its increase over the RSS after set-up (model and data loaded). Ratios use the increase. "
                "A backward pass keeps every layer's activations until it runs, a no-grad forward about one "
                "layer's at a time, so the dense/verdict increase ratio grows with depth and batch size."
                if R["device"]["type"] == "cpu" else
                "`torch.cuda.max_memory_allocated` and its increase over the memory allocated after set-up. "
                "Ratios use the increase."))
    if R["model"]["arch"] == "qwen2":
        L.append("- The Qwen2-1B shape uses the small test tokenizer's vocabulary, not Qwen2's 152k tokens: "
                 "real-vocabulary LM heads would add cost mostly to captum (it projects every position "
                 "onto the vocabulary, we project only the verdict position).")
    if R.get("notes"):
        L += ["", "## Notes", ""] + [f"- {n}" for n in R["notes"]]
    if R.get("profile_dense"):
        L += ["", "## Profile of the dense path", "", "```"] + R["profile_dense"] + ["```"]
    L += ["", f"Command: `{R['command']}`", ""]
    return "\n".join(L)


# ------------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--dtype", default="auto", help="auto (bf16 on cuda, fp32 on cpu), float32, bfloat16, float16")
    p.add_argument("--shape", default="small", choices=sorted(SHAPES))
    p.add_argument("--n-responses", type=int, default=None)
    p.add_argument("--n-criteria", type=int, default=None)
    p.add_argument("--response-tokens", type=int, default=None,
                   help="build responses of this many judge tokens by concatenating world responses (0: one response)")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--ig-responses", type=int, default=None,
                   help="IG modes (ours and captum) run on the first N responses only (0: all)")
    p.add_argument("--ig-internal-batch-size", type=int, default=None, help="rows per IG forward, ours and captum")
    p.add_argument("--layers", type=int, default=None, help="override the shape's layer count (smoke tests)")
    p.add_argument("--hidden", type=int, default=None, help="override the shape's hidden size (smoke tests)")
    p.add_argument("--vocab-size", type=int, default=4000, help="the chat BPE tokenizer's vocabulary")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--modes", default=",".join(ALL_MODES), help="comma-separated subset of " + ",".join(ALL_MODES))
    p.add_argument("--skip-captum", action="store_true")
    p.add_argument("--skip-memory", action="store_true")
    p.add_argument("--memory-modes", default="verdict,dense,dense_gc",
                   help="modes whose peak memory is measured (each in its own process); 'all' for every mode")
    p.add_argument("--profile", action="store_true", help="profile the dense path (automatic when dense > 3x verdict)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    p.add_argument("--tag", default="", help="results go to attribution_speed_<tag>.json/.md")
    p.add_argument("--threads", type=int, default=None,
                   help="torch.set_num_threads; default 1 on CPU (robust on a shared machine: with 2 threads "
                        "competing for busy cores, runs were 5-7x slower and erratic), 0 = torch's default")
    p.add_argument("--template", default="default", choices=["default", "world"],
                   help="judge prompt layout: default (criterion before the response) or world (rule after it)")
    p.add_argument("--max-positions", type=int, default=None, help="override the shape's context length")
    p.add_argument("--sweep", default="",
                   help="response lengths (judge tokens, comma-separated) of the response-share sweep "
                        "(verdict, dense, captum_gxi on --sweep-responses responses, both layouts); empty: none")
    p.add_argument("--sweep-responses", type=int, default=4)
    p.add_argument("--long-tokens", type=int, default=0,
                   help="the long-input row: one pair with a response of this many tokens, gradient checkpointing, "
                        "peak memory (0: skip)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--mode", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    shape = SHAPES[args.shape]
    for key in ("n_responses", "n_criteria", "response_tokens", "batch_size", "ig_responses", "ig_internal_batch_size"):
        if getattr(args, key) is None:
            setattr(args, key, shape[key])
    return args


def selected_modes(args: argparse.Namespace) -> list[str]:
    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if m not in ALL_MODES:
            raise SystemExit(f"unknown mode {m!r}; choose from {ALL_MODES}")
    return [m for m in modes if not (args.skip_captum and m.startswith("captum"))]


def shown_command(argv: list[str] | None) -> str:
    shown = list(sys.argv[1:] if argv is None else argv)
    for i, a in enumerate(shown[:-1]):  # record --out relative to the repo (or as <out>), never a machine path
        if a == "--out":
            out_path = Path(shown[i + 1]).resolve()
            shown[i + 1] = str(out_path.relative_to(ROOT)) if out_path.is_relative_to(ROOT) else "<out>"
    return " ".join(shlex.quote(x) for x in [".venv/bin/python", "benchmarks/attribution_speed.py", *shown])


def timing_rounds(S: Setup, modes: list[str], repeats: int) -> tuple[dict[str, list[float]], dict[str, Values | None]]:
    """One warm-up per mode, then ``repeats`` interleaved rounds (every mode once per round)."""
    for m in modes:
        dt, _ = timed(S, lambda: run_mode(S, m, warmup=True))
        log(f"warm-up {m}: {dt:.2f}s")
    seconds: dict[str, list[float]] = {m: [] for m in modes}
    values: dict[str, Values | None] = {}
    for r in range(repeats):
        for m in modes:
            dt, out = timed(S, lambda: run_mode(S, m))
            seconds[m].append(dt)
            if r == 0:
                values[m] = out
            log(f"round {r + 1}/{repeats} {m}: {dt:.2f}s ({dt / S.n_pairs(m) * 1e3:.1f} ms/pair)")
    return seconds, values


def mode_tokens(S: Setup, mode: str) -> int:
    """Judge-prompt tokens a mode processes (every pair's full prompt, once)."""
    n_ex = len(S.ig_examples) if "_ig" in mode else len(S.examples)
    return sum(n for (i, _, _), n in zip(S.pairs, S.seq_lens) if i < n_ex)


def compute_ratios(S: Setup, modes: list[str], seconds: dict[str, list[float]],
                   memory: dict[str, dict]) -> tuple[dict[str, float], dict[str, float | None]]:
    spp = {m: statistics.median(seconds[m]) / S.n_pairs(m) for m in modes}
    g = spp.get
    mem = lambda m: (memory.get(m) or {}).get("increase_mib")  # noqa: E731
    ratios = {
        "dense_over_verdict": ratio(g("dense"), g("verdict")),
        "dense_gc_over_verdict": ratio(g("dense_gc"), g("verdict")),
        "captum_over_ours_gxi": ratio(g("captum_gxi"), g("dense")),
        **{f"captum_over_ours_ig{n}": ratio(g(f"captum_ig{n}"), g(f"ours_ig{n}")) for n in IG_STEPS},
        "dense_memory_over_verdict": ratio(mem("dense"), mem("verdict")),
        "dense_gc_memory_over_verdict": ratio(mem("dense_gc"), mem("verdict")),
    }
    ratios["captum_over_ours_ig"] = ratios[f"captum_over_ours_ig{IG_STEPS[-1]}"]
    return spp, ratios


def check_targets(values: dict[str, float | None], dtype: torch.dtype) -> dict[str, dict[str, Any]]:
    out = {}
    for name, (op, lim) in TARGETS.items():
        if isinstance(lim, dict):
            lim = lim["float32" if dtype == torch.float32 else "other"]
        v = values.get(name)
        met = None if v is None else bool(v >= lim if op == ">=" else v <= lim if op == "<=" else v < lim)
        out[name] = dict(value=v, target=f"{op} {lim:g}", met=met)
    return out


def response_share_sweep(args: argparse.Namespace) -> list[dict[str, Any]]:
    """verdict / dense / captum_gxi for short and long responses, in both prompt layouts: how the
    ratios move with the response's share of the judge prompt."""
    rows = []
    for layout in ("default", "world"):
        for n_tok in [int(x) for x in args.sweep.split(",") if x.strip()]:
            a = copy.copy(args)
            a.template, a.response_tokens, a.n_responses, a.ig_responses = layout, n_tok, args.sweep_responses, 1
            modes = ["verdict", "dense"] + ([] if args.skip_captum else ["captum_gxi"])
            S = Setup(a, modes)
            seconds, _ = timing_rounds(S, modes, args.repeats)
            spp, ratios = compute_ratios(S, modes, seconds, {})
            share = statistics.mean(r / n for r, n in zip(S.resp_lens, S.seq_lens))
            rows.append({"layout": layout, "response_tokens": n_tok or "one response",
                         "pairs": len(S.pairs), "resp_len_mean": statistics.mean(S.resp_lens),
                         "seq_len_mean": statistics.mean(S.seq_lens), "response_share": share,
                         "s_per_pair": spp,
                         "tokens_per_s": {m: mode_tokens(S, m) / statistics.median(seconds[m]) for m in modes},
                         "dense_over_verdict": ratios["dense_over_verdict"],
                         "captum_over_ours_gxi": ratios["captum_over_ours_gxi"]})
            log(f"sweep {layout} {n_tok}: {json.dumps({k: rows[-1][k] for k in ('response_share', 'dense_over_verdict', 'captum_over_ours_gxi')})}")
            del S
            gc.collect()
    return rows


def long_input_row(args: argparse.Namespace) -> dict[str, Any]:
    """One pair with a ``--long-tokens`` response: dense rewards with gradient checkpointing and
    verdicts only, each in its own process (peak memory, one cold run)."""
    a = copy.copy(args)
    a.response_tokens, a.n_responses, a.n_criteria, a.batch_size = args.long_tokens, 1, 1, 1
    a.max_positions = max(args.max_positions or 0, args.long_tokens + 512)
    return {m: measure_memory(a, m) for m in ("verdict", "dense_gc")}


def build_report(args: argparse.Namespace, S: Setup, modes: list[str], seconds: dict[str, list[float]],
                 values: dict[str, Values | None], memory: dict[str, dict]) -> dict[str, Any]:
    import captum
    import transformers

    import g2r_lens

    j = S.judge or S.judge_gc
    med = {m: statistics.median(v) for m, v in seconds.items()}
    spp, ratios = compute_ratios(S, modes, seconds, memory)
    diffs = {name: max_rel_diff(values[om], values[cm]) for name, (cm, om) in COMPARISONS.items()
             if cm in modes and om in modes}
    max_diff = max((d["max"] for d in diffs.values()), default=None)
    headline = {**ratios, "max_rel_diff_vs_captum": max_diff}
    notes = []
    if S.device.type == "cpu":
        load = [round(x, 2) for x in os.getloadavg()]
        notes.append(f"CPU run ({os.cpu_count()} cores; 1-minute load average {load[0]} when the report was written, "
                     "start and end in the JSON's `load_avg_start` / `load_avg_end`; a load above the threads used "
                     "means other jobs shared the CPU): absolute seconds depend on the machine and its load; the "
                     "ratios come from interleaved rounds on the same pairs and are what counts. No GPU was "
                     "used for this run.")
    if S.dtype != torch.float32:
        notes.append("Low-precision run: value agreement is limited by the dtype, not by the methods (gradients "
                     "in the model dtype on both sides; g2r_lens multiplies and sums g x e in float32). Run with "
                     "--dtype float32 to check agreement.")
    return {
        **{k: headline[k] for k in TARGETS},
        **{k: ratios[k] for k in ("captum_over_ours_ig16", "captum_over_ours_ig32", "dense_gc_over_verdict",
                                  "dense_gc_memory_over_verdict")},
        "ratios": ratios,
        "targets": check_targets(headline, S.dtype),
        "max_rel_diff_by_comparison": diffs,
        "modes": {m: {"description": DESCRIPTIONS[m], "pairs": S.n_pairs(m), "seconds": seconds[m],
                      "median_s": med[m], "s_per_pair": spp[m], "tokens_per_s": mode_tokens(S, m) / med[m],
                      "memory": memory.get(m),
                      "max_rel_diff_vs_captum": next((diffs[n]["max"] for n, (cm, om) in COMPARISONS.items()
                                                      if n in diffs and m in (cm, om)), None)}
                  for m in modes},
        "shape": args.shape,
        "template": args.template,
        "model": {"arch": SHAPES[args.shape]["arch"], "params": S.params,
                  "params_non_embedding": S.params_non_embedding, "vocab": len(S.tok),
                  "layers": j.model.config.num_hidden_layers, "hidden": j.model.config.hidden_size,
                  "heads": j.model.config.num_attention_heads, "kv_heads": j.model.config.num_key_value_heads,
                  "intermediate": j.model.config.intermediate_size, "dtype": str(S.dtype).replace("torch.", ""),
                  "attn_implementation": j.model.config._attn_implementation},
        "data": {"n_responses": args.n_responses, "n_criteria": args.n_criteria, "n_pairs": len(S.pairs),
                 "response_tokens": args.response_tokens, "ig_responses": len(S.ig_examples),
                 "ig_pairs": sum(len(e.rubric) for e in S.ig_examples),
                 "seq_len_min": min(S.seq_lens), "seq_len_max": max(S.seq_lens),
                 "seq_len_mean": statistics.mean(S.seq_lens), "resp_len_mean": statistics.mean(S.resp_lens),
                 "captum_ids_match": S.ids_match},
        "settings": {"batch_size": args.batch_size, "ig_internal_batch_size": args.ig_internal_batch_size,
                     "repeats": args.repeats, "ig_baseline": "neutral", "ig_integration": "gausslegendre",
                     "neutral_id": j.neutral_id, "true_id": j.true_id, "torch_threads": torch.get_num_threads(),
                     "setup_s": S.setup_s},
        "device": {"type": S.device.type, "name": device_name(S.device)},
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "captum": captum.__version__, "g2r_lens": g2r_lens.__version__,
                     "python": platform.python_version(), "platform": platform.platform()},
        "notes": notes,
    }


def write_outputs(args: argparse.Namespace, R: dict[str, Any]) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "attribution_speed" + (f"_{args.tag}" if args.tag else "")
    (out / f"{stem}.json").write_text(json.dumps(R, indent=2, default=str) + "\n")
    md = markdown(R)
    (out / f"{stem}.md").write_text(md)
    print(md)
    log(f"wrote {out / (stem + '.json')} and {out / (stem + '.md')}")


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    args = parse_args(argv)
    if args.threads is None:
        on_gpu = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
        args.threads = 0 if on_gpu else 1
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child:
        return child(args)
    modes, command, load_start = selected_modes(args), shown_command(argv), [round(x, 2) for x in os.getloadavg()]
    # Memory first, each mode in its own process, while this process is still small.
    mem_modes = modes if args.memory_modes == "all" else [m for m in args.memory_modes.split(",") if m in modes]
    memory = {} if args.skip_memory else {m: measure_memory(args, m) for m in mem_modes}
    S = Setup(args, modes)
    log(f"{len(S.pairs)} pairs, prompts {min(S.seq_lens)}-{max(S.seq_lens)} tokens; set-up {S.setup_s:.1f}s")
    seconds, values = timing_rounds(S, modes, args.repeats)
    R = build_report(args, S, modes, seconds, values, memory)
    if args.sweep:
        R["sweep"] = response_share_sweep(args)
    if args.long_tokens:
        R["long_input"] = long_input_row(args)
    if "dense" in modes and args.profile:
        R["profile_dense"] = profile_dense(S)
    R.update(load_avg_start=load_start, load_avg_end=[round(x, 2) for x in os.getloadavg()], command=command)
    write_outputs(args, R)
    return R


if __name__ == "__main__":
    main()
