"""Does running the response once for all criteria pay? (the rule-after layout, issue 11)

With the world's judge template the rule comes *after* the response, so the criteria of one example
share the whole prompt-and-response trunk. The engine's gradient pass today runs, per batch, the
prefix (the tokens before the response) once without gradient and then one *tail* per
(example, criterion) row: the response and the rule, with gradient. The alternative measured here:

- **shared**: the response runs once per example with gradient on the prefix's cache (the *stem*),
  each criterion's rule then runs as a short continuation on the stem's keys/values, and the
  per-criterion gradients come from one batched backward
  (``torch.autograd.grad(..., is_grads_batched=True)``; the batch dimension is the criterion's index
  within its example, so each cotangent touches each stem once).

It saves the response's forward for every criterion but the first; the backward through the
response still runs once per criterion (K vector-Jacobian products are K backward passes, batched or
not). Both paths run on the same batches (``g2r_lens.core``'s batching: each example's criteria
together), in interleaved rounds; values are checked against each other (grad x input, relative to
the largest score).

    python benchmarks/criterion_sharing.py                    # bundled world, both judges
    python benchmarks/criterion_sharing.py --examples 16 --rounds 2   # quicker

Writes ``results/criterion_sharing.{json,md}`` (``--out``).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import statistics
import time

from _common import rel, write_results  # noqa: E402  (offline env, repo root on sys.path)

import torch  # noqa: E402
from transformers.cache_utils import DynamicCache  # noqa: E402

from g2r_lens.attribution import MethodContext  # noqa: E402
from g2r_lens.core import _batches, _encode_pairs  # noqa: E402
from g2r_lens.io import portable_arg  # noqa: E402
from g2r_lens.prefix import _pad  # noqa: E402
from g2r_lens.world.bundle import load_judge, world_examples  # noqa: E402


def engine_gxi(judge, pairs) -> list[torch.Tensor]:
    """The engine's gradient pass (prefix cache, one tail per row), as grad x input per row."""
    ctx = MethodContext(judge, judge.collate(pairs))
    g, e, _ = ctx.input_gradients()
    return [r.sum(-1) for r in ctx.tail_rows(g * e)]


def shared_gxi(judge, pairs) -> list[torch.Tensor]:
    """One response pass per example, the rules as continuations, one batched backward."""
    batch = judge.collate(pairs)
    sp, side, dev = batch.split, judge.padding_side, judge.device
    kv = judge.prefix_kv(batch)
    base = judge._base()
    stems: dict[tuple[int, ...], int] = {}
    srow, kidx, counts = [], [], {}
    for p in pairs:
        s = stems.setdefault(tuple(p.input_ids[:p.resp_end]), len(stems))
        srow.append(s)
        kidx.append(counts.get(s, 0))
        counts[s] = counts.get(s, 0) + 1
    first = {s: b for b, s in reversed(list(enumerate(srow)))}
    S = len(stems)
    stem_pairs = [pairs[first[s]] for s in range(S)]
    stem_prow = sp.prefix_row[torch.tensor([first[s] for s in range(S)], device=dev)]
    r_ids, r_mask, r_pos, r_off = _pad([p.input_ids[p.resp_start:p.resp_end] for p in stem_pairs],
                                       max(p.resp_end - p.resp_start for p in stem_pairs), judge.pad_id, side,
                                       start=[p.resp_start for p in stem_pairs])
    r_ids, r_mask, r_pos = r_ids.to(dev), r_mask.to(dev), r_pos.to(dev)
    tails = [p.input_ids[p.resp_end:] for p in pairs]
    if min(len(t) for t in tails) < 1:
        raise SystemExit("criterion_sharing: the template has nothing after the response (rule-before layout?)")
    t_ids, t_mask, t_pos, t_off = _pad(tails, max(len(t) for t in tails), judge.pad_id, side,
                                       start=[p.resp_end for p in pairs])
    t_ids, t_mask, t_pos = t_ids.to(dev), t_mask.to(dev), t_pos.to(dev)
    vpos = torch.tensor([o + len(t) - 1 for o, t in zip(t_off, tails)], device=dev)
    srow_t = torch.tensor(srow, device=dev)
    stem_keys_mask = torch.cat([sp.prefix_mask[stem_prow], r_mask], dim=1)
    with torch.enable_grad():
        e = judge.embed(r_ids).detach().requires_grad_(True)
        cache = DynamicCache(ddp_cache_data=[(k[stem_prow], v[stem_prow]) for k, v in kv]) if kv is not None \
            else DynamicCache(config=base.config)
        with judge._verdict_only_mlp(None):  # the stem's last-layer MLP output is never read
            base(inputs_embeds=e, attention_mask=stem_keys_mask, position_ids=r_pos, cache=cache, use_cache=True)
        # stage 1: one plain backward from every row's verdict to its own copy of its stem's
        # keys/values (the response part only: the prefix's part is a constant)
        Pw = sp.prefix_mask.shape[1]
        stem_kv = [(layer.keys[:, :, Pw:], layer.values[:, :, Pw:]) for layer in cache.layers]
        pre_kv = [(layer.keys[:, :, :Pw].detach()[srow_t], layer.values[:, :, :Pw].detach()[srow_t])
                  for layer in cache.layers]
        row_kv = [(k.detach()[srow_t].requires_grad_(True), v.detach()[srow_t].requires_grad_(True))
                  for k, v in stem_kv]
        rows_cache = DynamicCache(ddp_cache_data=[(torch.cat([pk, k], 2), torch.cat([pv, v], 2))
                                                  for (pk, pv), (k, v) in zip(pre_kv, row_kv)])
        with judge._verdict_only_mlp(vpos):
            out = base(inputs_embeds=judge.embed(t_ids), attention_mask=torch.cat([stem_keys_mask[srow_t], t_mask], 1),
                       position_ids=t_pos, cache=rows_cache, use_cache=True)
        h = out.last_hidden_state[torch.arange(len(pairs), device=dev), vpos]
        lt, _ = judge._verdict_head(h)
        flat = [t for kv_ in row_kv for t in kv_]
        d_rows = torch.autograd.grad(lt.sum(), flat)
        # stage 2: the per-row cotangents, arranged [criterion index, stem], through the stems in one
        # batched backward (each cotangent meets each stem once)
        K = max(kidx) + 1
        ki, si = torch.tensor(kidx, device=dev), srow_t
        cots = []
        for d in d_rows:
            c = d.new_zeros((K, S, *d.shape[1:]))
            c[ki, si] = d
            cots.append(c)
        outs = [t for kv_ in stem_kv for t in kv_]
        (g,) = torch.autograd.grad(outs, e, grad_outputs=cots, is_grads_batched=True)  # [K, S, R, d]
    gxi = (g * e.detach().unsqueeze(0)).sum(-1)
    return [gxi[k, s, r_off[s]:r_off[s] + p.resp_end - p.resp_start] for k, s, p in zip(kidx, srow, pairs)]


