"""``attribute()``: verdicts, attribution scores and dense rewards for many examples at once.

All (example, criterion) pairs are encoded, sorted by length and batched; every method runs on the
same batches, and the gradient methods share one backward pass per batch.
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
from .attribution import MethodContext, get_method
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
    if isinstance(methods, str):
        methods = [methods]
    methods = list(dict.fromkeys(methods))
    if not methods:
        raise G2RError("no attribution method given")
    validate_run_args(batch_size=batch_size, tau=tau, tau_mode=tau_mode, seed=seed, attribute_false=attribute_false,
                      method_params=method_params)
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
    exs = _as_examples(examples)

    pairs: list[tuple[int, int, EncodedPair]] = [
        (i, k, judge.encode(ex, k)) for i, ex in enumerate(exs) for k in range(len(ex.rubric))
    ]
    # with truncation='response', every criterion of an example keeps the same response tokens
    shortest: dict[int, int] = {}
    for i, _, p in pairs:
        shortest[i] = min(shortest.get(i, p.n_response), p.n_response)
    pairs = [(i, k, p.keep_response_tokens(shortest[i])) for i, k, p in pairs]
    first = {i: p for i, k, p in pairs if k == 0}
    order = sorted(range(len(pairs)), key=lambda j: len(pairs[j][2].input_ids))
    chunks = [order[s:s + batch_size] for s in range(0, len(order), batch_size)]
    bar = tqdm(total=len(chunks) * (1 + len(specs)), desc="g2r attribute", unit="batch", disable=not progress)

    verdicts: dict[tuple[int, int], dict[str, Any]] = {}
    # "gradient_pass": the forward + backward shared by grad_x_input / grad_l1 / grad_l2 (their own
    # entries hold only the cheap reductions after it)
    seconds = {"verdicts": 0.0, "gradient_pass": 0.0, **{s.name: 0.0 for s in specs}}
    scores: dict[str, dict[tuple[int, int], Any]] = {s.name: {} for s in specs}
    infos: dict[str, dict[tuple[int, int], dict]] = {s.name: {} for s in specs}
    for chunk in chunks:
        t0 = time.perf_counter()
        batch = judge.collate([pairs[j][2] for j in chunk])
        ctx = MethodContext(judge, batch, seeds=[_pair_seed(exs[pairs[j][0]].id, pairs[j][1]) for j in chunk])
        if any(s.family == "gradient" for s in specs):
            # one forward + backward shared by the gradient methods; its forward also gives the verdicts
            tg = time.perf_counter()
            ctx.input_gradients()
            seconds["gradient_pass"] += time.perf_counter() - tg
            t0 += time.perf_counter() - tg  # keep "verdicts" the verdict-only share of the time
        for j, a, b in zip(chunk, ctx.logp_true().tolist(), ctx.logp_false().tolist()):
            verdicts[pairs[j][:2]] = verdict_record(a, b)
        seconds["verdicts"] += time.perf_counter() - t0
        bar.update(1)
        keep = [n for n, j in enumerate(chunk) if attribute_false or verdicts[pairs[j][:2]]["verdict"]]
        # Cheap methods run on the whole batch (their pass is already paid for); expensive ones
        # (integrated gradients, attention, leave-one-out) only on the pairs that need them.
        sub_chunk, sub_ctx = chunk, ctx
        if keep and len(keep) < len(chunk):
            sub_chunk = [chunk[n] for n in keep]
            sub_ctx = MethodContext(judge, judge.collate([pairs[j][2] for j in sub_chunk]),
                                    seeds=[ctx.seeds[n] for n in keep])
        wanted = {pairs[chunk[n]][:2] for n in keep}
        for spec in specs:
            t0 = time.perf_counter()
            if keep:
                full = spec.family in ("gradient", "control")
                c, cc = (chunk, ctx) if full else (sub_chunk, sub_ctx)
                for j, row in zip(c, spec.fn(cc, **params[spec.name])):
                    if pairs[j][:2] in wanted:
                        scores[spec.name][pairs[j][:2]] = row.scores.float()
                        infos[spec.name][pairs[j][:2]] = row.info
            seconds[spec.name] += time.perf_counter() - t0
            bar.update(1)
    bar.close()

    results = []
    for i, ex in enumerate(exs):
        p0 = first[i]
        crit = [CriterionResult(c.text, c.weight, verdicts[(i, k)]["p_true"], verdicts[(i, k)]["p_false"],
                                verdicts[(i, k)]["logp_true"], verdicts[(i, k)]["verdict"])
                for k, c in enumerate(ex.rubric)]
        z = [c.verdict for c in crit]
        w = [c.weight for c in ex.rubric]
        mres = {}
        for spec in specs:
            s = [scores[spec.name].get((i, k)) for k in range(len(ex.rubric))]
            d = dense_rewards(s, w, z, tau=tau, tau_mode=tau_mode, n_tokens=p0.n_response, method=spec.name)
            mres[spec.name] = MethodResult(
                name=spec.name, params=params[spec.name],
                scores=[x.tolist() if x is not None else None for x in s],
                alphas=[d.alphas[k].tolist() if s[k] is not None else None for k in range(len(s))],
                rewards=d.rewards.tolist(), taus=d.taus, entropy=d.entropy,
                info=[infos[spec.name].get((i, k), {}) for k in range(len(s))])
        results.append(ExampleResult(
            id=ex.id, prompt=ex.prompt, response=ex.response, tokens=p0.response_tokens,
            offsets=p0.response_offsets, criteria=crit, sparse_reward=sparse_reward(w, z), methods=mres,
            truncated_tokens=p0.truncated_tokens))

    provenance = {
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
    return AttributionRun(provenance, results)
