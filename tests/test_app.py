"""The Streamlit explorer: every page through streamlit's AppTest (bad inputs included), the library
support it calls (g2r_lens.explorer, g2r_lens.render), and the `g2r app` command."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from g2r_lens import Example, attribute, render  # noqa: E402
from g2r_lens.errors import G2RError, ModelLoadError, RubricError  # noqa: E402
from g2r_lens.explorer import inputs, judges, views  # noqa: E402
from g2r_lens.explorer import runs as run_folders  # noqa: E402
from g2r_lens.testing import chat_bpe_tokenizer, tiny_model  # noqa: E402
from g2r_lens.world import bundle  # noqa: E402

APP = str(Path(__file__).resolve().parent.parent / "app" / "app.py")
DEMO = "Tiny demo judge (random weights)"
TIMEOUT = 600  # the CPU may be shared with training jobs and other test runs
GOOD_RUBRIC = '[{"criterion": "The response mentions the picnic.", "weight": 2}]'


def new_app(**state) -> AppTest:
    """An app session on the tiny demo judge (fast and the same whether or not checkpoints exist)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["judge_choice"] = DEMO
    for k, v in state.items():
        at.session_state[k] = v
    return at


def no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def _decode(arr) -> list:
    """A plotly 7 array from a chart spec (plain list, or a base64 ``bdata`` dict)."""
    if arr is None:
        return []
    if isinstance(arr, dict) and "bdata" in arr:
        import base64

        return np.frombuffer(base64.b64decode(arr["bdata"]), dtype=np.dtype(arr["dtype"])).tolist()
    return list(arr)


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def errors(at: AppTest) -> str:
    return " | ".join(e.value for e in at.error)


