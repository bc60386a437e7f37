"""Inspect: one response, one rubric, one method."""

from __future__ import annotations

import html
import json

import streamlit as st

import lens_ui
from g2r_lens import available_methods, render
from g2r_lens.errors import G2RError
from g2r_lens.explorer import inputs, views

lens_ui.page_header(
    "Inspect", "One response, one rubric: the judge's verdict on each criterion, the response tokens that drove "
               "it, and the dense reward every token earns.",
    ("Each line below is the response coloured by one criterion: blue words pushed the judge towards True, "
     "red words against; the last line is the dense reward each token earns.",
     "Next to each line: the judge's verdict and p(True) beside the exact checker's verdict; green "
     "underlines are the words that make the criterion true according to the checker.",
     "Hover a word for its value; the Heatmap tab shows the same numbers as a grid; the table at the bottom "
     "lists each criterion's top tokens and whether they hit the checker's truth."))
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
    o = st.columns(4)
    attribute_false = o[0].toggle("Attribute criteria judged False too", value=True, key="insp_false",
                                  persist_state="session",
                                  help="They never add reward (paper); their scores are shown for inspection.")
    per_row = o[1].toggle("Scale each row to its own maximum", value=True, key="insp_per_row",
                          persist_state="session", help="Off: one colour scale shared by all criterion rows.")
    show_values = o[2].toggle("Print the values under the words", value=False, key="insp_print",
                              persist_state="session")
    ig_steps = o[3].number_input("Integrated-gradients steps", 4, 128, 32, step=4, key="insp_ig",
                                 persist_state="session")

# ---- the judge's context, counted before running
truncate = False
try:
    _draft = inputs.build_example(*lens_ui.current_inputs("insp"))
    n_prompt, n_resp, n_ctx = views.context_usage(ctx.judge, _draft)
except G2RError:
    n_prompt = None
if n_prompt is not None:
    if n_prompt > n_ctx:
        w = st.columns([3, 1.4], vertical_alignment="center")
        w[0].warning(f"The judge prompt is **{n_prompt} tokens** (response {n_resp}) but the judge's context is "
                     f"**{n_ctx}**: {n_prompt - n_ctx} response tokens do not fit.", icon=":material/straighten:")
        truncate = w[1].toggle("Cut the response to fit the context", value=False, key="insp_trunc",
                               help="truncation='response': the response's last tokens are dropped; the number "
                                    "dropped is recorded and shown.")
    else:
        st.caption(f"Judge prompt: {n_prompt} tokens (response {n_resp}) of a {n_ctx}-token context.")

ex = lens_ui.submitted_example("insp", task, ex_id, clicked)
if ex is None:
    if not st.session_state.get("insp_error"):
        st.info("Pick an example or type one, then press **Attribute**.")
    st.stop()

params = {"integrated_gradients": {"n_steps": int(ig_steps)}}
try:
    with st.spinner(f"Judging {len(ex.rubric)} criteria and attributing with {method} …"):
        run = lens_ui.attribution_per_method(ctx.judge_id, json.dumps([ex.to_dict()]), [method], params,
                                             bool(attribute_false), truncate)
    run = views.with_tau(run, float(tau), tau_mode)
except G2RError as e:
    msg = str(e).replace("use truncation='response' to drop", "turn on “Cut the response to fit the context” "
                                                                  "above to drop")
    st.error(f"**The judge could not score this input.** {msg}", icon=":material/block:")
    st.stop()

r = run.examples[0]
meta = ex.meta
has_truth = bool(meta.get("truth_spans"))
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
            help="The bundled world's exact checker (unedited prompt and rubric of a bundled example; none for "
                 "custom input).")
k[3].metric("Judge agrees with checker", "–" if sm.checker_agreement is None
            else f"{sm.checker_agreement[0]} / {sm.checker_agreement[1]}")
k[4].metric("Entropy of α", "–" if sm.entropy_true is None else f"{sm.entropy_true:.2f}",
            help="Normalised entropy of α over the criteria judged True (1 = uniform = the uniform control); "
                 "– when no criterion is judged True (nothing is attributed into reward).")
