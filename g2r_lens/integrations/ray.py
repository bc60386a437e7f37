"""``g2r attribute`` at dataset scale on Ray Data.

``pip install -e '.[ray]'`` (see README, "Scaling out").

* :class:`AttributeBatch`: a callable class for ``ray.data.Dataset.map_batches``. The judge is loaded
  once per actor (``device="cpu"`` or ``"cuda"``; ask Ray for the matching ``num_gpus`` per actor).
  Rows hold ``prompt``, ``response``, ``rubric`` (a list of ``{criterion, weight}`` or its JSON) and
  optionally ``id``; each output row holds the example's sparse reward, verdicts, tokens and one
  ``rewards_<method>`` list per method, plus ``result``, the full
  :class:`~g2r_lens.results.ExampleResult` as JSON.
* :func:`attribute_on_ray`: the whole job. The input (a JSONL file, streamed by byte ranges, or a
  list / ``datasets`` dataset of examples) is cut into shards of ``shard_size`` examples; a Ray Data
  pipeline over the shard descriptors runs one :class:`ShardWriter` actor per slot, each writing
  ``OUT/shards/part-NNNNN.parquet`` atomically (temporary name, then rename). A rerun skips the
  shards already written, so a killed run resumes without recomputing them. ``OUT/manifest.json``
  pins the settings and the input's fingerprint; resuming with different ones is refused.
  Progress: one bar over shards.
* :func:`load_results`: the shards back as one :class:`~g2r_lens.results.AttributionRun`.
* :func:`add_ray_arguments` / :func:`run_ray_cli`: ``g2r attribute --ray``. This module imports Ray
  only when a run starts, so the CLI builds its parser without the extra.

Random-control seeds derive from each example's id (as in :func:`g2r_lens.attribute`), so how the
examples are sharded never changes the result. Multi-node: ``OUT`` (and a JSONL input) must be on
storage every node sees; only local mode was tested here.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from . import load_judge_spec, missing_extra
from ..errors import G2RError
from ..io import clean_json, json_object

__all__ = ["AttributeBatch", "ShardWriter", "add_ray_arguments", "attribute_on_ray", "init_ray", "load_results",
           "plan_shards", "run_ray_cli"]

MANIFEST = "manifest.json"
FORMAT = "g2r_lens.ray_attribution/1"


def _ray():
    """``ray`` with Ray Data, imported on first use: this module (and the CLI flags it adds) loads
    without the extra; running on Ray without it is a clear error."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as e:
        raise G2RError(str(missing_extra("ray", "ray", e))) from None
    return ray


def _rubric(x: Any) -> Any:
    if isinstance(x, str):
        try:
            return json.loads(x)
        except json.JSONDecodeError as e:
            raise G2RError(f"rubric is not valid JSON: {e}") from None
    if hasattr(x, "tolist"):
        x = x.tolist()
    return [dict(c) if isinstance(c, Mapping) else c for c in x]


def _batch_rows(batch: Any) -> list[dict[str, Any]]:
    """Ray Data batch (dict of columns, or a pandas frame) -> list of row dicts."""
    if hasattr(batch, "to_dict") and hasattr(batch, "columns"):
        return batch.to_dict("records")
    cols = {k: list(v) for k, v in dict(batch).items()}
    n = len(next(iter(cols.values()))) if cols else 0
    return [{k: v[i] for k, v in cols.items()} for i in range(n)]


