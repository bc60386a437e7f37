"""Issue 12, item 7: integrated gradients warns when it has not converged, and offers remedies."""

import math
import warnings

import numpy as np
import torch
import pytest

from g2r_lens import Example, attribute
from g2r_lens.attribution.integrated import WARN_ABS, WARN_RELATIVE, IGCompletenessWarning, quadrature


@pytest.mark.parametrize("n", [7, 14, 32])
def test_baseline_nodes_are_a_valid_rule(n):
    a, w = quadrature(n, "gausslegendre", "baseline")
    assert len(a) == n and np.all((a > 0) & (a < 1)) and math.isclose(w.sum(), 1.0, rel_tol=1e-12)
    # a composite Gauss-Legendre rule with m >= n // 7 nodes a panel is exact for degree 2m - 1
    for k in range(0, 2 * (n // 7)):
        assert math.isclose(float((w * a ** k).sum()), 1 / (k + 1), rel_tol=1e-10)
    # more nodes near the baseline than the uniform rule
    assert (a < 0.05).sum() > (quadrature(n, "gausslegendre")[0] < 0.05).sum()


def test_baseline_nodes_integrate_a_steep_start_better():
    # F(α) = α / sqrt(α² + c²): a step of width c at the start of the path, like RMSNorm of α·e
    for c in (1e-2, 1e-3, 1e-4, 1e-5):
        exact = 1 / math.sqrt(1 + c * c)
        err = {nodes: abs(float((w * c * c / (a * a + c * c) ** 1.5).sum()) - exact) / exact
               for nodes in ("uniform", "baseline") for a, w in [quadrature(32, "gausslegendre", nodes)]}
        assert err["baseline"] < (2e-2 if c < 1e-4 else 2e-3) and (c > 1e-3 or err["uniform"] > 0.1)


def test_baseline_nodes_need_one_node_a_panel():
    from g2r_lens.errors import G2RError

    with pytest.raises(G2RError, match="n_steps >= 7"):
        quadrature(6, "gausslegendre", "baseline")


EX = Example("Say hi to Ana.", "Hello Ana! The park is open until 6 today, so come along.",
             [{"criterion": "The response greets Ana.", "weight": 1}, {"criterion": "Mentions the park.", "weight": 1}],
             id="ig")


def _infos(run):
    return run.examples[0].methods["integrated_gradients"].info


def test_warning_when_completeness_error_is_large(judges):
    judge = judges[("llama", "chat")]
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        run = attribute(judge, [EX], ["integrated_gradients"], attribute_false=True, progress=False,
                        method_params={"integrated_gradients": {"n_steps": 1, "integration": "riemann_middle"}})
    bad = [i for i in _infos(run) if i["ig_relative_completeness_error"] > WARN_RELATIVE
           and i["ig_completeness_error"] > WARN_ABS]
    warned = [r for r in rec if issubclass(r.category, IGCompletenessWarning)]
    assert bool(bad) == bool(warned)
    assert bad, "one midpoint step should not be converged on a random judge"


def test_adaptive_tolerance_reaches_it(judges):
    judge = judges[("llama", "chat")]
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        run = attribute(judge, [EX], ["integrated_gradients"], attribute_false=True, progress=False,
                        method_params={"integrated_gradients": {"n_steps": 2, "tolerance": 1e-3, "max_steps": 128}})
    for i in _infos(run):
        assert i["ig_relative_completeness_error"] <= 1e-3 or i["ig_n_steps"] == 128
    assert not [r for r in rec if issubclass(r.category, IGCompletenessWarning)] or \
        any(i["ig_n_steps"] == 128 for i in _infos(run))


def test_warning_suggests_only_remedies_not_already_in_use():
    """The warning never tells a user to set what they already set (nodes='baseline', a tolerance)."""
    from g2r_lens.attribution.integrated import _warn_incomplete
    from g2r_lens.attribution.base import RowScores

    info = {"ig_relative_completeness_error": 0.9, "ig_completeness_error": 1.0}
    row = RowScores(torch.zeros(3), dict(info))
    cases = {("riemann", None): ["nodes='baseline'", "more n_steps", "tolerance=0.01"],
             ("baseline", None): ["more n_steps", "tolerance=0.01"],
             ("baseline", 0.01): ["more n_steps"]}
    for (nodes, tol), want in cases.items():
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            _warn_incomplete([row], 8, nodes, tol)
        msg = str(rec[0].message).split("do not add up: use ", 1)[1]
        for fix in ("nodes='baseline'", "more n_steps", "tolerance=0.01"):
            assert (fix in msg) == (fix in want), (nodes, tol, msg)