@pytest.fixture(scope="module")
def bank():
    return views.example_bank("test", 24)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tiny causal LM + chat tokenizer saved as a Hugging Face folder."""
    d = tmp_path_factory.mktemp("tiny-judge")
    tok = chat_bpe_tokenizer()
    tiny_model(tok, "llama", layers=1, hidden=32, seed=5).save_pretrained(d)
    tok.save_pretrained(d)
    return d


@pytest.fixture(scope="module")
def demo_run(bank):
    j = judges.demo_judge()
    exs = [e for e in bank.examples if any(e.meta["truth_spans"])][:2]
    return j, exs, attribute(j, exs, ["grad_x_input", "random"], attribute_false=True, progress=False)


# ================================================================ pages (AppTest)
def test_inspect_page_default_and_views():
    at = new_app().run()
    no_exceptions(at)
    assert not at.error
    assert [t.value for t in at.title] == ["Inspect"]
    spec = charts(at)[0]
    assert spec["data"][0]["type"] == "heatmap"
    assert any(t.startswith("Σ dense reward") for t in spec["layout"]["yaxis"]["ticktext"])
    assert any("Conservation holds" in s.value for s in at.success)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Sparse reward"] == metrics["Σ dense reward"]
    assert len(at.get("download_button")) == 3
    # views change without re-running the judge; word granularity keeps conservation
    at.segmented_control(key="insp_units").set_value("word").run()
    at.selectbox(key="insp_value").set_value("rewards").run()
    at.select_slider(key="insp_tau").set_value(0.3).run()
    no_exceptions(at)
    assert any("Conservation holds" in s.value for s in at.success)
    assert len(charts(at)) == 1
    at.toggle(key="insp_false").set_value(False).run()  # criteria judged False: no scores, NaN rows
    at.selectbox(key="insp_value").set_value("alphas").run()
    at.toggle(key="insp_per_row").set_value(False).run()
    at.segmented_control(key="insp_tau_mode").set_value("absolute").run()
    no_exceptions(at)
    assert len(charts(at)) == 1
    # another method through the button
    at.selectbox(key="insp_method").set_value("attention_last")
    at.button(key="insp_go").click().run()
    no_exceptions(at)
    assert "attention_last" in charts(at)[0]["layout"]["title"]["text"]


def test_inspect_page_bad_inputs_then_recovers():
    at = new_app().run()
    cases = [
        ("Write a note.", "   ", GOOD_RUBRIC, "response is empty"),
        ("Write a note.", "Hi Maya, the picnic is on Friday.", '[{"criterion": "x", "weight": 2', "not valid JSON"),
        ("Write a note.", "Hi Maya.", '{"criterion": "x"}', "must be a JSON list"),
        ("Write a note.", "Hi Maya.", '[{"criterion": "Mentions rain.", "weight": -1}]', "positive weight"),
        ("Write a note.", "Hi Maya.", '[{"criterion": "", "weight": 1}]', "empty text"),
        ("Write a note.", "Hi Maya. " * 800, GOOD_RUBRIC, "characters long"),
        ("Write a note.", "Hello Maya, the picnic is on Friday at the lake. " * 40, GOOD_RUBRIC, "context"),
    ]
    for prompt, response, rubric, msg in cases:
        at.text_area(key="insp_prompt").set_value(prompt)
        at.text_area(key="insp_response").set_value(response)
        at.text_area(key="insp_rubric").set_value(rubric)
        at.button(key="insp_go").click().run()
        no_exceptions(at)
        assert msg in errors(at), (msg, errors(at))
        assert not charts(at)  # no stale result under an error
    # the app keeps working: a valid custom input is attributed
    at.text_area(key="insp_response").set_value("Hi Maya, the picnic is on Friday.")
    at.button(key="insp_go").click().run()
    no_exceptions(at)
    assert not at.error
    assert len(charts(at)) == 1
    assert at.metric[2].value == "–"  # custom input: no checker


def test_judge_picker_bad_paths_and_local_folder(tmp_path, model_dir):
    at = new_app().run()
    for path, msg in [("/definitely/not/a/model", "no folder"), (str(tmp_path), "no config.json")]:
        at.sidebar.text_input(key="judge_path").set_value(path).run()
        no_exceptions(at)
        assert msg in " ".join(e.value for e in at.sidebar.error)
        assert len(charts(at)) == 1  # falls back to the chosen judge; the page keeps working
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    at.sidebar.text_input(key="judge_path").set_value(str(broken)).run()
    assert "could not load" in " ".join(e.value for e in at.sidebar.error).lower()
    # a real local model folder (generic template, chat tokenizer)
    at.sidebar.text_input(key="judge_path").set_value(str(model_dir)).run()
    no_exceptions(at)
    assert not at.sidebar.error
    assert model_dir.name in " ".join(c.value for c in at.sidebar.caption)
    assert len(charts(at)) == 1


def test_bundled_judge_is_the_default_when_checkpoints_exist(tmp_path, monkeypatch, model_dir):
    """With checkpoints under the bundled data folder, the app opens on the bundled judge."""
    import shutil

    for name in ("judge", "policy"):
        shutil.copytree(model_dir, tmp_path / name)
    monkeypatch.setattr(bundle, "DATA_DIR", tmp_path)
    assert bundle.have_models()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    no_exceptions(at)
    assert at.sidebar.selectbox(key="judge_choice").value == "World judge (bundled, external)"
    assert at.sidebar.selectbox(key="judge_choice").options[-1] == DEMO
    assert not any("not built yet" in i.value for i in at.sidebar.info)
    assert str(tmp_path / "judge") in str(at.session_state["judge_ctx"].judge.name)
    assert len(charts(at)) == 1


def test_demo_notice_without_checkpoints(monkeypatch, tmp_path):
    monkeypatch.setattr(bundle, "DATA_DIR", tmp_path)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    no_exceptions(at)
    assert at.sidebar.selectbox(key="judge_choice").options == [DEMO]
    assert any("not built yet" in i.value and "demo judge" in i.value for i in at.sidebar.info)


def test_compare_page_agreement_truth_and_deletion(bank):
    i, k = next((i, k) for i, e in enumerate(bank.examples) for k, s in enumerate(e.meta["truth_spans"]) if s)
    at = new_app(cmp_methods=["grad_x_input", "attention_last", "random"])
    at.run()
    at.switch_page("views/compare.py").run()
    no_exceptions(at)
    assert [t.value for t in at.title] == ["Compare"]
    assert len(charts(at)) == 3  # methods heatmap + two agreement matrices
    at.selectbox(key="cmp_pick").set_value(bank.label(i)).run()
    at.selectbox(key="cmp_crit").select_index(k + 1).run()
    no_exceptions(at)
    heat, sp, ov = charts(at)
    crit_text = bank.examples[i].rubric[k].text
    assert crit_text in heat["layout"]["title"]["text"]
    assert at.selectbox(key="cmp_crit").value.startswith(f"{k + 1}. ") and crit_text[:30] in at.selectbox(
        key="cmp_crit").value
    assert [t.split(" (±")[0] for t in heat["layout"]["yaxis"]["ticktext"]] == ["grad_x_input", "attention_last",
                                                                                "random"]
    assert heat["layout"].get("shapes"), "checker truth tokens are outlined"
    assert "Spearman" in sp["layout"]["title"]["text"] and "overlap" in ov["layout"]["title"]["text"]
    assert at.dataframe, "the localisation table is shown"
    at.segmented_control(key="cmp_units").set_value("word").run()
    at.button(key="cmp_del").click().run()
    no_exceptions(at)
    curves = charts(at)[-1]
    assert any("AOPC" in tr["name"] for tr in curves["data"])
    names = [tr["name"].split(" · ")[0] for tr in curves["data"]]
    # the "random" method's curve is the random order's: one random entry in the legend
    assert names == ["grad_x_input", "attention_last", "random order"]
    at.selectbox(key="cmp_crit").select_index(0).run()  # Σ dense reward: no deletion curves
    no_exceptions(at)
    assert any("Pick one criterion" in x.value for x in at.info)
    at.multiselect(key="cmp_methods").set_value([]).run()
    assert any("at least one method" in w.value for w in at.warning)
    at.text_area(key="cmp_rubric").set_value("not json")
    at.button(key="cmp_go").click().run()
    assert "not valid JSON" in errors(at)


def test_lens_page(monkeypatch):
    at = new_app(lens_n=4).run()
    at.switch_page("views/lens.py").run()
    no_exceptions(at)
    assert any("Run lens" in x.value for x in at.info)
    at.multiselect(key="lens_modes").set_value([])
    at.button(key="lens_go").click().run()
    assert "at least one response mode" in errors(at)
    at.multiselect(key="lens_modes").set_value(["good", "keywords"])
    at.number_input(key="lens_min").set_value(1)
    at.button(key="lens_go").click().run()
    no_exceptions(at)
    assert not at.error
    figs = charts(at)
    assert figs and all(tr["type"] == "bar" for f in figs for tr in f["data"]) and any(f["data"] for f in figs)
    assert len(at.tabs) >= 3 and len(figs) == len(at.tabs)  # one per criterion kind present
    assert len(at.get("download_button")) == 3
    # mixed verdicts under "Criteria: all" are said to be mixed
    res = at.session_state["lens_result"]
    verdicts = {c.verdict for e in res["run"].examples for c in e.criteria}
    caption = " ".join(c.value for c in at.caption)
    assert ("mixed verdicts" in caption) == (verdicts == {True, False})
    # the forbidden tab's bars are forbidden content (phrases on the checker's truth) only
    from g2r_lens import analysis

    rec = analysis.lens_records(res["run"].examples, res["method"], metas=res["metas"])
    table = views.lens_summary(rec, 1, res["metas"], res["run"].examples)
    tab_names = [t.label for t in at.tabs]
    if "forbidden" in tab_names:
        fig = charts(at)[tab_names.index("forbidden")]
        truthy = set(table[(table["group"] == "forbidden") & (table["truth_rate"] > 0)]["phrase"])
        shown = {y for tr in fig["data"] for y in _decode(tr.get("y"))}
        assert shown <= truthy
    at.segmented_control(key="lens_by").set_value("criterion").run()
    at.segmented_control(key="lens_ngram").set_value(2).run()
    no_exceptions(at)
    at.segmented_control(key="lens_source").set_value("upload JSONL").run()
    at.button(key="lens_go").click().run()
    assert "upload a JSONL file first" in errors(at)


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory):
    """A runs root holding tiny real runs of the RL loop on a quick world (2 steps each): two seeds of
    sparse/sparse and one of grad_x_input/grad2reward; plus a folder that is not a run."""
    from g2r_lens.rl.trainer import TrainConfig, train
    from g2r_lens.world.build import BuildConfig, build

    world = tmp_path_factory.mktemp("appworld")
    build(world, BuildConfig.quick())
    root = tmp_path_factory.mktemp("runs")
    base = dict(world=str(world), steps=2, prompts_per_step=2, group_size=2, max_new_tokens=8, eval_prompts=2,
                eval_every=1, samples_every=1, samples_groups=1, checkpoint_every=0, attr_batch_size=16,
                save_policy=False)
    for name, reward, est, seed in (("sparse-0", "sparse", "sparse", 0), ("sparse-1", "sparse", "sparse", 1),
                                    ("dense-0", "grad_x_input", "grad2reward", 0)):
        train(TrainConfig(reward=reward, estimator=est, seed=seed, **base), root / name, progress=False)
    (root / "notes").mkdir()
    return root


def test_runs_page_empty_root(tmp_path, monkeypatch):
    monkeypatch.setenv("G2R_RUNS_ROOT", str(tmp_path / "nothing-here"))
    at = new_app().run()
    at.switch_page("views/runs.py").run()
    no_exceptions(at)
    assert [t.value for t in at.title] == ["Runs"]
    assert any("No run folders" in i.value for i in at.info)
    assert not at.get("plotly_chart") and not at.multiselect


def test_runs_page_curves_samples_and_exports(runs_root, monkeypatch):
    monkeypatch.setenv("G2R_RUNS_ROOT", str(runs_root))
    at = new_app().run()
    at.switch_page("views/runs.py").run()
    no_exceptions(at)
    ms = at.multiselect(key="runs_pick")
    assert ms.options == ["dense-0", "notes", "sparse-0", "sparse-1"]
    # "notes" has no config.json: not selected, named with the reason; the readable runs (sparse baseline
    # included) are selected from the start
    assert sorted(ms.value) == ["dense-0", "sparse-0", "sparse-1"]
    assert any("notes: " in m.value and "not a run folder" in m.value for m in at.markdown)
    assert not at.error
    ms.set_value(["dense-0", "sparse-0", "sparse-1"]).run()
    no_exceptions(at)
    assert not at.error
    specs = charts(at)
    assert len(specs) == 3
    titles = [sp["layout"]["title"]["text"] for sp in specs]
    assert "judge reward" in titles[0] and "checker score" in titles[1] and "held-out" in titles[2]
    names = [t.get("name") for t in specs[0]["data"] if t.get("name")]
    assert any(n.startswith("sparse/sparse") and "(2 seeds, no band)" in n for n in names)
    assert any(n.startswith("grad_x_input/grad2reward") and "(1 seed, no band)" in n for n in names)
    assert not any(t.get("fill") == "toself" for t in specs[0]["data"])  # no band from fewer than 3 seeds
    table = at.dataframe[0].value
    assert sorted(table["run"]) == ["dense-0", "sparse-0", "sparse-1"]

    # saved samples: step slider and sample slider over the chosen run
    at.selectbox(key="runs_sample_run").set_value("dense-0").run()
    assert at.select_slider(key="runs_step").options == ["1", "2"]
    at.select_slider(key="runs_step").set_value(1).run()
    at.slider(key="runs_sample").set_value(1).run()
    no_exceptions(at)
    from g2r_lens.rl.trainer import read_jsonl

    want = [s for s in read_jsonl(runs_root / "dense-0" / "samples.jsonl") if s["step"] == 1][1]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Judge reward"] == f"{want['judge_reward']:+.3f}"
    assert metrics["Checker score"] == f"{want['checker_score']:+.3f}"
    tok_html = [h.proto.body for h in at.get("html") if 'class="g2r-text"' in h.proto.body]
    assert tok_html and tok_html[0].count('class="g2r-u"') == len(want["tokens"])
    assert "step 1 · sample 1" in tok_html[0]

    # exports: the files are built from the same data
    frame = run_folders.runs_metrics_frame(run_folders.run_arms(run_folders.load_runs(runs_root, ["sparse-0", "sparse-1"])[0]))
    assert set(frame["source"]) == {"train", "eval"} and set(frame["run"]) == {"sparse-0", "sparse-1"}
    assert len(at.get("download_button")) == 3


def test_runs_page_refuses_paths_outside_the_root(runs_root, tmp_path, monkeypatch):
    outside = tmp_path / "outside"
    outside.mkdir()
    link_root = tmp_path / "root"
    link_root.mkdir()
    (link_root / "escape").symlink_to(runs_root / "sparse-0", target_is_directory=True)
    monkeypatch.setenv("G2R_RUNS_ROOT", str(link_root))
    at = new_app().run()
    at.switch_page("views/runs.py").run()
    no_exceptions(at)
    assert any("No run folders" in i.value for i in at.info)  # the escaping symlink is not listed
    for bad in ("../outside", str(runs_root / "sparse-0"), "escape", "", "~"):
        runs, errs = run_folders.load_runs(link_root, [bad])
        assert not runs and errs, bad
    runs, errs = run_folders.load_runs(runs_root, ["sparse-0", "../x"])
    assert [r.name for r in runs] == ["sparse-0"] and "outside the runs root" in errs[0]


# ============================================================ explorer and render (library)
def test_parse_rubric():
    r = inputs.parse_rubric('[{"criterion": "Mentions X.", "weight": 2}, "Says hi.", {"text": "Rude.", "weight": -1}]')
    assert [(c.text, c.weight) for c in r] == [("Mentions X.", 2.0), ("Says hi.", 1.0), ("Rude.", -1.0)]
    assert len(inputs.parse_rubric('{"rubric": [{"criterion": "a", "weight": 1}]}')) == 1
    for text, msg in [("", "empty"), ("[{", r"not valid JSON \(line 1"), ("3", "not a int"),
                      ('[{"weight": 1}]', "item 1"), ('[{"criterion": "a", "weight": "x"}]', "not a number"),
                      ('[{"criterion": "a", "weight": -1}]', "positive weight"), ("[]", "no criteria"),
                      (json.dumps(["c"] * 13), "at most 12"), (json.dumps(["c" * 401]), "characters long")]:
        with pytest.raises(RubricError, match=msg):
            inputs.parse_rubric(text)
    assert json.loads(inputs.rubric_json(r)) == [{"criterion": c.text, "weight": c.weight} for c in r]


def test_build_example_and_truth(bank):
    ex = bank.examples[0]
    task = bank.task_of(ex)
    built = inputs.build_example(ex.prompt, ex.response, inputs.rubric_json(ex.rubric), task=task, id=ex.id)
    assert built.meta["truth_spans"] == ex.meta["truth_spans"]
    # an edited response: the checker is re-run on the new text
    edited = inputs.build_example(ex.prompt, ex.response + " Bye.", inputs.rubric_json(ex.rubric), task=task)
    assert "checker" in edited.meta and edited.response.endswith("Bye.")
    # an edited prompt or rubric: no checker truth
    assert "checker" not in inputs.build_example(ex.prompt + " Hi.", ex.response, inputs.rubric_json(ex.rubric), task=task).meta
    assert "checker" not in inputs.build_example(ex.prompt, ex.response, GOOD_RUBRIC, task=task).meta
    for args, msg in [(("p", "", GOOD_RUBRIC), "empty"), (("p" * 5000, "r", GOOD_RUBRIC), "prompt is 5,000"),
                      (("p", "r" * 7000, GOOD_RUBRIC), "response is 7,000")]:
        with pytest.raises(G2RError, match=msg):
            inputs.build_example(*args)


def test_examples_from_jsonl():
    line = json.dumps({"prompt": "p", "response": "r", "rubric": [{"criterion": "c", "weight": 1}]})
    exs = inputs.examples_from_jsonl((line + "\n\n" + line).encode())
    assert len(exs) == 2 and len({e.id for e in exs}) == 2
    for text, msg in [("{bad", "uploaded file:1: not valid JSON"), ("[1]", "uploaded file:1: expected a JSON object"),
                      (line + "\n" + json.dumps({"prompt": "p", "response": " ", "rubric": ["c"]}), "example 'line2'"),
                      ("", "no examples")]:
        with pytest.raises(G2RError, match=msg):
            inputs.examples_from_jsonl(text)


def test_load_judge_errors(tmp_path, monkeypatch):
    with pytest.raises(ModelLoadError, match="no folder"):
        judges.load_judge("path", str(tmp_path / "nope"))
    with pytest.raises(ModelLoadError, match="empty"):
        judges.load_judge("path", "  ")
    f = tmp_path / "file.bin"
    f.write_text("x")
    with pytest.raises(ModelLoadError, match="not a model folder"):
        judges.load_judge("path", str(f))
    with pytest.raises(G2RError, match="unknown judge"):
        judges.load_judge("something")
    with pytest.raises(G2RError, match="template"):
        judges.load_judge("demo", template="fancy")
    # no bundled checkpoints under this data folder: a plain error, whatever the spelling
    monkeypatch.setattr(bundle, "DATA_DIR", tmp_path)
    for key in ("external", "self", "judge", "bundled:judge"):
        with pytest.raises(G2RError, match="no bundled checkpoint"):
            judges.load_judge(key)


def test_bundled_judges_are_external_and_self(tmp_path, monkeypatch, model_dir):
    """One loader for the bundled judges (world.bundle.load_judge); "judge" is an input alias only."""
    import shutil

    from g2r_lens.judge import JudgeTemplate

    for name in ("judge", "policy"):
        shutil.copytree(model_dir, tmp_path / name)
    monkeypatch.setattr(bundle, "DATA_DIR", tmp_path)
    assert [o.key for o in judges.judge_options()] == ["external", "self", judges.DEMO_KEY]
    ext, alias, own = judges.load_judge("external"), judges.load_judge("bundled:judge"), judges.load_judge("self")
    assert Path(ext.name) == Path(alias.name) == tmp_path / "judge" and Path(own.name) == tmp_path / "policy"
    assert ext.template == bundle.WORLD_TEMPLATE
    assert judges.load_judge("external", template="generic").template == JudgeTemplate()


def test_resolve_under_refuses_escapes(tmp_path):
    root = tmp_path / "runs"
    (root / "a" / "b").mkdir(parents=True)
    (tmp_path / "secret").mkdir()
    (root / "link").symlink_to(tmp_path / "secret", target_is_directory=True)
    assert run_folders.resolve_under(root, "a") == (root / "a").resolve()
    assert run_folders.resolve_under(root, "a/b") == (root / "a" / "b").resolve()
    assert run_folders.resolve_under(root, "a/../a") == (root / "a").resolve()
    for bad in ["", "  ", "..", "../secret", "a/../../secret", "/etc", str(tmp_path / "secret"), "link", "link/x",
                ".", "~/x", "a\x00b"]:
        with pytest.raises(G2RError):
            run_folders.resolve_under(root, bad)
    assert run_folders.list_runs(root) == ["a"]  # the symlink escaping the root is not listed
    assert run_folders.list_runs(tmp_path / "missing") == []


def test_runs_root_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("G2R_RUNS_ROOT", str(tmp_path))
    assert run_folders.runs_root() == tmp_path.resolve()
    monkeypatch.delenv("G2R_RUNS_ROOT")
    assert run_folders.runs_root() == (Path.cwd() / "runs").resolve()


def test_views_figures_and_exports(demo_run):
    j, exs, run = demo_run
    for ex, r in zip(exs, run.examples):
        for gran in ("token", "word"):
            v = views.inspect_view(r, "grad_x_input", "rewards", gran, ex.meta)
            assert v.values.shape == (len(r.criteria) + 1, len(v.units))
            # the Σ row is the dense reward (sums to the sparse reward) and the column sums of the
            # criterion rows (reward shares) equal it
            assert v.values[-1].sum() == pytest.approx(r.sparse_reward)
            assert v.values[:-1].sum(0) == pytest.approx(v.values[-1])
            assert sum(len(g) for g in v.groups) == len(r.tokens)
    ex, r = next((e, x) for e, x in zip(exs, run.examples) if any(e.meta["truth_spans"]))
    sm = views.summary(r, "grad_x_input", ex.meta)
    assert sm.conserved and sm.sparse == r.sparse_reward
    assert sm.checker_score == ex.meta["checker_score"]
    assert sm.checker_agreement == (sum(c.verdict == z for c, z in zip(r.criteria, ex.meta["checker"])),
                                    len(r.criteria))
    assert views.summary(r, "grad_x_input").checker_agreement is None
    ct = views.criteria_table(r, "grad_x_input", meta=ex.meta)
    assert list(ct["criterion"]) == [c.text for c in r.criteria] and list(ct["kind"]) == ex.meta["kinds"]
    assert list(ct["checker"]) == ["✓ True" if z else "✗ False" for z in ex.meta["checker"]]
    top0 = r.top_tokens("grad_x_input", 0, 3)
    assert ct["top tokens"][0] == " ".join(f"“{views.token_label(t)}”" for t, _ in top0)
    assert "top words" in views.criteria_table(r, "grad_x_input", views.inspect_view(r, "grad_x_input", granularity="word"))
    v = views.inspect_view(r, "grad_x_input", "scores", "token", ex.meta)
    n_truth = int(v.truth.sum())
    fig = render.heatmap_figure(v)
    assert n_truth > 0 and len(fig.layout.shapes) == n_truth
    assert np.nanmax(np.abs(np.asarray(fig.data[0].z, dtype=float))) == pytest.approx(1.0)
    df = v.to_frame()
    assert len(df) == v.values.size and df["checker_truth"].sum() == n_truth
    cv = views.compare_view(r, ["grad_x_input", "random"], 0, "alphas", "word", ex.meta)
    assert cv.row_labels == ["grad_x_input", "random"] and cv.values.sum(1) == pytest.approx([1.0, 1.0])
    assert views.compare_view(r, ["grad_x_input"], None, "scores", "token").value_name == "rewards"
    with pytest.raises(G2RError):
        views.inspect_view(r, "grad_x_input", "logits")
    with pytest.raises(G2RError):
        views.inspect_view(r, "grad_x_input", "scores", "sentence")
    # re-tempering keeps conservation
    hot = views.with_tau(run, 5.0, "relative")
    assert hot.provenance["tau"] == 5.0
    for a, b in zip(run.examples, hot.examples):
        assert sum(b.methods["grad_x_input"].rewards) == pytest.approx(a.sparse_reward)
    # HTML: escaped, self-contained (no CDN)
    evil = r.__class__(**{**r.__dict__, "response": "<b>x</b>" + r.response[8:]})
    h = render.text_html(views.inspect_view(evil, "grad_x_input"), 0, evil)
    assert "<b>" not in h and "&lt;" in h and "&gt;" in h
    doc = render.html_document("t <x>", [("h2", "a&b"), fig, df.head(3), "<p>raw</p>"], run.provenance)
    assert "<script src" not in doc and doc.count("<script type='text/javascript'>") == 1
    assert "t &lt;x&gt;" in doc and "a&amp;b" in doc and "<p>raw</p>" in doc
    assert json.loads(views.to_json({"x": float("nan")})) == {"x": None}
    k_truth = next(k for k, s in enumerate(ex.meta["truth_spans"]) if s)
    loc = views.localisation_table(r, ["grad_x_input", "random"], k_truth, ex.meta)
    assert list(loc["method"]) == ["grad_x_input", "random"] and (loc["n_truth"] > 0).all()


def test_deletion_and_lens_figures(demo_run):
    from g2r_lens import analysis

    j, exs, run = demo_run
    curves = analysis.deletion_curves(j, exs[0], run.examples[0], 0, ["grad_x_input"], steps=2)
    fig = render.deletion_figure(curves, "t")
    assert [tr.name.split(" · ")[0] for tr in fig.data] == ["grad_x_input", "random order"]
    assert len(views.deletion_table(curves)) == sum(len(c.counts) for c in curves.values())
    table = analysis.lens_table(analysis.lens_records(run.examples, "grad_x_input", metas=[e.meta for e in exs]), 1)
    g = table["group"].iloc[0]
    lf = render.lens_figure(table, g)
    assert {tr.type for tr in lf.data} == {"bar"}
    mat = analysis.agreement_matrix({"a": [1, 2, 3], "b": [3, 2, 1]})
    af = render.agreement_figure(mat, "t")
    assert af.data[0].z[0][1] == pytest.approx(-1.0)
    # the JSON export takes everything a view shows
    view = views.inspect_view(run.examples[0], "grad_x_input", "scores", "word", exs[0].meta)
    js = json.loads(views.to_json({"run": run, "view": view, "spearman": mat, "lens": table.head(3), "deletion": curves,
                               "x": np.float32(np.nan), "flag": np.bool_(True)}))
    assert js["run"]["format"] == "g2r_lens.attribution/1" and len(js["run"]["examples"]) == len(exs)
    assert js["view"]["units"] == view.units and len(js["view"]["values"]) == len(view.row_labels)
    assert js["spearman"]["a"]["b"] == pytest.approx(-1.0)
    assert len(js["lens"]) == min(3, len(table)) and set(js["lens"][0]) >= {"phrase", "mean", "n"}
    assert js["deletion"]["grad_x_input"]["aopc"] == pytest.approx(curves["grad_x_input"].aopc)
    assert js["x"] is None and js["flag"] is True


def test_attribute_chunked_progress(demo_run):
    j, exs, _ = demo_run
    seen = []
    run = views.attribute_chunked(j, exs[:2], ["uniform"], chunk_size=1, progress=lambda f, m: seen.append(f))
    assert [e.id for e in run.examples] == [e.id for e in exs[:2]]
    assert seen == [0.5, 1.0]
    with pytest.raises(G2RError, match="unique"):
        views.attribute_chunked(j, [exs[0], exs[0]], ["uniform"])
    with pytest.raises(G2RError, match="no examples"):
        views.attribute_chunked(j, [], ["uniform"])
    assert isinstance(exs[0], Example)


# ================================================================== the g2r app command
def test_g2r_app_command(tmp_path, monkeypatch):
    import subprocess

    from g2r_lens import cli

    args = cli.build_parser().parse_args(["app", "--runs-root", str(tmp_path), "--port", "8765"])
    cmd, env = cli.app_command(args)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and Path(cmd[4]) == Path(APP)
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--server.headless") + 1] == "true"
    assert cmd[cmd.index("--server.port") + 1] == "8765"
    assert env["G2R_RUNS_ROOT"] == str(tmp_path.resolve())
    calls = []
    monkeypatch.setattr(subprocess, "call", lambda c, env=None: calls.append((c, env)) or 0)
    assert cli.main(["app", "--runs-root", str(tmp_path)]) == 0
    assert calls and calls[0][1]["G2R_RUNS_ROOT"] == str(tmp_path.resolve())
    assert os.environ.get("G2R_RUNS_ROOT") != "should-not-leak"


# ====================================================== issue 13: readable, honest, offline explorer
def _view(values, units=None, labels=None, truth=None):
    values = np.asarray(values, dtype=float)
    R, U = values.shape
    units = units or [f"w{u}" for u in range(U)]
    return views.View(labels or [f"row {r}" for r in range(R)], units, [[u] for u in range(U)], values,
                      {}, truth, ["criterion"] * R, "scores", "t", "token")


class _Ex:
    """An attributed example's response and token offsets (what the token colourer reads)."""

    def __init__(self, words):
        self.response = " ".join(words)
        pos, self.offsets = 0, []
        for w in words:
            self.offsets.append((pos, pos + len(w)))
            pos += len(w) + 1


