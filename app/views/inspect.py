"""Inspect: one response, one rubric, one method."""

from __future__ import annotations

import html
import json

import streamlit as st

import lens_ui
from g2r_lens import available_methods, render
from g2r_lens.errors import G2RError
from g2r_lens.explorer import views

lens_ui.page_header("Inspect", "One response, one rubric: the judge's verdict on each criterion, the response "
                         "tokens that drove it, and the dense reward every token earns.")
ctx = lens_ui.require_judge()
task, ex_id = lens_ui.example_inputs("insp")

methods = available_methods()
c = st.columns([1.3, 1.5, 1.45, 1.25, 1.35, 0.95], vertical_alignment="bottom")
method = c[0].selectbox("Method", methods, index=methods.index("grad_x_input"), key="insp_method",
                        persist_state="session", help=lens_ui.METHOD_HELP)
TAUS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0]
tau = c[1].select_slider("τ (softmax temperature)", options=TAUS,
                         value=1.0, key="insp_tau", persist_state="session",
                         help="α = softmax(b/τ). Relative τ is scaled by the std of each criterion's scores "
                              "(raw scores of small judges are tiny, so an absolute τ near 1 makes α uniform).")
tau_mode = c[2].segmented_control("τ mode", ["relative", "absolute"], default="relative", required=True,
                                  key="insp_tau_mode", persist_state="session")
granularity = c[3].segmented_control("Units", ["token", "word"], default="token", required=True,
                                     key="insp_units", persist_state="session")
value = c[4].selectbox("Criterion rows show", list(views.VALUES), format_func=views.VALUES.get, key="insp_value",
                       persist_state="session")
clicked = c[5].button("Attribute", type="primary", key="insp_go", width="stretch")
with st.expander("More options"):
    o = st.columns(3)
    attribute_false = o[0].toggle("Attribute criteria judged False too", value=True, key="insp_false",
                                  persist_state="session",
                                  help="They never add reward (paper); their scores are shown for inspection.")
    per_row = o[1].toggle("Scale each row to its own maximum", value=True, key="insp_per_row",
                          persist_state="session", help="Off: one colour scale shared by all criterion rows.")
    ig_steps = o[2].number_input("Integrated-gradients steps", 4, 128, 32, step=4, key="insp_ig",
                                 persist_state="session")

ex = lens_ui.submitted_example("insp", task, ex_id, clicked)
if ex is None:
    if not st.session_state.get("insp_error"):
        st.info("Pick an example or type one, then press **Attribute**.")
    st.stop()

params = {"integrated_gradients": {"n_steps": int(ig_steps)}} if method == "integrated_gradients" else {}
try:
    with st.spinner(f"Judging {len(ex.rubric)} criteria and attributing with {method} …"):
        run = lens_ui.cached_attribution(ctx.judge_id, json.dumps([ex.to_dict()]), (method,), json.dumps(params),
                                   bool(attribute_false))
    run = views.with_tau(run, float(tau), tau_mode)
except G2RError as e:
    st.error(f"**The judge could not score this input.** {e}", icon=":material/block:")
    st.stop()

r = run.examples[0]
meta = ex.meta
lens_ui.show_prompt(r)
if ctx.demo:
    st.caption("Judge: tiny demo model with random weights — verdicts and attributions are illustrative only.")

# ---- headline numbers
sm = views.summary(r, method, meta)
k = st.columns(5)
k[0].metric("Sparse reward", f"{sm.sparse:+.3f}", help="Σ_k w_k·1[verdict_k] / Σ_k max(w_k, 0)")
k[1].metric("Σ dense reward", f"{sm.dense_sum:+.3f}", delta=f"Δ {sm.conservation_error:.1e}", delta_color="off",
            delta_arrow="off", help="The dense rewards redistribute the sparse reward over the tokens.")
k[2].metric("Checker score", "–" if sm.checker_score is None else f"{sm.checker_score:+.3f}",
            help="The bundled world's exact checker (unedited prompt and rubric of a bundled example).")
k[3].metric("Judge agrees with checker", "–" if sm.checker_agreement is None
            else f"{sm.checker_agreement[0]} / {sm.checker_agreement[1]}")
k[4].metric("Entropy of α", "–" if sm.entropy_true is None else f"{sm.entropy_true:.2f}",
            help="Normalised entropy of α over the criteria judged True (1 = uniform = the uniform control).")
if sm.conserved:
    st.success(f"Conservation holds: Σₜ rₜ = {sm.dense_sum:+.6f} equals the sparse reward {sm.sparse:+.6f} "
               f"(|Δ| = {sm.conservation_error:.1e}).", icon=":material/check_circle:")
else:
    st.error(f"Conservation broken: Σₜ rₜ = {sm.dense_sum:+.6f} but the sparse reward is {sm.sparse:+.6f}.")
if sm.min_entropy_true is not None and sm.min_entropy_true > 0.995:
    st.warning("α is practically uniform: the dense reward is the uniform control. Lower τ or use relative τ.")
if r.truncated_tokens:
    st.warning(f"{r.truncated_tokens} response tokens were cut to fit the judge's context.")

# ---- heatmap
view = views.inspect_view(r, method, value, granularity, meta)
fig = render.heatmap_figure(view, per_row=per_row)
st.plotly_chart(fig, key="insp_heatmap", config={"displayModeBar": False, "responsive": True})
st.html(render.LEGEND_HTML)

# ---- reading view
rows = view.row_labels
row_opts = [f"{i + 1}. {lab}" if i < len(rows) - 1 else lab for i, lab in enumerate(rows)]
pick = st.selectbox("Colour the response by", row_opts, index=len(rows) - 1, key="insp_row")
st.html(render.text_html(view, row_opts.index(pick), r, per_row=per_row))

# ---- criteria table
table = views.criteria_table(r, method, view, meta)
st.dataframe(table, hide_index=True, width="stretch",
             column_order=["verdict", "criterion", table.columns[-1], "p(True)", "weight", "kind", "checker", "H(α)",
                           "τ_eff"],
             column_config={"p(True)": st.column_config.ProgressColumn("p(True)", min_value=0.0, max_value=1.0,
                                                                       format="%.3f"),
                            "H(α)": st.column_config.NumberColumn(format="%.3f", width="small"),
                            "τ_eff": st.column_config.NumberColumn(format="%.3g"),
                            "weight": st.column_config.NumberColumn(format="%+g", width="small"),
                            "verdict": st.column_config.TextColumn(width="small"),
                            "checker": st.column_config.TextColumn(width="small"),
                            "criterion": st.column_config.TextColumn(width="large"),
                            "kind": st.column_config.TextColumn(width="small"),
                            table.columns[-1]: st.column_config.TextColumn(width="medium")})

lens_ui.downloads(
    f"g2r-inspect-{r.id}-{method}",
    json_fn=lambda: views.to_json({"run": run, "method": method, "granularity": granularity, "view": view}),
    csv_fn=lambda: view.to_frame().to_csv(index=False),
    html_fn=lambda: render.html_document(f"g2r lens · {r.id} · {method}", [
        f"<p><b>Prompt.</b> {html.escape(r.prompt)}</p>", fig, render.LEGEND_HTML,
        render.text_html(view, len(rows) - 1, r, per_row),
        table], run.provenance),
    key="insp_dl")
