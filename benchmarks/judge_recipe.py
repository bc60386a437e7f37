"""Judge recipe curves: train one judge for a wall-time budget and print its validation accuracy.

One line of JSON every ``--eval-every`` steps: verdict accuracy against the exact checker on
validation responses (``ord``: good, noisy and mixed; ``k:KIND``: per criterion kind; ``y:LABEL``:
per checker label; ``twin``: counterfactual twins of the noisy ones, where one truth word was swapped
for a same-type word or its sentence removed). It is how the world's judge recipe was chosen (shape,
learning rate, layout, twins, extra criteria, initialisation): arms are run side by side, one thread
each, and compared at equal steps and equal wall time.

    python benchmarks/judge_recipe.py --tag small --template after --layers 3 --hidden 64 --lr 4e-3 --minutes 9
    python benchmarks/judge_recipe.py --tag base --template before --minutes 13

The runs behind the world's recipe are in ``benchmarks/results/judge_recipe.md``.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import defaultdict
from pathlib import Path

from _common import ROOT  # noqa: E402,F401  (offline environment, repo root on sys.path)

import torch  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tag", default="arm", help="the arm's name in every printed line")
    p.add_argument("--world", default="", help="world folder (tasks, tokenizer; default: the bundled one)")
    p.add_argument("--init", default="", help="an HF model folder to start from (default: a fresh model)")
    p.add_argument("--template", default="before", help="judge prompt layout: before or after")
    p.add_argument("--twin", type=float, default=0.5, help="share of responses followed by their twin")
    p.add_argument("--extra", type=int, default=0, help="checker-labelled extra criteria per response")
    p.add_argument("--edits", default="new", help="twin edits: all (or new: TWIN_EDITS) or v3 (swaps and drops only)")
    p.add_argument("--contrast", type=float, default=1.0, help="loss weight of the verdicts a twin flips")
    p.add_argument("--base", type=float, default=1.0, help="loss weight of every other verdict (0: contrasts only)")
    p.add_argument("--lm", type=float, default=0.5, help="weight of the auxiliary next-token loss")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--batch", type=int, default=8, help="responses per step")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--freeze-emb", action="store_true", help="keep the (tied) token embeddings at their random init")
    p.add_argument("--rope-theta", type=float, default=10000.0, help="RoPE base of a fresh model")
    p.add_argument("--qk-tie", type=int, default=0, help="initialise key = query weights in the first N layers")
    p.add_argument("--steps", type=int, default=3000, help="length of the learning-rate schedule")
    p.add_argument("--minutes", type=float, default=12, help="wall-time budget")
    p.add_argument("--eval-every", type=int, default=200)
    return p.parse_args(argv)


def eval_items(judge, tasks, seed: int = 7):
    """Validation items: good, noisy and mixed responses of 120 tasks, and twins of the noisy ones,
    one per edit (:data:`~g2r_lens.world.responses.TWIN_EDITS`). Returns ``(items, flips)``:
    ``flips[i]`` lists the criteria of ``items[i]`` whose checker label the twin flipped (on the
    twin and on its original)."""
    from g2r_lens.world.corpus import judge_item
    from g2r_lens.world.responses import sample_response, twins_by_edit

    rng, out, flips = random.Random(seed), [], []
    for t in tasks[:120]:
        for mode in ("good", "noisy", "mixed"):
            r = sample_response(t, rng, mode)
            if not r.strip():
                continue
            orig = judge_item(judge, t, r, mode)
            out.append(orig)
            flips.append([])
            at = len(out) - 1
            if mode != "noisy":
                continue
            for how, tw in twins_by_edit(t, r, rng).items():
                item = judge_item(judge, t, tw, "twin:" + how)
                changed = [k for k, (a, b) in enumerate(zip(orig.labels, item.labels)) if a != b]
                out.append(item)
                flips.append(changed)
                flips[at] = sorted(set(flips[at]) | set(changed))
    return out, flips


@torch.no_grad()
def accuracy(judge, items, flips, pad: int) -> dict[str, float]:
    """Accuracy per group: ``ord`` (ordinary responses), ``k:KIND``, ``y:LABEL``, ``twin`` (every
    verdict of the twins), ``flip:EDIT`` (only the verdicts a twin flipped, by edit) and
    ``flip:orig`` (the same criteria on the originals)."""
    from g2r_lens.world.training import judge_logits

    hits: dict[str, list[int]] = defaultdict(list)
    for s in range(0, len(items), 16):
        chunk = items[s:s + 16]
        logits = judge_logits(judge.model, chunk, pad)
        pred = iter((logits[:, judge.true_id] > logits[:, judge.false_id]).tolist())
        for j, it in enumerate(chunk):
            changed = set(flips[s + j])
            group = "twin" if it.mode.startswith("twin") else "ord"
            for k, (label, kind) in enumerate(zip(it.labels, it.kinds)):
                ok = int(next(pred) == label)
                hits[group].append(ok)
                if group == "ord":
                    hits["k:" + kind].append(ok)
                    hits["y:" + str(label)].append(ok)
                if k in changed:
                    edit = it.mode.split(":", 1)[1] if group == "twin" else "orig"
                    hits["flip:" + edit].append(ok)
                    hits[f"flip:{edit}:{kind}"].append(ok)
    return {k: round(sum(v) / len(v), 3) for k, v in sorted(hits.items())}


def main(argv=None) -> int:
    a = parse_args(argv)
    torch.set_num_threads(1)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from g2r_lens.judge import Judge
    from g2r_lens.world.bundle import DATA_DIR
    from g2r_lens.world.config import ModelShape
    from g2r_lens.world.corpus import (JUDGE_MODES, judge_item, mark_contrasts, response_stream, twin_stream,
                                       with_extra_criteria)
    from g2r_lens.world.responses import twin_edits
    from g2r_lens.world.formats import TEMPLATES
    from g2r_lens.world.schema import read_tasks
    from g2r_lens.world.training import _schedule, judge_loss, new_model

    world = Path(a.world) if a.world else DATA_DIR
    tok = AutoTokenizer.from_pretrained(world / "tokenizer")
    train_tasks = read_tasks(world / "tasks" / "train.jsonl")
    model = (AutoModelForCausalLM.from_pretrained(a.init, dtype=torch.float32) if a.init
             else new_model(tok, ModelShape(a.layers, a.hidden, a.heads, rope_theta=a.rope_theta), 10))
    if a.qk_tie:
        with torch.no_grad():
            for layer in model.model.layers[:a.qk_tie]:
                layer.self_attn.k_proj.weight.copy_(layer.self_attn.q_proj.weight * 2.0)
                layer.self_attn.q_proj.weight.mul_(2.0)
    judge = Judge(model, tok, TEMPLATES[a.template])
    model.requires_grad_(True)
    if a.freeze_emb:
        model.get_input_embeddings().weight.requires_grad_(False)
    pad = tok.pad_token_id
    edits = twin_edits({"new": "all"}.get(a.edits, a.edits))  # "new": the name these arms were run with
    stream = twin_stream(response_stream(train_tasks, random.Random(4), JUDGE_MODES), random.Random(104), a.twin,
                         edits)
    extra_rng = random.Random(55)
    held_out, flips = eval_items(judge, read_tasks(world / "tasks" / "validation.jsonl"))

    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01, betas=(0.9, 0.98))
    t0 = time.time()
    for step in range(a.steps + 1):
        over = time.time() - t0 > a.minutes * 60
        if step % a.eval_every == 0 or over:
            model.eval()
            print(json.dumps({"tag": a.tag, "step": step, "s": round(time.time() - t0),
                              **accuracy(judge, held_out, flips, pad)}), flush=True)
            model.train()
            if over:
                break
        for g in opt.param_groups:
            g["lr"] = _schedule(step, a.steps, a.lr)
        items = mark_contrasts([judge_item(judge, with_extra_criteria(t, extra_rng, a.extra), r, m)
                                for t, r, m in (next(stream) for _ in range(a.batch))], a.contrast, a.base)
        loss, _ = judge_loss(model, items, pad, judge.true_id, judge.false_id, a.lm, True)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
