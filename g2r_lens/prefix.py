"""Prefix caching: the judge prompt's tokens before the response run once, without gradient.

Every attribution method explains ``log p(True)`` as a function of the *response* embeddings only;
the tokens before the response (system text, task prompt and, with the default template, the
criterion) are constants. So each batch is split into

- the **prefix** (tokens before the response), run once per distinct prefix under ``torch.no_grad``
  to get its key/value states; rows with identical prefixes (the criteria of one example when the
  template puts the criterion after the response) share one prefix row, and prefixes that share
  their start (the system text and task prompt before each criterion, default template) share a
  **trunk** that runs once, each prefix's rest running on the trunk's cache;
- the **tail** (response tokens and the rest of the prompt up to the verdict position), run with
  the prefix's keys/values as a read-only cache, for the verdict-and-gradient pass and for every
  integrated-gradients step.

Layout. Both segments are padded on the judge's padding side; the attention mask of a tail pass is
``[prefix mask | tail mask]`` and the position ids are explicit (prefix ``0..p-1``, tail ``p..``), so
the masked holes between a short row's prefix and its tail never shift a position. Causality comes
from columns: the tail's columns follow every prefix column.

The cache layers are read-only (:class:`_PrefixLayer`): ``update`` returns ``[prefix | new]``
without storing it, so one prefix serves any number of passes, and a checkpointed layer's
recomputation in the backward pass reads the same states (this is why the judge may tell
gradient-checkpointed layers to keep the cache).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
from transformers.cache_utils import DynamicCache, DynamicLayer


@dataclass
class Split:
    """A batch in the cached layout: trunks, distinct prefixes, and per-row tails from the response on.

    A distinct prefix is its group's trunk (the tokens it shares with the other prefixes of its group,
    e.g. the system text and task prompt before each criterion) followed by its own remainder.
    """

    trunk_ids: torch.Tensor  # [G, Pt] one trunk per group of prefixes
    trunk_mask: torch.Tensor  # [G, Pt]
    trunk_pos: torch.Tensor  # [G, Pt]
    trunk_row: torch.Tensor  # [Bp] group of each distinct prefix
    rest_ids: torch.Tensor  # [Bp, Pr] each distinct prefix after its trunk
    rest_mask: torch.Tensor  # [Bp, Pr]
    rest_pos: torch.Tensor  # [Bp, Pr]
    prefix_mask: torch.Tensor  # [Bp, Pt + Pr] = [trunk mask | rest mask]: the keys a tail sees before its own
    prefix_row: torch.Tensor  # [B] distinct prefix of each tail
    ids: torch.Tensor  # [B, T] tail ids (response, then the rest up to the verdict position)
    mask: torch.Tensor  # [B, T]
    pos: torch.Tensor  # [B, T]
    verdict_pos: torch.Tensor  # [B] verdict position in tail coordinates
    resp_slices: list[tuple[int, int]]  # response span of each row in tail coordinates

    def __len__(self) -> int:
        return self.ids.shape[0]


def _pad(rows: Sequence[list[int]], width: int, pad_id: int, side: str, start: Sequence[int] | None = None):
    B = len(rows)
    ids = torch.full((B, width), pad_id, dtype=torch.long)
    mask = torch.zeros((B, width), dtype=torch.long)
    pos = torch.zeros((B, width), dtype=torch.long)
    offs = []
    for i, r in enumerate(rows):
        n = len(r)
        off = width - n if side == "left" else 0
        if n:
            ids[i, off:off + n] = torch.tensor(r)
            mask[i, off:off + n] = 1
            pos[i, off:off + n] = torch.arange(n) + (start[i] if start is not None else 0)
        offs.append(off)
    return ids, mask, pos, offs


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _trunks(prefixes: list[tuple[int, ...]]) -> tuple[list[int], list[int]]:
    """Group prefixes by a shared start; return each prefix's group and each group's trunk length.

    Prefixes are visited in sorted order; one joins the current group when the tokens it saves (the
    common start, computed once instead of again) outweigh the tokens its joining moves from the
    trunk into the rests of the members already there.
    """
    order = sorted(range(len(prefixes)), key=lambda i: prefixes[i])
    group = [0] * len(prefixes)
    trunk_len: list[int] = []
    head, members = None, 0
    for i in order:
        p = prefixes[i]
        if head is not None:
            n = min(_common(prefixes[head], p), trunk_len[-1])
            if n > 0 and n >= (trunk_len[-1] - n) * members:
                trunk_len[-1], members = n, members + 1
                group[i] = len(trunk_len) - 1
                continue
        head, members = i, 1
        trunk_len.append(len(p))
        group[i] = len(trunk_len) - 1
    return group, trunk_len


def split_layout(pairs: Sequence[Any], pad_id: int, side: str, device: torch.device) -> Split:
    """The cached layout of encoded pairs (``input_ids``, ``resp_start``, ``resp_end``)."""
    prefixes: dict[tuple[int, ...], int] = {}
    prow = []
    for p in pairs:
        key = tuple(p.input_ids[:p.resp_start])
        prow.append(prefixes.setdefault(key, len(prefixes)))
    plist = list(prefixes)
    group, tlen = _trunks(plist)
    first = {g: i for i, g in reversed(list(enumerate(group)))}
    trunks = [list(plist[first[g]][:n]) for g, n in enumerate(tlen)]
    rests = [list(p[tlen[g]:]) for p, g in zip(plist, group)]
    tids, tmask, tpos, _ = _pad(trunks, max(tlen), pad_id, side)
    rids, rmask, rpos, _ = _pad(rests, max(len(r) for r in rests), pad_id, side, start=[tlen[g] for g in group])
    trow = torch.tensor(group)
    tails = [p.input_ids[p.resp_start:] for p in pairs]
    T = max(len(t) for t in tails)
    ids_, mask_, pos_, offs = _pad(tails, T, pad_id, side, start=[p.resp_start for p in pairs])
    vpos = [off + len(t) - 1 for off, t in zip(offs, tails)]
    slices = [(off, off + p.resp_end - p.resp_start) for off, p in zip(offs, pairs)]
    to = lambda t: t.to(device)  # noqa: E731
    return Split(to(tids), to(tmask), to(tpos), to(trow), to(rids), to(rmask), to(rpos),
                 to(torch.cat([tmask[trow], rmask], dim=1)), to(torch.tensor(prow)),
                 to(ids_), to(mask_), to(pos_), to(torch.tensor(vpos)), slices)


class _PrefixLayer(DynamicLayer):
    """A read-only cache layer: ``update`` returns ``[prefix | new]`` and stores nothing."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        super().__init__()
        self.keys, self.values = keys, values
        self.device = keys.device
        self.is_initialized = True

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any):
        return (torch.cat([self.keys, key_states], dim=-2), torch.cat([self.values, value_states], dim=-2))


