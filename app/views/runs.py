"""Runs: RL training runs (`g2r train`): learning curves per reward mode with seed bands, and the token
rewards of saved samples. Run folders are only ever read under the runs root the app was given
(:func:`g2r_lens.explorer.runs.resolve_under`)."""

from __future__ import annotations

import html

import streamlit as st

import lens_ui
from g2r_lens import render
from g2r_lens.explorer import runs as run_folders
from g2r_lens.explorer import views
from g2r_lens.rl import plots as rl_plots

lens_ui.page_header(
    "Runs", "RL runs trained with sparse and dense judge rewards: learning curves per reward mode with seed "
            "bands, and the token rewards of saved samples.",
    ("One curve per arm (reward mode / estimator · judge); seeds of the same settings are pooled into the mean, "
     "and the legend says how many.",
     f"The band is the 95% confidence interval of the mean over seeds, clipped to the seeds' own range; arms with "
     f"fewer than {rl_plots.MIN_BAND_SEEDS} seeds get no band.",
     "The sparse arm is the baseline: a dense reward helps when its held-out checker curve rises above it; below, "
     "a saved sample shows which tokens earned reward."))

root = run_folders.runs_root()
st.caption(f"Runs root: `{root}` — the only folder this page reads. Set it with `g2r app --runs-root DIR` "
           "(or the `G2R_RUNS_ROOT` environment variable).")
names = run_folders.list_runs(root)
if not names:
    st.info(f"No run folders under `{root}` yet. Train some with `g2r train --out {root}/NAME …`, then reload.",
            icon=":material/folder_open:")
    st.stop()

readable, unreadable = run_folders.load_runs(root, names)
if unreadable:
    with st.expander(f"{len(unreadable)} folder{'s' if len(unreadable) != 1 else ''} under the runs root could not "
                     "be read (not selected)", icon=":material/warning:"):
        for e in unreadable:
            st.markdown(f"- {html.escape(e)}")
c = st.columns([4, 1], vertical_alignment="bottom")
chosen = c[0].multiselect("Run folders", names, default=run_folders.default_runs(readable), key="runs_pick",
                          help="Runs with the same config apart from the seed are pooled into one curve with a "
                               "95% seed band.")
smooth = c[1].number_input("Smoothing (train)", 1, 50, 1, key="runs_smooth",
                           help="Moving average over this many steps for the train curves.")
if not chosen:
    st.info("Choose one or more run folders.")
    st.stop()

by_name_all = {r.name: r for r in readable}
runs = [by_name_all[n] for n in chosen if n in by_name_all]
errs = [e for e in unreadable if e.split(":", 1)[0] in chosen]
for e in errs:
    st.error(e, icon=":material/block:")
if not runs:
    st.stop()

arms = run_folders.run_arms(runs)
table = run_folders.runs_table(arms)
st.dataframe(table, hide_index=True, width="stretch",
             column_config={k: st.column_config.NumberColumn(format="%+.3f") for k in table.columns
                            if k.endswith(")")})

# ---- learning curves
st.subheader("Learning curves")
figs = rl_plots.runs_curve_figures(arms, smooth=int(smooth))
for i, fig in enumerate(figs):
    st.plotly_chart(fig, key=f"runs_curve_{i}", config={"displayModeBar": False, "responsive": True})

# ---- saved samples
st.subheader("Saved samples")
by_name = {r.name: r for r in runs}
s = st.columns([2, 3, 2])
pick = s[0].selectbox("Run", list(by_name), key="runs_sample_run")
samples = run_folders.run_samples(by_name[pick])
sample = None
if not samples:
    st.caption(f"`{pick}` saved no samples (`samples_every` was 0, or no step has run yet).")
else:
    steps = list(samples)
    step = steps[0] if len(steps) == 1 else s[1].select_slider("Step", options=steps, value=steps[-1],
                                                                key="runs_step")
    group = samples[step]
    idx = 0 if len(group) == 1 else s[2].slider("Sample", 0, len(group) - 1, 0, key="runs_sample")
    sample = group[idx]
    k = st.columns(4)
    k[0].metric("Judge reward", "–" if sample.get("judge_reward") is None else f"{sample['judge_reward']:+.3f}")
    k[1].metric("Checker score", "–" if sample.get("checker_score") is None else f"{sample['checker_score']:+.3f}")
    k[2].metric("Reward (mode)", f"{sample.get('reward', float('nan')):+.3f}",
                help=f"reward mode {sample.get('reward_mode')}; Σ of the token rewards")
    k[3].metric("Σ token rewards", f"{sum(sample.get('token_rewards', [])):+.3f}")
    st.markdown(f"**Prompt.** {html.escape(str(sample.get('prompt', '')))}")
    st.html(rl_plots.sample_html(sample))
    st.caption("Blue tokens earned positive token reward, red negative; hover a token for its value.")
    with st.expander("Token rewards and advantages"):
        st.dataframe(run_folders.sample_table(sample), hide_index=True, width="stretch")

lens_ui.downloads(
    "g2r-runs",
    json_fn=lambda: views.to_json({"root": str(root), "runs": table, "metrics": run_folders.runs_metrics_frame(arms),
                               "configs": {r.name: r.config for r in runs}, "sample": sample}),
    csv_fn=lambda: run_folders.runs_metrics_frame(arms).to_csv(index=False),
    html_fn=lambda: render.html_document(
        "g2r lens · RL runs",
        [table, *figs] + ([("h2", f"Saved sample of {pick}"), rl_plots.sample_html(sample)] if sample else [])),
    key="runs_dl")
