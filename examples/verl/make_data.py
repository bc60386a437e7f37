"""Write the bundled rubric world's tasks as verl RL parquet files (train / val).

    python examples/verl/make_data.py --out data/g2r_world

Each row: ``prompt`` (one ChatML user turn, as verl's RLHFDataset reads it), ``data_source``,
``reward_model.ground_truth`` (the rubric as JSON) and ``extra_info`` (``prompt``, ``rubric``,
``task_id``). The g2r reward manager finds each row's rubric there, or, on verl's v1 colocated
path that hands it only the prompt, in this file given as ``reward.reward_kwargs.g2r.rubrics``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from g2r_lens.world.bundle import load_tasks


def rows(split: str, limit: int = 0) -> list[dict]:
    out = []
    for i, t in enumerate(load_tasks(split)):
        if limit and i >= limit:
            break
        rubric = json.dumps([{"criterion": c.text, "weight": c.weight} for c in t.rubric])
        out.append({"data_source": "g2r_world", "prompt": [{"role": "user", "content": t.prompt}],
                    "ability": "rubric", "reward_model": {"style": "rubric", "ground_truth": rubric},
                    "extra_info": {"prompt": t.prompt, "rubric": rubric, "task_id": t.id, "index": i}})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="data/g2r_world")
    ap.add_argument("--limit", type=int, default=0, help="at most this many tasks per split (0: all)")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for split, name in (("train", "train"), ("validation", "val")):
        df = pd.DataFrame(rows(split, a.limit))
        df.to_parquet(out / f"{name}.parquet", index=False)
        print(f"wrote {out / f'{name}.parquet'} ({len(df)} rows)")


if __name__ == "__main__":
    main()