class AttributeBatch:
    """Callable class for ``Dataset.map_batches``: attribute a batch of examples with one judge.

    ``ds.map_batches(AttributeBatch, fn_constructor_kwargs={"judge": "external", "methods":
    ["grad_x_input"]}, compute=ray.data.ActorPoolStrategy(size=4), num_cpus=1, batch_size=64)``
    """

    def __init__(self, judge: Any = "external", methods: Sequence[str] = ("grad_x_input",), *,
                 method_params: Mapping[str, Mapping[str, Any]] | None = None, tau: float = 1.0,
                 tau_mode: str = "relative", attribute_false: bool = False, batch_size: int = 8, seed: int = 0,
                 device: str = "cpu", dtype: str = "auto", template: str = "auto", truncation: str = "error",
                 torch_threads: int = 1) -> None:
        import torch

        if torch_threads:
            torch.set_num_threads(int(torch_threads))  # one actor per CPU: no oversubscription
        self.judge = load_judge_spec(judge, device=device, dtype=dtype, template=template, truncation=truncation)
        self.methods = list(methods)
        self.kw = dict(method_params=method_params, tau=tau, tau_mode=tau_mode, attribute_false=attribute_false,
                       batch_size=batch_size, seed=seed, progress=False)

    def attribute(self, rows: Iterable[Mapping[str, Any]]):
        from ..core import attribute
        from ..examples import Example

        exs = []
        for i, r in enumerate(rows):
            d = {"prompt": r.get("prompt"), "response": r.get("response"), "rubric": _rubric(r.get("rubric"))}
            rid = r.get("id")
            exs.append(Example.from_dict(d, default_id=str(rid) if rid is not None else f"row{i}"))
        return attribute(self.judge, exs, self.methods, **self.kw)

    def columns(self, run) -> dict[str, list]:
        out: dict[str, list] = {"id": [], "prompt": [], "response": [], "sparse_reward": [], "verdicts": [],
                                "p_true": [], "tokens": [], **{f"rewards_{m}": [] for m in self.methods},
                                "result": []}
        for e in run.examples:
            out["id"].append(e.id)
            out["prompt"].append(e.prompt)
            out["response"].append(e.response)
            out["sparse_reward"].append(float(e.sparse_reward))
            out["verdicts"].append([bool(c.verdict) for c in e.criteria])
            out["p_true"].append([float(c.p_true) for c in e.criteria])
            out["tokens"].append(list(e.tokens))
            for m in self.methods:
                out[f"rewards_{m}"].append([float(x) for x in e.methods[m].rewards])
            out["result"].append(json.dumps(_clean(asdict(e)), allow_nan=False))
        return out

    def __call__(self, batch: Any) -> dict[str, list]:
        return self.columns(self.attribute(_batch_rows(batch)))


def _clean(x: Any) -> Any:
    """JSON-safe copy that keeps inf/-inf/nan exactly (as the results files do), so a shard reads back
    the values `attribute` produced (a uniform α's τ of inf stays inf)."""
    return clean_json(x, exact=True)


# ------------------------------------------------------------------------------------ shards

def _read_jsonl_range(path: str, start: int, end: int, first_line: int) -> list[dict[str, Any]]:
    with open(path, "rb") as f:
        f.seek(start)
        raw = f.read(end - start).decode("utf-8")
    rows = []
    for k, line in enumerate(raw.splitlines()):
        if not line.strip():
            continue
        lineno = first_line + k
        d = json_object(line, f"{path}:{lineno}", "a JSON object with prompt, response and rubric")
        d.setdefault("id", f"{Path(path).stem}-{lineno}")
        rows.append(d)
    return rows


def plan_shards(source: Any, shard_size: int) -> tuple[list[dict[str, Any]], str]:
    """Shard descriptors and a fingerprint of the input.

    A JSONL path is scanned once (byte offsets only, nothing kept in memory); each descriptor holds
    the byte range of ``shard_size`` non-empty lines. A list or ``datasets.Dataset`` of examples is
    cut into descriptors that carry their rows."""
    if shard_size < 1:
        raise G2RError("shard size must be >= 1")
    h = hashlib.sha256()
    shards: list[dict[str, Any]] = []
    if isinstance(source, (str, Path)):
        path = str(Path(source).resolve())
        if not os.path.isfile(path):
            raise G2RError(f"examples file {str(source)!r} does not exist")
        pos, lineno, start, start_line, n = 0, 0, 0, 1, 0
        with open(path, "rb") as f:
            for line in f:
                lineno += 1
                h.update(line)
                pos += len(line)
                if line.strip():
                    n += 1
                if n == shard_size:
                    shards.append({"shard": len(shards), "path": path, "start": start, "end": pos,
                                   "first_line": start_line, "rows": ""})
                    start, start_line, n = pos, lineno + 1, 0
        if n:
            shards.append({"shard": len(shards), "path": path, "start": start, "end": pos,
                           "first_line": start_line, "rows": ""})
        if not shards:
            raise G2RError(f"examples file {str(source)!r} holds no examples")
        return shards, h.hexdigest()
    rows = []
    for i, r in enumerate(source):
        r = r.to_dict() if hasattr(r, "to_dict") and not isinstance(r, Mapping) else dict(r)
        r.setdefault("id", f"ex{i}")
        r["rubric"] = _rubric(r.get("rubric"))
        rows.append(r)
    if not rows:
        raise G2RError("no examples to attribute")
    for s in range(0, len(rows), shard_size):
        part = rows[s:s + shard_size]
        h.update(json.dumps(part, sort_keys=True, default=str).encode())
        shards.append({"shard": len(shards), "path": "", "start": 0, "end": 0, "first_line": 0,
                       "rows": json.dumps(part, default=str)})
    return shards, h.hexdigest()