if sm.conserved:
    st.success(f"Conservation holds: Σₜ rₜ = {sm.dense_sum:+.6f} equals the sparse reward {sm.sparse:+.6f} "
               f"(|Δ| = {sm.conservation_error:.1e}).", icon=":material/check_circle:")
else:
    st.error(f"Conservation broken: Σₜ rₜ = {sm.dense_sum:+.6f} but the sparse reward is {sm.sparse:+.6f}.")
if sm.min_entropy_true is not None and sm.min_entropy_true > 0.995:
    if method == "uniform":
        st.info("α is uniform: this is the uniform control, by design.", icon=":material/info:")
    elif tau_mode == "absolute":
        st.warning("α is practically uniform: the dense reward is the uniform control. Lower τ or switch τ mode "
                   "to relative.")
    else:
        st.warning("α is practically uniform: the dense reward is the uniform control. Lower τ: the scores of "
                   "this method barely differ between tokens.")
if r.truncated_tokens:
    st.warning(f"{r.truncated_tokens} response tokens were cut to fit the judge's context (the grey tail of the "
               "text below was not read by the judge).")
if not any(cr.verdict for cr in r.criteria):
    st.info("Every criterion is judged False: the sparse reward has nothing to distribute, so the Σ dense reward "
            "line is blank. Pick another example to see credit.", icon=":material/info:")

# ---- the reading view and the heatmap
view = views.inspect_view(r, method, value, granularity, meta)
for note in views.credit_notes(r, method, views.inspect_view(r, method, "scores", granularity, meta), meta):
    st.warning(note, icon=":material/my_location:")
chk = meta.get("checker") if meta.get("checker") and len(meta["checker"]) == len(r.criteria) else None
notes = []
for i, cr in enumerate(r.criteria):
    n = f"judge {views.verdict_text(cr)} (p {cr.p_true:.3f})"
    if chk:
        n += f" · checker {'✓ True' if chk[i] else '✗ False'}"
    notes.append(n)
notes.append(f"Σ = {sm.dense_sum:+.3f}")
tab_text, tab_heat = st.tabs(["Text, one line per criterion", "Heatmap"])
text = render.text_rows_html(view, r, per_row=per_row, show_values=show_values, notes=notes)
tab_text.html(text)
fig = render.heatmap_figure(view, per_row=per_row)
tab_heat.plotly_chart(fig, key="insp_heatmap", config={"displayModeBar": True, "displaylogo": False,
                                                         "responsive": True, "scrollZoom": True})
legend = render.legend_html("bundled" if has_truth else "custom")
st.html(legend)

# ---- criteria table
table = views.criteria_table(r, method, view, meta)
st.dataframe(table, hide_index=True, width="stretch",
             column_order=["judge", "p(True)", "checker", "criterion", "credit vs truth", table.columns[-1], "weight",
                           "kind", "H(α)", "τ_eff"],
             column_config={"p(True)": st.column_config.NumberColumn("p(True)", format="%.3f", width="small"),
                            "H(α)": st.column_config.NumberColumn(format="%.2f", width="small"),
                            "τ_eff": st.column_config.NumberColumn(format="%.2g", width="small"),
                            "weight": st.column_config.NumberColumn(format="%+g", width="small"),
                            "judge": st.column_config.TextColumn(width="small"),
                            "checker": st.column_config.TextColumn(width="small"),
                            "criterion": st.column_config.TextColumn(width="medium"),
                            "credit vs truth": st.column_config.TextColumn(width="small"),
                            "kind": st.column_config.TextColumn(width="small"),
                            table.columns[-1]: st.column_config.TextColumn(width="small")})


def _html() -> str:
    head = views.headline_table(sm, r)
    return render.html_document(f"g2r lens · {r.id} · {method}", [
        f"<p><b>Prompt.</b> {html.escape(r.prompt)}</p>", ("h2", "Headline numbers"), head, legend, text,
        ("h2", "Heatmap"), fig, ("h2", "Criteria"), table], run.provenance)


lens_ui.downloads(
    f"g2r-inspect-{r.id}-{method}",
    json_fn=lambda: views.to_json({"run": run, "method": method, "granularity": granularity, "view": view}),
    csv_fn=lambda: view.to_frame().to_csv(index=False),
    html_fn=_html,
    key="insp_dl")
