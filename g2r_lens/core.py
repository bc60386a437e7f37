"""``attribute()``: verdicts, attribution scores and dense rewards for many examples at once.

All (example, criterion) pairs are encoded, batched (examples by length, each example's criteria
together) and run on the cached layout (:mod:`g2r_lens.prefix`): each batch's distinct prefixes once
without gradient, then the tails. Every method runs on the same batches; the engine dispatches on
what each method declares it needs (:data:`g2r_lens.attribution.base.NEEDS`), and the methods needing
input gradients share one forward + backward per batch.
"""

from __future__ import annotations

import platform
import time
import zlib
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence

import torch
from tqdm.auto import tqdm

from . import __version__
from .attribution import MethodContext, MethodSpec, get_method
from .errors import G2RError
from .examples import Example, sparse_reward
from .judge import EncodedPair, Judge, verdict_record
from .params import validate_method_params, validate_run_args
from .results import AttributionRun, CriterionResult, ExampleResult, MethodResult
from .rewards import dense_rewards

DEFAULT_METHODS = ("grad_x_input",)


def _as_examples(examples: Iterable[Example | Mapping[str, Any]]) -> list[Example]:
    out = []
    for i, ex in enumerate(examples):
        if not isinstance(ex, Example):
            if not isinstance(ex, Mapping):
                raise G2RError(f"example {i} is a {type(ex).__name__}, not an Example or a dict")
            ex = Example.from_dict(dict(ex), default_id=f"ex{i}")
        if ex.id is None:
            ex.id = f"ex{i}"
        ex.validate()
        out.append(ex)
    if not out:
        raise G2RError("no examples to attribute")
    ids = [e.id for e in out]
    if len(set(ids)) != len(ids):
        raise G2RError("example ids must be unique")
    return out


def _pair_seed(example_id: str, k: int) -> int:
    return zlib.crc32(f"{example_id}\x00{k}".encode())


def _resolve_methods(judge: Judge, methods: Sequence[str] | str,
                     method_params: Mapping[str, Mapping[str, Any]] | None, seed: int,
                     run_args: dict[str, Any]) -> tuple[list[MethodSpec], dict[str, dict[str, Any]]]:
    """Registered specs of the requested methods and their full, validated parameter sets."""
    if isinstance(methods, str):
        methods = [methods]
    methods = list(dict.fromkeys(methods))
    if not methods:
        raise G2RError("no attribution method given")
    validate_run_args(**run_args, method_params=method_params)
    specs = [get_method(m) for m in methods]
    method_params = dict(method_params or {})
    for name in method_params:
        get_method(name)
        if name not in methods:
            raise G2RError(f"parameters given for {name!r}, which is not among the methods {methods}")
    params = {s.name: s.resolve_params(method_params.get(s.name)) for s in specs}
    params = {s.name: validate_method_params(judge, s.name, params[s.name], s.defaults) for s in specs}  # params.py
    if "random" in params and "seed" not in (method_params.get("random") or {}):
        params["random"]["seed"] = seed
    return specs, params


Pair = tuple[int, int, EncodedPair]


def _encode_pairs(judge: Judge, exs: list[Example]) -> list[Pair]:
    """Every (example, criterion) pair, each example's criteria cut to its shortest response."""
    pairs = [(i, k, judge.encode(ex, k)) for i, ex in enumerate(exs) for k in range(len(ex.rubric))]
    # with truncation='response', every criterion of an example keeps the same response tokens
    shortest: dict[int, int] = {}
    for i, _, p in pairs:
        shortest[i] = min(shortest.get(i, p.n_response), p.n_response)
    return [(i, k, p.keep_response_tokens(shortest[i])) for i, k, p in pairs]


def _batches(pairs: list[Pair], batch_size: int) -> list[list[int]]:
    """Pair indices in batches: examples by length, each example's criteria together (so that
    criteria sharing a prefix share its cached pass), each example's criteria by length."""
    first_len: dict[int, int] = {}
    for i, _, p in pairs:
        first_len[i] = max(first_len.get(i, 0), len(p.input_ids))
    order = sorted(range(len(pairs)), key=lambda j: (first_len[pairs[j][0]], pairs[j][0], len(pairs[j][2].input_ids)))
    return [order[s:s + batch_size] for s in range(0, len(order), batch_size)]


