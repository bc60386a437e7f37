"""Each bad input raises its typed error with a message naming the problem."""

import pytest
import torch

from g2r_lens import Example, Judge, JudgeTemplate, attribute
from g2r_lens.attribution import REGISTRY, RowScores, register
from g2r_lens.errors import (
    EmptyResponseError, InputTooLongError, ModelLoadError, NonFiniteScoresError, ResponseNotFoundError,
    RubricError, UnknownMethodError, VerdictTokenError,
)
from g2r_lens.testing import tiny_model

RUBRIC = [{"criterion": "The response mentions the lake.", "weight": 1}]


def test_empty_response(judges):
    with pytest.raises(EmptyResponseError, match="empty"):
        attribute(judges[("gpt2", "gpt2")], [Example("p", "   ", RUBRIC)], progress=False)


def test_response_not_found_in_template(gpt2_tok):
    model = tiny_model(gpt2_tok, "gpt2", layers=1, hidden=32, heads=2)
    with pytest.raises(ResponseNotFoundError, match="exactly once"):
        Judge(model, gpt2_tok, JudgeTemplate(user="Criterion: {criterion}\nPrompt: {prompt}"))
    with pytest.raises(ResponseNotFoundError, match="2 times"):
        Judge(model, gpt2_tok, JudgeTemplate(user="{response} {criterion} {response}"))


def test_too_long_refused_or_truncated_with_record(gpt2_tok):
    model = tiny_model(gpt2_tok, "gpt2", layers=1, hidden=32, heads=2)
    ex = Example("p", " ".join(["word"] * 300), [*RUBRIC, {"criterion": "A much longer criterion text " * 3, "weight": 1}], id="long")
    with pytest.raises(InputTooLongError, match="context is 128"):
        attribute(Judge(model, gpt2_tok, max_length=128), [ex], progress=False)
    j = Judge(model, gpt2_tok, max_length=128, truncation="response")
    run = attribute(j, [ex], attribute_false=True, progress=False)
    r = run.examples[0]
    assert r.truncated_tokens > 0 and len(r.tokens) + r.truncated_tokens == 300
    assert len(j.encode(ex, 0).input_ids) == 128


def test_verdict_word_not_single_token(gpt2_tok):
    model = tiny_model(gpt2_tok, "gpt2", layers=1, hidden=32, heads=2)
    with pytest.raises(VerdictTokenError, match="single tokens"):
        Judge(model, gpt2_tok, JudgeTemplate(verdict_words=("Indubitably", "False")))
    with pytest.raises(VerdictTokenError, match="two different"):
        Judge(model, gpt2_tok, JudgeTemplate(verdict_words=("True", "True")))


def test_verdict_word_missing_from_vocabulary():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["<unk>", "</s>", "True", "False", "Yes", "the", ":", "Verdict"]
    t = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    t.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=t, eos_token="</s>", unk_token="<unk>")
    model = tiny_model(tok, "llama", layers=1, hidden=32, heads=2)
    Judge(model, tok)  # True/False exist
    with pytest.raises(VerdictTokenError, match="not in the judge's vocabulary"):
        Judge(model, tok, JudgeTemplate(verdict_words=("Yes", "Nope")))


def test_rubric_without_positive_weight(judges):
    with pytest.raises(RubricError, match="positive weight"):
        attribute(judges[("gpt2", "gpt2")], [Example("p", "r", [{"criterion": "bad", "weight": -1}])], progress=False)
    with pytest.raises(RubricError, match="no criteria"):
        attribute(judges[("gpt2", "gpt2")], [Example("p", "r", [])], progress=False)
    with pytest.raises(RubricError, match="not a number"):
        Example("p", "r", [{"criterion": "x", "weight": "heavy"}])


def test_non_finite_scores_from_a_method(judges, examples):
    @register("_nan_method", "nothing", "returns NaN")
    def _nan(ctx):
        return [RowScores(torch.full((e - s,), float("nan"))) for s, e in ctx.batch.resp_slices]

    try:
        with pytest.raises(NonFiniteScoresError, match="_nan_method"):
            attribute(judges[("gpt2", "gpt2")], examples, ["_nan_method"], attribute_false=True, progress=False)
    finally:
        REGISTRY.remove("_nan_method")


def test_unknown_method_and_parameter(judges, examples):
    j = judges[("gpt2", "gpt2")]
    with pytest.raises(UnknownMethodError, match="available: .*grad_x_input"):
        attribute(j, examples, ["grad_x_inptu"], progress=False)
    with pytest.raises(UnknownMethodError, match="no parameter"):
        attribute(j, examples, ["integrated_gradients"], method_params={"integrated_gradients": {"steps": 3}},
                  progress=False)


def test_missing_model_path(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        Judge.from_pretrained(tmp_path / "nope")
