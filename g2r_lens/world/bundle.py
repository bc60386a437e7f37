"""The shipped world: checkpoints, task splits and ready-made examples.

Layout under ``g2r_lens/world/data/`` (rebuilt by ``g2r world build``):

    tokenizer/   the world tokenizer (byte-level BPE with a ChatML chat template)
    policy/      the small policy; a frozen copy of it is the *self-judge*
    judge/       the separate, stronger *external judge*
    tasks/       train.jsonl, validation.jsonl, test.jsonl (``datasets.load_dataset("json", ...)`` reads them)

The two bundled judges are named ``"external"`` and ``"self"``; the folder names ``"judge"`` and
``"policy"`` are accepted as aliases (:func:`judge_name`).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Sequence

from ..errors import ModelLoadError, WorldError
from ..examples import Example
from ..judge import Judge
from .checker import check
from .formats import WORLD_TEMPLATE, world_template
from .responses import sample_response
from .schema import Task, read_tasks

__all__ = ["DATA_DIR", "WORLD_TEMPLATE", "JUDGES", "JUDGE_ALIASES", "judge_name", "judge_folder", "bundled_path", "have_models", "load_judge", "load_tasks",
           "task_example", "world_examples"]

DATA_DIR = Path(__file__).resolve().parent / "data"

#: the bundled judges by name, with their checkpoint folders: the *external* judge and the
#: *self*-judge (a frozen copy of the policy)
JUDGES = {"external": "judge", "self": "policy"}
#: input aliases: the checkpoint folder names
JUDGE_ALIASES = {"judge": "external", "policy": "self"}


def judge_name(which: str) -> str:
    """The canonical name of a bundled judge: ``"external"`` or ``"self"`` (aliases accepted)."""
    name = JUDGE_ALIASES.get(which, which)
    if name not in JUDGES:
        raise WorldError(f"unknown bundled judge {which!r}; use one of {sorted(JUDGES)} "
                         f"(or the aliases {sorted(JUDGE_ALIASES)})")
    return name


def judge_folder(which: str, data: str | Path | None = None) -> Path:
    """The checkpoint folder of a bundled judge under ``data`` (default: the shipped world)."""
    return Path(data or DATA_DIR) / JUDGES[judge_name(which)]


def bundled_path(name: str) -> Path:
    return DATA_DIR / name


def have_models() -> bool:
    return all((DATA_DIR / n / "config.json").exists() for n in ("policy", "judge"))


def load_judge(which: str = "external", *, device: str = "auto", dtype: str = "auto",
               path: str | Path | None = None, **kw: Any) -> Judge:
    """A bundled judge: ``"external"`` (alias ``"judge"``) or ``"self"`` (alias ``"policy"``: a frozen
    copy of the policy); or the world checkpoint at ``path``."""
    if path is None:
        path = judge_folder(which)
    if not (Path(path) / "config.json").exists():
        raise ModelLoadError(f"no bundled checkpoint at {path}; rebuild the world with `g2r world build`")
    # the layout the world's judges were trained with (recorded in the world folder's build.json)
    template = kw.pop("template", None) or world_template(Path(path).parent)
    return Judge.from_pretrained(path, template, device=device, dtype=dtype, **kw)


def load_tasks(split: str = "test", folder: str | Path | None = None) -> list[Task]:
    folder = Path(folder) if folder else DATA_DIR / "tasks"
    path = folder / f"{split}.jsonl"
    if not path.exists():
        raise WorldError(f"no task split {split!r} at {path}; rebuild with `g2r world build`")
    return read_tasks(path)


def task_example(task: Task, response: str, *, mode: str = "", id: str | None = None) -> Example:
    """An :class:`Example` for the engine whose ``meta`` carries the checker's answers and truth spans."""
    res = check(task, response)
    meta = {
        "task_id": task.id,
        "mode": mode,
        "checker_score": res.score,
        "checker": [c.satisfied for c in res.criteria],
        "truth_spans": [[list(s) for s in c.truth_spans] for c in res.criteria],
        "kinds": [c.kind for c in res.criteria],
        "local": [c.local for c in res.criteria],
    }
    rubric = [{"criterion": c.text, "weight": c.weight} for c in task.rubric]
    return Example(task.prompt, response, rubric, id=id or task.id, meta=meta)


def world_examples(split: str = "test", n: int = 8, *, seed: int = 0,
                   modes: Sequence[str] = ("noisy", "good"), tasks: Sequence[Task] | None = None) -> list[Example]:
    """``n`` examples from a split: sampled responses (cycling through ``modes``) with checker truth."""
    tasks = list(tasks) if tasks is not None else load_tasks(split)
    if not tasks:
        raise WorldError("no tasks to draw examples from")
    rng = random.Random(seed)
    out: list[Example] = []
    i = 0
    while len(out) < n and i < 20 * n + 20:  # a sampler can return an empty response: draw again
        task = tasks[i % len(tasks)]
        mode = modes[i % len(modes)]
        resp = sample_response(task, rng, mode)
        if resp.strip():
            out.append(task_example(task, resp, mode=mode, id=f"{task.id}-{mode}-{i}"))
        i += 1
    return out
