"""The one rendering layer of g2r_lens: figures and self-contained HTML for the explorer, the
attribution report (``g2r attribute``), the CLI and the RL plots.

- :mod:`~g2r_lens.render.style`: colours, fonts, :func:`fmt_number`, :func:`normalise_rows`;
- :mod:`~g2r_lens.render.heatmap`: :func:`heatmap_figure` (any view) and :func:`heatmap` (one method
  of one attributed example);
- :mod:`~g2r_lens.render.tokens`: the token colourer (:func:`token_html`, :func:`text_html`,
  :func:`text_rows_html`: one line of running text per row, with colour bars in real numbers);
- :mod:`~g2r_lens.render.figures`: agreement, deletion-curve and lens figures;
- :mod:`~g2r_lens.render.page`: :func:`html_document`, the page builder (plotly.js inlined, no CDN);
- :mod:`~g2r_lens.render.report`: :func:`report_html`, the attribution report.

RL learning curves and saved samples are drawn by :mod:`g2r_lens.rl.plots` on these pieces.
"""

from .figures import agreement_figure, deletion_figure, lens_figure
from .heatmap import heatmap, heatmap_figure
from .page import figure_html, html_document
from .report import report_html
from .style import SIGNED_SCALE, fmt_number, normalise_rows
from .tokens import LEGEND_HTML, colorbar_html, legend_html, text_html, text_rows_html, token_html

__all__ = ["LEGEND_HTML", "SIGNED_SCALE", "agreement_figure", "colorbar_html", "legend_html", "text_rows_html", "deletion_figure", "figure_html", "fmt_number",
           "heatmap", "heatmap_figure", "html_document", "lens_figure", "normalise_rows", "report_html",
           "text_html", "token_html"]
