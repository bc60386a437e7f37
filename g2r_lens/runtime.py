"""Where and how the code runs: the offline environment, the device and the dtype.

This module imports nothing heavy at import time (torch is imported inside the functions), so
scripts, tests and the explorer can call :func:`offline_env` *before* importing transformers or
huggingface_hub (which read these variables when they are imported)::

    from g2r_lens.runtime import offline_env
    offline_env()   # HF_HUB_OFFLINE=1, HF_DATASETS_OFFLINE=1, TRANSFORMERS_OFFLINE=1, TOKENIZERS_PARALLELISM=false
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, MutableMapping

from .errors import G2RError

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["OFFLINE_ENV", "offline_env", "resolve_device", "resolve_dtype"]

#: the environment of an offline run: no hub access, quiet tokenizers
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
}

_DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16",
           "float16": "float16", "fp16": "float16"}


def offline_env(env: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """Set every :data:`OFFLINE_ENV` variable that ``env`` (default ``os.environ``) does not set yet.

    Values already set are kept (``setdefault``), so a user can still opt in to the hub. Returns ``env``.
    """
    env = os.environ if env is None else env
    for key, value in OFFLINE_ENV.items():
        env.setdefault(key, value)
    return env


def resolve_device(device: Any = None) -> "torch.device":
    """``None``/``"auto"``: CUDA when available, else CPU; anything else: ``torch.device(device)``."""
    import torch

    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_dtype(dtype: Any, device: Any = None) -> "torch.dtype":
    """``None``/``"auto"``: bfloat16 on CUDA, float32 elsewhere; a name (``float32``, ``bf16``...) or a
    ``torch.dtype`` otherwise. An unknown name raises :class:`G2RError` (a ``ValueError``)."""
    import torch

    if dtype in (None, "auto"):
        return torch.bfloat16 if resolve_device(device).type == "cuda" else torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in _DTYPES:
        raise G2RError(f"unknown dtype {dtype!r}; use one of {sorted(_DTYPES)}")
    return getattr(torch, _DTYPES[dtype])
