"""g2r lens: the Streamlit explorer.

    g2r app                      # listens on 127.0.0.1
    streamlit run app/app.py     # the same, by hand

Pages: Inspect (one response, one method), Compare (several methods, agreement, deletion curves,
checker truth), Lens (what a judge credits over many responses), Runs (`g2r train` run folders
under the runs root: learning curves with seed bands, saved samples' token rewards).
The judge is chosen in the sidebar and loaded once per session (``st.cache_resource``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from g2r_lens.runtime import offline_env  # light: imports neither torch nor transformers

offline_env()
sys.path.insert(0, str(Path(__file__).resolve().parent))

import streamlit as st  # noqa: E402

import lens_ui  # noqa: E402

st.set_page_config(page_title="g2r lens", page_icon=":material/biotech:", layout="wide",
                   initial_sidebar_state="expanded")

HERE = Path(__file__).resolve().parent
pages = [
    st.Page(HERE / "views" / "inspect.py", title="Inspect", icon=":material/search:", default=True),
    st.Page(HERE / "views" / "compare.py", title="Compare", icon=":material/compare:"),
    st.Page(HERE / "views" / "lens.py", title="Lens", icon=":material/travel_explore:"),
    st.Page(HERE / "views" / "runs.py", title="Runs", icon=":material/monitoring:"),
]
nav = st.navigation(pages, position="sidebar")

st.sidebar.markdown("## :material/biotech: g2r lens")
st.sidebar.caption("Which response tokens drove the judge's verdict, and the dense token rewards they earn.")
st.session_state["judge_ctx"] = lens_ui.judge_sidebar()
nav.run()
