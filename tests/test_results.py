import json
import re

import numpy as np
import pytest

from g2r_lens import AttributionRun, attribute
from g2r_lens.render import heatmap, report_html


@pytest.fixture(scope="module")
def run(judges, examples):
    return attribute(judges[("gpt2", "gpt2")], examples, ["grad_x_input", "integrated_gradients", "uniform"],
                     method_params={"integrated_gradients": {"n_steps": 4}}, progress=False, seed=7)


def _same(a: AttributionRun, b: AttributionRun):
    assert a.provenance == b.provenance
    assert len(a.examples) == len(b.examples)
    for x, y in zip(a.examples, b.examples):
        assert (x.id, x.prompt, x.response, x.tokens, x.sparse_reward) == (y.id, y.prompt, y.response, y.tokens, y.sparse_reward)
        assert [tuple(o) for o in x.offsets] == [tuple(o) for o in y.offsets]
        assert x.criteria == y.criteria
        for name in x.methods:
            mx, my = x.methods[name], y.methods[name]
            assert mx.params == my.params
            for sx, sy in zip(mx.scores, my.scores):
                assert (sx is None) == (sy is None)
                if sx is not None:
                    assert np.allclose(sx, sy, rtol=1e-12, atol=0)
            assert np.allclose(mx.rewards, my.rewards, rtol=1e-12, atol=0)
            assert np.allclose(mx.entropy, my.entropy, equal_nan=True)


def test_provenance(run):
    p = run.provenance
    for key in ("model", "template_hash", "methods", "dtype", "seed", "tau", "tau_mode"):
        assert key in p
    assert p["seed"] == 7 and p["dtype"] == "float32"
    assert p["methods"]["integrated_gradients"]["n_steps"] == 4
    assert p["methods"]["integrated_gradients"]["baseline"] == "zero"
    # the forward + backward shared by the gradient methods is timed on its own
    assert p["seconds"]["gradient_pass"] > 0 and set(p["methods"]) <= set(p["seconds"])


def test_json_round_trip(run, tmp_path):
    path = run.save_json(tmp_path / "a.json")
    json.loads(path.read_text())  # strict JSON (no NaN)
    _same(run, AttributionRun.load_json(path))


def test_parquet_round_trip(run, tmp_path):
    path = run.save_parquet(tmp_path / "a.parquet")
    _same(run, AttributionRun.load_parquet(path))
    import pandas as pd

    df = pd.read_parquet(path)
    ex = run.examples[0]
    n_rows = sum(len(e.tokens) * len(e.criteria) * len(e.methods) for e in run.examples)
    assert len(df) == n_rows
    sub = df[(df.example_id == ex.id) & (df.method == "grad_x_input") & (df.criterion_index == 0)]
    assert sub.token.tolist() == ex.tokens
    assert np.allclose(sub.reward, ex.methods["grad_x_input"].rewards)


def test_heatmap_shape_and_signed_scale(run):
    ex = run.examples[0]
    fig = heatmap(ex, "grad_x_input")
    tr = fig.data[0]
    z = np.asarray(tr.z, dtype=float)
    assert z.shape == (len(ex.criteria) + 1, len(ex.tokens))
    assert tr.zmid == 0
    finite = z[np.isfinite(z)]
    assert finite.size and np.abs(finite).max() <= 1 + 1e-9


def test_report_is_self_contained(run, tmp_path):
    doc = report_html(run, tmp_path / "r.html")
    assert (tmp_path / "r.html").exists()
    assert not re.search(r"<script[^>]+src=", doc), "the report must not load scripts from a CDN"
    assert "Plotly" in doc and doc.count("plotly-graph-div") >= len(run.examples)
    for ex in run.examples:
        assert ex.id in doc