def shard_path(out: str | Path, shard: int) -> Path:
    return Path(out) / "shards" / f"part-{int(shard):05d}.parquet"


class ShardWriter(AttributeBatch):
    """Actor for a Ray Data pipeline over shard descriptors: attribute each shard, write its parquet."""

    def __init__(self, out: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.out = str(out)

    def __call__(self, batch: Any) -> dict[str, list]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        res: dict[str, list] = {"shard": [], "n": [], "seconds": [], "pid": []}
        for d in _batch_rows(batch):
            t0 = time.perf_counter()
            # descriptors carry either inline rows (a JSON string) or a JSONL byte range; never None,
            # which Ray Data's columns would turn into NaN
            inline = d.get("rows")
            rows = (json.loads(inline) if isinstance(inline, str) and inline else
                    _read_jsonl_range(d["path"], int(d["start"]), int(d["end"]), int(d["first_line"])))
            cols = self.columns(self.attribute(rows))
            path = shard_path(self.out, d["shard"])
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            pq.write_table(pa.table(cols), tmp)
            tmp.replace(path)  # atomic: a shard file exists only once complete
            res["shard"].append(int(d["shard"]))
            res["n"].append(len(rows))
            res["seconds"].append(time.perf_counter() - t0)
            res["pid"].append(os.getpid())
        return res


def _descendants(pid: int) -> set[int]:
    """Process ids below ``pid`` (Linux /proc; empty elsewhere)."""
    kids: dict[int, list[int]] = {}
    try:
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat", "rb") as f:
                        ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                kids.setdefault(ppid, []).append(int(d))
    except OSError:
        return set()
    out, todo = set(), [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def _kill(pids: set[int]) -> None:
    import signal

    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass


class _SlowClock:
    """The ``time`` module with a ``monotonic`` clock running ``factor`` times slower: swapped into
    ``ray._private.node`` during start-up only, it stretches that module's fixed start-up deadlines
    (the raylet gets 30 s to register, hard-coded in Ray 2.60) on a heavily loaded machine."""

    def __init__(self, factor: float) -> None:
        self._t0, self._factor = time.monotonic(), float(factor)

    def monotonic(self) -> float:
        return self._t0 + (time.monotonic() - self._t0) / self._factor

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def init_ray(num_cpus: int | None = None, num_gpus: int | None = None, *, address: str | None = None,
             tries: int = 5, startup_slack: float = 4.0, **kw: Any) -> None:
    """Start (or join, with ``address``) Ray unless it is running: no dashboard, generous start-up
    timeouts for loaded machines, and retries when the local node is slow to come up (Ray 2.60 gives
    a starting raylet a fixed 30 s to register, which a heavily loaded machine can exceed; while
    starting, ``startup_slack`` stretches Ray's node start-up deadlines by that factor)."""
    ray = _ray()
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_gcs_server_port_wait_time_s", "120")
    os.environ.setdefault("RAY_gcs_server_request_timeout_seconds", "120")
    args = dict(include_dashboard=False, ignore_reinit_error=True, log_to_driver=False,
                configure_logging=True, logging_level="warning", **kw)
    if address:
        args["address"] = address
    else:
        args.update(num_cpus=num_cpus, num_gpus=num_gpus)
    for k in range(tries):
        before = _descendants(os.getpid())
        try:
            import ray._private.node as node_mod
        except ImportError:  # another Ray layout: no slack, only retries
            node_mod = None
        clock = getattr(node_mod, "time", None)
        try:
            if node_mod is not None and clock is time and startup_slack > 1:
                node_mod.time = _SlowClock(startup_slack)
            ray.init(**args)
            return
        except Exception as e:  # a node that timed out during start-up: shut down and try again
            try:
                ray.shutdown()
            except Exception:
                pass
            # a failed start leaves its GCS / raylet processes (children of this process) running
            _kill(_descendants(os.getpid()) - before)
            if k == tries - 1:
                raise G2RError(f"could not start Ray after {tries} tries: {type(e).__name__}: {e}") from e
            time.sleep(5.0 * (k + 1))
        finally:
            if node_mod is not None and clock is time:
                node_mod.time = time


def attribute_on_ray(source: Any, out: str | Path, *, judge: Any = "external",
                     methods: Sequence[str] = ("grad_x_input",), method_params: Mapping | None = None,
                     tau: float = 1.0, tau_mode: str = "relative", attribute_false: bool = False,
                     batch_size: int = 8, seed: int = 0, device: str = "cpu", dtype: str = "auto",
                     template: str = "auto", truncation: str = "error", shard_size: int = 64,
                     num_actors: int = 2, cpus_per_actor: float = 1.0, gpus_per_actor: float = 0.0,
                     address: str | None = None, progress: bool = True) -> dict[str, Any]:
    """Attribute every example of ``source`` on Ray Data into ``out/shards/*.parquet``, skipping the
    shards a previous run finished. Returns a summary (shards total / skipped / written, examples,
    seconds)."""
    from ..attribution import get_method

    from tqdm.auto import tqdm

    ray = _ray()
    methods = list(dict.fromkeys(methods))
    if not methods:
        raise G2RError("no attribution method given")
    for m in methods:
        get_method(m)
    if num_actors < 1:
        raise G2RError("--ray-actors must be >= 1")
    if gpus_per_actor and device == "cpu":
        device = "cuda"
    out = Path(out)
    shards, fingerprint = plan_shards(source, shard_size)
    settings = {"judge": str(judge), "methods": methods, "method_params": _clean(dict(method_params or {})),
                "tau": tau, "tau_mode": tau_mode, "attribute_false": attribute_false, "seed": seed,
                "template": template, "truncation": truncation, "shard_size": shard_size, "input": fingerprint}
    man_path = out / MANIFEST
    if man_path.exists():
        old = json.loads(man_path.read_text())
        diff = sorted(k for k in settings if old.get("settings", {}).get(k) != settings[k])
        if diff:
            raise G2RError(f"{out} holds a run with other settings ({', '.join(diff)}); "
                           "use a new --out folder, or the same settings and input to resume")
    out.mkdir(parents=True, exist_ok=True)
    tmp = man_path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"format": FORMAT, "settings": settings, "shards": len(shards)}, indent=1))
    tmp.replace(man_path)

    todo = [d for d in shards if not shard_path(out, d["shard"]).exists()]
    summary = {"shards_total": len(shards), "shards_skipped": len(shards) - len(todo), "shards_written": 0,
               "examples_written": 0, "seconds": 0.0, "actor_pids": []}
    if not todo:
        return summary
    t0 = time.perf_counter()
    init_ray(num_cpus=None if address else max(1, int(num_actors * cpus_per_actor + 0.999)),
             num_gpus=None if address else (int(num_actors * gpus_per_actor + 0.999) or None), address=address)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.execution_options.preserve_order = False
    ds = ray.data.from_items(todo, override_num_blocks=len(todo))
    kw = dict(out=str(out), judge=judge, methods=methods, method_params=method_params, tau=tau, tau_mode=tau_mode,
              attribute_false=attribute_false, batch_size=batch_size, seed=seed, device=device, dtype=dtype,
              template=template, truncation=truncation)
    res = ds.map_batches(ShardWriter, fn_constructor_kwargs=kw, batch_size=1,
                         compute=ray.data.ActorPoolStrategy(size=num_actors), num_cpus=cpus_per_actor,
                         num_gpus=gpus_per_actor or None)
    bar = tqdm(total=len(shards), initial=summary["shards_skipped"], desc="g2r attribute --ray", unit="shard",
               disable=not progress)
    pids = set()
    for row in res.iter_rows():
        summary["shards_written"] += 1
        summary["examples_written"] += int(row["n"])
        pids.add(int(row["pid"]))
        bar.update(1)
    bar.close()
    summary["seconds"] = time.perf_counter() - t0
    summary["actor_pids"] = sorted(pids)
    return summary


