"""Integrated-gradients completeness on the bundled world judge: defaults vs the remedies.

For every (example, criterion) pair of the first ``--n`` world test examples, the relative
completeness error ``|Σ_t attr_t − (F(x) − F(x'))| / |F(x) − F(x')|`` (``F = log p(True)``, zero
baseline) of integrated gradients with

- the defaults (32 Gauss-Legendre nodes uniform in α),
- ``nodes="baseline"`` (32 Gauss-Legendre nodes on the panels [0, 1e-6], [1e-6, 1e-5], ..., [0.1, 1]),
- ``nodes="baseline", tolerance=0.01`` (adaptive: doubling n_steps up to 256 until every row is
  within 1%; ``--all`` adds the same with uniform nodes),

and the share of pairs above the warning threshold (``WARN_RELATIVE``). Prints one table.

    python benchmarks/ig_completeness.py --n 1
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1, help="world test examples (each has several criteria)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--all", action="store_true", help="also the uniform-node adaptive arm (slowest)")
    args = ap.parse_args()

    import torch

    from g2r_lens import attribute
    from g2r_lens.attribution.integrated import WARN_RELATIVE, IGCompletenessWarning
    from g2r_lens.world.bundle import load_judge, world_examples

    torch.set_num_threads(args.threads)
    judge = load_judge("external", device="cpu", dtype="float32")
    exs = world_examples("test", n=args.n)
    arms = {"default (32 GL, uniform)": {},
            "nodes='baseline' (32 GL, 7 panels)": {"nodes": "baseline"},
            "nodes='baseline' + tolerance=0.01": {"nodes": "baseline", "tolerance": 0.01}}
    if args.all:
        arms["tolerance=0.01 (uniform, adaptive ≤256)"] = {"tolerance": 0.01}
    print(f"{len(exs)} world test examples, {sum(len(e.rubric) for e in exs)} pairs, zero baseline, float32 CPU")
    print(f"{'arm':38s} {'median rel':>10s} {'max rel':>9s} {'> ' + format(WARN_RELATIVE, '.0%'):>6s} "
          f"{'mean steps':>10s} {'seconds':>8s}")
    for name, p in arms.items():
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IGCompletenessWarning)
            run = attribute(judge, exs, ["integrated_gradients"], method_params={"integrated_gradients": p},
                            attribute_false=True, progress=False)
        sec = time.perf_counter() - t0
        infos = [i for e in run.examples for i in e.methods["integrated_gradients"].info]
        rel = np.array([i["ig_relative_completeness_error"] for i in infos])
        steps = np.array([i.get("ig_n_steps", 32.0) for i in infos])
        print(f"{name:38s} {np.median(rel):10.2e} {rel.max():9.2e} {np.mean(rel > WARN_RELATIVE):6.0%} "
              f"{steps.mean():10.1f} {sec:8.1f}", flush=True)


if __name__ == "__main__":
    main()