def test_text_rows_one_wrapping_line_per_row_with_real_numbers():
    import re

    words = ["Hi", "Leo", ",", "the", "concert"]
    v = _view([[0.5, -2.0, 1.0, 0.0, 0.25], [0.01, 0.02, 0.0, 0.0, 0.04]], words)
    h = render.text_rows_html(v, _Ex(words), per_row=True, show_values=True)
    assert h.count('class="g2r-row"') == 2 and h.count('class="g2r-text"') == 2
    # per-row scales: each row its own colour bar, ends in real numbers (-2 .. +2 and -0.04 .. +0.04)
    assert re.findall(r'g2r-cbar-hi">([^<]*)<', h) == ["+2", "+0.04"]
    assert re.findall(r'g2r-cbar-lo">([^<]*)<', h) == ["-2", "-0.04"]
    assert h.count('class="g2r-v"') == 10 and ">-2<" in h  # printed values under the words
    # a shared scale: one bar on top with the shared maximum, none per row
    h2 = render.text_rows_html(v, _Ex(words), per_row=False)
    assert re.findall(r'g2r-cbar-hi">([^<]*)<', h2) == ["+2"] and 'class="g2r-v"' not in h2
    # the comma is its own coloured span (visible punctuation) and the text wraps like prose
    assert '>,</span>' in h and "white-space:pre-wrap" in h


