"""Faithfulness benchmark: every attribution method, both bundled judges, on the bundled world.

For (response, criterion) pairs where the judge says True, the checker agrees, and the criterion is
local (its truth is a set of response characters), it measures
- localisation of the checker's truth tokens: AUROC (mean over pairs, 95 % percentile-bootstrap CI
  over pairs; and per criterion kind) and precision@k (k = number of truth tokens);
- deletion and insertion curves on the judge's log p(True) and their AOPC (replacement: the judge's
  neutral token, a real token, never [MASK]);
- truth reliance: the share of localisation pairs whose verdict flips to False when every truth token
  is replaced, and AUROC over those pairs alone. Localisation presumes that the judge reads the truth
  tokens; where it does not (its True rests on the sentence frame around the truth word),
  leave-one-out, the exact counterfactual, ranks the truth tokens by the judge's indifference,
  which puts them below chance when other tokens (function words) move the verdict more;
- Spearman rank correlation with leave_one_out (over all pairs the judge says True);
- wall time per attributed pair.

    python benchmarks/faithfulness.py            # writes benchmarks/results/faithfulness.{json,md}
                                                 # (>= 200 localisation pairs per judge by default)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

import _common  # noqa: E402,F401  (benchmarks/_common.py: offline env, repo root on sys.path)

import numpy as np  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from g2r_lens import attribute, get_method  # noqa: E402
from g2r_lens.faithfulness import auroc, perturbation_curves, precision_at_k, spearman, truth_reliance  # noqa: E402
from g2r_lens.io import portable_arg  # noqa: E402
from g2r_lens.spans import token_mask_for_char_spans  # noqa: E402
from g2r_lens.world.bundle import judge_folder, load_judge, load_tasks, world_examples  # noqa: E402

METHODS = ["grad_x_input", "grad_l1", "grad_l2", "integrated_gradients", "attention_last", "attention_rollout",
           "leave_one_out", "uniform", "random"]


def bootstrap_ci(values, n_boot: int = 2000, seed: int = 0) -> list[float]:
    """95 % percentile-bootstrap interval of the mean over pairs (NaNs dropped)."""
    v = np.asarray([x for x in values if x is not None and x == x], dtype=float)
    if not len(v):
        return [math.nan, math.nan]
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(n_boot, len(v)))].mean(1)
    return [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]


def nanmean(xs):
    xs = [x for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return float(np.mean(xs)) if xs else math.nan


def run_judge(which: str, n_examples: int, ig_steps: int, max_curve_pairs: int, seed: int, data=None) -> dict:
    judge = load_judge(which, device="cpu", dtype="float32", path=judge_folder(which, data) if data else None)
    tasks = load_tasks("test", Path(data) / "tasks") if data else None
    examples = world_examples("test", n_examples, seed=seed, modes=("noisy", "good", "mixed", "misplaced"),
                              tasks=tasks)
    t0 = time.perf_counter()
    run = attribute(judge, examples, METHODS, method_params={"integrated_gradients": {"n_steps": ig_steps}},
                    batch_size=16, seed=seed, progress=True)
    seconds = run.provenance["seconds"]
    n_attr = sum(c.verdict for e in run.examples for c in e.criteria)
    stats: dict[str, dict[str, list]] = {m: defaultdict(list) for m in METHODS}
    loc_pairs = []
    for ex, res in zip(examples, run.examples):
        for k, c in enumerate(res.criteria):
            if not c.verdict:
                continue
            loo = res.methods["leave_one_out"].scores[k]
            for m in METHODS:
                stats[m]["spearman_vs_loo"].append(spearman(res.methods[m].scores[k], loo))
            spans = ex.meta["truth_spans"][k]
            if ex.meta["checker"][k] and ex.meta["local"][k] and spans:
                labels = token_mask_for_char_spans(res.offsets, [tuple(s) for s in spans])
                if labels.any() and not labels.all():
                    loc_pairs.append((ex, res, k, labels))
    reliant = [truth_reliance(judge, ex, k, labels).flips for ex, res, k, labels in loc_pairs]
    rng = np.random.default_rng(seed)
    curve_idx = set(rng.permutation(len(loc_pairs))[:max_curve_pairs].tolist())
    for i, (ex, res, k, labels) in enumerate(tqdm(loc_pairs, desc=f"{which}: localisation + curves")):
        for m in METHODS:
            s = res.methods[m].scores[k]
            stats[m]["auroc"].append(auroc(s, labels))
            stats[m]["precision_at_k"].append(precision_at_k(s, labels))
            stats[m]["kind:" + ex.meta["kinds"][k]].append(auroc(s, labels))
            if reliant[i]:
                stats[m]["auroc_reliant"].append(auroc(s, labels))
            if i in curve_idx:
                c = perturbation_curves(judge, ex, k, s)
                stats[m]["aopc_deletion"].append(c.aopc_deletion)
                stats[m]["aopc_insertion"].append(c.aopc_insertion)
    out = {}
    for m in METHODS:
        row = {key: nanmean(v) for key, v in stats[m].items() if not key.startswith("kind:")}
        row["auroc_ci95"] = bootstrap_ci(stats[m]["auroc"], seed=seed)
        row["auroc_by_kind"] = {key[5:]: nanmean(v) for key, v in stats[m].items() if key.startswith("kind:")}
        row["n_by_kind"] = {key[5:]: len(v) for key, v in stats[m].items() if key.startswith("kind:")}
        shared = seconds["gradient_pass"] if get_method(m).family == "gradient" else 0.0
        row["seconds_per_pair"] = (seconds[m] + shared) / max(1, n_attr)
        out[m] = row
    return {"methods": out, "n_examples": len(examples), "n_attributed_pairs": n_attr,
            "n_localisation_pairs": len(loc_pairs), "n_truth_reliant_pairs": int(sum(reliant)),
            "n_curve_pairs": min(max_curve_pairs, len(loc_pairs)),
            "verdict_seconds_per_pair": seconds["verdicts"] / max(1, sum(len(e.criteria) for e in run.examples)),
            "wall_seconds": time.perf_counter() - t0, "judge": which, "ig_steps": ig_steps}


def markdown(res: dict) -> str:
    lines = [f"Faithfulness on the world's test split (`{res['command']}`).", ""]
    for name, r in res["judges"].items():
        lines += [f"**{name} judge** ({r['n_examples']} responses, {r['n_attributed_pairs']} pairs judged True, "
                  f"{r['n_localisation_pairs']} local pairs with checker truth, curves on {r['n_curve_pairs']}; "
                  f"IG {r['ig_steps']} steps)", "",
                  "| method | AUROC [95% CI] | precision@k | AOPC deletion | AOPC insertion | Spearman vs LOO | s / pair |",
                  "|---|---|---|---|---|---|---|"]
        for m, row in r["methods"].items():
            lo, hi = row["auroc_ci95"]
            lines.append(f"| {m} | {row['auroc']:.3f} [{lo:.3f}, {hi:.3f}] | {row['precision_at_k']:.3f} | "
                         f"{row['aopc_deletion']:.3f} | {row['aopc_insertion']:.3f} | {row['spearman_vs_loo']:.3f} | "
                         f"{row['seconds_per_pair']:.4f} |")
        kinds = sorted({k for row in r["methods"].values() for k in row["auroc_by_kind"]})
        if "n_truth_reliant_pairs" in r:
            lines += ["", f"Truth reliance ({name} judge): the verdict flips to False when every truth token is "
                      f"replaced in {r['n_truth_reliant_pairs']} of {r['n_localisation_pairs']} local pairs; "
                      "AUROC on those: " + ", ".join(
                          f"{m} {row.get('auroc_reliant', math.nan):.3f}" for m, row in r["methods"].items())]
        lines += ["", f"AUROC by criterion kind ({name} judge; pairs: " + ", ".join(
            f"{k} {r['methods']['leave_one_out']['n_by_kind'].get(k, 0)}" for k in kinds) + ")", "",
            "| method | " + " | ".join(kinds) + " |", "|---|" + "---|" * len(kinds)]
        for m, row in r["methods"].items():
            lines.append(f"| {m} | " + " | ".join(f"{row['auroc_by_kind'].get(k, math.nan):.3f}" for k in kinds) + " |")
        lines.append("")
    return "\n".join(lines)


def command(args: list[str]) -> str:
    """The command line recorded in the results (a machine's absolute folders become ``DIR``)."""
    return "python benchmarks/faithfulness.py " + " ".join(map(portable_arg, args))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n-examples", type=int, default=240)
    p.add_argument("--judges", default="external,self")
    p.add_argument("--ig-steps", type=int, default=16)
    p.add_argument("--max-curve-pairs", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="benchmarks/results")
    p.add_argument("--data", default=None, help="world folder (default: the shipped world)")
    p.add_argument("--merge", action="store_true", help="keep the other judges' results already in --out")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    a = p.parse_args(argv)
    if a.threads:
        import torch

        torch.set_num_threads(a.threads)
    cmd = command(argv if argv is not None else sys.argv[1:])
    res = {"command": cmd, "judges": {}}
    out = Path(a.out)
    if a.merge and (out / "faithfulness.json").exists():  # keep the other judges' results
        res = json.loads((out / "faithfulness.json").read_text())
        res["command"] = res.get("command", "") + f"; {cmd}"
    for which in a.judges.split(","):
        key = {"external": "judge", "self": "self"}[which]
        res["judges"][which] = run_judge(key, a.n_examples, a.ig_steps, a.max_curve_pairs, a.seed, a.data)
        res["judges"][which]["command"] = cmd
    out.mkdir(parents=True, exist_ok=True)
    (out / "faithfulness.json").write_text(json.dumps(res, indent=1))
    md = markdown(res)
    (out / "faithfulness.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
