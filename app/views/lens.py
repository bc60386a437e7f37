"""Lens: over many responses, which words and phrases the judge credits or penalises per criterion."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

import lens_ui
from g2r_lens import analysis, available_methods, render
from g2r_lens.errors import G2RError
from g2r_lens.explorer import inputs, views
from g2r_lens.world import KINDS, RESPONSE_MODES

lens_ui.page_header(
    "Lens", "Over many responses: the words and phrases a judge credits or penalises most for each kind of "
            "criterion — what the judge really rewards, next to what the checker says.",
    ("Each tab is one kind of criterion; the left bars are the words that push the judge towards True most, the "
     "right bars the words that push it towards False (credit scaled to [−1, 1] per criterion, then averaged).",
     "\"on checker truth\" is the share of a word's occurrences that are the checker's truth words (– where no "
     "truth is known: non-local criteria, uploads); the forbidden tab's bars list forbidden content only.",
     "With \"Criteria: all\", criteria judged True and False are mixed (the verdicts column says which); choose "
     "judged True to see only what earned reward."))
ctx = lens_ui.require_judge()

methods = available_methods()
c = st.columns([1.7, 1.1, 2.3, 1.3], vertical_alignment="bottom")
source = c[0].segmented_control("Responses", ["bundled world", "upload JSONL"], default="bundled world",
                                required=True, key="lens_source", persist_state="session")
method = c[3].selectbox("Method", methods, index=methods.index("grad_x_input"), key="lens_method",
                        persist_state="session",
                        help="Gradient methods cost one backward pass per batch; leave-one-out and IG are slower.")
upload = None
if source == "bundled world":
    n = c[1].number_input("How many", 4, 400, 32, step=4, key="lens_n", persist_state="session")
    modes = c[2].multiselect("Response modes", list(RESPONSE_MODES), default=["good", "noisy", "keywords", "misplaced"],
                             key="lens_modes", persist_state="session",
                             help="good: follows the prompt; noisy: a weak policy; the others are the degenerate "
                                  "responses an RL policy finds when it exploits a judge.")
else:
    upload = c[1].file_uploader("JSONL: one {prompt, response, rubric} a line", type=["jsonl", "json", "txt"],
                                key="lens_upload")
    modes = []
d = st.columns([1.3, 1.5, 1.0, 1.4, 1.0], vertical_alignment="bottom")
by = d[0].segmented_control("Group by", ["kind", "criterion"], default="kind", required=True, key="lens_by",
                            persist_state="session",
                            help="kind: required / forbidden / prompt_dependent / nonlocal (bundled world; "
                                 "otherwise the sign of the weight); criterion: the criterion text.")
ngram = d[1].segmented_control("Phrases", [1, 2], default=1, required=True, key="lens_ngram",
                               format_func=lambda k: "words" if k == 1 else "word pairs", persist_state="session")
min_count = d[2].number_input("Min. count", 1, 100, 3, key="lens_min", persist_state="session")
verdict = d[3].selectbox("Criteria", ["all", "judged True", "judged False"], key="lens_verdict",
                         persist_state="session")
clicked = d[4].button("Run lens", type="primary", key="lens_go", width="stretch")

if clicked:
    try:
        if source == "bundled world":
            if not modes:
                raise G2RError("choose at least one response mode")
            bank = views.example_bank("test", int(n), modes=tuple(modes))
            examples = bank.examples
        else:
            if upload is None:
                raise G2RError("upload a JSONL file first")
            examples = inputs.examples_from_jsonl(upload.getvalue())
        bar = st.progress(0.0, text="Judging and attributing …")
        run = views.attribute_chunked(ctx.judge, examples, [method], attribute_false=True, chunk_size=8,
                                  progress=lambda f, msg: bar.progress(f, text=f"Judging and attributing · {msg}"))
        bar.empty()
        st.session_state["lens_result"] = {"run": run, "metas": [e.meta for e in examples], "method": method,
                                           "judge": ctx.label}
    except G2RError as e:
        st.session_state["lens_result"] = None
        st.error(f"**Cannot run the lens.** {e}", icon=":material/block:")

res = st.session_state.get("lens_result")
if not res:
    if not clicked:
        st.info("Choose responses and a method, then press **Run lens**.")
    st.stop()

run, metas = res["run"], res["metas"]
flt = {"all": None, "judged True": True, "judged False": False}[verdict]
records = analysis.lens_records(run.examples, res["method"], metas=metas, by=by, ngram=int(ngram), verdict=flt)
table = views.lens_summary(records, int(min_count), metas, run.examples)
agree = analysis.judge_checker_table(run.examples, metas, by)
n_true, n_all = int(records.drop_duplicates(["example_id", "criterion"])["verdict"].sum()) if not records.empty \
    else 0, len(records.drop_duplicates(["example_id", "criterion"])) if not records.empty else 0
mix = (f" · **mixed verdicts**: {n_true} criteria judged True and {n_all - n_true} judged False are pooled "
       "(a False criterion's credit pushed towards True in vain)") if flt is None and 0 < n_true < n_all else ""
st.caption(f"{len(run.examples)} responses · {res['method']} · judge: {res['judge']} · criteria: {verdict}{mix} · "
           "each criterion's word credits are scaled to [−1, 1] by their largest magnitude, then averaged over "
           "occurrences.")
if table.empty:
    st.warning("No phrase occurs often enough; lower the minimum count or add responses.")
    st.stop()

groups = sorted(dict.fromkeys(table["group"]),
                key=lambda g: (KINDS.index(g) if g in KINDS else len(KINDS), g))
if by == "criterion":
    g = st.selectbox("Criterion", groups, key="lens_group")
    shown = [g]
else:
    shown = groups
tabs = st.tabs([s if len(s) <= 40 else s[:39] + "…" for s in shown])
figs = {}
for tab, g in zip(tabs, shown):
    with tab:
        if not agree.empty and g in set(agree["group"]):
            row = agree[agree["group"] == g].iloc[0]
            m = st.columns(4)
            m[0].metric("criteria", int(row["n"]))
            m[1].metric("judge says True", f"{row['judge_true']:.0%}")
            m[2].metric("checker says True", f"{row['checker_true']:.0%}")
            m[3].metric("judge = checker", f"{row['agreement']:.0%}")
        shown_table = table
        if g == "forbidden":
            shown_table = table[(table["group"] != g) | (table["truth_rate"] > 0)]
            st.caption("Bars: forbidden content only (words the checker marks as the forbidden content of a "
                       "criterion); every word is in the table below.")
        figs[g] = render.lens_figure(shown_table, g, 12)
        if not len(figs[g].data):
            figs[g].add_annotation(text="nothing to show: no phrase of this group passes the filters",
                                   showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
        st.plotly_chart(figs[g], key=f"lens_fig_{hashlib.sha1(g.encode()).hexdigest()[:8]}",
                        config={"displayModeBar": False})
        st.dataframe(views.lens_display(table[table["group"] == g].drop(columns="group")),
                     hide_index=True, width="stretch", height=260,
                     column_config={"mean credit": st.column_config.NumberColumn(format="%+.3f"),
                                    "total credit": st.column_config.NumberColumn(format="%+.2f"),
                                    "share positive": st.column_config.NumberColumn(format="%.2f")})

lens_ui.downloads(
    f"g2r-lens-{res['method']}-{by}",
    csv_fn=lambda: views.lens_display(table).to_csv(index=False),
    json_fn=lambda: views.to_json({"provenance": run.provenance, "method": res["method"], "group_by": by,
                               "ngram": int(ngram), "table": table, "judge_vs_checker": agree}),
    html_fn=lambda: render.html_document(f"g2r lens · lens · {res['method']}",
                                    [x for g in shown for x in (("h2", g), figs[g])]
                                    + [("h2", "Judge vs checker"), agree, ("h2", "All phrases"),
                                       views.lens_display(table)], run.provenance),
    key="lens_dl")