def load_results(out: str | Path):
    """All shards of ``out`` as one :class:`~g2r_lens.results.AttributionRun` (shard order)."""
    import pyarrow.parquet as pq

    from ..results import AttributionRun

    out = Path(out)
    man_path = out / MANIFEST
    if not man_path.exists():
        raise G2RError(f"{out} holds no g2r Ray run ({MANIFEST} missing)")
    man = json.loads(man_path.read_text())
    missing = [k for k in range(man["shards"]) if not shard_path(out, k).exists()]
    if missing:
        raise G2RError(f"{out}: {len(missing)} of {man['shards']} shards are not written yet (resume the run)")
    exs = []
    for k in range(man["shards"]):
        exs += [json.loads(s) for s in pq.read_table(shard_path(out, k), columns=["result"]).column("result").to_pylist()]
    prov = {"engine": "ray", **man["settings"]}
    return AttributionRun.from_dict({"provenance": prov, "examples": exs})


# ------------------------------------------------------------------------------------ CLI

def add_ray_arguments(parser: Any) -> None:
    """The ``--ray`` flags of ``g2r attribute``."""
    g = parser.add_argument_group("Ray Data (needs pip install -e '.[ray]')")
    g.add_argument("--ray", action="store_true", help="attribute on Ray Data: parquet shards in --out, resumable")
    g.add_argument("--ray-address", default=None, help="join a running Ray cluster (default: start a local one)")
    g.add_argument("--ray-actors", type=int, default=2, help="judge actors (each loads the judge once)")
    g.add_argument("--ray-cpus-per-actor", type=float, default=1.0)
    g.add_argument("--ray-gpus-per-actor", type=float, default=0.0, help="> 0 puts each actor's judge on a GPU")
    g.add_argument("--shard-size", type=int, default=64, help="examples per parquet shard (the unit of resume)")
    g.add_argument("--dataset", default=None,
                   help="instead of --examples: a `datasets` dataset (a local path or name) with prompt, "
                        "response and rubric columns")
    g.add_argument("--dataset-split", default="train")
    g.add_argument("--judge-template", choices=["auto", "world", "default"], default="auto",
                   help="judge prompt: the bundled world's (auto for --model external/self) or the default")


