"""Issue 12, items 3 and 8: one validation layer for method parameters; typed errors, no coercion."""

import numpy as np
import pytest

from g2r_lens import Example, attribute
from g2r_lens.errors import G2RError, ParameterError, RubricError
from g2r_lens.examples import Criterion
from g2r_lens.params import parse_value, validate_method_params

EX = Example("Say hi.", "Hi there, friend.", [{"criterion": "The response greets.", "weight": 1}], id="a")


def _attr(judge, methods, **kw):
    return attribute(judge, [EX], methods, progress=False, attribute_false=True, **kw)


@pytest.mark.parametrize("kw", [
    dict(batch_size=2.5), dict(batch_size=True), dict(batch_size="4"), dict(batch_size=0),
    dict(tau="1"), dict(tau=-1.0), dict(tau=float("nan")), dict(tau_mode="abs"), dict(seed=1.5),
    dict(attribute_false="yes"), dict(method_params=[("grad_x_input", {})]),
])
def test_run_arguments_are_typed_errors(judges, kw):
    judge = judges[("llama", "chat")]
    kw = dict(kw)
    af = kw.pop("attribute_false", True)
    with pytest.raises(ParameterError):
        attribute(judge, [EX], ["grad_x_input"], progress=False, attribute_false=af, **kw)


@pytest.mark.parametrize("method,params", [
    ("integrated_gradients", {"n_steps": "abc"}),
    ("integrated_gradients", {"n_steps": 2.5}),
    ("integrated_gradients", {"n_steps": 0}),
    ("integrated_gradients", {"n_steps": True}),
    ("integrated_gradients", {"baseline": 10**9}),
    ("integrated_gradients", {"baseline": -1}),
    ("integrated_gradients", {"baseline": "ones"}),
    ("integrated_gradients", {"integration": "simpson"}),
    ("integrated_gradients", {"internal_batch_size": 0}),
    ("integrated_gradients", {"n_steps": 1, "integration": "riemann_trapezoid"}),
    ("leave_one_out", {"replacement": 10**9}),
    ("leave_one_out", {"replacement": -1}),
    ("leave_one_out", {"replacement": 1.5}),
    ("leave_one_out", {"replacement": "mask"}),
    ("leave_one_out", {"internal_batch_size": "8"}),
    ("attention_rollout", {"residual": 2.0}),
    ("attention_rollout", {"residual": "0.5"}),
    ("random", {"seed": "x"}),
])
def test_method_parameters_are_typed_errors(judges, method, params):
    with pytest.raises(ParameterError) as e:
        _attr(judges[("llama", "chat")], [method], method_params={method: params})
    assert "\n" not in str(e.value) and method.split("_")[0] in str(e.value)


def test_valid_parameters_pass_and_numpy_integers_are_accepted(judges):
    judge = judges[("llama", "chat")]
    run = _attr(judge, ["leave_one_out", "integrated_gradients"],
                method_params={"leave_one_out": {"replacement": np.int64(5)},
                               "integrated_gradients": {"n_steps": np.int32(4), "baseline": 7}})
    p = run.provenance["methods"]
    assert p["leave_one_out"]["replacement"] == 5 and type(p["leave_one_out"]["replacement"]) is int
    assert p["integrated_gradients"]["n_steps"] == 4 and p["integrated_gradients"]["baseline"] == 7


def test_validator_alone_matches_the_faithfulness_rule(judges):
    from g2r_lens.faithfulness import replacement_id

    judge = judges[("gpt2", "gpt2")]
    V = judge.model.get_input_embeddings().num_embeddings
    for rid in (0, V - 1, V, -1):
        ok_f = ok_p = True
        try:
            replacement_id(judge, rid)
        except G2RError:
            ok_f = False
        try:
            validate_method_params(judge, "leave_one_out", {"replacement": rid, "internal_batch_size": 8})
        except G2RError:
            ok_p = False
        assert ok_f == ok_p == (0 <= rid < V)


@pytest.mark.parametrize("w", ["2", True, False, None, [1], float("inf"), float("nan")])
def test_weights_must_be_real_numbers(w):
    with pytest.raises(RubricError):
        Criterion("The response greets.", w)


def test_weights_accept_numpy_numbers():
    assert Criterion("c", np.float32(2.0)).weight == 2.0 and Criterion("c", np.int64(-1)).weight == -1.0


def test_a_number_criterion_is_not_called_empty():
    with pytest.raises(RubricError) as e:
        Criterion(5, 1.0)
    assert "empty" not in str(e.value) and "must be text" in str(e.value)


def test_response_placeholder_text_in_user_text_is_plain_text(judges):
    from g2r_lens.judge import _PLACEHOLDER, _C_PLACEHOLDER, _P_PLACEHOLDER

    judge = judges[("llama", "chat")]
    weird = f"see {_PLACEHOLDER} and {_P_PLACEHOLDER} {_C_PLACEHOLDER} {{response}}"
    ex = Example(weird, "Hi " + weird, [weird])
    pair = judge.encode(ex, 0)
    assert "".join(pair.response_tokens) == ex.response
    assert weird in judge.render(ex.prompt, weird, "r")


def test_parse_value():
    assert parse_value("16") == 16 and parse_value("0.5") == 0.5 and parse_value("abc") == "abc"
    assert parse_value("true") is True and parse_value('"7"') == "7"
