"""benchmarks/criterion_sharing.py: its shared-response path computes the engine's gradients."""

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import criterion_sharing as CS  # noqa: E402

from g2r_lens.core import _batches, _encode_pairs  # noqa: E402
from g2r_lens.world.bundle import load_judge, world_examples  # noqa: E402


@pytest.mark.parametrize("side", ["right", "left"])
def test_shared_response_pass_equals_engine(side):
    judge = load_judge("external", device="cpu", dtype="float32", padding_side=side)
    judge.model.double()  # float64: a real difference is not hidden in rounding
    exs = world_examples("test", n=6, seed=3)
    pairs = _encode_pairs(judge, exs)
    chunks = [[pairs[j][2] for j in c] for c in _batches(pairs, 8)]
    assert any(len({tuple(p.input_ids[:p.resp_end]) for p in c}) > 1 for c in chunks)  # several stems a batch
    n = 0
    for c in chunks:
        for x, y in zip(CS.engine_gxi(judge, c), CS.shared_gxi(judge, c), strict=True):
            assert x.shape == y.shape
            torch.testing.assert_close(y, x, rtol=1e-9, atol=1e-12 * float(x.abs().max()))
            n += 1
    assert n == len(pairs)
