"""Results: plain dataclasses with provenance, round-tripping to JSON and to a pandas/parquet table."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .io import atomic_path, atomic_write, clean_json

_META_KEY = b"g2r_lens"


_clean = clean_json  # the old private name, kept for callers that still import it


# Non-finite floats in saved results: JSON has no inf/nan, so they are written as these strings and
# read back exactly (a τ of inf, uniform α, is not a NaN "not attributed"). null still reads as NaN.
_NONFINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def _exact(x: Any) -> Any:
    """JSON-safe copy like :func:`clean_json`, but inf/-inf/nan become "inf"/"-inf"/"nan"."""
    return clean_json(x, exact=True)


def _nan(x: Any) -> Any:
    """A stored number (or list/dict of them) back: null -> NaN, "inf"/"-inf"/"nan" -> the float."""
    if isinstance(x, list):
        return [_nan(v) for v in x]
    if isinstance(x, dict):
        return {k: _nan(v) for k, v in x.items()}
    if isinstance(x, str) and x in _NONFINITE:
        return _NONFINITE[x]
    return math.nan if x is None else x


def _criterion(c: dict[str, Any]) -> "CriterionResult":
    return CriterionResult(**{k: (v if k in ("text", "verdict") else _nan(v)) for k, v in c.items()})


@dataclass
class CriterionResult:
    text: str
    weight: float
    p_true: float
    p_false: float
    logp_true: float
    verdict: bool


@dataclass
class MethodResult:
    """One attribution method on one example. ``scores[k]`` is None when criterion k was not attributed."""

    name: str
    params: dict[str, Any]
    scores: list[list[float] | None]
    alphas: list[list[float] | None]
    rewards: list[float]
    taus: list[float]
    entropy: list[float]
    info: list[dict[str, float]] = field(default_factory=list)

    @property
    def reward_sum(self) -> float:
        return float(sum(self.rewards))


@dataclass
class ExampleResult:
    id: str
    prompt: str
    response: str
    tokens: list[str]
    offsets: list[tuple[int, int]]
    criteria: list[CriterionResult]
    sparse_reward: float
    methods: dict[str, MethodResult]
    truncated_tokens: int = 0

    def scores(self, method: str) -> np.ndarray:
        """``[K, T]`` scores of a method (NaN rows for criteria not attributed)."""
        m = self.methods[method]
        T = len(self.tokens)
        return np.array([s if s is not None else [math.nan] * T for s in m.scores], dtype=float).reshape(-1, T)

    def rewards(self, method: str) -> np.ndarray:
        return np.asarray(self.methods[method].rewards, dtype=float)

    def top_tokens(self, method: str, criterion: int, k: int = 5) -> list[tuple[str, float]]:
        s = self.methods[method].scores[criterion]
        if s is None:
            return []
        order = np.argsort(-np.asarray(s), kind="stable")[:k]  # ties: earliest token first
        return [(self.tokens[i], float(s[i])) for i in order]


@dataclass
class AttributionRun:
    """All results of one call, with provenance (model, template hash, methods, params, dtype, seed)."""

    provenance: dict[str, Any]
    examples: list[ExampleResult]

    # ---------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        return _exact({"format": "g2r_lens.attribution/1", "provenance": self.provenance,
                       "examples": [asdict(e) for e in self.examples]})

    def save_json(self, path: str | Path) -> Path:
        return atomic_write(path, json.dumps(self.to_dict(), ensure_ascii=False, allow_nan=False), fsync=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AttributionRun":
        exs = []
        for e in d["examples"]:
            methods = {}
            for name, m in e["methods"].items():
                methods[name] = MethodResult(
                    name=m["name"], params=m["params"], scores=[None if s is None else _nan(s) for s in m["scores"]],
                    alphas=[None if a is None else _nan(a) for a in m["alphas"]], rewards=_nan(m["rewards"]), taus=_nan(m["taus"]),
                    entropy=_nan(m["entropy"]), info=[{k: _nan(v) for k, v in i.items()} for i in m["info"]])
            exs.append(ExampleResult(
                id=e["id"], prompt=e["prompt"], response=e["response"], tokens=e["tokens"],
                offsets=[tuple(o) for o in e["offsets"]], criteria=[_criterion(c) for c in e["criteria"]],
                sparse_reward=_nan(e["sparse_reward"]), methods=methods, truncated_tokens=e.get("truncated_tokens", 0)))
        return cls(d["provenance"], exs)

    @classmethod
    def load_json(cls, path: str | Path) -> "AttributionRun":
        return cls.from_dict(json.loads(Path(path).read_text()))

    # ---------------------------------------------------------------- table
    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per (example, method, criterion, token)."""
        rows = []
        for e in self.examples:
            for name, m in e.methods.items():
                for k, c in enumerate(e.criteria):
                    s, a = m.scores[k], m.alphas[k]
                    for t, tok in enumerate(e.tokens):
                        rows.append((e.id, name, k, c.text, c.weight, c.verdict, c.p_true, t, tok,
                                     e.offsets[t][0], e.offsets[t][1],
                                     math.nan if s is None else s[t], math.nan if a is None else a[t],
                                     m.rewards[t]))
        cols = ["example_id", "method", "criterion_index", "criterion", "weight", "verdict", "p_true",
                "token_index", "token", "char_start", "char_end", "score", "alpha", "reward"]
        return pd.DataFrame(rows, columns=cols)

    def save_parquet(self, path: str | Path) -> Path:
        """Write the long table; example-level fields and provenance ride in the file's metadata."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pandas(self.to_frame(), preserve_index=False)
        meta = {"provenance": self.provenance, "examples": [
            {"id": e.id, "prompt": e.prompt, "response": e.response, "sparse_reward": e.sparse_reward,
             "tokens": e.tokens, "offsets": e.offsets,
             "truncated_tokens": e.truncated_tokens, "criteria": [asdict(c) for c in e.criteria],
             "methods": {n: {"params": m.params, "taus": m.taus, "entropy": m.entropy, "info": m.info,
                             "attributed": [s is not None for s in m.scores]} for n, m in e.methods.items()}}
            for e in self.examples]}
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               _META_KEY: json.dumps(_exact(meta), allow_nan=False).encode()})
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)
        return path

    @classmethod
    def load_parquet(cls, path: str | Path) -> "AttributionRun":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        raw = (table.schema.metadata or {}).get(_META_KEY)
        if raw is None:
            raise ValueError(f"{path} was not written by g2r_lens (no metadata)")
        meta = json.loads(raw)
        df = table.to_pandas()
        exs = []
        for em in meta["examples"]:
            sub = df[df.example_id == em["id"]]
            methods = {}
            for name, mm in em["methods"].items():
                ms = sub[sub.method == name].sort_values(["criterion_index", "token_index"])
                K = len(em["criteria"])
                T = len(ms) // K
                sc = ms.score.to_numpy().reshape(K, T)
                al = ms.alpha.to_numpy().reshape(K, T)
                first = ms[ms.criterion_index == 0]
                methods[name] = MethodResult(
                    name=name, params=mm["params"],
                    scores=[sc[k].tolist() if mm["attributed"][k] else None for k in range(K)],
                    alphas=[al[k].tolist() if mm["attributed"][k] else None for k in range(K)],
                    rewards=first.reward.tolist(), taus=_nan(mm["taus"]), entropy=_nan(mm["entropy"]),
                    info=[{k: _nan(v) for k, v in i.items()} for i in mm["info"]])
            exs.append(ExampleResult(
                id=em["id"], prompt=em["prompt"], response=em["response"], tokens=em["tokens"],
                offsets=[tuple(o) for o in em["offsets"]], criteria=[_criterion(c) for c in em["criteria"]],
                sparse_reward=_nan(em["sparse_reward"]), methods=methods, truncated_tokens=em["truncated_tokens"]))
        return cls(meta["provenance"], exs)
