"""Compare: several attribution methods on one response, one colour scale, agreement, deletion."""

from __future__ import annotations

import hashlib
import html
import json

import streamlit as st

import lens_ui
from g2r_lens import analysis, available_methods, render
from g2r_lens.errors import G2RError
from g2r_lens.explorer import views

DEFAULT = ["grad_x_input", "integrated_gradients", "attention_last", "leave_one_out", "random"]

lens_ui.page_header(
    "Compare", "Several attribution methods on the same response and one colour scale: do they agree, do they "
               "point at the checker's truth tokens, and does deleting what they credit move the verdict?",
    ("One line per method over the same response and criterion: blue words pushed the judge towards True, red "
     "against; green underlines are the checker's truth words for this criterion.",
     "Agreement: Spearman correlation and top-k overlap between methods (– where a method's top-k is only a tie, "
     "as for the uniform control).",
     "Pointing at the truth: how much of each method's credit lands on the truth words; deletion curves: a "
     "faithful method's p(True) drops faster than the random order."))
ctx = lens_ui.require_judge()
task, ex_id = lens_ui.example_inputs("cmp")

all_methods = available_methods()
c = st.columns([3.6, 0.9, 0.9], vertical_alignment="bottom")
chosen = c[0].multiselect("Methods", all_methods, default=[m for m in DEFAULT if m in all_methods],
                          key="cmp_methods", persist_state="session", help=lens_ui.METHOD_HELP)
ig_steps = c[1].number_input("IG steps", 4, 128, 16, step=4, key="cmp_ig", persist_state="session")
clicked = c[2].button("Compare", type="primary", key="cmp_go", width="stretch")

ex = lens_ui.submitted_example("cmp", task, ex_id, clicked)
if ex is None:
    if not st.session_state.get("cmp_error"):
        st.info("Pick an example or type one, then press **Compare**.")
    st.stop()
if not chosen:
    st.warning("Choose at least one method to compare.")
    st.stop()

params = {"integrated_gradients": {"n_steps": int(ig_steps)}}
ex_json = json.dumps([ex.to_dict()])
try:
    with st.spinner(f"Attributing with {len(chosen)} methods (each cached on its own) …"):
        base_run = lens_ui.attribution_per_method(ctx.judge_id, ex_json, list(chosen), params, True)
except G2RError as e:
    st.error(f"**The judge could not score this input.** {e}", icon=":material/block:")
    st.stop()

r0 = base_run.examples[0]
# options are the labels themselves, so another example's criteria replace them (not just relabel)
crit_opts = ["Σ dense reward (all criteria)"] + [f"{k + 1}. {views.criterion_label(c, 80)}"
                                                 for k, c in enumerate(r0.criteria)]
d = st.columns([2.5, 1.3, 1.25, 1.4, 0.9], vertical_alignment="bottom")
best = views.best_criterion(r0, ex.meta, chosen[0])
crit_label = d[0].selectbox("Criterion", crit_opts, index=1 + (best or 0), key="cmp_crit",
                            help="Opens on a criterion with checker truth tokens, judged True when one is.")
criterion = None if crit_opts.index(crit_label) == 0 else crit_opts.index(crit_label) - 1
value = d[1].selectbox("Values", list(views.VALUES), format_func=views.VALUES.get, key="cmp_value",
                       persist_state="session", disabled=criterion is None)
granularity = d[2].segmented_control("Units", ["token", "word"], default="token", required=True, key="cmp_units",
                                     persist_state="session")
tau = d[3].select_slider("τ (relative)", options=[0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0], value=1.0,
                         key="cmp_tau", persist_state="session")
topk = d[4].number_input("top-k", 1, 50, 5, key="cmp_topk", persist_state="session")

run = views.with_tau(base_run, float(tau), "relative")
r = run.examples[0]
meta = ex.meta
lens_ui.show_prompt(r)

view = views.compare_view(r, chosen, criterion, value, granularity, meta)
per_row = view.value_name == "scores"
st.caption("Scores: each method is scaled to its own largest |score|, so all rows share one ±1 scale. "
           "α and rewards: one absolute scale for every method."
           + (" Green outlines: the checker's truth tokens for this criterion." if view.truth is not None else ""))
fig = render.heatmap_figure(view, per_row=per_row)
tab_text, tab_heat = st.tabs(["Text, one line per method", "Heatmap"])
text = render.text_rows_html(view, r, per_row=per_row)
tab_text.html(text)
tab_heat.plotly_chart(fig, key="cmp_heatmap", config={"displayModeBar": True, "displaylogo": False,
                                                        "scrollZoom": True})
