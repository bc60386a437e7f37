"""Re-exports for the Streamlit pages while they move over: the logic lives in
:mod:`g2r_lens.explorer`, figures and HTML in :mod:`g2r_lens.render`."""

from __future__ import annotations

from .explorer.inputs import (MAX_CRITERIA, MAX_CRITERION_CHARS, MAX_PROMPT_CHARS, MAX_RESPONSE_CHARS,  # noqa: F401
                              attach_truth, build_example, examples_from_jsonl, parse_rubric, rubric_json)
from .explorer.judges import DEMO_KEY, JudgeOption, demo_judge, judge_options, judge_summary, load_judge  # noqa: F401
from .explorer.judges import local_model_dir  # noqa: F401
from .explorer.runs import (RUNS_ENV, list_runs, load_runs, resolve_under, run_arms, run_samples,  # noqa: F401
                            runs_metrics_frame, runs_root, runs_table, sample_table)
from .explorer.views import (BANK_MODES, VALUES, Bank, Summary, View, attribute_chunked, compare_view,  # noqa: F401
                             criteria_table, criterion_label, deletion_table, example_bank, inspect_view,
                             localisation_table, summary, to_json, with_tau)
from .explorer.views import token_label as _tok_label  # noqa: F401
from .render.figures import agreement_figure, deletion_figure, lens_figure  # noqa: F401
from .render.heatmap import heatmap_figure  # noqa: F401
from .render.page import figure_html, html_document  # noqa: F401
from .render.style import FONT, NEG, POS, TRUTH  # noqa: F401
from .render.tokens import LEGEND_HTML, text_html  # noqa: F401
from .rl.plots import RUN_CURVES, runs_curve_figures, sample_html  # noqa: F401
