"""runtime: the offline environment, device and dtype resolution; the package root imports lazily."""

import subprocess
import sys

import pytest
import torch

from g2r_lens.errors import G2RError
from g2r_lens.runtime import OFFLINE_ENV, offline_env, resolve_device, resolve_dtype


def test_offline_env_sets_missing_and_keeps_given():
    env = {"HF_HUB_OFFLINE": "0", "PATH": "/bin"}
    assert offline_env(env) is env
    assert env == {"HF_HUB_OFFLINE": "0", "PATH": "/bin", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                   "TOKENIZERS_PARALLELISM": "false"}
    assert set(OFFLINE_ENV) == {"HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "TOKENIZERS_PARALLELISM"}


def test_resolve_device_and_dtype():
    assert resolve_device("cpu") == torch.device("cpu") and resolve_device(torch.device("cpu")).type == "cpu"
    auto = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device() == auto and resolve_device("auto") == auto
    assert resolve_dtype("auto", "cpu") is torch.float32
    assert resolve_dtype(None, torch.device("cpu")) is torch.float32
    assert resolve_dtype("bf16") is torch.bfloat16 and resolve_dtype("fp16") is torch.float16
    assert resolve_dtype("float32") is torch.float32 and resolve_dtype(torch.float64) is torch.float64
    with pytest.raises(G2RError, match="unknown dtype 'float8'"):
        resolve_dtype("float8")


def test_light_modules_do_not_import_torch():
    code = ("import sys, g2r_lens.runtime, g2r_lens.errors, g2r_lens.registry; "
            "print('torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
    # the package root's names still resolve (lazily)
    import g2r_lens

    assert g2r_lens.sparse_reward([2.0, -1.0], [True, True]) == pytest.approx(0.5)
    assert "Judge" in dir(g2r_lens)
    with pytest.raises(AttributeError):
        g2r_lens.no_such_name  # noqa: B018
