"""World report: verdict accuracy of the bundled judges against the exact checker, and the policy.

Judges: accuracy on the test split, separately for ordinary responses (``good``, ``noisy``), per
criterion kind, per adversarial mode (keyword lists, repetition, fragments, run-ons, misplaced
content), on responses sampled from the bundled policy, and on counterfactual twins of the noisy
responses: ``flip:EDIT`` is the accuracy on exactly the verdicts that an edit of one criterion's
truth words changes (``swap``: a same-type word, ``blank``: deleted, ``other``: a word of another
type, ``drop``: its sentence removed; ``flip:original``: the same criteria before the edit). A judge
that answers from the sentence frame, not the word, is right on ``original`` and wrong on
``swap``/``blank``/``other``.

Policy (:func:`policy_quality`): on test prompts, several samples each at temperature 1, whether it
reads its prompt (the greeting names the prompt's person; each fact the prompt gives appears
correctly), how often each criterion kind is satisfied, how correlated the criteria of one
response are, and the checker score of sampling vs greedy decoding.
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import torch

from .bundle import DATA_DIR, judge_folder, judge_name, load_tasks, task_example
from .formats import world_template
from .responses import ADVERSARIAL_MODES, sample_response, twins_by_edit

ORDINARY = ("good", "noisy")


def _load(data: Path, which: str):
    from ..judge import Judge

    return Judge.from_pretrained(judge_folder(which, data), world_template(data), device="cpu", dtype="float32")


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
            if mode == "noisy" and r.strip():  # its counterfactual twins, one per edit of one truth word
                orig = examples[-1]
                for how, tw in twins_by_edit(t, r, rng).items():
                    ex = task_example(t, tw, mode="twin", id=f"{t.id}-twin-{how}")
                    flipped = [a != b for a, b in zip(orig.meta["checker"], ex.meta["checker"])]
                    ex.meta.update(edit=how, flipped=flipped)
                    orig.meta["flipped"] = [x or y for x, y in zip(orig.meta.get("flipped", flipped), flipped)]
                    examples.append(ex)
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
            flipped = ex.meta.get("flipped") or [False] * len(vs)
            for kind, truth, v, flip in zip(ex.meta["kinds"], ex.meta["checker"], vs, flipped):
                ok = int(v["verdict"] == truth)
                if flip:  # a verdict that a twin's edit of the truth words changes
                    hits["flip:" + ex.meta.get("edit", "original")].append(ok)
                group = "ordinary" if mode in ORDINARY else (mode if mode in ("policy", "twin") else "adversarial")
                hits[group].append(ok)
                hits[f"mode:{mode}"].append(ok)
                if group == "ordinary":
                    hits[f"kind:{kind}"].append(ok)
                    hits[f"label:{truth}"].append(ok)
        out["judges"][which] = {k: {"accuracy": sum(v) / len(v), "n": len(v)} for k, v in sorted(hits.items())}
    return out


_GREET = r"\b(?:hi|hello|dear|hey)\s*,?\s*{name}\b"


def _word(text: str, word: str) -> bool:
    return re.search(rf"\b{re.escape(str(word))}\b", text, re.IGNORECASE) is not None


def prompt_facts(task) -> dict[str, str]:
    """The facts a test prompt gives: event, place, day always; number and item when it asks."""
    s, low = task.slots, task.prompt.lower()
    facts = {k: str(s[k]) for k in ("event", "place", "day") if k in s}
    if "number" in s and f"{s['number']} people" in low:
        facts["number"] = str(s["number"])
    if "item" in s and f"the {str(s['item']).lower()}" in low:
        facts["item"] = str(s["item"])
    return facts


def fact_correct(fact: str, value: str, response: str) -> bool:
    """A fact appears correctly: the word (a number as ``<n> people`` or ``<n> guests``)."""
    if fact == "number":
        return re.search(rf"\b{value}\s+(?:people|guests)\b", response, re.IGNORECASE) is not None
    return _word(response, value)


def greets_name(name: str, response: str) -> bool:
    return re.search(_GREET.format(name=re.escape(name)), response, re.IGNORECASE) is not None


def _phi_pairs(rows: Sequence[Sequence[bool]]) -> list[float]:
    """Correlations (phi) between the criteria of one task over its samples (non-constant pairs)."""
    import numpy as np

    m = np.asarray(rows, dtype=float)
    out = []
    for i in range(m.shape[1]):
        for j in range(i + 1, m.shape[1]):
            a, b = m[:, i], m[:, j]
            if a.std() > 0 and b.std() > 0:
                out.append(float(np.corrcoef(a, b)[0, 1]))
    return out


def policy_quality(data: str | Path | None = None, n_tasks: int = 200, samples: int = 8, seed: int = 0,
                   max_new_tokens: int = 96) -> dict[str, Any]:
    """Does the bundled policy read its prompt, and how mixed are its samples? (test split,
    ``samples`` per prompt at temperature 1, plus one greedy response per prompt)."""
    import statistics

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .checker import check
    from .training import sample_policy

    data = Path(data) if data else DATA_DIR
    tasks = load_tasks("test", data / "tasks")[:n_tasks]
    tok = AutoTokenizer.from_pretrained(data / "policy")
    model = AutoModelForCausalLM.from_pretrained(data / "policy").eval()
    prompts = [t.prompt for t in tasks for _ in range(samples)]
    with torch.inference_mode():
        sampled = sample_policy(model, tok, prompts, max_new_tokens=max_new_tokens, seed=seed, batch=64)
        greedy = sample_policy(model, tok, [t.prompt for t in tasks], max_new_tokens=max_new_tokens, seed=seed,
                               batch=64, greedy=True)
    name_hits, facts, kinds, checks, scores, phis, words = [], defaultdict(list), defaultdict(list), \
        defaultdict(list), [], [], []
    for i, t in enumerate(tasks):
        rows = []
        for r in sampled[i * samples:(i + 1) * samples]:
            res = check(t, r)
            scores.append(res.score)
            words.append(len(r.split()))
            name_hits.append(greets_name(str(t.slots.get("name", "")), r))
            for f, v in prompt_facts(t).items():
                facts[f].append(fact_correct(f, v, r))
            for c, cr in zip(t.rubric, res.criteria):
                kinds[cr.kind].append(cr.satisfied)
                checks[c.spec["check"]].append(cr.satisfied)
            rows.append(res.satisfied)
        if len(t.rubric) > 1:
            phis.extend(_phi_pairs(rows))
    rate = lambda xs: {"rate": sum(xs) / len(xs), "n": len(xs)} if xs else {"rate": float("nan"), "n": 0}  # noqa: E731
    gscores = [check(t, r).score for t, r in zip(tasks, greedy)]
    return {
        "n_tasks": len(tasks), "samples_per_prompt": samples, "temperature": 1.0, "seed": seed,
        "name_in_greeting": rate(name_hits),
        "facts": {f: rate(v) for f, v in sorted(facts.items())},
        "kinds": {k: rate(v) for k, v in sorted(kinds.items())},
        "checks": {k: rate(v) for k, v in sorted(checks.items())},
        "criterion_correlation": {"mean_phi": statistics.mean(phis) if phis else float("nan"),
                                  "mean_abs_phi": statistics.mean(abs(x) for x in phis) if phis else float("nan"),
                                  "n_pairs": len(phis)},
        "checker_score": {"sampling": statistics.mean(scores), "greedy": statistics.mean(gscores)},
        "mean_words": statistics.mean(words),
        "examples": [{"prompt": tasks[i].prompt, "response": sampled[i * samples]} for i in range(min(3, len(tasks)))],
    }


def policy_markdown(pol: dict[str, Any]) -> list[str]:
    f = lambda d: f"{d['rate']:.3f} (n={d['n']})"  # noqa: E731
    lines = ["", f"## Policy (test split: {pol['n_tasks']} prompts x {pol['samples_per_prompt']} samples, "
             f"temperature {pol['temperature']:g})", "",
             "| measure | value |", "|---|---|",
             f"| greeting names the prompt's person | {f(pol['name_in_greeting'])} |"]
    lines += [f"| fact appears correctly: {k} | {f(v)} |" for k, v in pol["facts"].items()]
    lines += [f"| criterion kind satisfied: {k} | {f(v)} |" for k, v in pol["kinds"].items()]
    lines += [f"| check satisfied: {k} | {f(v)} |" for k, v in pol["checks"].items()]
    cc = pol["criterion_correlation"]
    lines += [f"| correlation between criteria of a response (mean phi / mean abs phi, {cc['n_pairs']} pairs) | "
              f"{cc['mean_phi']:.3f} / {cc['mean_abs_phi']:.3f} |",
              f"| checker score, sampling (temperature 1) | {pol['checker_score']['sampling']:.3f} |",
              f"| checker score, greedy | {pol['checker_score']['greedy']:.3f} |",
              f"| mean words per sample | {pol['mean_words']:.1f} |"]
    return lines


def write_quality(res: dict[str, Any], folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    jp = folder / "judge_quality.json"
    jp.write_text(json.dumps(res, indent=1))
    names = list(res["judges"])
    keys = sorted({k for j in res["judges"].values() for k in j},
                  key=lambda k: (not k.startswith("ordinary"), not k.startswith("kind"), not k.startswith("label"),
                                 not k.startswith("adversarial"), not k.startswith("policy"), k))
    lines = [f"Verdict accuracy against the exact checker, test split ({res['n_tasks']} tasks, "
             f"{res['n_responses']} responses). Command: `{res.get('command', 'g2r world report')}`.", "",
             "| subset | " + " | ".join(f"{n} judge" for n in names) + " | n |",
             "|---|" + "---|" * (len(names) + 1)]
    for k in keys:
        accs = [res["judges"][n].get(k, {}).get("accuracy") for n in names]
        n = next(res["judges"][nm][k]["n"] for nm in names if k in res["judges"][nm])
        lines.append(f"| {k} | " + " | ".join("-" if a is None else f"{a:.3f}" for a in accs) + f" | {n} |")
    if any(k.startswith("flip:") for k in keys):
        lines += ["", "`flip:EDIT`: accuracy on only the verdicts that an edit of one criterion's truth words changes "
                  "(swap: a same-type word; blank: the word deleted; other: a word of another type; drop: its sentence "
                  "removed; original: those criteria before the edit). A judge that answers from the sentence frame "
                  "instead of the word is right on `original` and wrong on swap/blank/other."]
    if res.get("policy"):
        lines += policy_markdown(res["policy"])
    mp = folder / "judge_quality.md"
    mp.write_text("\n".join(lines) + "\n")
    return {"json": jp, "md": mp}