legend = render.legend_html("bundled" if "truth_spans" in meta else "custom")
st.html(legend)

# ---- agreement
vals = {name: view.values[i] for i, name in enumerate(view.row_labels)}
sp = analysis.agreement_matrix(vals, "spearman")
ov = views.topk_matrix(vals, int(topk))
st.subheader("Agreement")
a1, a2 = st.columns(2)
f_sp = render.agreement_figure(sp, f"Spearman rank correlation ({granularity}s)")
f_ov = render.agreement_figure(ov, f"top-{int(topk)} overlap ({granularity}s; – = top-{int(topk)} "
                                     "decided by ties)", zmin=0.0)
a1.plotly_chart(f_sp, key="cmp_spearman_fig", config={"displayModeBar": False})
a2.plotly_chart(f_ov, key="cmp_topk_fig", config={"displayModeBar": False})
loc = views.localisation_table(r, chosen, criterion, meta) if criterion is not None else None
if loc is not None and not loc.empty and loc["n_truth"].max() > 0:
    st.markdown("**Pointing at the checker's truth** — R-precision (share of truth among the top-|truth| "
                "tokens), whether the top token is truth, AUROC of truth vs other tokens, and the share of α "
                "on truth.")
    loc_show = views.localisation_display(loc)
    st.dataframe(loc_show, hide_index=True, width="stretch",
                 column_config={views.LOCALISATION_NAMES[k]: st.column_config.NumberColumn(format="%.3f")
                                for k in ("precision", "hit_at_1", "auroc", "alpha_mass")})
elif criterion is not None and "truth_spans" in meta:
    st.caption("This criterion has no truth tokens (non-local, or not satisfied according to the checker).")

# ---- deletion curves
st.subheader("Deletion curves")
st.caption("Replace the most credited response tokens by the judge's neutral token, a growing share at a time, "
           "and re-score log p(True) with the judge prompt fixed. A faithful method drops faster than the "
           "random order (larger AOPC).")
curves = None
if criterion is None:
    st.info("Pick one criterion above to draw its deletion curves.")
else:
    e1, e2 = st.columns([1, 4], vertical_alignment="bottom")
    steps = e1.slider("Steps", 4, 25, 10, key="cmp_steps", persist_state="session")
    dkey = hashlib.sha1(f"{ctx.judge_id}|{ex_json}|{chosen}|{criterion}|{steps}|{params}".encode()).hexdigest()
    store = st.session_state.setdefault("cmp_curves", {})
    if e2.button("Compute deletion curves", key="cmp_del"):
        bar = st.progress(0.0, text="Re-scoring perturbed responses …")
        try:
            # the "random" method's curve is the random order's: drawn once, as the control
            del_methods = [m for m in chosen if m != "random"] or list(chosen)
            curves = analysis.deletion_curves(ctx.judge, ex, base_run.examples[0], criterion, del_methods, int(steps),
                                       progress=lambda f: bar.progress(f, text=f"Re-scoring … {f:.0%}"))
            store.clear()
            store[dkey] = curves
        except G2RError as e:
            st.error(f"**Deletion curves failed.** {e}", icon=":material/block:")
        bar.empty()
    curves = store.get(dkey)
    if curves:
        f_del = render.deletion_figure(curves, html.escape(r.criteria[criterion].text))
        st.plotly_chart(f_del, key="cmp_deletion", config={"displayModeBar": False})

# ---- exports
name = f"g2r-compare-{r.id}-{'sum' if criterion is None else f'c{criterion}'}"


def _json() -> str:
    return views.to_json({"run": run, "view": view, "spearman": sp, f"top{int(topk)}_overlap": ov,
                      "localisation": loc, "deletion": curves or {}})


def _html() -> str:
    blocks = [f"<p><b>Prompt.</b> {html.escape(r.prompt)}</p>", legend, text, fig, ("h2", "Agreement"), f_sp, f_ov]
    if loc is not None and not loc.empty:
        blocks.append(views.localisation_display(loc))
    if curves:
        blocks += [("h2", "Deletion curves"), render.deletion_figure(curves), views.deletion_table(curves)]
    return render.html_document(f"g2r lens · compare · {r.id}", blocks, run.provenance)


lens_ui.downloads(name, json_fn=_json, csv_fn=lambda: view.to_frame().to_csv(index=False), html_fn=_html, key="cmp_dl")
