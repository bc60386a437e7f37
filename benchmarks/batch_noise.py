"""How much dense rewards move when the same pairs are batched differently (fp32 on the CPU).

``attribute()`` sorts pairs by length and pads them into batches, so a pair's neighbours and padding
depend on which other examples are attributed with it (a sharded run on Ray attributes shards of
``shard_size`` examples). Values are the same up to fp32 summation order; this script measures how
far apart: the bundled external judge, ``grad_x_input``, N world test examples attributed at once
(default threads) and again in chunks (one thread, as a Ray actor runs), and prints the largest
reward difference, where it is, and the size of that criterion's scores and p(True) there.

    python benchmarks/batch_noise.py              # 200 examples, chunks of 10 (the Ray test's shape)
"""

from __future__ import annotations

import argparse

import _common  # noqa: F401  (benchmarks/_common.py: offline env, repo root on sys.path)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from g2r_lens import attribute  # noqa: E402
from g2r_lens.world.bundle import load_judge, world_examples  # noqa: E402


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200, help="world test examples")
    ap.add_argument("--chunk", type=int, default=10, help="examples per chunk (the Ray test's shard size)")
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args(argv)
    if a.n < 1 or a.chunk < 1:
        raise SystemExit("batch_noise: --n and --chunk must be >= 1")
    exs = world_examples("test", a.n, seed=a.seed)
    judge = load_judge("external")
    whole = attribute(judge, exs, ["grad_x_input"], progress=False).examples
    torch.set_num_threads(1)
    chunked = [r for s in range(0, len(exs), a.chunk)
               for r in attribute(judge, exs[s:s + a.chunk], ["grad_x_input"], progress=False).examples]
    worst = dict(reward_diff=0.0)
    for x, y in zip(chunked, whole):
        d = np.abs(np.asarray(x.rewards("grad_x_input")) - np.asarray(y.rewards("grad_x_input")))
        if np.nanmax(d, initial=0.0) > worst["reward_diff"]:
            sx, sy = x.scores("grad_x_input"), y.scores("grad_x_input")
            rows = [(k, float(np.nanmax(np.abs(np.asarray(sx[k]) - np.asarray(sy[k])))) / float(np.nanmax(np.abs(sy[k]))))
                    for k in range(len(y.criteria)) if not np.all(np.isnan(np.asarray(sy[k], dtype=float)))]
            k, rel_diff = max(rows, key=lambda kv: kv[1])
            worst = dict(reward_diff=float(np.nanmax(d)), example=y.id, criterion=y.criteria[k].text,
                         p_true=y.criteria[k].p_true, max_abs_score=float(np.nanmax(np.abs(sy[k]))),
                         score_rel_diff=rel_diff)
    print(f"batch_noise: {a.n} examples at once vs in chunks of {a.chunk}: largest dense-reward difference "
          f"{worst['reward_diff']:.2g}")
    if "example" in worst:
        print(f"  at {worst['example']}, criterion {worst['criterion']!r}: p(True) {worst['p_true']:.4f}, "
              f"max |score| {worst['max_abs_score']:.2g}, score difference {worst['score_rel_diff']:.2g} of it")
    return worst


if __name__ == "__main__":
    main()
