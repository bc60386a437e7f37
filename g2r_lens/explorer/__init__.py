"""The explorer's logic, kept out of the Streamlit pages (``app/``) so it can be tested alone.

No Streamlit import here. The pages lay out widgets and call these modules:

- :mod:`~g2r_lens.explorer.inputs`: rubric parsing, example building, uploaded JSONL;
- :mod:`~g2r_lens.explorer.judges`: the judges on offer and loading them;
- :mod:`~g2r_lens.explorer.views`: view models (inspect/compare views, summaries, tables, the
  example bank, chunked attribution, JSON export);
- :mod:`~g2r_lens.explorer.runs`: run folders under the runs root for the Runs page.

Figures and HTML are drawn by :mod:`g2r_lens.render`.
"""
