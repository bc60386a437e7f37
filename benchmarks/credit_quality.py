"""Credit quality: how close does each judge attribution's token credit come to perfect credit?

Issue 10's chain is policy -> credit headroom -> estimator -> judge attribution. The RL benchmark
measures the last link only through a 25-minute run; this script measures it directly, in a few
minutes, on the rollouts the RL loop trains on: the initial policy's samples of training prompts
(G per prompt, temperature 1), scored by each (judge, attribution method, tau) exactly as
``g2r train --reward METHOD`` scores them (:class:`g2r_lens.rl.scoring.Scorer`), against the
``oracle_dense`` reward (the checker's score spread over the checker's truth tokens).

Per setting it prints
- ``credit on truth``: the share of positive token reward on the truth tokens of satisfied local
  criteria (:func:`g2r_lens.rl.scoring.credit_on_truth`; uniform credit scores the truth tokens'
  share of the response, printed as ``base``; the oracle's own value is the ceiling);
- ``credit r``: the Pearson correlation, pooled over the content tokens on which either setting
  gives credit (a group needs a sparse signal under the judge or the oracle), between the *credit term* that ``dense_centered`` adds to the sparse
  advantage (the token reward minus its response mean) under this setting and under the oracle.
  1 = the oracle's credit up to scale; 0 = credit unrelated to the truth (uniform credit is
  identically 0, so it has no r);
- judge-checker verdict agreement and seconds per response.

    python benchmarks/credit_quality.py                      # benchmarks/results/credit_quality.{json,md}
    python benchmarks/credit_quality.py --prompts 8 --methods grad_x_input,grad_l2   # quick look
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import _common  # noqa: E402,F401  (benchmarks/_common.py: offline env, repo root on sys.path)
from _common import fmt, rel, write_results  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from g2r_lens.attribution.integrated import IGCompletenessWarning  # noqa: E402
from g2r_lens.errors import G2RError  # noqa: E402
from g2r_lens.io import portable_arg  # noqa: E402
from g2r_lens.rl.advantages import dense_centered, sparse  # noqa: E402
from g2r_lens.rl.rollout import rollout  # noqa: E402
from g2r_lens.rl.scoring import Scorer, agreement, check_reward_mode, credit_on_truth  # noqa: E402
from g2r_lens.world.bundle import DATA_DIR, judge_folder, judge_name, load_judge, load_tasks  # noqa: E402

METHODS = ["grad_x_input", "grad_l1", "grad_l2", "integrated_gradients", "attention_rollout", "leave_one_out",
           "uniform"]


def credit_terms(token_rewards: list[np.ndarray], seq: list[float], groups: list[int]
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(credit, mask)``: the credit term ``dense_centered`` adds to the sparse advantage (lam = 1), as a
    padded [B, T] tensor, and the mask of real tokens."""
    T = max((len(r) for r in token_rewards), default=0)
    r = torch.zeros(len(token_rewards), T, dtype=torch.float64)
    mask = torch.zeros(len(token_rewards), T, dtype=torch.bool)
    for i, x in enumerate(token_rewards):
        r[i, :len(x)] = torch.as_tensor(x, dtype=torch.float64)
        mask[i, :len(x)] = True
    R, g = torch.as_tensor(seq, dtype=torch.float64), torch.as_tensor(groups)
    return dense_centered(r, R, mask, g, lam=1.0) - sparse(r, R, mask, g), mask


