"""One validation layer for method and run parameters, shared by the API and the CLI.

Every check raises :class:`~g2r_lens.errors.ParameterError` (a :class:`~g2r_lens.errors.G2RError`)
with one line naming the parameter, the value and what is expected; values are never coerced
silently. Numbers must be real numbers: ``True``/``False`` and strings such as ``"2"`` are refused
(use ``2``), integer parameters refuse ``2.5``. Token ids (the IG ``baseline`` and the leave-one-out
``replacement``) must lie in the judge's vocabulary (the faithfulness module's
:func:`~g2r_lens.faithfulness.replacement_id` rule).

:func:`parse_value` turns the text of a CLI ``--param method.key=value`` into a Python value (JSON
syntax: ``16``, ``0.5``, ``"zero"``, ``true``; anything else stays a string), which then goes through
the same :func:`validate_method_params` as an API call.
"""

from __future__ import annotations

import json
import math
import numbers
from typing import Any, Mapping

from .errors import ParameterError

__all__ = ["real_number", "integer", "validate_method_params", "validate_run_args", "parse_value",
           "IG_INTEGRATIONS", "TOLERANCE_DEFAULT"]

IG_INTEGRATIONS = ("gausslegendre", "riemann_trapezoid", "riemann_middle")
IG_BASELINES = ("zero", "neutral", "pad")
LOO_REPLACEMENTS = ("neutral", "pad")
TOLERANCE_DEFAULT = None


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool) or type(v).__name__ == "bool_"


def real_number(value: Any, what: str, *, finite: bool = True, error: type = ParameterError) -> float:
    """``value`` as a float when it is a real number (int, float, numpy number; not bool, not str)."""
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise error(f"{what} {value!r} is not a number ({type(value).__name__}); give a real number")
    v = float(value)
    if finite and not math.isfinite(v):
        raise error(f"{what} {value!r} is not finite")
    return v


def integer(value: Any, what: str, *, minimum: int | None = None, error: type = ParameterError) -> int:
    """``value`` as an int when it is an integer (int or numpy integer; not bool, 2.0 or "2")."""
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise error(f"{what} must be an integer, got {value!r} ({type(value).__name__})")
    v = int(value)
    if minimum is not None and v < minimum:
        raise error(f"{what} must be >= {minimum}, got {v}")
    return v


