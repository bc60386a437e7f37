"""The cached engine (prefix keys/values computed once, tails differentiated) equals the uncached one.

The reference here runs the whole sequence in one pass (``Judge.verdict_logprobs`` with full-sequence
``inputs_embeds``: no cache) and differentiates it w.r.t. the full input embeddings; integrated
gradients are re-integrated on that full path with the same quadrature. Llama, GPT-2 (real BPE,
absolute positions) and Qwen2 (chat template) judges; right and left padding; the default template
(criterion before the response) and the world's (rule after it: criteria share the prefix row).
"""

import pytest
import torch

from g2r_lens import Judge, JudgeTemplate
from g2r_lens.attribution import MethodContext, get_method
from g2r_lens.attribution.integrated import quadrature
from g2r_lens.testing import tiny_model

from conftest import JUDGE_KINDS

RULE_AFTER = JudgeTemplate(
    system="You check one rule of a rubric. Answer {true} or {false}.",
    user="Prompt: {prompt}\nResponse:\n{response}\nRule: {criterion}\nIs the rule met? Answer {true} or {false}.",
)
LAYOUTS = {"criterion_first": None, "rule_after": RULE_AFTER}
REL = 1e-5


def _judge(kind, layout, side, chat_tok, gpt2_tok):
    arch, tk = kind
    tok = chat_tok if tk == "chat" else gpt2_tok
    return Judge(tiny_model(tok, arch, layers=2, hidden=64, seed=3), tok, LAYOUTS[layout], padding_side=side)


_BUILT: dict = {}


@pytest.fixture(params=[(k, lay, side) for k in JUDGE_KINDS for lay in LAYOUTS for side in ("right", "left")],
                ids=lambda p: f"{p[0][0]}-{p[1]}-{p[2]}")
def setup(request, chat_tok, gpt2_tok, examples):
    if request.param not in _BUILT:
        kind, layout, side = request.param
        judge = _judge(kind, layout, side, chat_tok, gpt2_tok)
        exs = [examples[0], examples[3]]  # 3 + 1 criteria, responses of different lengths: padding in both segments
        _BUILT[request.param] = judge, judge.collate([judge.encode(ex, k) for ex in exs for k in range(len(ex.rubric))])
    return _BUILT[request.param]


def _close(a, b):
    assert a.shape == b.shape
    assert torch.isfinite(a).all() and torch.isfinite(b).all()
    err = (a - b).abs().max().item()
    assert err <= REL * b.abs().max().item() + 1e-12, (err, b.abs().max().item())


def _full_grad(judge, batch, e):
    """d log p(True) / d e on the uncached full-sequence path; returns (g, log p(True))."""
    e = e.detach().requires_grad_(True)
    lt = judge.verdict_logprobs(batch, inputs_embeds=e)[0]
    (g,) = torch.autograd.grad(lt.sum(), e)
    return g, lt.detach()


def _rows(full, batch):
    return [full[i, s:t] for i, (s, t) in enumerate(batch.resp_slices)]


def _run(judge, batch, method, **params):
    spec = get_method(method)
    return spec.fn(MethodContext(judge, batch), **{**spec.defaults, **params})


def test_layout_really_splits_and_shares(setup):
    judge, batch = setup
    sp = batch.split
    assert sp.ids.shape[1] < batch.input_ids.shape[1]  # the tail is shorter than the sequence
    n_prefixes = len({tuple(p.input_ids[:p.resp_start]) for p in batch.pairs})
    assert sp.rest_ids.shape[0] == n_prefixes
    distinct_tokens = sum(len(k) for k in {tuple(p.input_ids[:p.resp_start]) for p in batch.pairs})
    run_tokens = int(sp.trunk_mask.sum() + sp.rest_mask.sum())
    assert run_tokens <= distinct_tokens
    if judge.template is RULE_AFTER:
        assert n_prefixes == 2  # one prefix per example, shared by its criteria
    else:
        assert n_prefixes == len(batch)
        assert run_tokens < distinct_tokens  # the criteria's prefixes share a trunk: fewer tokens run


def test_verdicts_equal_uncached(setup):
    judge, batch = setup
    with torch.no_grad():
        cached = judge.verdict_logprobs(batch)
        full = judge.verdict_logprobs(batch, inputs_embeds=judge.embed(batch.input_ids))
    _close(cached[0], full[0])
    _close(cached[1], full[1])


def test_gradient_methods_equal_uncached(setup):
    judge, batch = setup
    e = judge.embed(batch.input_ids).detach()
    g, _ = _full_grad(judge, batch, e)
    g, e = g.float(), e.float()
    for method, reduce in [("grad_x_input", lambda: (g * e).sum(-1)), ("grad_l1", lambda: g.abs().sum(-1)),
                           ("grad_l2", lambda: g.norm(dim=-1))]:
        for row, r in zip(_run(judge, batch, method), _rows(reduce(), batch)):
            _close(row.scores, r)


def test_integrated_gradients_equal_uncached(setup):
    judge, batch = setup
    n = 4
    rows = _run(judge, batch, "integrated_gradients", n_steps=n, baseline="neutral", internal_batch_size=5)
    e = judge.embed(batch.input_ids).detach()
    base = e.clone()
    for i, (s, t) in enumerate(batch.resp_slices):
        base[i, s:t] = judge.embed(torch.tensor([judge.neutral_id]))[0]
    alphas, weights = quadrature(n, "gausslegendre")
    avg = torch.zeros_like(e)
    for a, w in zip(alphas, weights):
        g, _ = _full_grad(judge, batch, base + float(a) * (e - base))
        avg += float(w) * g
    ref = _rows(((e - base) * avg).sum(-1), batch)
    with torch.no_grad():
        gap = (judge.verdict_logprobs(batch, inputs_embeds=e)[0] - judge.verdict_logprobs(batch, inputs_embeds=base)[0])
    for i, (row, r) in enumerate(zip(rows, ref)):
        _close(row.scores, r)
        assert abs(row.info["ig_logp_gap"] - float(gap[i])) < 1e-5  # a difference of log-probabilities


