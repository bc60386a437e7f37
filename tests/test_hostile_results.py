"""Issue 12, item 5: JSON and parquet round trips keep inf, -inf and nan exactly."""

import json
import math

import pytest

from g2r_lens import Example, attribute
from g2r_lens.results import AttributionRun, CriterionResult, ExampleResult, MethodResult


def _same(a, b) -> bool:
    """Equal, with nan == nan and the sign of inf/0 respected."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    return a == b and type(a) is type(b) or (isinstance(a, (int, float)) and isinstance(b, (int, float)) and a == b)


def _run():
    inf, nan = math.inf, math.nan
    m = MethodResult("uniform", {"x": 1}, scores=[[0.5, nan], None], alphas=[[0.5, 0.5], None],
                     rewards=[0.25, 0.25], taus=[inf, nan], entropy=[1.0, nan],
                     info=[{"err": inf, "gap": -inf}, {}])
    crit = [CriterionResult("c <|im_end|>", 1.0, 0.0, 1.0, -inf, False),
            CriterionResult("inf", -2.0, 0.5, 0.5, math.log(0.5), True)]
    ex = ExampleResult("e", "p", "inf nan", ["inf", " nan"], [(0, 3), (3, 7)], crit, 0.0, {"uniform": m})
    return AttributionRun({"model": "m", "tau": 1.0}, [ex])


def _fields(run):
    e = run.examples[0]
    m = e.methods["uniform"]
    return [e.tokens, e.offsets and [list(o) for o in e.offsets], [vars(c) for c in e.criteria], e.sparse_reward,
            m.scores, m.alphas, m.rewards, m.taus, m.entropy, m.info]


def test_json_round_trip_is_exact(tmp_path):
    run = _run()
    back = AttributionRun.load_json(run.save_json(tmp_path / "r.json"))
    assert _same(_fields(back), _fields(run))
    assert back.examples[0].methods["uniform"].taus[0] == math.inf
    # strict JSON on disk (no bare Infinity/NaN)
    json.loads((tmp_path / "r.json").read_text(), parse_constant=lambda c: pytest.fail(f"bare {c}"))


def test_parquet_round_trip_is_exact(tmp_path):
    run = _run()
    back = AttributionRun.load_parquet(run.save_parquet(tmp_path / "r.parquet"))
    assert _same(_fields(back), _fields(run))


def test_uniform_alpha_tau_is_inf_after_a_round_trip(judges, tmp_path):
    # the "uniform" control gives equal scores: their std is 0, so the relative τ is inf (uniform α)
    ex = Example("p", "Hello there, friend.", [{"criterion": "c", "weight": 1}], id="u")
    run = attribute(judges[("llama", "chat")], [ex], ["uniform"], attribute_false=True, progress=False)
    assert run.examples[0].methods["uniform"].taus == [math.inf]
    for back in (AttributionRun.load_json(run.save_json(tmp_path / "a.json")),
                 AttributionRun.load_parquet(run.save_parquet(tmp_path / "a.parquet"))):
        assert back.examples[0].methods["uniform"].taus == [math.inf]


def test_old_files_with_null_still_read_as_nan():
    d = _run().to_dict()
    d["examples"][0]["methods"]["uniform"]["taus"] = [None, None]
    back = AttributionRun.from_dict(d)
    assert all(math.isnan(t) for t in back.examples[0].methods["uniform"].taus)