def test_flat_rows_are_drawn_flat_not_dark():
    import re

    from g2r_lens.render.style import FLAT_LEVEL

    v = _view([[0.25, 0.25, 0.25, 0.25], [1.0, -1.0, 0.5, 0.0]])
    fig = render.heatmap_figure(v, per_row=True)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert np.allclose(z[0], FLAT_LEVEL) and FLAT_LEVEL <= 0.2  # uniform α: light and flat
    assert z[1].tolist() == [1.0, -1.0, 0.5, 0.0]
    h = render.text_rows_html(v, _Ex(["a", "b", "c", "d"]), per_row=True, rows=[0])
    alphas = [float(a) for a in re.findall(r"rgba\(\d+,\d+,\d+,([0-9.]+)\)", h)]
    assert len(alphas) == 4 and len(set(alphas)) == 1 and alphas[0] < 0.3


def test_heatmap_long_response_scrolls_labels_every_unit_and_reads_real_numbers():
    from g2r_lens.render.heatmap import WINDOW

    U = 200
    units = [",", ".", "concert"] + [f"w{u}" for u in range(U - 3)]
    rng = np.random.default_rng(0)
    v = _view(rng.normal(size=(3, U)) * [[1.0], [3.0], [0.5]], units)
    fig = render.heatmap_figure(v, per_row=False)
    xa = fig.layout.xaxis
    assert len(xa.ticktext) == U and list(xa.tickvals) == list(range(U))  # every unit labelled
    assert xa.ticktext[0] == "‹,›" and xa.ticktext[1] == "‹.›"  # punctuation visible
    assert xa.tickangle not in (-90, 90)
    assert list(xa.range) == [-0.5, WINDOW - 0.5] and xa.rangeslider.visible  # scroll and zoom
    # one shared scale: the colour bar reads the real maximum, not "+max"
    vmax = np.abs(v.values).max()
    assert fig.data[0].colorbar.ticktext[-1] == render.fmt_number(vmax, "+.3g")
    assert "max" not in " ".join(fig.data[0].colorbar.ticktext)
    # rows on their own scales: each row label says its scale in numbers
    fig2 = render.heatmap_figure(v, per_row=True)
    assert all("(±" in t for t in fig2.layout.yaxis.ticktext)
    short = render.heatmap_figure(_view(rng.normal(size=(2, 8))))
    assert short.layout.xaxis.range is None


