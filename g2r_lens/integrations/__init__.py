"""Optional integrations with scale-out engines. Each submodule needs its own extra; the core package
never imports them.

- :mod:`g2r_lens.integrations.verl` (``pip install -e '.[verl]'``): the g2r_lens advantage
  estimators in verl's registry, and a verl reward manager that writes dense judge rewards into the
  ``(batch, response_length)`` reward tensor.
- :mod:`g2r_lens.integrations.ray` (``pip install -e '.[ray]'``): ``g2r attribute`` at dataset
  scale on Ray Data (one judge per actor, parquet shards, resumable).

Helpers shared by both (loading a judge by name) live here and import neither engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["load_judge_spec", "missing_extra"]


def missing_extra(extra: str, module: str, err: ImportError) -> ImportError:
    """The ImportError raised when an integration's engine is not installed."""
    return ImportError(f"g2r_lens.integrations.{extra} needs {module!r} ({err}); install the extra: "
                       f"pip install -e '.[{extra}]' (see README, 'Scaling out')")


def load_judge_spec(judge: Any, *, device: str = "auto", dtype: str = "auto", template: str = "auto",
                    **kw: Any) -> Any:
    """A :class:`~g2r_lens.Judge` from a spec: a Judge (returned as is), ``"external"`` / ``"self"``
    (the bundled world's judges), or a model folder. ``template``: ``"world"`` (the bundled world's
    judge prompt), ``"default"`` (:class:`~g2r_lens.JudgeTemplate`'s default) or ``"auto"`` (world
    for the bundled judges, default otherwise)."""
    from ..errors import G2RError
    from ..judge import Judge, JudgeTemplate

    if isinstance(judge, Judge):
        return judge
    if not isinstance(judge, (str, Path)) or not str(judge):
        raise G2RError(f"judge must be 'external', 'self' or a model folder, got {judge!r}")
    from ..world.bundle import JUDGE_ALIASES, JUDGES, WORLD_TEMPLATE, load_judge

    name = str(judge)
    if template not in ("auto", "world", "default"):
        raise G2RError(f"judge template must be 'auto', 'world' or 'default', got {template!r}")
    if name in JUDGES or name in JUDGE_ALIASES:
        if template == "default":
            raise G2RError("the bundled judges were trained on the world template; use template 'world' or 'auto'")
        return load_judge(name, device=device, dtype=dtype, **kw)
    tpl = WORLD_TEMPLATE if template == "world" else JudgeTemplate()
    return Judge.from_pretrained(name, tpl, device=device, dtype=dtype, **kw)
