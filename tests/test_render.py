"""The shared renderers (g2r_lens.render): row normaliser, number formatter, token colourer, page."""

import math
import re

import numpy as np
import pytest

from g2r_lens import render
from g2r_lens.render.style import row_scales


def test_normalise_rows_against_hand_values():
    v = np.array([[1.0, -4.0, 2.0], [0.0, 0.0, 0.0], [math.nan, 3.0, -1.5], [math.inf, 1.0, -2.0]])
    z = render.normalise_rows(v)
    want = np.array([[0.25, -1.0, 0.5], [0.0, 0.0, 0.0], [math.nan, 1.0, -0.5], [math.nan, 0.5, -1.0]])
    np.testing.assert_allclose(z, want, equal_nan=True)
    assert row_scales(v).tolist() == [4.0, 0.0, 3.0, 2.0]
    np.testing.assert_allclose(render.normalise_rows(v[:1], np.array([8.0])), [[0.125, -0.5, 0.25]])


@pytest.mark.parametrize("x, spec, want", [
    (0.5, "+.4g", "+0.5"), (np.float32(-2.0), ".3f", "-2.000"), (3, ".1f", "3.0"), (None, ".3f", "–"),
    (math.nan, ".3f", "–"), (-math.inf, "+.4g", "–"), ("n/a", ".3f", "n/a")])
def test_fmt_number(x, spec, want):
    assert render.fmt_number(x, spec) == want


def test_token_html_colours_escapes_and_scales():
    h = render.token_html(["<b>", " ok", " no"], [2.0, 1.0, -2.0], "t & t")
    spans = re.findall(r'<span class="g2r-u" style="([^"]*)" title="[^"]*">([^<]*)</span>', h)
    assert [s[1] for s in spans] == ["&lt;b&gt;", " ok", " no"]
    alphas = [float(re.search(r"rgba\(\d+,\d+,\d+,([0-9.]+)\)", s[0]).group(1)) for s in spans]
    assert alphas == pytest.approx([0.9, 0.08 + 0.82 * 0.5, 0.9])  # |v| / max|v| mapped to 0.08..0.9
    assert "rgba(33,102,172" in spans[0][0] and "rgba(178,24,43" in spans[2][0]
    assert "t &amp; t" in h and "<b>" not in h


def test_page_is_offline_and_holds_blocks():
    import plotly.graph_objects as go

    doc = render.html_document("x <y>", [go.Figure(), ("p", "a<b"), "<i>raw</i>"], {"model": "m<1>", "other": 1})
    assert not re.search(r"<script[^>]+src=", doc) and doc.count("<script type='text/javascript'>") == 1
    assert "x &lt;y&gt;" in doc and "<p>a&lt;b</p>" in doc and "<i>raw</i>" in doc and "model m&lt;1&gt;" in doc
    assert "other 1" not in doc  # only the provenance keys of a run are listed