def test_criteria_table_quotes_tokens_marks_near_verdicts_and_truth_hits(demo_run):
    j, exs, run = demo_run
    ex, r = exs[0], run.examples[0]
    # a comma as the top token reads as a token, not as a separator
    assert views.quote_units([",", "to", "concert"]) == "“,” “to” “concert”"
    crit = r.criteria[0]
    for p, near in ((0.485, True), (0.496, True), (0.55, True), (0.551, False), (0.2, False)):
        c = crit.__class__(**{**crit.__dict__, "p_true": p, "p_false": 1 - p, "verdict": p > 0.5})
        assert ("near 0.5" in views.verdict_text(c)) == near, p
    # judges that leave mass off the two verdict words: the boundary is p(True) = p(False)
    assert "near 0.5" in views.verdict_text(crit.__class__(**{**crit.__dict__, "p_true": 0.02, "p_false": 0.021}))
    ct = views.criteria_table(r, "grad_x_input", meta=ex.meta)
    assert list(ct.columns[:3]) == ["judge", "p(True)", "checker"]  # side by side
    view = views.inspect_view(r, "grad_x_input", "scores", "token", ex.meta)
    for k in range(len(r.criteria)):
        s = r.scores("grad_x_input")[k]
        mask = view.truth[k]
        want = "–" if not mask.any() or not np.isfinite(s).any() else \
            ("✓ top on truth" if mask[int(np.argmax(np.where(np.isfinite(s), s, -np.inf)))] else "✗ missed truth")
        assert ct["credit vs truth"][k] == want


