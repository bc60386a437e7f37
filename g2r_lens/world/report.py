"""Judge quality: verdict accuracy of the bundled judges against the exact checker.

Accuracy is reported on the test split, separately for ordinary responses (``good``, ``noisy``),
per criterion kind, per adversarial mode (keyword lists, repetition, fragments, run-ons, misplaced
content) and on responses sampled from the bundled policy.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import torch

from .bundle import DATA_DIR, judge_folder, judge_name, load_tasks, task_example
from .formats import WORLD_TEMPLATE
from .responses import ADVERSARIAL_MODES, sample_response

ORDINARY = ("good", "noisy")


def _load(data: Path, which: str):
    from ..judge import Judge

    return Judge.from_pretrained(judge_folder(which, data), WORLD_TEMPLATE, device="cpu", dtype="float32")


def policy_samples(data: Path, tasks: Sequence, seed: int = 0, max_new_tokens: int = 96) -> list[str]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .training import sample_policy

    tok = AutoTokenizer.from_pretrained(data / "policy")
    model = AutoModelForCausalLM.from_pretrained(data / "policy").eval()
    return sample_policy(model, tok, [t.prompt for t in tasks], max_new_tokens=max_new_tokens, seed=seed)


def judge_quality(data: str | Path | None = None, n_tasks: int = 100, seed: int = 0,
                  judges: Sequence[str] = ("external", "self")) -> dict[str, Any]:
    """Verdict accuracy of the bundled ``judges`` ("external", "self") against the exact checker."""
    data = Path(data) if data else DATA_DIR
    tasks = load_tasks("test", data / "tasks")[:n_tasks]
    rng = random.Random(seed)
    examples = []
    for t in tasks:
        for mode in (*ORDINARY, *ADVERSARIAL_MODES):
            r = sample_response(t, rng, mode)
            if r.strip():
                examples.append(task_example(t, r, mode=mode, id=f"{t.id}-{mode}"))
    for t, r in zip(tasks, policy_samples(data, tasks, seed)):
        if r.strip():
            examples.append(task_example(t, r, mode="policy", id=f"{t.id}-policy"))
    out: dict[str, Any] = {"n_tasks": len(tasks), "n_responses": len(examples), "seed": seed, "judges": {}}
    for which in map(judge_name, judges):
        judge = _load(data, which)
        with torch.inference_mode():
            verdicts = judge.verdicts(examples, batch_size=32)
        hits: dict[str, list[int]] = defaultdict(list)
        for ex, vs in zip(examples, verdicts):
            mode = ex.meta["mode"]
            for kind, truth, v in zip(ex.meta["kinds"], ex.meta["checker"], vs):
                ok = int(v["verdict"] == truth)
                group = "ordinary" if mode in ORDINARY else ("policy" if mode == "policy" else "adversarial")
                hits[group].append(ok)
                hits[f"mode:{mode}"].append(ok)
                if group == "ordinary":
                    hits[f"kind:{kind}"].append(ok)
                    hits[f"label:{truth}"].append(ok)
        out["judges"][which] = {k: {"accuracy": sum(v) / len(v), "n": len(v)} for k, v in sorted(hits.items())}
    return out


def write_quality(res: dict[str, Any], folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    jp = folder / "judge_quality.json"
    jp.write_text(json.dumps(res, indent=1))
    names = list(res["judges"])
    keys = sorted({k for j in res["judges"].values() for k in j},
                  key=lambda k: (not k.startswith("ordinary"), not k.startswith("kind"), not k.startswith("label"),
                                 not k.startswith("adversarial"), not k.startswith("policy"), k))
    lines = [f"Verdict accuracy against the exact checker, test split ({res['n_tasks']} tasks, "
             f"{res['n_responses']} responses). Command: `g2r world report`.", "",
             "| subset | " + " | ".join(f"{n} judge" for n in names) + " | n |",
             "|---|" + "---|" * (len(names) + 1)]
    for k in keys:
        accs = [res["judges"][n].get(k, {}).get("accuracy") for n in names]
        n = next(res["judges"][nm][k]["n"] for nm in names if k in res["judges"][nm])
        lines.append(f"| {k} | " + " | ".join("-" if a is None else f"{a:.3f}" for a in accs) + f" | {n} |")
    mp = folder / "judge_quality.md"
    mp.write_text("\n".join(lines) + "\n")
    return {"json": jp, "md": mp}