def pooled_r(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> float:
    """Pearson correlation of ``a`` and ``b`` over the real tokens where either credit term is nonzero.

    A token counts when either setting gives it credit: tokens of a group where only the judge (or only
    the oracle) has a sparse signal count too, so a judge that credits where the oracle sees nothing,
    or misses where it sees something, is penalised; the token set can differ between methods."""
    m = mask & ((a != 0) | (b != 0))
    x, y = a[m], b[m]
    if x.numel() < 3 or float(x.std()) < 1e-12 or float(y.std()) < 1e-12:
        return math.nan
    x, y = x - x.mean(), y - y.mean()
    return float((x * y).sum() / (x.norm() * y.norm()))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--world", default=None, help="world folder (default: the bundled one)")
    ap.add_argument("--prompts", type=int, default=48, help="training prompts (the RL loop's split)")
    ap.add_argument("--group-size", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=80)
    ap.add_argument("--judges", default="self,external")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--taus", default="1.0", help="softmax temperatures (relative mode), comma-separated")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None, help="results folder (default benchmarks/results)")
    a = ap.parse_args(argv)
    # every setting is checked before the minutes of sampling and scoring: one line per mistake
    try:
        judge_list = [judge_name(j.strip()) for j in a.judges.split(",") if j.strip()]
        method_list = [m.strip() for m in a.methods.split(",") if m.strip()]
        for m in method_list:
            check_reward_mode(m)
        tau_list = [float(t) for t in a.taus.split(",") if t.strip()]
    except (G2RError, ValueError) as e:
        raise SystemExit(f"credit_quality: {e}")
    if not (judge_list and method_list and tau_list) or any(not t > 0 for t in tau_list):
        raise SystemExit("credit_quality: --judges, --methods and --taus need at least one entry; taus > 0")
    torch.set_num_threads(a.threads)
    # integrated gradients runs with the engine's defaults, as in `g2r train` (its completeness
    # warning would repeat once per batch; the RL loop trains on these same attributions)
    warnings.simplefilter("ignore", IGCompletenessWarning)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    root = Path(a.world) if a.world else DATA_DIR
    if not (root / "policy" / "config.json").exists():
        raise SystemExit(f"credit_quality: {root} is not a world folder (no policy/; see `g2r world build`)")
    tasks = load_tasks("train", root / "tasks")[:a.prompts]
    tok = AutoTokenizer.from_pretrained(root / "policy")
    policy = AutoModelForCausalLM.from_pretrained(root / "policy", dtype=torch.float32).eval()
    t0 = time.perf_counter()
    with torch.no_grad():
        ro = rollout(policy, tok, [t.prompt for t in tasks], group_size=a.group_size, max_new_tokens=a.max_new_tokens,
                     generator=torch.Generator().manual_seed(a.seed), batch_size=64)
    sample_s = time.perf_counter() - t0
    rtasks = [tasks[i] for i in ro.task_index]
    groups = ro.group_ids.tolist()
    print(f"credit_quality: {len(ro)} responses of {len(tasks)} prompts sampled in {sample_s:.0f}s", flush=True)

    oracle = Scorer(None, "oracle_dense", judge_oracles=False).score(rtasks, ro.texts, ro.offsets)
    c_or, mask = credit_terms(oracle.token_rewards, oracle.rewards, groups)
    cot_or, base = credit_on_truth(oracle, ro.offsets)
    rows = [dict(judge="-", method="oracle_dense", tau=None, credit_on_truth=cot_or, base=base, credit_r=1.0,
                 agreement=None, seconds_per_response=0.0)]
    settings = [(j, m, t) for j in judge_list for m in method_list for t in (tau_list if m != "uniform" else [1.0])]
    judges = {}
    for j, m, tau in tqdm(settings, desc="credit_quality", unit="setting"):
        if j not in judges:
            judges[j] = load_judge(path=judge_folder(j, root), device="cpu", dtype="float32", truncation="response")
        t1 = time.perf_counter()
        sc = Scorer(judges[j], m, tau=tau).score(rtasks, ro.texts, ro.offsets)
        secs = time.perf_counter() - t1
        c, _ = credit_terms(sc.token_rewards, sc.rewards, groups)
        cot, _ = credit_on_truth(sc, ro.offsets)
        rows.append(dict(judge=j, method=m, tau=tau, credit_on_truth=cot, base=base,
                         credit_r=pooled_r(c, c_or, mask) if m != "uniform" else None,
                         agreement=agreement(sc), seconds_per_response=secs / len(ro)))
        r = rows[-1]
        tqdm.write(f"  {j:8s} {m:22s} tau {tau:<4} credit on truth {fmt(cot)} (base {fmt(base)}) "
                   f"credit r {fmt(r['credit_r'])} agreement {fmt(r['agreement'])} {r['seconds_per_response']:.3f}s/resp")
    cmd = "python benchmarks/credit_quality.py " + " ".join(portable_arg(x) for x in (argv if argv is not None
                                                                                      else sys.argv[1:]))
    res = dict(command=cmd.strip(), world=portable_arg(str(root)), n_prompts=len(tasks), group_size=a.group_size,
               n_responses=len(ro), mean_length=float(np.mean(ro.lengths)), seed=a.seed, rows=rows,
               wall_seconds=time.perf_counter() - t0)
    lines = ["# Credit quality: judge attribution vs perfect credit, on the RL loop's own rollouts", "",
             f"`{res['command']}`: {len(ro)} responses of the initial policy ({len(tasks)} training prompts x "
             f"G={a.group_size}, temperature 1, mean length {res['mean_length']:.1f} tokens), each scored as "
             "`g2r train --reward METHOD` scores it.", "",
             "credit on truth: share of the positive token reward on the truth tokens of satisfied local criteria "
             f"(uniform credit: {fmt(base)}). credit r: Pearson correlation, over content tokens, of the "
             "`dense_centered` credit term with the oracle's (1 = perfect credit up to scale).", "",
             "| judge | method | tau | credit on truth | credit r | verdict agreement | s / response |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['judge']} | {r['method']} | {fmt(r['tau'], 2)} | {fmt(r['credit_on_truth'])} | "
                     f"{fmt(r['credit_r'])} | {fmt(r['agreement'])} | {fmt(r['seconds_per_response'])} |")
    lines += ["", f"Wall time: {res['wall_seconds'] / 60:.1f} min."]
    paths = write_results("credit_quality", res, "\n".join(lines), a.out)
    print("\n".join(lines))
    print("wrote", ", ".join(rel(p) for p in paths.values()))
    return res


if __name__ == "__main__":
    main()