def test_credit_notes_flag_reward_on_forbidden_content():
    from g2r_lens.results import CriterionResult, ExampleResult, MethodResult

    words = ["Bring", "the", "cost", "list"]
    ex = _Ex(words)
    crits = [CriterionResult(**{**_crit_fields(), "text": "The response mentions the cost.", "weight": -2.5,
                                "verdict": True}),
             CriterionResult(**{**_crit_fields(), "text": "The response mentions the list.", "weight": 1.0,
                                "verdict": True})]
    scores = [[0.0, 0.1, 0.2, 0.9], [0.1, 0.1, 0.1, 0.0]]
    m = MethodResult("grad_x_input", {}, scores, [[0.25] * 4, [0.25] * 4], [0.1, 0.1, 0.9, 0.2], [1, 1], [1, 1])
    r = ExampleResult("e", "p", ex.response, words, ex.offsets, crits, 1.0, {"grad_x_input": m})
    meta = {"truth_spans": [[[11, 15]], [[16, 20]]], "checker": [True, True]}
    view = views.inspect_view(r, "grad_x_input", "scores", "token", meta)
    notes = views.credit_notes(r, "grad_x_input", view, meta)
    assert any("“cost”" in n and "forbidden content of criterion 1" in n for n in notes)
    assert any("Criterion 2 is judged True but its largest score is not on" in n for n in notes)


def _crit_fields():
    return dict(text="c", weight=1.0, p_true=0.9, p_false=0.1, logp_true=-0.1, verdict=True)


def test_topk_overlap_from_ties_is_not_reported():
    vals = {"grad": [0.9, 0.1, 0.5, 0.3, 0.2, 0.0], "uniform": [1.0] * 6, "other": [0.8, 0.0, 0.6, 0.1, 0.3, 0.2]}
    m = views.topk_matrix(vals, 2)
    assert np.isnan(m.loc["uniform"]).all() and np.isnan(m["uniform"]).all()
    assert m.loc["grad", "other"] == pytest.approx(1.0)  # {0, 2} both
    assert views.topk_tied([3, 2, 2, 1], 2) and not views.topk_tied([3, 2, 2, 1], 3)
    fig = render.agreement_figure(m, "t", zmin=0.0)
    assert fig.data[0].text[1][0] == "–"


def test_localisation_table_has_human_column_names(demo_run):
    j, exs, run = demo_run
    ex, r = next((e, x) for e, x in zip(exs, run.examples) if any(e.meta["truth_spans"]))
    k = next(k for k, s in enumerate(ex.meta["truth_spans"]) if s)
    shown = views.localisation_display(views.localisation_table(r, ["grad_x_input"], k, ex.meta))
    assert list(shown.columns) == ["method", "truth tokens", "R-precision", "top token is truth",
                                   "AUROC (truth vs rest)", "α on truth"]
    assert not {"n_truth", "hit_at_1", "alpha_mass"} & set(shown.columns)


def test_lens_truth_rate_unknown_is_a_dash_and_verdicts_are_labelled(demo_run):
    from g2r_lens import analysis

    j, exs, run = demo_run
    metas = [e.meta for e in exs]
    rec = analysis.lens_records(run.examples, "grad_x_input", metas=metas)
    t = views.lens_summary(rec, 1, metas, run.examples)
    known = {(e.id, c.text) for e, m in zip(run.examples, metas) for c, s in zip(e.criteria, m["truth_spans"]) if s}
    for _, row in t.iterrows():
        sub = rec[(rec["group"] == row["group"]) & (rec["phrase"] == row["phrase"])]
        kn = sub[[(a, b) in known for a, b in zip(sub["example_id"], sub["criterion"])]]
        if kn.empty:
            assert np.isnan(row["truth_rate"])
        else:
            assert row["truth_rate"] == pytest.approx(kn["truth"].mean())
        v = set(sub["verdict"])
        assert row["verdicts"] == ("mixed" if len(v) == 2 else str(v.pop()))
    shown = views.lens_display(t)
    assert "on checker truth" in shown and "truth_rate" not in shown
    assert set(shown.loc[t["truth_rate"].isna(), "on checker truth"]) <= {"–"}
    assert t["truth_rate"].isna().any()  # the non-local criteria of the bundled world have no truth


def test_view_csv_has_no_duplicate_columns_and_full_labels(demo_run):
    import io

    import pandas as pd

    j, exs, run = demo_run
    r = run.examples[0]
    for value in views.VALUES:
        v = views.inspect_view(r, "grad_x_input", value, "token", exs[0].meta)
        df = pd.read_csv(io.StringIO(v.to_frame().to_csv(index=False)))
        cols = df.columns.tolist()
        assert len(cols) == len(set(cols))
        for a in cols:  # no two columns hold the same numbers
            for b in cols:
                if a < b and df[a].dtype.kind == "f" and df[b].dtype.kind == "f":
                    assert not np.allclose(df[a].fillna(-9), df[b].fillna(-9)), (a, b)
        full = {views.criterion_label(c, 10**6) for c in r.criteria} | {"Σ dense reward"}
        assert set(df["row"]) == full and not any(x.endswith("…") for x in df["row"])


