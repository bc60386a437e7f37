"""Independent references written directly against the HF model (full forward, full logits)."""

import torch


def ids_of(judge, example, k):
    pair = judge.encode(example, k)
    return pair, torch.tensor([pair.input_ids])


def logp_true_full(judge, ids):
    with torch.no_grad():
        logits = judge.model(input_ids=ids).logits[0, -1].float()
    return torch.log_softmax(logits, -1)[judge.true_id]


def grad_wrt_embeddings(judge, ids):
    e = judge.model.get_input_embeddings()(ids).detach().requires_grad_(True)
    logits = judge.model(inputs_embeds=e).logits[0, -1].float()
    lp = torch.log_softmax(logits, -1)[judge.true_id]
    lp.backward()
    return e.grad[0], e.detach()[0]


def control_ids(tok):
    """Every added token marked special, and every named special token except unk: the ids that user
    text must never become (read from the tokenizer, not from g2r_lens.tokenize)."""
    ids = {int(i) for i, t in tok.added_tokens_decoder.items() if t.special}
    ids |= {int(i) for i in tok.all_special_ids}
    ids.discard(tok.unk_token_id)
    return ids
