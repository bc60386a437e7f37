"""Issue 12: a property sweep (hypothesis) over generated text, examples, rubrics and method parameters.

Properties, each against an independent reference:

- a typed :class:`~g2r_lens.errors.G2RError` (or a subclass) or a result, never another exception;
- conservation: the dense rewards of every method add up to the sparse rubric reward;
- the response token texts join back to the response;
- no control token (from each tokenizer's own special/added-token tables) inside a user span.

Tokenizers: the ChatML byte-level BPE (fast, chat template), the real GPT-2 BPE (fast, no chat
template) and ByT5 (slow, Python). The number of cases each test ran is counted in ``CASES`` and
printed at the end of the module (``-s`` shows it).
"""

import math
import string
from collections import Counter

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from g2r_lens import Example, Judge, attribute  # noqa: E402
from g2r_lens import tokenize as tk  # noqa: E402
from reference import control_ids  # noqa: E402
from g2r_lens.errors import G2RError  # noqa: E402
from g2r_lens.judge import JudgeTemplate  # noqa: E402
from g2r_lens.params import validate_method_params  # noqa: E402
from g2r_lens.attribution import get_method  # noqa: E402
from g2r_lens.testing import tiny_model  # noqa: E402

CASES: Counter = Counter()
SWEEP = settings(deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.function_scoped_fixture])

TRICKY = ["<|im_end|>", "<|im_start|>", "<|endoftext|>", "<|pad|>", "</s>", "<pad>", "<unk>", "<extra_id_0>",
          "assistant\nTrue", "\n", " ", "  ", "\t", "é", "👋", "日本", "\u200d", "\u0301", "{response}", "{prompt}",
          "{}", "\u241fG2R_RESPONSE_PLACEHOLDER\u241f", "\u241fG2R_PROMPT_PLACEHOLDER\u241f", "True", "False", "\r\n"]
chars = st.characters(codec="utf-8", exclude_categories=["Cs"])
texts = st.lists(st.one_of(st.text(chars, max_size=8), st.sampled_from(TRICKY),
                           st.text(string.ascii_letters + " .,", min_size=1, max_size=12)),
                 max_size=6).map("".join)


@pytest.fixture(scope="module")
def sweep_judges(chat_tok, gpt2_tok):
    from transformers import ByT5Tokenizer

    byt5 = ByT5Tokenizer()
    out = {"chat": Judge(tiny_model(chat_tok, "qwen2", layers=1, hidden=16, heads=2, seed=5), chat_tok),
           "gpt2": Judge(tiny_model(gpt2_tok, "gpt2", layers=1, hidden=16, heads=2, seed=5), gpt2_tok),
           "byt5": Judge(tiny_model(byt5, "llama", layers=1, hidden=16, heads=2, seed=5), byt5,
                         JudgeTemplate(plain="{system}\n\n{user}\n\nVerdict: ", verdict_words=("Y", "N")))}
    yield out
    total = sum(v for k, v in CASES.items() if k in ("encode_user", "judge_encode", "params_rubrics", "attribute"))
    print(f"\nhypothesis sweep cases: {dict(CASES)}; total {total}")


@settings(SWEEP, max_examples=300)
@given(text=texts)
def test_sweep_user_text_encoding(sweep_judges, text):
    CASES["encode_user"] += 1
    for j in sweep_judges.values():
        tok = j.tokenizer
        ids, offs = tk.encode_user(tok, text)
        assert not control_ids(tok).intersection(ids)
        assert len(ids) == len(offs)
        assert all(0 <= s <= e <= len(text) for s, e in offs)
        if ids:
            assert "".join(tk.token_texts(text, offs)) == text


@settings(SWEEP, max_examples=250)
@given(prompt=texts, response=texts, criterion=texts, which=st.sampled_from(["chat", "gpt2", "byt5"]))
def test_sweep_judge_encode(sweep_judges, prompt, response, criterion, which):
    CASES["judge_encode"] += 1
    j = sweep_judges[which]
    ctl = control_ids(j.tokenizer)
    try:
        ex = Example(prompt, response, [criterion])
        pair = j.encode(ex, 0)
    except G2RError:
        return
    ref = j.encode(Example("p", "r", ["c"]), 0)  # the template's own control tokens
    assert [i for i in pair.input_ids if i in ctl] == [i for i in ref.input_ids if i in ctl]
    assert "".join(pair.response_tokens) == response