def test_html_export_has_no_absolute_paths_and_headline_numbers(demo_run, tmp_path):
    j, exs, run = demo_run
    prov = dict(run.provenance, model=str(tmp_path / "models" / "my-judge"))
    doc = render.html_document("t", ["<p>x</p>"], prov)
    assert str(tmp_path) not in doc and "model my-judge" in doc
    assert "model org/name" in render.html_document("t", [], {"model": "org/name"})  # hub ids kept
    r = run.examples[0]
    head = views.headline_table(views.summary(r, "grad_x_input", exs[0].meta), r)
    assert head.loc[head["quantity"] == "sparse reward", "value"].item() == f"{r.sparse_reward:+.4f}"


def test_bundled_folder_keeps_the_world_prompt():
    from g2r_lens.judge import JudgeTemplate

    if not bundle.have_models():
        pytest.skip("bundled checkpoints not built")
    folder = bundle.bundled_path(bundle.JUDGES["external"])
    j = judges.load_judge("path", str(folder))
    assert j.template == bundle.WORLD_TEMPLATE and "world rubric prompt" in judges.judge_summary(j)
    assert judges.load_judge("path", str(folder), template="generic").template == JudgeTemplate()
    assert judges.is_world_folder(folder) and not judges.is_world_folder(folder.parent)


def test_context_usage_counts_the_judge_prompt(demo_run):
    j, exs, run = demo_run
    ex = exs[0]
    n, n_resp, ctx = views.context_usage(j, ex)
    want = max(len(j.encode(ex, k).input_ids) for k in range(len(ex.rubric)))
    assert (n, ctx) == (want, j.max_length)
    assert n_resp == len(run.examples[0].tokens)
    long = Example(ex.prompt, ex.response + " the picnic is on Friday" * 200, ex.rubric, id="long")
    n2, _, _ = views.context_usage(j, long)
    assert n2 > j.max_length  # counted in full, nothing cut, no error


def test_merge_runs_and_best_example(demo_run, bank):
    j, exs, run = demo_run
    a = attribute(j, exs, ["uniform"], attribute_false=True, progress=False)
    merged = views.merge_runs([run, a])
    assert set(merged.examples[0].methods) == {"grad_x_input", "random", "uniform"}
    assert merged.examples[1].methods["uniform"].scores == a.examples[1].methods["uniform"].scores
    with pytest.raises(G2RError, match="same examples"):
        views.merge_runs([run, attribute(j, exs[::-1], ["uniform"], progress=False)])
    # the first screen: the example whose True verdicts put their top score on truth most often
    exs24 = bank.examples
    full = attribute(j, exs24, ["grad_x_input"], progress=False)

    def hits(e, meta):
        n = 0
        for k, c in enumerate(e.criteria):
            sp = meta["truth_spans"][k]
            if c.verdict and c.weight > 0 and sp and e.methods["grad_x_input"].scores[k] is not None:
                mask = np.asarray(__import__("g2r_lens").analysis.truth_mask(e, sp))
                n += bool(mask[int(np.argmax(e.methods["grad_x_input"].scores[k]))])
        return n

    i = views.best_example(full, "grad_x_input", [e.meta for e in exs24])
    assert hits(full.examples[i], exs24[i].meta) == max(hits(e, x.meta) for e, x in zip(full.examples, exs24))
    # the candidates come from the checker alone: the most satisfied criteria with truth first
    cands = views.candidate_examples(exs24, 4)
    n = [sum(bool(z) and bool(sp) and c.weight > 0 for c, z, sp in zip(e.rubric, e.meta["checker"],
                                                                       e.meta["truth_spans"])) for e in exs24]
    assert len(cands) == 4 and min(n[i] for i in cands) >= sorted(n, reverse=True)[3]


def test_runs_bands_labels_groups_errors_and_specials(tmp_path):
    from g2r_lens.rl import plots
    from g2r_lens.rl.runfolder import Run

    def run(name, seed, vals, **cfg):
        c = {"reward": "sparse", "estimator": "sparse", "judge": "external", "seed": seed, "lr": 1e-4, **cfg}
        rows = [{"step": s + 1, "checker_score": v} for s, v in enumerate(vals)]
        r = Run(tmp_path / name, c, rows, rows)
        r.name = name
        return r

    two = [run("a0", 0, [0.0, 0.5, 1.0]), run("a1", 1, [1.0, 0.5, 0.0], eval_prompts=8, eval_every=5)]
    arms = plots.group_arms(two)
    assert len(arms) == 1  # eval-only settings do not split an arm
    fig = plots.curves_figure(arms, "checker_score", "eval")
    assert not any(t.fill == "toself" for t in fig.data)  # no band from 2 seeds
    assert "2 seeds, no band" in fig.data[0].name
    three = two + [run("a2", 2, [0.2, 0.6, 0.9])]
    fig = plots.curves_figure(plots.group_arms(three), "checker_score", "eval")
    bandy = [t for t in fig.data if t.fill == "toself"][0]
    vals = np.array([[0.0, 0.5, 1.0], [1.0, 0.5, 0.0], [0.2, 0.6, 0.9]])
    y = np.asarray(bandy.y, dtype=float)
    hi, lo = y[:3], y[3:][::-1]
    assert (hi <= vals.max(0) + 1e-12).all() and (lo >= vals.min(0) - 1e-12).all()  # clipped to the seeds
    assert hi.max() <= 1.0 and lo.min() >= 0.0
    # long labels are cut in the legend, full on hover
    long = [run("b0", 0, [0.1, 0.2], lr=1e-3, kl=0.05, tau=0.5, temperature=0.7, top_p=0.9, clip_eps=0.3)]
    arms = plots.group_arms(three + long)
    fig = plots.curves_figure(arms, "checker_score", "eval")
    names = [t.name for t in fig.data if t.name]
    assert max(len(n.split(" (")[0]) for n in names) <= plots.LABEL_WIDTH
    assert any(len(label) > plots.LABEL_WIDTH for label in arms)
    assert any(label in (t.hovertemplate or "") for t in fig.data for label in arms if len(label) > plots.LABEL_WIDTH)
    # specials are markers, not text
    h = plots.sample_html({"tokens": ["Hi", " there", "<|im_end|>"], "token_rewards": [0.5, 0.2, 0.1]})
    assert "&lt;|im_end|&gt;</span>" not in h and ">im_end</span>" in h and h.count('class="g2r-u"') == 3
    assert run_folders.sample_table({"tokens": ["<|im_end|>"], "token_rewards": [0.0]})["token"][0] == "[im_end]"


def test_runs_errors_name_the_file_and_line_and_defaults_skip_broken(tmp_path):
    root = tmp_path / "runs"
    for name, reward in (("a-dense", "grad_x_input"), ("b-sparse", "sparse"), ("0-broken", "sparse")):
        (root / name).mkdir(parents=True)
        (root / name / "config.json").write_text(json.dumps({"reward": reward, "estimator": "sparse", "seed": 0}))
        (root / name / "metrics.jsonl").write_text('{"step": 1, "checker_score": 0.5}\n')
    (root / "0-broken" / "metrics.jsonl").write_text('{"step": 1}\n{oops\n')
    (root / "0-notes").mkdir()
    names = run_folders.list_runs(root)
    runs, errs = run_folders.load_runs(root, names)
    assert sorted(r.name for r in runs) == ["a-dense", "b-sparse"]
    bad = next(e for e in errs if e.startswith("0-broken"))
    assert "0-broken/metrics.jsonl, line 2" in bad and str(root) not in bad
    default = run_folders.default_runs(runs)
    assert default[0] == "b-sparse" and set(default) == {"a-dense", "b-sparse"}
    assert run_folders.default_runs(runs, limit=1) == ["b-sparse"]  # the sparse baseline first


