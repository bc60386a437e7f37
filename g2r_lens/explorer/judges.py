"""The judges the explorer offers: the bundled world's ``"external"`` judge and ``"self"`` judge (a
frozen copy of the policy) when their checkpoints are built, a tiny random demo judge always, or
any local model folder (``"path"``)."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import G2RError, ModelLoadError

DEMO_KEY = "demo"
PATH_KEY = "path"
BUNDLED = ("external", "self")
# accepted on input only: the older spellings of the bundled judges
ALIASES = {"judge": "external", "policy": "self", "bundled:judge": "external", "bundled:external": "external",
           "bundled:self": "self", "bundled:policy": "self"}
TEMPLATES = ("auto", "world", "generic")


@dataclass(frozen=True)
class JudgeOption:
    key: str  # "external", "self" or "demo"
    label: str


def judge_options() -> list[JudgeOption]:
    """The judges the sidebar offers: the bundled ones when built, the tiny demo judge always."""
    from ..world.bundle import have_models

    opts = []
    if have_models():
        opts += [JudgeOption("external", "World judge (bundled, external)"),
                 JudgeOption("self", "World self-judge (bundled policy, frozen)")]
    opts.append(JudgeOption(DEMO_KEY, "Tiny demo judge (random weights)"))
    return opts


@functools.lru_cache(maxsize=2)
def demo_judge(seed: int = 1) -> Any:
    """A tiny random Llama-shaped judge with a chat-template BPE (built offline in seconds, once)."""
    from ..testing import tiny_judge
    from ..world.bundle import WORLD_TEMPLATE

    j = tiny_judge("llama", "chat", layers=2, hidden=64, seed=seed, max_positions=512, template=WORLD_TEMPLATE)
    j.name = "tiny demo judge (random weights)"
    return j


def local_model_dir(path: str) -> Path:
    """Check that ``path`` is a local model folder (only local folders are accepted here)."""
    p = Path(os.path.expanduser(str(path).strip()))
    if not str(path).strip():
        raise ModelLoadError("the model folder path is empty")
    if not p.exists():
        raise ModelLoadError(f"there is no folder at {str(p)!r}")
    if not p.is_dir():
        raise ModelLoadError(f"{str(p)!r} is a file, not a model folder")
    if not (p / "config.json").exists():
        raise ModelLoadError(f"{str(p)!r} holds no config.json; point to a Hugging Face model folder "
                             "(config.json, weights and tokenizer files)")
    return p.resolve()


def _load(what: str, fn: Any, *args: Any, **kw: Any) -> Any:
    """``fn(*args, **kw)``; any failure that is not a :class:`G2RError` becomes a :class:`ModelLoadError`."""
    try:
        return fn(*args, **kw)
    except G2RError:
        raise
    except Exception as e:  # noqa: BLE001 - any loader failure becomes a message
        raise ModelLoadError(f"could not load {what}: {type(e).__name__}: {e}") from e


def load_judge(key: str, path: str | None = None, template: str = "auto", device: str = "auto") -> Any:
    """Load a judge: ``key`` is a :func:`judge_options` key (``"external"``, ``"self"``, ``"demo"``),
    or ``"path"`` with ``path`` a local folder.

    ``template``: ``"world"`` (the bundled world's rubric prompt), ``"generic"`` (the library
    default) or ``"auto"`` (world for bundled and demo judges, generic for other folders). The
    bundled judges load through :func:`g2r_lens.world.bundle.load_judge`. Every failure becomes a
    :class:`ModelLoadError` (or another :class:`G2RError`) with a plain message.
    """
    from ..judge import Judge, JudgeTemplate
    from ..world import bundle

    if template not in TEMPLATES:
        raise G2RError(f"unknown template {template!r}; use auto, world or generic")
    if key == DEMO_KEY:
        return demo_judge()
    key = ALIASES.get(key, key)
    if key in BUNDLED:
        if template != "generic":
            return _load(f"the bundled {key!r} judge", bundle.load_judge, key, device=device)
        folder = bundle.bundled_path(bundle.JUDGES[key])
        return _load(f"the bundled {key!r} judge", Judge.from_pretrained, folder, JudgeTemplate(), device=device)
    if key != PATH_KEY:
        raise G2RError(f"unknown judge {key!r}; use one of {[*BUNDLED, DEMO_KEY, PATH_KEY]}")
    folder = local_model_dir(path or "")
    world = template == "world" or (template == "auto" and is_world_folder(folder))
    tpl = bundle.WORLD_TEMPLATE if world else JudgeTemplate()
    return _load(f"a causal LM and tokenizer from {str(folder)!r}", Judge.from_pretrained, folder, tpl, device=device)


def is_world_folder(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` is one of the bundled world's checkpoint folders (its judges are trained on
    the world's rubric prompt, so ``auto`` keeps that prompt for them)."""
    from ..world import bundle

    try:
        p = Path(folder).expanduser().resolve()
        return any(p == bundle.bundled_path(n).resolve() for n in bundle.JUDGES.values())
    except OSError:
        return False


def template_name(judge: Any) -> str:
    """The judge prompt in use: ``"world rubric prompt"``, ``"generic prompt"`` or ``"custom prompt"``."""
    from ..judge import JudgeTemplate
    from ..world import bundle

    if judge.template == bundle.WORLD_TEMPLATE:
        return "world rubric prompt"
    if judge.template == JudgeTemplate():
        return "generic prompt"
    return "custom prompt"


def judge_summary(judge: Any) -> str:
    """One line: name, size, context, verdict words, the prompt template in use."""
    n = sum(p.numel() for p in judge.model.parameters())
    size = f"{n / 1e6:.1f}M" if n >= 1e5 else f"{n / 1e3:.0f}k"
    return (f"{Path(str(judge.name)).name if os.sep in str(judge.name) else judge.name} · {size} params · "
            f"context {judge.max_length} · verdicts {'/'.join(judge.template.verdict_words)} · "
            f"{str(judge.dtype).replace('torch.', '')} on {judge.device} · {template_name(judge)}")
