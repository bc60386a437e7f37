"""The explorer's Runs page: RL run folders (``g2r train``), read only under one root.

:func:`runs_root` is the only folder the page reads; :func:`resolve_under` refuses names that leave
it. Runs are loaded with :func:`load_runs` (one message per unreadable folder), grouped into arms
(:func:`run_arms`) and tabulated (:func:`runs_table`, :func:`runs_metrics_frame`); saved samples
come by step (:func:`run_samples`, :func:`sample_table`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from ..errors import G2RError
from ..rl.plots import group_arms
from ..rl.runfolder import load_run, read_samples
from .views import token_label

RUNS_ENV = "G2R_RUNS_ROOT"


def runs_root() -> Path:
    """The only folder the explorer reads runs from: ``$G2R_RUNS_ROOT`` (``g2r app --runs-root``),
    default ``runs/`` in the working directory."""
    return Path(os.environ.get(RUNS_ENV) or "runs").expanduser().resolve()


def resolve_under(root: str | os.PathLike, name: str) -> Path:
    """``root/name``, refusing anything that is not a relative path staying inside ``root``
    (absolute paths, ``..``, symlinks pointing outside, empty names)."""
    root_p = Path(root).expanduser().resolve()
    if not isinstance(name, str) or not name.strip() or "\x00" in name:
        raise G2RError("choose a run folder name")
    p = Path(name)
    if p.is_absolute() or p.drive or name.startswith("~"):
        raise G2RError(f"{name!r} is not a name under the runs root; absolute paths are not accepted")
    full = (root_p / p).resolve()
    if full == root_p or root_p not in full.parents:
        raise G2RError(f"{name!r} points outside the runs root {str(root_p)!r}")
    return full


def list_runs(root: str | os.PathLike) -> list[str]:
    """Names of the folders directly under ``root`` (those that resolve inside it)."""
    root_p = Path(root).expanduser().resolve()
    if not root_p.is_dir():
        return []
    out = []
    for child in sorted(root_p.iterdir()):
        try:
            if child.is_dir() and root_p in child.resolve().parents:
                out.append(child.name)
        except OSError:
            continue
    return out


def load_runs(root: str | os.PathLike, names: Sequence[str]) -> tuple[list[Any], list[str]]:
    """The run folders ``names`` under ``root`` (:func:`g2r_lens.rl.runfolder.load_run`), each resolved
    with :func:`resolve_under`; returns ``(runs, errors)`` with a plain message per refused or
    unreadable folder, so one bad folder does not hide the others."""
    runs, errs = [], []
    for name in names:
        try:
            run = load_run(resolve_under(root, name))
            for key in ("reward", "estimator", "judge"):
                run.config.setdefault(key, "?")
            run.name = name
            runs.append(run)
        except G2RError as e:
            errs.append(f"{name}: {_under_root(str(e), root)}")
        except (OSError, ValueError) as e:  # unreadable or malformed files
            errs.append(f"{name}: could not read the run folder ({type(e).__name__}: {_under_root(str(e), root)})")
    return runs, errs


def _under_root(message: str, root: str | os.PathLike) -> str:
    """``message`` with the runs root's absolute path shortened to ``<runs root>/``: the file is
    named relative to the folder the page reads."""
    r = str(Path(root).expanduser().resolve())
    return message.replace(r + os.sep, "").replace(r, "<runs root>")


DEFAULT_RUNS = 8


def default_runs(runs: Sequence[Any], limit: int = DEFAULT_RUNS) -> list[str]:
    """The runs the page opens on: readable runs only (``runs`` as loaded by :func:`load_runs`), the
    sparse-reward baseline always included, then the other arms, up to ``limit`` folders."""
    sparse = [r.name for r in runs if str(r.config.get("reward")) == "sparse"]
    rest = [r.name for r in runs if r.name not in sparse]
    # one run of every arm before a second seed of any, so that the arms on show are many
    arms = group_arms(list(runs))
    firsts = [rs[0].name for rs in arms.values() if rs[0].name in rest]
    order = sparse + firsts + [n for n in rest if n not in firsts]
    return order[:limit]


def run_arms(runs: Sequence[Any]) -> dict[str, list[Any]]:
    """Runs grouped into arms (one per reward mode/estimator/judge and differing settings; seeds pooled)."""
    return group_arms(list(runs))


def runs_table(arms: Mapping[str, Sequence[Any]]) -> pd.DataFrame:
    """One row per run: folder, arm, seed, steps logged, last judge reward / checker scores."""
    rows = []
    for label, runs in arms.items():
        for r in runs:
            last = r.metrics[-1] if r.metrics else {}
            ev = r.evals[-1] if r.evals else {}
            rows.append({"run": getattr(r, "name", r.path.name), "arm": label, "seed": r.config.get("seed"),
                         "steps": int(last.get("step", 0)), "judge reward (last)": last.get("judge_reward"),
                         "checker score (last)": last.get("checker_score"),
                         "held-out checker (last eval)": ev.get("checker_score")})
    return pd.DataFrame(rows)


def runs_metrics_frame(arms: Mapping[str, Sequence[Any]]) -> pd.DataFrame:
    """Every logged row of the runs (train metrics and evals) in one long table, tagged with run,
    arm, seed and source (``train`` | ``eval``)."""
    rows = []
    for label, runs in arms.items():
        for r in runs:
            for source, data in (("train", r.metrics), ("eval", r.evals)):
                for m in data:
                    rows.append({"run": getattr(r, "name", r.path.name), "arm": label, "seed": r.config.get("seed"),
                                 "source": source, **{k: v for k, v in m.items() if not isinstance(v, (list, dict))}})
    return pd.DataFrame(rows)


def run_samples(run: Any) -> dict[int, list[dict]]:
    """The saved samples of a run (``samples.jsonl``) by step, steps ascending."""
    out: dict[int, list[dict]] = {}
    for s in read_samples(run):
        out.setdefault(int(s["step"]), []).append(s)
    return dict(sorted(out.items()))


def sample_table(sample: Mapping[str, Any]) -> pd.DataFrame:
    """Token, token reward and advantage of each response token of a saved sample."""
    toks = list(sample.get("tokens", []))
    rew = list(sample.get("token_rewards", []))
    adv = list(sample.get("advantages", []))
    n = len(toks)
    from ..render.tokens import special_name

    return pd.DataFrame({"t": range(n), "token": [f"[{special_name(t)}]" if special_name(t) else token_label(t)
                                                  for t in toks],
                         "token reward": (rew + [None] * n)[:n], "advantage": (adv + [None] * n)[:n]})
