from g2r_lens.runtime import offline_env

offline_env()  # before torch / transformers are imported

import pytest  # noqa: E402
import torch  # noqa: E402

from g2r_lens import Example, Judge  # noqa: E402
from g2r_lens.testing import DEMO_EXAMPLES, chat_bpe_tokenizer, gpt2_tokenizer, tiny_model  # noqa: E402

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def chat_tok():
    return chat_bpe_tokenizer()


@pytest.fixture(scope="session")
def gpt2_tok():
    return gpt2_tokenizer()


# (architecture, tokenizer): GPT-2 with the real GPT-2 BPE (plain template), Llama and Qwen2 with a
# chat-template BPE.
JUDGE_KINDS = [("gpt2", "gpt2"), ("llama", "chat"), ("qwen2", "chat")]


@pytest.fixture(scope="session")
def judges(chat_tok, gpt2_tok):
    toks = {"chat": chat_tok, "gpt2": gpt2_tok}
    return {(a, t): Judge(tiny_model(toks[t], a, layers=2, hidden=64, seed=1), toks[t], name=f"{a}-{t}")
            for a, t in JUDGE_KINDS}


@pytest.fixture(params=JUDGE_KINDS, ids=lambda k: f"{k[0]}-{k[1]}")
def judge(request, judges):
    return judges[request.param]


@pytest.fixture(scope="session")
def examples():
    extra = [
        Example("Say hello to Ana.", "Hello Ana! It is a sunny day, and the park is open until 6.",
                [{"criterion": "The response greets Ana.", "weight": 1.5},
                 {"criterion": "The response mentions the park.", "weight": 1},
                 {"criterion": "The response is rude.", "weight": -2},
                 {"criterion": "The response uses one sentence.", "weight": 0.5}], id="hello"),
        Example("List two fruits.", "Apples and pears.",
                [{"criterion": "The response lists two fruits.", "weight": 1}], id="short"),
    ]
    return [Example.from_dict(d) for d in DEMO_EXAMPLES] + extra