class _Collector:
    """Verdicts, scores, per-row info and seconds, gathered batch by batch."""

    def __init__(self, specs: list[MethodSpec]) -> None:
        self.verdicts: dict[tuple[int, int], dict[str, Any]] = {}
        # "gradient_pass": the forward + backward shared by the methods needing input gradients
        # (their own entries hold only the cheap reductions after it)
        self.seconds = {"verdicts": 0.0, "gradient_pass": 0.0, **{s.name: 0.0 for s in specs}}
        self.scores: dict[str, dict[tuple[int, int], Any]] = {s.name: {} for s in specs}
        self.infos: dict[str, dict[tuple[int, int], dict]] = {s.name: {} for s in specs}


def _judge_batch(ctx: MethodContext, keys: list[tuple[int, int]], specs: list[MethodSpec], out: _Collector) -> None:
    """Verdicts of one batch; its forward is the shared gradient pass when a method needs it."""
    t0 = time.perf_counter()
    if any(s.needs == "input_gradients" for s in specs):
        tg = time.perf_counter()
        ctx.input_gradients()
        out.seconds["gradient_pass"] += time.perf_counter() - tg
        t0 += time.perf_counter() - tg  # keep "verdicts" the verdict-only share of the time
    for key, a, b in zip(keys, ctx.logp_true().tolist(), ctx.logp_false().tolist()):
        out.verdicts[key] = verdict_record(a, b)
    out.seconds["verdicts"] += time.perf_counter() - t0


def _attribute_batch(judge: Judge, ctx: MethodContext, keys: list[tuple[int, int]], pairs: list[EncodedPair],
                     specs: list[MethodSpec], params: dict[str, dict[str, Any]], attribute_false: bool,
                     out: _Collector, bar: Any) -> None:
    """Run every method on one batch. Cheap methods run on the whole batch (their pass is already
    paid for); the others only on the rows that need them (judged True, or all with attribute_false)."""
    keep = [n for n, key in enumerate(keys) if attribute_false or out.verdicts[key]["verdict"]]
    sub_ctx = ctx
    if keep and len(keep) < len(keys):
        sub_ctx = MethodContext(judge, judge.collate([pairs[n] for n in keep]), seeds=[ctx.seeds[n] for n in keep])
    wanted = {keys[n] for n in keep}
    for spec in specs:
        t0 = time.perf_counter()
        if keep:
            c_keys, c_ctx = (keys, ctx) if spec.cheap else ([keys[n] for n in keep], sub_ctx)
            for key, row in zip(c_keys, spec.fn(c_ctx, **params[spec.name])):
                if key in wanted:
                    out.scores[spec.name][key] = row.scores.float()
                    out.infos[spec.name][key] = row.info
        out.seconds[spec.name] += time.perf_counter() - t0
        bar.update(1)