def _choice(value: Any, what: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ParameterError(f"{what} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _token_id(judge: Any, value: Any, what: str) -> int:
    tid = integer(value, what)
    n_vocab = judge.model.get_input_embeddings().num_embeddings if judge is not None else None
    if tid < 0 or (n_vocab is not None and tid >= n_vocab):
        hi = f"0..{n_vocab - 1}" if n_vocab is not None else ">= 0"
        raise ParameterError(f"{what}: token id {tid} is outside the vocabulary ({hi})")
    if judge is not None and tid == getattr(judge.tokenizer, "mask_token_id", None):
        raise ParameterError(f"{what}: must be a real token, not the [MASK] token a causal LM never saw")
    return tid


def _ig(judge: Any, p: dict[str, Any]) -> dict[str, Any]:
    p["n_steps"] = integer(p["n_steps"], "integrated_gradients.n_steps", minimum=1)
    p["integration"] = _choice(p["integration"], "integrated_gradients.integration", IG_INTEGRATIONS)
    if p["integration"] == "riemann_trapezoid" and p["n_steps"] < 2:
        raise ParameterError("integrated_gradients.n_steps must be >= 2 with riemann_trapezoid")
    b = p["baseline"]
    p["baseline"] = b if isinstance(b, str) and b in IG_BASELINES else (
        _token_id(judge, b, "integrated_gradients.baseline") if not isinstance(b, str)
        else _choice(b, "integrated_gradients.baseline (or a token id)", IG_BASELINES))
    p["internal_batch_size"] = integer(p["internal_batch_size"], "integrated_gradients.internal_batch_size", minimum=1)
    for key in ("tolerance", "max_steps"):
        if key in p and p[key] is not None:
            p[key] = (real_number(p[key], f"integrated_gradients.{key}") if key == "tolerance"
                      else integer(p[key], f"integrated_gradients.{key}", minimum=1))
            if key == "tolerance" and p[key] <= 0:
                raise ParameterError(f"integrated_gradients.tolerance must be > 0, got {p[key]}")
    if "nodes" in p:
        p["nodes"] = _choice(p["nodes"], "integrated_gradients.nodes", ("uniform", "baseline"))
        need = 14 if p["integration"] == "riemann_trapezoid" else 7
        if p["nodes"] == "baseline" and p["n_steps"] < need:
            raise ParameterError(f"integrated_gradients.n_steps must be >= {need} with nodes='baseline' (7 panels)")
    return p


def _loo(judge: Any, p: dict[str, Any]) -> dict[str, Any]:
    r = p["replacement"]
    if isinstance(r, str):
        p["replacement"] = _choice(r, "leave_one_out.replacement (or a token id)", LOO_REPLACEMENTS)
    else:
        p["replacement"] = _token_id(judge, r, "leave_one_out.replacement")
    p["internal_batch_size"] = integer(p["internal_batch_size"], "leave_one_out.internal_batch_size", minimum=1)
    return p


def _rollout(judge: Any, p: dict[str, Any]) -> dict[str, Any]:
    r = real_number(p["residual"], "attention_rollout.residual")
    if not 0.0 <= r <= 1.0:
        raise ParameterError(f"attention_rollout.residual must lie in [0, 1], got {r}")
    p["residual"] = r
    return p


def _random(judge: Any, p: dict[str, Any]) -> dict[str, Any]:
    p["seed"] = integer(p["seed"], "random.seed")
    return p


_CHECKS = {"integrated_gradients": _ig, "leave_one_out": _loo, "attention_rollout": _rollout, "random": _random}


def _generic(name: str, p: dict[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Methods without a dedicated check: a value must have the type of its default."""
    for k, d in defaults.items():
        v, what = p.get(k, d), f"{name}.{k}"
        if _is_bool(d):
            if not _is_bool(v):
                raise ParameterError(f"{what} must be true or false, got {v!r}")
        elif isinstance(d, numbers.Integral):
            p[k] = integer(v, what)
        elif isinstance(d, numbers.Real):
            p[k] = real_number(v, what)
        elif isinstance(d, str) and not isinstance(v, str):
            raise ParameterError(f"{what} must be a string, got {v!r}")
    return p


def validate_method_params(judge: Any, name: str, params: Mapping[str, Any],
                           defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The checked parameters of method ``name`` (``params`` already merged with its defaults;
    ``judge`` may be None, then token ids are checked for sign only)."""
    p = dict(params)
    check = _CHECKS.get(name)
    if check is not None:
        return check(judge, p)
    return _generic(name, p, defaults if defaults is not None else params)


def validate_run_args(*, batch_size: Any, tau: Any, tau_mode: Any, seed: Any, attribute_false: Any,
                      method_params: Any = None) -> None:
    """The run-level arguments of :func:`g2r_lens.attribute`."""
    if method_params is not None:
        if not isinstance(method_params, Mapping):
            raise ParameterError(f"method_params must be a mapping {{method: {{name: value}}}}, got {type(method_params).__name__}")
        for m, p in method_params.items():
            if p is not None and not isinstance(p, Mapping):
                raise ParameterError(f"method_params[{m!r}] must be a mapping {{name: value}}, got {p!r}")
    integer(batch_size, "batch_size", minimum=1)
    t = real_number(tau, "tau")
    if t <= 0:
        raise ParameterError(f"tau must be > 0, got {tau!r}")
    if tau_mode not in ("relative", "absolute"):
        raise ParameterError(f"tau_mode must be 'relative' or 'absolute', got {tau_mode!r}")
    integer(seed, "seed")
    if not _is_bool(attribute_false):
        raise ParameterError(f"attribute_false must be true or false, got {attribute_false!r}")


def parse_value(text: str) -> Any:
    """A CLI parameter value: JSON when it parses (numbers, true/false, null, quoted strings),
    otherwise the text itself."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return text
