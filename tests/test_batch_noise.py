"""benchmarks/batch_noise.py: batching changes dense rewards only by fp32 noise."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import batch_noise  # noqa: E402

from g2r_lens.world.bundle import have_models  # noqa: E402


@pytest.mark.skipif(not have_models(), reason="bundled world checkpoints missing")
def test_chunked_attribution_matches_whole_up_to_fp32_noise():
    worst = batch_noise.main(["--n", "6", "--chunk", "2"])
    assert 0.0 <= worst["reward_diff"] < 1e-4
    if "example" in worst:
        assert 0.0 < worst["p_true"] <= 1.0 and worst["max_abs_score"] > 0


def test_bad_sizes_are_refused():
    with pytest.raises(SystemExit, match=">= 1"):
        batch_noise.main(["--chunk", "0"])
