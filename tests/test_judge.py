import torch
import pytest

from g2r_lens import Example, Judge
from g2r_lens.testing import CHATML

from reference import ids_of, logp_true_full


def test_response_span_is_exact(judge, examples):
    for ex in examples:
        for k in range(len(ex.rubric)):
            pair = judge.encode(ex, k)
            resp_ids = pair.input_ids[pair.resp_start:pair.resp_end]
            assert judge.tokenizer.decode(resp_ids) == ex.response
            # offsets point at the right characters and tile the response
            assert "".join(ex.response[s:e] for s, e in pair.response_offsets) == ex.response
            assert pair.response_tokens == [ex.response[s:e] for s, e in pair.response_offsets]
            # the rendered prompt is the decoded input, with the response exactly where the span says
            text = judge.render(ex.prompt, ex.rubric[k].text, ex.response)
            assert ex.response in text
            assert pair.verdict_pos == len(pair.input_ids) - 1


def test_chat_template_used_when_present(judges, examples):
    j = judges[("llama", "chat")]
    text = j.render(examples[0].prompt, "c", "r")
    assert text.startswith("<|im_start|>system") and text.endswith("<|im_start|>assistant\n")
    g = judges[("gpt2", "gpt2")]
    assert g.render("p", "c", "r").endswith("Verdict:")
    # plain template: verdict word follows a colon, so it is the space-prefixed token
    assert g.tokenizer.convert_ids_to_tokens([g.true_id]) == ["ĠTrue"]
    assert j.tokenizer.convert_ids_to_tokens([j.true_id]) == ["True"]


def test_verdict_logprob_matches_full_forward(judge, examples):
    """Our LM head at the verdict position only == full-model logits at the last position."""
    pairs = [judge.encode(ex, k) for ex in examples for k in range(len(ex.rubric))]
    lt, lf, _ = judge.verdict_logprobs(judge.collate(pairs))
    for i, ex_k in enumerate([(ex, k) for ex in examples for k in range(len(ex.rubric))]):
        _, ids = ids_of(judge, *ex_k)
        ref = logp_true_full(judge, ids)
        assert torch.allclose(lt[i], ref, atol=1e-4), (i, lt[i], ref)


@pytest.mark.parametrize("side", ["left", "right"])
def test_padding_side_and_batch_composition_do_not_change_verdicts(judge, examples, side):
    pairs = [judge.encode(ex, k) for ex in examples for k in range(len(ex.rubric))]
    together = judge.verdict_logprobs(judge.collate(pairs, padding_side=side))[0]
    alone = torch.stack([judge.verdict_logprobs(judge.collate([p]))[0][0] for p in pairs])
    assert torch.allclose(together, alone, atol=1e-4)


def test_sparse_reward_in_batched_verdicts(judges, examples):
    j = judges[("gpt2", "gpt2")]
    v = j.verdicts(examples)
    for ex, vs in zip(examples, v):
        assert len(vs) == len(ex.rubric)
        for r in vs:
            assert r["verdict"] == (r["p_true"] > r["p_false"])
            assert 0 <= r["p_true"] <= 1


def _bos_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    words = ["<unk>", "<s>", "</s>", "True", "False", "the", "a", "b", "c", ":", "\n", "Verdict"]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>")


def test_bos_prepended_once(chat_tok):
    from g2r_lens.testing import tiny_model

    tok = _bos_tokenizer()
    model = tiny_model(tok, "llama", layers=1, hidden=32, heads=2)
    ex = Example("a b", "the c", [{"criterion": "c", "weight": 1}])
    j = Judge(model, tok)
    pair = j.encode(ex, 0)
    assert pair.input_ids[0] == 1 and pair.input_ids.count(1) == 1
    # a chat template that already writes the BOS text gets no second BOS
    tok2 = _bos_tokenizer()
    tok2.chat_template = "<s> " + CHATML.replace("<|im_start|>", "").replace("<|im_end|>", "")
    j2 = Judge(model, tok2)
    pair2 = j2.encode(ex, 0)
    assert pair2.input_ids[0] == 1 and pair2.input_ids.count(1) == 1


def test_verdict_words_configurable(chat_tok):
    from g2r_lens import JudgeTemplate
    from g2r_lens.testing import tiny_model

    j = Judge(tiny_model(chat_tok, "llama", layers=1, hidden=32, heads=2), chat_tok,
              JudgeTemplate(verdict_words=("Yes", "No")))
    assert chat_tok.convert_ids_to_tokens([j.true_id, j.false_id]) == ["Yes", "No"]
    assert "Answer Yes or No" in j.render("p", "c", "r")