# ---------------------------------------------------------------- issue 13: pages (AppTest)
def _howto(at: AppTest) -> str:
    return " ".join(h.proto.body for h in at.get("html") if "g2r-howto" in h.proto.body)


def test_first_screens_show_the_point(bank):
    """Inspect opens on the bank example whose True verdicts put credit on truth; Compare on a
    criterion with truth; every page says how to read it (three lines)."""
    import re

    at = new_app().run()
    no_exceptions(at)
    cands = views.candidate_examples(bank.examples)
    run = attribute(judges.demo_judge(), [bank.examples[i] for i in cands], ["grad_x_input"], progress=False)
    hits = [sum(c.verdict and c.weight > 0 and bool(sp) and bool(np.asarray(
        __import__("g2r_lens").analysis.truth_mask(e, sp))[int(np.argmax(e.methods["grad_x_input"].scores[k]))])
        for k, (c, sp) in enumerate(zip(e.criteria, bank.examples[i].meta["truth_spans"])))
        for i, e in zip(cands, run.examples)]
    picked = [bank.label(i) for i in range(len(bank.examples))].index(at.selectbox(key="insp_pick").value)
    assert picked in cands and hits[cands.index(picked)] == max(hits)
    want = picked
    assert len(re.findall("<li>", _howto(at))) == 3
    at.switch_page("views/compare.py").run()
    no_exceptions(at)
    assert not at.error, errors(at)  # the default methods (integrated gradients included) all run
    assert len(re.findall("<li>", _howto(at))) == 3
    k = int(at.selectbox(key="cmp_crit").value.split(".")[0]) - 1
    ex = bank.examples[want]
    assert ex.meta["truth_spans"][k], "Compare opens on a criterion with checker truth"
    assert at.dataframe, "so the truth-localisation table is shown"
    assert "R-precision" in at.dataframe[0].value.columns
    for page in ("views/lens.py", "views/runs.py"):
        at.switch_page(page).run()
        assert len(re.findall("<li>", _howto(at))) == 3, page


def test_custom_input_drops_the_bundled_checker():
    at = new_app().run()
    assert any("checker truth (bundled world)" in h.proto.body for h in at.get("html"))
    at.selectbox(key="insp_pick").set_value(lens_ui_custom()).run()
    no_exceptions(at)
    assert not charts(at) and not at.metric  # the bundled example's result is not shown for custom input
    at.text_area(key="insp_response").set_value("Hi Maya, the picnic is on Friday at the lake.")
    at.text_area(key="insp_rubric").set_value(GOOD_RUBRIC)
    at.button(key="insp_go").click().run()
    no_exceptions(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Checker score"] == "–" and metrics["Judge agrees with checker"] == "–"
    assert not charts(at)[0]["layout"].get("shapes")  # no truth outlines
    bodies = " ".join(h.proto.body for h in at.get("html"))
    assert "bundled world" not in bodies and "no checker" in bodies


def lens_ui_custom() -> str:
    return "Custom input (type your own)"


def test_uniform_warning_does_not_contradict_the_settings():
    at = new_app().run()
    at.selectbox(key="insp_method").set_value("uniform")
    at.button(key="insp_go").click().run()
    no_exceptions(at)
    text = " ".join(w.value for w in at.warning) + " ".join(i.value for i in at.info)
    assert "uniform control, by design" in text and "use relative τ" not in text
    at.selectbox(key="insp_method").set_value("grad_x_input")
    at.select_slider(key="insp_tau").set_value(10.0)
    at.segmented_control(key="insp_tau_mode").set_value("absolute")
    at.button(key="insp_go").click().run()
    warn = " ".join(w.value for w in at.warning)
    assert "switch τ mode to relative" in warn
    at.segmented_control(key="insp_tau_mode").set_value("relative").run()
    assert "switch τ mode to relative" not in " ".join(w.value for w in at.warning)


def test_truncation_is_offered_with_the_token_count():
    at = new_app().run()
    long = "Hello Maya, the picnic is on Friday at the lake. " * 40
    at.text_area(key="insp_response").set_value(long)
    at.text_area(key="insp_rubric").set_value(GOOD_RUBRIC)
    at.run()
    j = judges.demo_judge()
    n, _, ctxlen = views.context_usage(j, Example(at.text_area(key="insp_prompt").value, long,
                                                 inputs.parse_rubric(GOOD_RUBRIC)))
    warn = " ".join(w.value for w in at.warning)
    assert f"{n} tokens" in warn and f"context is **{ctxlen}**" in warn  # shown before running
    at.button(key="insp_go").click().run()
    assert "Cut the response to fit the context" in errors(at) and "truncation='response'" not in errors(at)
    at.toggle(key="insp_trunc").set_value(True)
    at.button(key="insp_go").click().run()
    no_exceptions(at)
    assert not at.error and len(charts(at)) == 1
    assert any(f"{n - ctxlen} response tokens were cut" in w.value for w in at.warning)


def test_compare_adding_a_method_computes_only_that_method(monkeypatch):
    import uuid

    calls = []
    real = views.attribute_chunked
    nonce = uuid.uuid4().hex[:8]

    def counting(judge, exs, methods, **kw):
        if any(nonce in e.response for e in exs):
            calls.append(tuple(methods))
        return real(judge, exs, methods, **kw)

    monkeypatch.setattr(views, "attribute_chunked", counting)
    at = new_app(cmp_methods=["grad_x_input", "random"]).run()
    at.switch_page("views/compare.py").run()
    at.selectbox(key="cmp_pick").set_value(lens_ui_custom()).run()
    at.text_area(key="cmp_response").set_value(f"Hi Maya, the picnic is on Friday. {nonce}")
    at.button(key="cmp_go").click().run()
    no_exceptions(at)
    assert sorted(calls) == [("grad_x_input",), ("random",)]
    calls.clear()
    at.multiselect(key="cmp_methods").set_value(["grad_x_input", "random", "uniform"]).run()
    no_exceptions(at)
    assert calls == [("uniform",)]
    calls.clear()
    at.multiselect(key="cmp_methods").set_value(["grad_x_input"]).run()
    assert calls == []


def test_page_icon_is_local_and_sidebar_names_the_prompt(monkeypatch):
    import streamlit as st

    seen = {}
    real = st.set_page_config
    monkeypatch.setattr(st, "set_page_config", lambda **kw: seen.update(kw) or real(**kw))
    at = new_app().run()
    no_exceptions(at)
    icon = str(seen["page_icon"])
    assert not icon.startswith(":material") and Path(icon).is_file()
    assert "world rubric prompt" in " ".join(c.value for c in at.sidebar.caption)
