"""Runs: RL training runs (learning curves per reward mode, saved samples). A placeholder until the
explorer is wired to the RL loop (`g2r train`); run folders are only ever read under the runs root
the app was given (:func:`g2r_lens.app_support.resolve_under`)."""

from __future__ import annotations

import streamlit as st

import lens_ui as U
from g2r_lens import app_support as S
from g2r_lens.errors import G2RError

U.page_header("Runs", "RL runs trained with sparse and dense judge rewards: learning curves per reward mode "
                      "with seed bands, and the token rewards of saved samples.")

root = S.runs_root()
st.info("This page is a placeholder: learning curves of `g2r train` runs will appear here once the explorer is "
        "wired to the RL loop. It will show, for the run folders you choose under the runs root, learning curves "
        "per reward mode with seed bands (judge reward and checker score), and let you step through saved samples "
        "and their token rewards.", icon=":material/construction:")
st.markdown(f"**Runs root:** `{root}` — the only folder this page reads. Set it with "
            "`g2r app --runs-root DIR` (or the `G2R_RUNS_ROOT` environment variable).")
names = S.list_runs(root)
if not names:
    st.caption("No run folders under the root yet.")
else:
    chosen = st.multiselect("Run folders", names, key="runs_pick")
    for name in chosen:
        try:
            folder = S.resolve_under(root, name)
        except G2RError as e:
            st.error(str(e))
            continue
        files = sorted(p.name for p in folder.iterdir())[:50]
        kind = "a run folder (config.json)" if (folder / "config.json").is_file() else "no config.json"
        st.markdown(f"**{name}** · {kind} · {len(files)} entries: " + ", ".join(f"`{f}`" for f in files))