def run_ray_cli(args: Any, method_params: Mapping | None = None) -> int:
    """``g2r attribute --ray``: the dispatch target of the CLI."""
    if args.dataset:
        import datasets

        try:
            src = datasets.load_from_disk(args.dataset) if os.path.isdir(args.dataset) else \
                datasets.load_dataset(args.dataset, split=args.dataset_split)
        except Exception as e:
            raise G2RError(f"could not load the dataset {args.dataset!r}: {type(e).__name__}: {e}") from None
        if hasattr(src, "keys") and not hasattr(src, "column_names"):  # a DatasetDict
            if args.dataset_split not in src:
                raise G2RError(f"dataset {args.dataset!r} has no split {args.dataset_split!r}")
            src = src[args.dataset_split]
    elif args.examples:
        src = args.examples
    else:
        raise G2RError("--ray needs --examples FILE.jsonl or --dataset")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    dev = "cpu" if args.device == "auto" and not args.ray_gpus_per_actor else args.device
    summary = attribute_on_ray(
        src, args.out, judge=args.model, methods=methods, method_params=method_params, tau=args.tau,
        tau_mode=args.tau_mode, attribute_false=args.attribute_false, batch_size=args.batch_size, seed=args.seed,
        device=("cuda" if args.ray_gpus_per_actor and dev in ("auto", "cpu") else dev), dtype=args.dtype,
        template=args.judge_template, truncation=args.truncation, shard_size=args.shard_size,
        num_actors=args.ray_actors, cpus_per_actor=args.ray_cpus_per_actor, gpus_per_actor=args.ray_gpus_per_actor,
        address=args.ray_address, progress=not args.quiet)
    print(f"g2r attribute --ray: {summary['shards_written']} shard(s) written "
          f"({summary['examples_written']} examples), {summary['shards_skipped']} already done, "
          f"{summary['shards_total']} in all -> {Path(args.out) / 'shards'}")
    return 0
