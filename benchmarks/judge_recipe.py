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
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402,F401  (offline environment, repo root on sys.path)
import argparse, json, random, time, sys
from collections import defaultdict
import torch
p = argparse.ArgumentParser()
p.add_argument("--tag"); p.add_argument("--init", default="")  # path to an HF model to init from
p.add_argument("--template", default="before"); p.add_argument("--twin", type=float, default=0.5)
p.add_argument("--lm", type=float, default=0.5); p.add_argument("--lr", type=float, default=2e-3)
p.add_argument("--batch", type=int, default=8); p.add_argument("--layers", type=int, default=4)
p.add_argument("--hidden", type=int, default=128); p.add_argument("--heads", type=int, default=4)
p.add_argument("--steps", type=int, default=3000); p.add_argument("--minutes", type=float, default=12)
p.add_argument("--eval-every", type=int, default=200); p.add_argument("--modes", default="judge")
p.add_argument("--world", default="", help="world folder (tasks, tokenizer; default: the bundled one)")
p.add_argument("--tok", default=""); p.add_argument("--extra", type=int, default=0); p.add_argument("--qk-tie", type=int, default=0)
a = p.parse_args()
torch.set_num_threads(1)
from transformers import AutoTokenizer, AutoModelForCausalLM
from g2r_lens.world.bundle import DATA_DIR
W = Path(a.world) if a.world else DATA_DIR
from g2r_lens.world.schema import read_tasks
from g2r_lens.world.corpus import response_stream, twin_stream, judge_item, JUDGE_MODES, with_extra_criteria
xr = random.Random(55)
from g2r_lens.world.formats import TEMPLATES
from g2r_lens.world.training import new_model, judge_loss, judge_logits, _schedule
from g2r_lens.world.config import ModelShape
from g2r_lens.world.responses import sample_response, counterfactual_twin
from g2r_lens.judge import Judge
tok = AutoTokenizer.from_pretrained(a.tok or (W / "tokenizer"))
tr = read_tasks(W / "tasks" / "train.jsonl"); va = read_tasks(W / "tasks" / "validation.jsonl")
if a.init:
    model = AutoModelForCausalLM.from_pretrained(a.init, torch_dtype=torch.float32)
else:
    model = new_model(tok, ModelShape(a.layers, a.hidden, a.heads), 10)
if a.qk_tie:
    with torch.no_grad():
        for layer in model.model.layers[:a.qk_tie]:
            layer.self_attn.k_proj.weight.copy_(layer.self_attn.q_proj.weight * 2.0)
            layer.self_attn.q_proj.weight.mul_(2.0)
jj = Judge(model, tok, TEMPLATES[a.template]); model.requires_grad_(True)
table = JUDGE_MODES if a.modes == "judge" else json.loads(a.modes)
stream = twin_stream(response_stream(tr, random.Random(4), table), random.Random(104), a.twin)
# eval set: val tasks, good/noisy/mixed + twins of noisy
rng = random.Random(7); ev = []
for t in va[:120]:
    for m in ("good", "noisy", "mixed"):
        r = sample_response(t, rng, m)
        if r.strip(): ev.append((t, r, m))
        if m == "noisy" and r.strip():
            tw = counterfactual_twin(t, r, rng)
            if tw and tw.strip(): ev.append((t, tw, "twin"))
ev_items = [judge_item(jj, t, r, m) for t, r, m in ev]
def evaluate():
    model.eval(); hits = defaultdict(list)
    with torch.no_grad():
        for s in range(0, len(ev_items), 16):
            its = ev_items[s:s+16]; lg = judge_logits(model, its, tok.pad_token_id)
            pred = (lg[:, jj.true_id] > lg[:, jj.false_id]).tolist(); k = 0
            for it in its:
                for lab, kind in zip(it.labels, it.kinds):
                    ok = int(pred[k] == lab); k += 1
                    g = "twin" if it.mode == "twin" else "ord"
                    hits[g].append(ok)
                    if g == "ord": hits["k:" + kind].append(ok); hits["y:" + str(lab)].append(ok)
    model.train()
    return {k: round(sum(v) / len(v), 3) for k, v in sorted(hits.items())}
opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01, betas=(0.9, 0.98))
t0 = time.time(); model.train()
for step in range(a.steps + 1):
    if step % a.eval_every == 0 or time.time() - t0 > a.minutes * 60:
        print(json.dumps({"tag": a.tag, "step": step, "s": round(time.time() - t0), **evaluate()}), flush=True)
        if time.time() - t0 > a.minutes * 60: break
    for g in opt.param_groups: g["lr"] = _schedule(step, a.steps, a.lr)
    items = [judge_item(jj, with_extra_criteria(t, xr, a.extra), r, m) for t, r, m in (next(stream) for _ in range(a.batch))]
    loss, acc = judge_loss(model, items, tok.pad_token_id, jj.true_id, jj.false_id, a.lm, True)
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