def attribute(
    judge: Judge,
    examples: Iterable[Example | Mapping[str, Any]],
    methods: Sequence[str] | str = DEFAULT_METHODS,
    *,
    method_params: Mapping[str, Mapping[str, Any]] | None = None,
    tau: float = 1.0,
    tau_mode: str = "relative",
    attribute_false: bool = False,
    batch_size: int = 8,
    seed: int = 0,
    progress: bool = True,
) -> AttributionRun:
    """Judge every criterion of every example, attribute, and turn scores into dense rewards.

    Args:
        judge: the :class:`Judge`.
        examples: :class:`Example` objects or dicts ``{prompt, response, rubric: [{criterion, weight}]}``.
        methods: registered method names (see :func:`g2r_lens.available_methods`).
        method_params: per-method keyword arguments, e.g. ``{"integrated_gradients": {"n_steps": 16}}``.
        tau, tau_mode: softmax temperature; ``"relative"`` (default) scales it by the std of each
            criterion's scores, ``"absolute"`` is the paper-literal τ.
        attribute_false: also attribute criteria judged False (for inspection; they never add reward).
        batch_size: (response, criterion) pairs per forward/backward batch.
        seed: seed of the ``random`` control (per-pair seeds derive from it and the example id).
    """
    specs, params = _resolve_methods(judge, methods, method_params, seed, dict(
        batch_size=batch_size, tau=tau, tau_mode=tau_mode, seed=seed, attribute_false=attribute_false))
    exs = _as_examples(examples)
    pairs = _encode_pairs(judge, exs)
    chunks = _batches(pairs, batch_size)
    out = _Collector(specs)
    bar = tqdm(total=len(chunks) * (1 + len(specs)), desc="g2r attribute", unit="batch", disable=not progress)
    for chunk in chunks:
        keys = [pairs[j][:2] for j in chunk]
        enc = [pairs[j][2] for j in chunk]
        ctx = MethodContext(judge, judge.collate(enc), seeds=[_pair_seed(exs[i].id, k) for i, k in keys])
        _judge_batch(ctx, keys, specs, out)
        bar.update(1)
        _attribute_batch(judge, ctx, keys, enc, specs, params, attribute_false, out, bar)
    bar.close()
    first = {i: p for i, k, p in pairs if k == 0}
    results = [_example_result(i, ex, first[i], specs, params, out, tau, tau_mode) for i, ex in enumerate(exs)]
    return AttributionRun(_provenance(judge, params, tau, tau_mode, attribute_false, batch_size, seed,
                                      out.seconds), results)


def _example_result(i: int, ex: Example, p0: EncodedPair, specs: list[MethodSpec], params: dict[str, dict[str, Any]],
                    out: _Collector, tau: float, tau_mode: str) -> ExampleResult:
    """One example's verdicts, scores and dense rewards."""
    verdicts = out.verdicts
    crit = [CriterionResult(c.text, c.weight, verdicts[(i, k)]["p_true"], verdicts[(i, k)]["p_false"],
                            verdicts[(i, k)]["logp_true"], verdicts[(i, k)]["verdict"])
            for k, c in enumerate(ex.rubric)]
    z = [c.verdict for c in crit]
    w = [c.weight for c in ex.rubric]
    mres = {}
    for spec in specs:
        s = [out.scores[spec.name].get((i, k)) for k in range(len(ex.rubric))]
        d = dense_rewards(s, w, z, tau=tau, tau_mode=tau_mode, n_tokens=p0.n_response, method=spec.name)
        mres[spec.name] = MethodResult(
            name=spec.name, params=params[spec.name],
            scores=[x.tolist() if x is not None else None for x in s],
            alphas=[d.alphas[k].tolist() if s[k] is not None else None for k in range(len(s))],
            rewards=d.rewards.tolist(), taus=d.taus, entropy=d.entropy,
            info=[out.infos[spec.name].get((i, k), {}) for k in range(len(s))])
    return ExampleResult(
        id=ex.id, prompt=ex.prompt, response=ex.response, tokens=p0.response_tokens,
        offsets=p0.response_offsets, criteria=crit, sparse_reward=sparse_reward(w, z), methods=mres,
        truncated_tokens=p0.truncated_tokens)


def _provenance(judge: Judge, params: dict[str, dict[str, Any]], tau: float, tau_mode: str, attribute_false: bool,
                batch_size: int, seed: int, seconds: dict[str, float]) -> dict[str, Any]:
    return {
        "model": judge.name,
        "model_class": type(judge.model).__name__,
        "template_hash": judge.template.digest(),
        "verdict_words": list(judge.template.verdict_words),
        "chat_template": judge._chat,
        "dtype": str(judge.dtype).replace("torch.", ""),
        "device": str(judge.device),
        "methods": params,
        "tau": tau,
        "tau_mode": tau_mode,
        "attribute_false": attribute_false,
        "batch_size": batch_size,
        "seed": seed,
        "seconds": seconds,
        "g2r_lens": __version__,
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "python": platform.python_version(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
