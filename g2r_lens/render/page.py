"""The one self-contained HTML page builder: plotly.js inlined once, no CDN, opens offline."""

from __future__ import annotations

import html
from typing import Any, Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from .style import FONT, NEG, POS

_CSS = (f"body{{font-family:{FONT};margin:28px auto;max-width:1500px;color:#222;padding:0 20px}}"
        "h1{font-size:22px}h2{font-size:17px;margin-top:30px;border-top:1px solid #eee;padding-top:14px}"
        "table{border-collapse:collapse;font-size:12.5px;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px}"
        "span.g2r-u{border-radius:3px;padding:1px 0}.small{font-size:12px;color:#666}"
        f".ok{{color:{POS};font-weight:600}}.no{{color:{NEG};font-weight:600}}")
PROVENANCE_KEYS = ("model", "template_hash", "dtype", "tau", "tau_mode", "seed", "g2r_lens", "created")


def figure_html(fig: go.Figure) -> str:
    """A plotly figure as an HTML fragment that uses the page's inlined plotly.js."""
    return fig.to_html(full_html=False, include_plotlyjs=False)


def _no_path(key: str, value: Any) -> str:
    """A provenance value fit to share: a model given as a local path is named by its folder only."""
    text = str(value)
    local = text.startswith(("/", "~", "./", "../", "\\")) or (len(text) > 2 and text[1] == ":" and text[2] in "/\\")
    if key == "model" and local:
        return text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return text


def provenance_html(provenance: Mapping[str, Any]) -> str:
    """The run's provenance in one line (no absolute paths: a local model folder by its name only)."""
    return "<p class='small'>" + " · ".join(f"{k} {html.escape(_no_path(k, provenance.get(k)))}"
                                            for k in PROVENANCE_KEYS if k in provenance) + "</p>"


def html_document(title: str, blocks: Sequence[Any], provenance: Mapping[str, Any] | None = None) -> str:
    """A self-contained HTML page (plotly.js inlined once; opens offline). ``blocks``: plotly
    figures, DataFrames, ``("h2", text)`` / ``("p", text)`` pairs (escaped) or raw HTML strings."""
    from plotly.offline import get_plotlyjs

    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style><script type='text/javascript'>{get_plotlyjs()}</script></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    if provenance:
        parts.append(provenance_html(provenance))
    for b in blocks:
        if isinstance(b, go.Figure):
            parts.append(figure_html(b))
        elif isinstance(b, pd.DataFrame):
            parts.append(b.to_html(index=False, float_format=lambda x: f"{x:.4g}", border=0))
        elif isinstance(b, tuple) and len(b) == 2 and b[0] in ("h2", "p"):
            parts.append(f"<{b[0]}>{html.escape(str(b[1]))}</{b[0]}>")
        else:
            parts.append(str(b))
    parts.append("</body></html>")
    return "\n".join(parts)
