"""Character spans <-> token spans, and projection of token rewards across tokenizers.

Offsets are half-open character intervals ``(start, end)`` into one string (the response).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

Offsets = Sequence[tuple[int, int]]


def char_span_to_token_span(offsets: Offsets, start: int, end: int) -> tuple[int, int]:
    """Indices ``[i, j)`` of the tokens that overlap the character span ``[start, end)``.

    A token that straddles a boundary is included (it carries some of the span's characters).
    Returns an empty span ``(i, i)`` when no token overlaps.
    """
    hits = [i for i, (s, e) in enumerate(offsets) if s < end and e > start and e > s]
    if not hits:
        i = next((k for k, (s, _) in enumerate(offsets) if s >= start), len(offsets))
        return i, i
    return hits[0], hits[-1] + 1


def token_mask_for_char_spans(offsets: Offsets, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """Boolean mask over tokens: True where a token overlaps any of the character spans."""
    mask = np.zeros(len(offsets), dtype=bool)
    for a, b in spans:
        for i, (s, e) in enumerate(offsets):
            if s < b and e > a and e > s:
                mask[i] = True
    return mask


def overlap_matrix(src: Offsets, dst: Offsets) -> np.ndarray:
    """``M[i, j]`` = number of characters shared by source token i and destination token j."""
    s = np.asarray(src, dtype=np.int64).reshape(-1, 2)
    d = np.asarray(dst, dtype=np.int64).reshape(-1, 2)
    lo = np.maximum(s[:, None, 0], d[None, :, 0])
    hi = np.minimum(s[:, None, 1], d[None, :, 1])
    return np.clip(hi - lo, 0, None).astype(np.float64)


def project_rewards(values: Sequence[float], src_offsets: Offsets, dst_offsets: Offsets) -> np.ndarray:
    """Move per-token values from one tokenization of a text onto another, conserving the sum.

    Each source token's value is split over the destination tokens in proportion to the characters
    they share. A source token that shares no character with any destination token (for example a
    whitespace token that the other tokenizer folds into no token, or an empty-span special token)
    gives its value to the destination token nearest to it, so that ``sum(out) == sum(values)``
    always holds (up to float rounding).
    """
    v = np.asarray(values, dtype=np.float64)
    if len(v) != len(src_offsets):
        raise ValueError(f"{len(v)} values for {len(src_offsets)} source tokens")
    n_dst = len(dst_offsets)
    if n_dst == 0:
        if len(v) and np.any(v != 0):
            raise ValueError("cannot project non-zero rewards onto an empty tokenization")
        return np.zeros(0)
    m = overlap_matrix(src_offsets, dst_offsets)
    row = m.sum(1)
    out = np.zeros(n_dst)
    covered = row > 0
    if covered.any():
        out += (v[covered, None] * m[covered] / row[covered, None]).sum(0)
    if (~covered).any():
        d = np.asarray(dst_offsets, dtype=np.float64).reshape(-1, 2)
        centres = d.mean(1)
        for i in np.nonzero(~covered)[0]:
            c = (src_offsets[i][0] + src_offsets[i][1]) / 2.0
            out[int(np.argmin(np.abs(centres - c)))] += v[i]
    return out
