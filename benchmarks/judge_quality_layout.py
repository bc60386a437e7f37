"""Judge prompt layout: the rule *before* the response vs *after* it, on a small equal budget.

Trains one small judge per layout (same seed, data stream, shape and steps; the world build's
data: ordinary, degenerate and counterfactual-twin responses, class-weighted verdict loss), then
measures on the test split
- verdict accuracy against the exact checker;
- localisation of the checker's truth tokens (AUROC, 95 % bootstrap CI) for grad x input and
  leave-one-out, over (response, criterion) pairs that the judge and the checker both call True.

    python benchmarks/judge_quality_layout.py --world g2r_lens/world/data   # ~15 min on 2 shared cores
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from g2r_lens import attribute  # noqa: E402
from g2r_lens.faithfulness import auroc  # noqa: E402
from g2r_lens.judge import Judge  # noqa: E402
from g2r_lens.spans import token_mask_for_char_spans  # noqa: E402
from g2r_lens.world.bundle import load_tasks, world_examples  # noqa: E402
from g2r_lens.world.config import ModelShape  # noqa: E402
from g2r_lens.world.corpus import JUDGE_MODES, judge_item, response_stream, twin_stream  # noqa: E402
from g2r_lens.world.formats import TEMPLATES  # noqa: E402
from g2r_lens.world.training import judge_loss, new_model, train  # noqa: E402


def bootstrap_ci(values, n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean and 95 % percentile-bootstrap interval of the mean (NaNs dropped)."""
    v = np.asarray([x for x in values if x == x], dtype=float)
    if not len(v):
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(n_boot, len(v)))].mean(1)
    return float(v.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def run_layout(layout: str, a: argparse.Namespace) -> dict:
    from transformers import AutoTokenizer

    world = Path(a.world)
    tok = AutoTokenizer.from_pretrained(world / "tokenizer")
    tasks = load_tasks("train", world / "tasks")
    model = new_model(tok, ModelShape(layers=a.layers, hidden=a.hidden, heads=a.heads), a.seed)
    judge = Judge(model, tok, TEMPLATES[layout])
    model.requires_grad_(True)
    stream = twin_stream(response_stream(tasks, random.Random(a.seed), JUDGE_MODES), random.Random(a.seed + 1), 0.5)

    def loss_fn(step):
        items = [judge_item(judge, t, r, m) for t, r, m in (next(stream) for _ in range(a.batch))]
        loss, acc = judge_loss(model, items, tok.pad_token_id, judge.true_id, judge.false_id, 0.5, True)
        return loss, {"acc": acc}

    t0 = time.perf_counter()
    train(model, a.steps, a.lr, loss_fn, f"judge ({layout})")
    train_s = time.perf_counter() - t0
    model.requires_grad_(False)
    test = load_tasks("test", world / "tasks")
    exs = world_examples("test", a.n_examples, seed=a.seed, modes=("good", "noisy", "mixed"), tasks=test)
    run = attribute(judge, exs, ["grad_x_input", "leave_one_out"], batch_size=16, seed=a.seed, progress=False)
    hits, loc = [], {"grad_x_input": [], "leave_one_out": []}
    for ex, res in zip(exs, run.examples):
        for k, c in enumerate(res.criteria):
            truth = ex.meta["checker"][k]
            hits.append(c.verdict == truth)
            spans = ex.meta["truth_spans"][k]
            if c.verdict and truth and ex.meta["local"][k] and spans:
                labels = token_mask_for_char_spans(res.offsets, [tuple(s) for s in spans])
                if labels.any() and not labels.all():
                    for m in loc:
                        loc[m].append(auroc(res.methods[m].scores[k], labels))
    return {"layout": layout, "train_seconds": train_s, "accuracy": float(np.mean(hits)), "n_verdicts": len(hits),
            "n_pairs": len(loc["grad_x_input"]), "auroc": {m: bootstrap_ci(v) for m, v in loc.items()}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--world", default="g2r_lens/world/data", help="world folder (its tokenizer and task splits)")
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--batch", type=int, default=6)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=96)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--n-examples", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="benchmarks/results")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    res = {"command": "python benchmarks/judge_quality_layout.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "shape": {"layers": a.layers, "hidden": a.hidden, "heads": a.heads}, "steps": a.steps, "batch": a.batch,
           "layouts": [run_layout(lay, a) for lay in ("before", "after")]}
    lines = [f"Judge prompt layout, equal small budget ({a.steps} steps x {a.batch} responses + twins, "
             f"{a.layers} layers d={a.hidden}); test split (`{res['command']}`).", "",
             "| layout | accuracy | pairs | grad x input AUROC [95% CI] | leave-one-out AUROC [95% CI] | train s |",
             "|---|---|---|---|---|---|"]
    for r in res["layouts"]:
        g, loo = r["auroc"]["grad_x_input"], r["auroc"]["leave_one_out"]
        lines.append(f"| rule {r['layout']} response | {r['accuracy']:.3f} | {r['n_pairs']} | "
                     f"{g[0]:.3f} [{g[1]:.3f}, {g[2]:.3f}] | {loo[0]:.3f} [{loo[1]:.3f}, {loo[2]:.3f}] | "
                     f"{r['train_seconds']:.0f} |")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "judge_quality_layout.json").write_text(json.dumps(res, indent=1))
    (out / "judge_quality_layout.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