def test_leave_one_out_equals_uncached(setup):
    judge, batch = setup
    rows = _run(judge, batch, "leave_one_out", internal_batch_size=16)
    with torch.no_grad():
        base = judge.verdict_logprobs(batch, inputs_embeds=judge.embed(batch.input_ids))[0]
        for i, (s, t) in [(0, batch.resp_slices[0]), (3, batch.resp_slices[3])]:
            ref = []
            for p in range(s, t):
                ids = batch.input_ids.clone()
                ids[i, p] = judge.neutral_id
                ref.append(base[i] - judge.verdict_logprobs(batch, inputs_embeds=judge.embed(ids))[0][i])
            # differences of two log-probabilities near -8: float32 resolution there is ~1e-6 absolute
            assert (rows[i].scores - torch.stack(ref)).abs().max().item() < 1e-5


def test_last_layer_mlp_runs_at_the_verdict_position_only(setup):
    """The cached path runs the last layer's MLP on one row per pair (Llama, Qwen2 and GPT-2 all
    qualify), and the values equal the cached path with the whole last layer (and, above, the
    uncached reference)."""
    judge, batch = setup
    assert judge._last_mlp is not None
    sp, d = batch.split, judge.model.config.hidden_size
    seen = []
    handle = judge._last_mlp.register_forward_hook(lambda m, a, o: seen.append(tuple(a[0].shape)))
    try:
        with torch.no_grad():
            kv = judge.prefix_kv(batch)
            short = judge.tail_logprobs(batch, kv=kv)
    finally:
        handle.remove()
    passes = [t for t in (sp.trunk_ids, sp.rest_ids) if t.shape[1]]  # the prefix passes: one row each too
    assert seen == [(t.shape[0], 1, d) for t in passes] + [(len(batch), 1, d)]
    mlp, judge._last_mlp = judge._last_mlp, None
    try:
        seen.clear()
        handle = mlp.register_forward_hook(lambda m, a, o: seen.append(tuple(a[0].shape)))
        with torch.no_grad():
            kv_whole = judge.prefix_kv(batch)
            whole = judge.tail_logprobs(batch, kv=kv_whole)
        handle.remove()
        assert seen == [tuple(t.shape) + (d,) for t in passes] + [(len(batch), sp.ids.shape[1], d)]
        e = judge.embed(sp.ids).detach().requires_grad_(True)
        (g_whole,) = torch.autograd.grad(judge.tail_logprobs(batch, e, kv=kv_whole)[0].sum(), e)
    finally:
        judge._last_mlp = mlp
    for (k, v), (kw, vw) in zip(kv, kv_whole):  # every layer's keys/values of the prefix are unchanged
        assert torch.equal(k, kw) and torch.equal(v, vw)
    _close(short[0], whole[0])
    _close(short[1], whole[1])
    e = judge.embed(sp.ids).detach().requires_grad_(True)
    (g_short,) = torch.autograd.grad(judge.tail_logprobs(batch, e, kv=kv)[0].sum(), e)
    _close(g_short, g_whole)


def test_gradient_checkpointing_keeps_the_prefix(chat_tok, examples):
    """Checkpointed layers keep the (read-only) prefix cache and give the same gradients."""
    plain = Judge(tiny_model(chat_tok, "llama", layers=2, hidden=64, seed=5), chat_tok)
    ckpt = Judge(tiny_model(chat_tok, "llama", layers=2, hidden=64, seed=5), chat_tok, gradient_checkpointing=True)
    assert plain._last_mlp is not None and ckpt._last_mlp is None  # the backward recomputes checkpointed layers
    pairs = [plain.encode(examples[0], k) for k in range(3)]
    a = _run(plain, plain.collate(pairs), "grad_x_input")
    b = _run(ckpt, ckpt.collate(pairs), "grad_x_input")
    for x, y in zip(a, b):
        _close(y.scores, x.scores)


def test_registration_declares_capabilities_and_refuses_duplicates():
    from g2r_lens.attribution import REGISTRY, register
    from g2r_lens.errors import DuplicateNameError, G2RError

    assert REGISTRY.capabilities("grad_x_input")["needs"] == "input_gradients"
    assert REGISTRY.capabilities("integrated_gradients") == {"needs": "gradients", "cheap": False}
    with pytest.raises(DuplicateNameError, match="grad_x_input"):
        register("grad_x_input", "input_gradients")(lambda ctx: [])
    with pytest.raises(G2RError, match="needs="):
        register("_new_method", "family-string")(lambda ctx: [])
    assert "_new_method" not in REGISTRY


def test_encoding_memo_is_invisible(chat_tok, gpt2_tok, examples):
    """Tokenization is memoised per judge (the criteria of an example share the response, every pair
    the template): encodings equal a fresh judge's, and changing a returned pair changes no later one."""
    for tok in (chat_tok, gpt2_tok):
        judge = Judge(tiny_model(tok, "llama", layers=1, hidden=32, seed=0), tok)
        first = [judge.encode(ex, k) for ex in examples for k in range(len(ex.rubric))]
        for p in first:  # a caller that edits its pairs in place
            p.input_ids.append(0)
            p.response_offsets.append((0, 0))
            p.response_tokens.append("x")
        again = [judge.encode(ex, k) for ex in examples for k in range(len(ex.rubric))]
        fresh = Judge(judge.model, tok)
        ref = [fresh.encode(ex, k) for ex in examples for k in range(len(ex.rubric))]
        assert judge._tok_memo and again == ref