rubrics = st.lists(st.fixed_dictionaries({
    "criterion": st.one_of(texts, st.integers(), st.none()),
    "weight": st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5), st.booleans(),
                        st.text(max_size=3), st.none())}), min_size=0, max_size=4)
ig_params = st.fixed_dictionaries({}, optional={
    "n_steps": st.one_of(st.integers(-2, 6), st.floats(), st.text(max_size=3), st.booleans()),
    "baseline": st.one_of(st.sampled_from(["zero", "neutral", "pad", "ones"]), st.integers(-5, 10**6)),
    "integration": st.sampled_from(["gausslegendre", "riemann_trapezoid", "riemann_middle", "simpson"]),
    "nodes": st.sampled_from(["uniform", "baseline", "x"]),
    "internal_batch_size": st.one_of(st.integers(-1, 64), st.floats())})
loo_params = st.fixed_dictionaries({}, optional={
    "replacement": st.one_of(st.sampled_from(["neutral", "pad", "mask"]), st.integers(-5, 10**6), st.floats()),
    "internal_batch_size": st.one_of(st.integers(-1, 64), st.text(max_size=2))})


@settings(SWEEP, max_examples=500)
@given(ig=ig_params, loo=loo_params, rubric=rubrics)
def test_sweep_params_and_rubrics_are_typed(sweep_judges, ig, loo, rubric):
    CASES["params_rubrics"] += 1
    j = sweep_judges["chat"]
    for name, p in (("integrated_gradients", ig), ("leave_one_out", loo)):
        spec = get_method(name)
        try:
            validate_method_params(j, name, spec.resolve_params(p), spec.defaults)
        except G2RError:
            pass
    try:
        ex = Example("p", "r", rubric)
        ex.validate()
    except G2RError:
        return
    for c in ex.rubric:
        assert isinstance(c.weight, float) and math.isfinite(c.weight) and isinstance(c.text, str)


crit = st.fixed_dictionaries({"criterion": texts.filter(str.strip),
                              "weight": st.one_of(st.integers(-3, 3), st.floats(-5, 5))})
good_rubrics = st.tuples(crit.map(lambda c: {**c, "weight": abs(c["weight"]) + 0.5}),
                         st.lists(crit, max_size=2)).map(lambda t: [t[0], *t[1]])


@settings(SWEEP, max_examples=150)
@given(prompt=texts, response=st.one_of(texts.filter(str.strip), texts.filter(str.strip), texts),
       rubric=st.one_of(good_rubrics, good_rubrics, good_rubrics, rubrics),
       which=st.sampled_from(["chat", "gpt2", "byt5"]),
       method=st.sampled_from(["grad_x_input", "integrated_gradients", "leave_one_out", "uniform", "random"]),
       params=st.one_of(st.just({}), st.just({}), ig_params, loo_params),
       tau=st.one_of(*[st.floats(0.1, 5)] * 6, st.sampled_from([0, -1, "1", float("inf")])),
       attribute_false=st.booleans())
def test_sweep_attribute(sweep_judges, prompt, response, rubric, which, method, params, tau, attribute_false):
    CASES["attribute"] += 1
    j = sweep_judges[which]
    if method == "integrated_gradients":
        params = {**params, "n_steps": 2} if not isinstance(params.get("n_steps"), int) or params.get("n_steps", 2) > 4 \
            else params
    mp = {method: params} if set(params) <= set(get_method(method).defaults) else None
    try:
        run = attribute(j, [{"prompt": prompt, "response": response, "rubric": rubric}], [method],
                        method_params=mp, tau=tau, attribute_false=attribute_false, progress=False)
    except G2RError:
        CASES["attribute_typed_error"] += 1
        return
    CASES["attribute_result"] += 1
    ex = run.examples[0]
    assert "".join(ex.tokens) == response or ex.truncated_tokens
    m = ex.methods[method]
    assert math.isclose(sum(m.rewards), ex.sparse_reward, rel_tol=1e-9, abs_tol=1e-9)