def _worst(judge, chunks) -> float:
    worst = 0.0
    for c in chunks:
        for x, y in zip(engine_gxi(judge, c), shared_gxi(judge, c)):
            d = float((x - y).abs().max() / x.abs().max().clamp_min(1e-30))
            worst = max(worst, d) if d == d else float("inf")  # NaN counts as a failure
    return worst


def run_judge(which: str, a: argparse.Namespace) -> dict:
    judge = load_judge(which, device="cpu", dtype="float32")
    exs = world_examples("test", n=a.examples, seed=a.seed)
    pairs = _encode_pairs(judge, exs)
    chunks = [[pairs[j][2] for j in c] for c in _batches(pairs, a.batch_size)]
    n_tok = sum(len(p.input_ids) for c in chunks for p in c)
    # values first (also a warm-up): fp32 as timed, and a float64 copy (rounding vs a real difference)
    worst = _worst(judge, chunks)
    j64 = load_judge(which, device="cpu", dtype="float32")
    j64.model.double()
    worst64 = _worst(j64, chunks[:4])
    del j64
    times: dict[str, list[float]] = {"engine": [], "shared": []}
    for r in range(a.rounds):
        for name, fn in (("engine", engine_gxi), ("shared", shared_gxi))[:: 1 if r % 2 == 0 else -1]:
            t0 = time.perf_counter()
            for c in chunks:
                fn(judge, c)
            times[name].append(time.perf_counter() - t0)
    eng, sh = statistics.median(times["engine"]), statistics.median(times["shared"])
    crit = [len(ex.rubric) for ex in exs]
    resp = [p.resp_end - p.resp_start for _, _, p in pairs]
    rest = [len(p.input_ids) - p.resp_end for _, _, p in pairs]
    return {"judge": which, "examples": len(exs), "pairs": len(pairs), "batches": len(chunks),
            "criteria_per_example": statistics.mean(crit), "response_tokens": statistics.mean(resp),
            "tokens_after_response": statistics.mean(rest), "prompt_tokens": n_tok / len(pairs),
            "engine_s": eng, "shared_s": sh, "engine_over_shared": eng / sh,
            "engine_s_rounds": times["engine"], "shared_s_rounds": times["shared"],
            "max_rel_diff": worst, "max_rel_diff_float64": worst64}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--judges", default="external,self")
    p.add_argument("--examples", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=8, help="pairs per batch (attribute()'s default)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None)
    argv = sys.argv[1:] if argv is None else argv
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    load0 = os.getloadavg()
    rows = [run_judge(w, a) for w in a.judges.split(",")]
    load1 = os.getloadavg()
    cmd = " ".join(["python benchmarks/criterion_sharing.py", *map(portable_arg, argv)])
    md = [f"# Sharing the response across criteria (rule-after layout)\n",
          f"Command: `{cmd}`; {platform.processor() or platform.machine()}, {a.threads} thread(s), "
          f"{a.rounds} interleaved rounds (median), grad x input on world test examples; load average "
          f"{load0[0]:.2f} at the start, {load1[0]:.2f} at the end.\n",
          "| judge | pairs | criteria / example | response tokens | tokens after it | engine s | shared s "
          "| engine / shared | max rel diff fp32 / fp64 |",
          "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['judge']} | {r['pairs']} | {r['criteria_per_example']:.1f} | {r['response_tokens']:.1f} | "
                  f"{r['tokens_after_response']:.1f} | {r['engine_s']:.3f} | {r['shared_s']:.3f} | "
                  f"{r['engine_over_shared']:.2f} | {r['max_rel_diff']:.1e} / {r['max_rel_diff_float64']:.1e} |")
    res = {"command": cmd, "threads": a.threads, "loadavg": [load0, load1], "rounds": a.rounds, "rows": rows}
    paths = write_results("criterion_sharing", res, "\n".join(md), a.out)
    print("\n".join(md))
    print("wrote", ", ".join(rel(x) for x in paths.values()))


if __name__ == "__main__":
    main()
