import numpy as np
import pytest

from g2r_lens.spans import char_span_to_token_span, project_rewards, token_mask_for_char_spans


def _offsets(tok, text):
    return [tuple(o) for o in tok(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]]


TEXT = "Hi Maya, the picnic is on Friday. Seven people are coming; bring unbelievably tasty bread."


def test_projection_conserves_sum_and_lands_on_the_right_characters(chat_tok, gpt2_tok):
    src, dst = _offsets(chat_tok, TEXT), _offsets(gpt2_tok, TEXT)
    assert src != dst  # the two tokenizers really differ on this text
    rng = np.random.default_rng(0)
    v = rng.normal(size=len(src))
    out = project_rewards(v, src, dst)
    assert out.sum() == pytest.approx(v.sum(), abs=1e-12)
    # all reward on the characters of "unbelievably" lands on the tokens covering those characters
    s = TEXT.index("unbelievably")
    e = s + len("unbelievably")
    mask_src = token_mask_for_char_spans(src, [(s, e)])
    v2 = np.zeros(len(src))
    # put 1.0 on source tokens fully inside the word
    inside = [i for i, (a, b) in enumerate(src) if a >= s and b <= e and b > a]
    assert inside and mask_src[inside].all()
    v2[inside] = 1.0
    out2 = project_rewards(v2, src, dst)
    mask_dst = token_mask_for_char_spans(dst, [(s, e)])
    assert out2[~mask_dst].sum() == pytest.approx(0.0, abs=1e-12)
    assert out2[mask_dst].sum() == pytest.approx(len(inside))


def test_projection_proportional_to_overlap():
    # one source token over 6 chars split into dest tokens of 2 and 4 chars
    out = project_rewards([3.0], [(0, 6)], [(0, 2), (2, 6)])
    assert out.tolist() == pytest.approx([1.0, 2.0])


def test_projection_uncovered_token_goes_to_nearest():
    out = project_rewards([1.0, 2.0], [(0, 3), (10, 11)], [(0, 3), (4, 8)])
    assert out.tolist() == pytest.approx([1.0, 2.0])
    assert out.sum() == pytest.approx(3.0)


def test_char_span_to_token_span_straddling():
    offsets = [(0, 2), (2, 7), (7, 8), (8, 12)]
    assert char_span_to_token_span(offsets, 3, 9) == (1, 4)  # straddling tokens are included
    assert char_span_to_token_span(offsets, 2, 7) == (1, 2)
    assert char_span_to_token_span(offsets, 20, 25) == (4, 4)
