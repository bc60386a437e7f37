"""Membership probe: can a judge-sized Llama learn whether a word occurs in a text at all?

The world's judges answer "The response mentions the market." from the sentence frame ("We are
having the ___ at ...") and not from the word: swapping the word for another event leaves them at
True (``flip:swap`` in ``g2r world report``). This probe strips the question to its core, outside
the world: a list of ``--words`` random world words (events, places, items), then
``Rule: mentions the W. Answer:``, and the model must say True exactly when W is in the list
(half the time). A control task of the same shape asks whether one of the list's first three words
is an event (type detection, no matching). One JSON line per evaluation; the last line of each arm
is what ``benchmarks/results/membership_probe.md`` reports.

    python benchmarks/membership_probe.py --arm member --steps 2000
    python benchmarks/membership_probe.py --arm control --steps 600
    python benchmarks/membership_probe.py --arm member --rope-theta 1e6 --qk-tie 8 --hidden 128
"""

from __future__ import annotations

import argparse
import json
import random
import time

from _common import ROOT  # noqa: E402,F401  (offline environment, repo root on sys.path)

import torch  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arm", choices=("member", "control"), default="member")
    p.add_argument("--words", type=int, default=20, help="words in each list")
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--rope-theta", type=float, default=10000.0)
    p.add_argument("--qk-tie", type=float, default=0.0,
                   help="initialise every layer's key weights = query weights, both scaled by this (0: off)")
    p.add_argument("--lr", type=float, default=4e-3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args(argv)


def main(argv=None) -> int:
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    from transformers import AutoTokenizer

    from g2r_lens.world.bundle import DATA_DIR
    from g2r_lens.world.config import ModelShape
    from g2r_lens.world.training import new_model, pad_batch
    from g2r_lens.world.vocab import EVENTS, ITEMS, PLACES

    tok = AutoTokenizer.from_pretrained(DATA_DIR / "tokenizer")
    model = new_model(tok, ModelShape(a.layers, a.hidden, a.heads, rope_theta=a.rope_theta), a.seed + 10)
    if a.qk_tie:
        with torch.no_grad():
            for layer in model.model.layers:
                layer.self_attn.k_proj.weight.copy_(layer.self_attn.q_proj.weight * a.qk_tie)
                layer.self_attn.q_proj.weight.mul_(a.qk_tie)
    pool = list(EVENTS + PLACES + ITEMS)
    true_id = tok(" True", add_special_tokens=False)["input_ids"][0]
    false_id = tok(" False", add_special_tokens=False)["input_ids"][0]

    def sample(rng):
        ws = [rng.choice(pool) for _ in range(a.words)]
        if a.arm == "member":
            y = rng.random() < 0.5
            q = rng.choice(ws) if y else rng.choice([w for w in pool if w not in ws])
        else:
            q, y = rng.choice(pool), any(w in EVENTS for w in ws[:3])
        text = "Words: " + " ".join(ws) + ". Rule: mentions the " + q + ". Answer:"
        return tok(text, add_special_tokens=False)["input_ids"], y

    def logits_of(batch):
        ids, mask = pad_batch([b[0] for b in batch], tok.pad_token_id, "left")
        pos = (mask.cumsum(1) - 1).clamp_min(0)
        return model(input_ids=ids, attention_mask=mask, position_ids=pos).logits[:, -1].float()

    held_out = [sample(random.Random(10_000 + i)) for i in range(512)]
    rng = random.Random(a.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)
    t0 = time.time()
    for step in range(a.steps + 1):
        if step % a.eval_every == 0 or step == a.steps:
            with torch.no_grad():
                lg = torch.cat([logits_of(held_out[s:s + 128]) for s in range(0, len(held_out), 128)])
            y = torch.tensor([b[1] for b in held_out])
            acc = float(((lg[:, true_id] > lg[:, false_id]) == y).float().mean())
            print(json.dumps({"arm": a.arm, "step": step, "s": round(time.time() - t0), "held_out_acc": round(acc, 3),
                              "words": a.words, "hidden": a.hidden, "rope_theta": a.rope_theta, "qk_tie": a.qk_tie,
                              "lr": a.lr}), flush=True)
        if step == a.steps:
            break
        batch = [sample(rng) for _ in range(a.batch)]
        target = torch.tensor([true_id if y else false_id for _, y in batch])
        loss = torch.nn.functional.cross_entropy(logits_of(batch), target)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
