"""Shared widgets of the explorer: the judge picker, the example picker, caches and export buttons.

Layout only; every computation is a call into :mod:`g2r_lens.explorer`, :mod:`g2r_lens.render` or
:mod:`g2r_lens.analysis`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

import streamlit as st

from g2r_lens import Example
from g2r_lens.errors import G2RError
from g2r_lens.explorer import inputs, judges, views
from g2r_lens.world import bundle

CSS = """
<style>
.block-container {padding-top: 2.2rem; padding-bottom: 3rem; max-width: 1500px;}
h1 {font-weight: 700; letter-spacing: -0.02em;}
[data-testid="stMetric"] {background: #f7f9fc; border: 1px solid #e8edf5; border-radius: 12px;
  padding: 10px 14px;}
[data-testid="stMetricLabel"] p {font-size: 0.82rem; color: #4a5568;}
[data-testid="stMetricValue"] {font-size: 1.55rem;}
.g2r-caption {color: #5a6473; font-size: 0.92rem; margin-top: -0.6rem; margin-bottom: 0.6rem;}
.g2r-prompt {background: #f6f7fb; border-left: 3px solid #8aa4d6; padding: 8px 12px; border-radius: 6px;
  font-size: 0.93rem; color: #2d3748; margin-bottom: 6px;}
.g2r-badge {display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 0.78rem;
  background: #eef2fb; color: #33508a; margin-right: 6px;}
span.g2r-u {border-radius: 3px; padding: 2px 1px;}
.g2r-howto {background: #fbfaf3; border: 1px solid #efe8c8; border-radius: 10px; padding: 6px 14px 4px 14px;
  font-size: 0.88rem; color: #4a4a3a; margin: -0.2rem 0 0.8rem 0;}
.g2r-howto ol {margin: 2px 0 4px 0; padding-left: 20px;} .g2r-howto li {margin: 0;}
</style>
"""

METHOD_HELP = ("grad_x_input: the paper's signed gradient × input; integrated_gradients: path integral "
               "from a baseline; attention_*: attention baselines; leave_one_out: exact counterfactual "
               "(slow); uniform / random: controls.")


def page_header(title: str, caption: str, howto: tuple[str, str, str] | None = None) -> None:
    """The page title, its one-line caption and a three-line "how to read this"."""
    st.html(CSS)
    st.title(title)
    st.html(f"<div class='g2r-caption'>{caption}</div>")
    if howto:
        st.html("<div class='g2r-howto'><b>How to read this</b><ol>"
                + "".join(f"<li>{line}</li>" for line in howto) + "</ol></div>")


# -------------------------------------------------------------------------------- caches
@st.cache_resource(show_spinner=False, max_entries=4)
def cached_judge(key: str, path: str, template: str, data_dir: str = "") -> Any:
    """One judge per (choice, folder, template, bundled data folder), loaded once per process."""
    return judges.load_judge(key, path or None, template)


@st.cache_resource(show_spinner=False, max_entries=8)
def cached_bank(split: str, n: int) -> views.Bank:
    return views.example_bank(split, n)


@st.cache_data(show_spinner=False, max_entries=128)
def cached_attribution(judge_id: tuple, examples_json: str, methods: tuple, params_json: str,
                       attribute_false: bool, truncate: bool = False) -> Any:
    """One attribution, cached per (judge, examples, methods, parameters, options)."""
    judge = cached_judge(*judge_id)
    if truncate:
        import copy

        judge = copy.copy(judge)
        judge.truncation = "response"
    exs = [Example.from_dict(d) for d in json.loads(examples_json)]
    return views.attribute_chunked(judge, exs, list(methods), method_params=json.loads(params_json),
                               attribute_false=attribute_false)


def attribution_per_method(judge_id: tuple, examples_json: str, methods: list[str], params: dict,
                           attribute_false: bool, truncate: bool = False) -> Any:
    """Every method attributed (and cached) on its own, then merged: adding a method to a view
    computes only that method; switching back and forth computes nothing."""
    runs = [cached_attribution(judge_id, examples_json, (m,), json.dumps({m: params[m]} if m in params else {}),
                               attribute_false, truncate) for m in methods]
    return views.merge_runs(runs)


DEFAULT_METHOD = "grad_x_input"


@st.cache_data(show_spinner=False, max_entries=8)
def cached_default_example(judge_id: tuple, split: str, n: int) -> int:
    """The bank example the first screen opens on: among the checker's likeliest candidates
    (:func:`~g2r_lens.explorer.views.candidate_examples`), the one whose True verdicts put their credit
    on the checker's truth tokens (:func:`~g2r_lens.explorer.views.best_example`) for this judge."""
    bank = cached_bank(split, n)
    cands = views.candidate_examples(bank.examples)
    exs = [bank.examples[i] for i in cands]
    try:
        run = cached_attribution(judge_id, json.dumps([e.to_dict() for e in exs]), (DEFAULT_METHOD,), "{}", False)
    except G2RError:
        return 0
    return cands[views.best_example(run, DEFAULT_METHOD, [e.meta for e in exs])]


# ---------------------------------------------------------------------------------- judge
@dataclass
class JudgeCtx:
    judge: Any
    judge_id: tuple
    label: str
    demo: bool


def judge_sidebar() -> JudgeCtx | None:
    """The judge picker (bundled judges or the demo judge, or a local model folder)."""
    sb = st.sidebar
    sb.markdown("### Judge")
    opts = judges.judge_options()
    labels = [o.label for o in opts]
    choice = sb.selectbox("Bundled judge", labels, key="judge_choice",
                          help="The bundled world's judges when their checkpoints are built; the tiny "
                               "demo judge (random weights) always.")
    key = opts[labels.index(choice)].key
    path = sb.text_input("…or a local model folder", key="judge_path", placeholder="/path/to/hf-model-folder",
                         help="A Hugging Face causal-LM folder (config.json, weights, tokenizer). It "
                              "replaces the judge chosen above while the box is filled.").strip()
    template = sb.selectbox("Judge prompt", ["auto", "world", "generic"], key="judge_template",
                            help="world: the bundled world's rubric prompt; generic: the library default; "
                                 "auto: world for bundled and demo judges, generic for other folders.")
    if not bundle.have_models():
        sb.info("The bundled world checkpoints are not built yet (g2r_lens/world/data/). The explorer "
                "uses a **tiny demo judge with random weights**: the pipeline is real, its verdicts "
                "mean nothing.", icon=":material/info:")
    ctx = None
    if path and judges.is_world_folder(path) and template == "auto":
        sb.caption("This is a bundled world checkpoint: the world's rubric prompt is kept.")
    if path:
        try:
            with st.spinner(f"Loading the judge from {path} …"):
                judge = cached_judge("path", path, template)
            ctx = JudgeCtx(judge, ("path", path, template), f"local folder {path}", False)
        except G2RError as e:
            sb.error(f"Could not load that model: {e}")
            sb.caption(f"Using “{choice}” instead.")
    if ctx is None:
        try:
            with st.spinner(f"Loading {choice} …"):
                judge = cached_judge(key, "", template, str(bundle.DATA_DIR))
            ctx = JudgeCtx(judge, (key, "", template, str(bundle.DATA_DIR)), choice, key == judges.DEMO_KEY)
        except G2RError as e:
            sb.error(f"Could not load {choice}: {e}")
            return None
    sb.caption(judges.judge_summary(ctx.judge))
    return ctx


def require_judge() -> JudgeCtx:
    ctx = st.session_state.get("judge_ctx")
    if ctx is None:
        st.warning("No judge is loaded: choose a working judge in the sidebar.")
        st.stop()
    return ctx


# ------------------------------------------------------------------------------- examples
CUSTOM = "Custom input (type your own)"


def _fill(prefix: str, bank: views.Bank) -> None:
    pick = st.session_state[f"{prefix}_pick"]
    if pick == CUSTOM:
        # the bundled example's result (its checker score and truth) is not the custom input's
        st.session_state[f"{prefix}_example"] = None
        st.session_state[f"{prefix}_error"] = None
        return
    ex = bank.examples[[bank.label(i) for i in range(len(bank.examples))].index(pick)]
    st.session_state[f"{prefix}_prompt"] = ex.prompt
    st.session_state[f"{prefix}_response"] = ex.response
    st.session_state[f"{prefix}_rubric"] = inputs.rubric_json(ex.rubric)
    st.session_state[f"{prefix}_submit"] = True  # a picked example runs at once


def example_inputs(prefix: str, expanded: bool = False) -> tuple[Any, str]:
    """The example picker and the editable prompt/response/rubric. Returns ``(task, id)``: the
    bundled task of the picked example (None for custom input) and an id for the example."""
    bank = cached_bank("test", 24)
    labels = [bank.label(i) for i in range(len(bank.examples))]
    if f"{prefix}_pick" not in st.session_state:
        ctx = st.session_state.get("judge_ctx")
        best = 0
        if ctx is not None:
            with st.spinner("Choosing an example that shows the point …"):
                best = cached_default_example(ctx.judge_id, "test", 24)
        st.session_state[f"{prefix}_pick"] = labels[best]
        _fill(prefix, bank)
    pick = st.selectbox(f"Example · {bank.source}", [CUSTOM] + labels, key=f"{prefix}_pick",
                        persist_state="session", on_change=_fill, args=(prefix, bank),
                        help="Bundled-world examples come with the exact checker's verdicts and truth tokens. "
                             "Edit the text below and press the button to try your own.")
    task, ex_id = None, "custom"
    if pick != CUSTOM:
        picked = bank.examples[labels.index(pick)]
        task = bank.task_of(picked)
        ex_id = str(picked.id) if st.session_state.get(f"{prefix}_response") == picked.response else "edited"
    with st.expander("Prompt, response and rubric", icon=":material/edit_note:", expanded=expanded or pick == CUSTOM):
        c1, c2 = st.columns([1, 1])
        c1.text_area("Prompt", key=f"{prefix}_prompt", height=110, persist_state="session")
        c2.text_area("Rubric · JSON list of {criterion, weight}", key=f"{prefix}_rubric", height=180,
                     persist_state="session",
                     help='e.g. [{"criterion": "The response mentions the picnic.", "weight": 2}]; '
                          "negative weights mark undesirable content.")
        c1.text_area("Response", key=f"{prefix}_response", height=130, persist_state="session")
    return task, ex_id


def current_inputs(prefix: str) -> tuple[str, str, str]:
    return (st.session_state.get(f"{prefix}_prompt", ""), st.session_state.get(f"{prefix}_response", ""),
            st.session_state.get(f"{prefix}_rubric", ""))


def submitted_example(prefix: str, task: Any, ex_id: str, clicked: bool) -> Any:
    """The example last submitted (picked, or the button pressed), or None after an input error
    (the error is shown). Input is validated by :func:`g2r_lens.explorer.inputs.build_example`."""
    if clicked or st.session_state.pop(f"{prefix}_submit", False):
        prompt, response, rubric = current_inputs(prefix)
        try:
            ex = inputs.build_example(prompt, response, rubric, task=task, id=ex_id)
            st.session_state[f"{prefix}_example"] = json.dumps(ex.to_dict())
            st.session_state[f"{prefix}_error"] = None
        except G2RError as e:
            st.session_state[f"{prefix}_example"] = None
            st.session_state[f"{prefix}_error"] = str(e)
    err = st.session_state.get(f"{prefix}_error")
    if err:
        st.error(f"**Cannot attribute this input.** {err}", icon=":material/block:")
        return None
    raw = st.session_state.get(f"{prefix}_example")
    if not raw:
        return None
    ex = Example.from_dict(json.loads(raw))
    if (ex.prompt, ex.response) != current_inputs(prefix)[:2]:
        st.caption(":material/edit: The text above was edited since the last run; press the button to attribute it.")
    return ex


def show_prompt(example: Any) -> None:
    import html

    st.html(f"<div class='g2r-prompt'><b>Prompt.</b> {html.escape(example.prompt)}</div>")


# -------------------------------------------------------------------------------- exports
def downloads(name: str, *, json_fn: Callable[[], str] | None = None, csv_fn: Callable[[], str] | None = None,
              html_fn: Callable[[], str] | None = None, key: str) -> None:
    """A row of download buttons; the files are built only when clicked."""
    cols = st.columns([1, 1, 1, 5])
    for col, (fmt, fn, mime) in zip(cols, (("html", html_fn, "text/html"), ("json", json_fn, "application/json"),
                                           ("csv", csv_fn, "text/csv"))):
        if fn is not None:
            col.download_button(fmt.upper(), data=fn, file_name=f"{name}.{fmt}", mime=mime, key=f"{key}_{fmt}",
                                icon=":material/download:", on_click="ignore",
                                help="a self-contained page that opens offline" if fmt == "html" else None)