KV = list[tuple[torch.Tensor, torch.Tensor]]


def run_prefix(base: torch.nn.Module, split: Split) -> KV | None:
    """Key/value states of every distinct prefix, without gradient: the trunks once, then each
    prefix's rest on its trunk's cache (None when all prefixes are empty)."""
    sp = split
    if sp.prefix_mask.shape[1] == 0:
        return None
    kv = None
    with torch.no_grad():
        if sp.trunk_ids.shape[1]:
            cache = DynamicCache(config=base.config)
            base(input_ids=sp.trunk_ids, attention_mask=sp.trunk_mask, position_ids=sp.trunk_pos,
                 cache=cache, use_cache=True)
            kv = [(layer.keys[sp.trunk_row], layer.values[sp.trunk_row]) for layer in cache.layers]
        if sp.rest_ids.shape[1]:
            cache = DynamicCache(ddp_cache_data=kv) if kv is not None else DynamicCache(config=base.config)
            base(input_ids=sp.rest_ids, attention_mask=sp.prefix_mask, position_ids=sp.rest_pos,
                 cache=cache, use_cache=True)
            kv = [(layer.keys, layer.values) for layer in cache.layers]
    return kv


def prefix_cache(kv: KV | None, prefix_rows: torch.Tensor) -> DynamicCache | None:
    """A read-only cache holding the prefixes of ``prefix_rows`` (one per tail row)."""
    if kv is None:
        return None
    cache = DynamicCache()
    same = prefix_rows.numel() == kv[0][0].shape[0] and bool(
        (prefix_rows == torch.arange(prefix_rows.numel(), device=prefix_rows.device)).all())
    cache.layers = [_PrefixLayer(k, v) if same else _PrefixLayer(k[prefix_rows], v[prefix_rows]) for k, v in kv]
    cache.layer_class_to_replicate = None
    return cache
