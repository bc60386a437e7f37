"""The attribution report of ``g2r attribute``: one self-contained HTML page (no CDN) with, per
example, the criteria table and, per method, the dense reward over the tokens and the heatmap."""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any, Sequence

from .heatmap import heatmap
from .page import html_document
from .tokens import token_html

LEGEND = ("<p class='small'>Blue: pushes the judge towards True (or positive reward); red: against. "
          "Dense rewards add up to the sparse rubric reward.</p>")


def criteria_html(ex: Any) -> str:
    """The criteria of one attributed example: weight, p(True), p(False), verdict; its sparse reward."""
    rows = "".join(
        f"<tr><td>{html.escape(c.text)}</td><td>{c.weight:g}</td><td>{c.p_true:.3f}</td><td>{c.p_false:.3f}</td>"
        f"<td class='{'ok' if c.verdict else 'no'}'>{'True' if c.verdict else 'False'}</td></tr>"
        for c in ex.criteria)
    return ("<table><tr><th>criterion</th><th>weight</th><th>p(True)</th><th>p(False)</th>"
            f"<th>verdict</th></tr>{rows}</table><p>sparse reward <b>{ex.sparse_reward:+.3f}</b>"
            + (f" · <b>{ex.truncated_tokens} response tokens truncated</b>" if ex.truncated_tokens else "")
            + "</p>")


def report_blocks(run: Any, methods: Sequence[str] | None = None) -> list[Any]:
    blocks: list[Any] = [LEGEND]
    for ex in run.examples:
        blocks += [("h2", ex.id), f"<p><b>Prompt.</b> {html.escape(ex.prompt)}</p>", criteria_html(ex)]
        for name in [m for m in (methods or ex.methods) if m in ex.methods]:
            m = ex.methods[name]
            ent = ", ".join("–" if not math.isfinite(h) else f"{h:.2f}" for h in m.entropy)
            blocks.append(token_html(ex.tokens, m.rewards, f"{name}: dense reward (Σ={m.reward_sum:+.3f}; "
                                                           f"normalised entropy of α per criterion: {ent})"))
            blocks.append(heatmap(ex, name))
    return blocks


def report_html(run: Any, path: str | Path | None = None, methods: Sequence[str] | None = None) -> str:
    """A self-contained HTML report of an :class:`~g2r_lens.results.AttributionRun` (plotly.js
    inlined once; no network needed to view it), written to ``path`` when given."""
    doc = html_document("g2r_lens attribution report", report_blocks(run, methods), run.provenance)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(doc, encoding="utf-8")
    return doc
