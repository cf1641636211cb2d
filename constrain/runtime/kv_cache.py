"""Keys and values of every evaluated position, per layer, for one or several sequences.

Keys are stored in attention.py's blocked, transposed layout, both as float16 bits. The arrays live in their
own anonymous memory map, so pages of positions never reached are never touched and do
not count against memory: np.zeros would ask for transparent huge pages on arrays this
big, and then writing the first position of each layer commits 2 MiB per layer.
"""

from __future__ import annotations

import mmap

import numpy as np

from constrain.errors import ContextOverflowError, ContextSizeError
from constrain.runtime.attention import KEY_BLOCK
from constrain.runtime.hparams import MAX_CONTEXT, LlamaHParams


class KVSlots:
    """Keys and values of `n_slots` independent sequences of up to n_ctx positions each:
    keys (n_slots, n_layer, n_blocks, kv_dim, KEY_BLOCK), values (n_slots, n_layer,
    n_blocks * KEY_BLOCK, kv_dim). A slot's pages are committed only as it is written."""

    def __init__(self, hp: LlamaHParams, n_ctx: int, n_slots: int = 1):
        if n_ctx <= 0:
            raise ValueError(f"n_ctx must be positive, got {n_ctx}")
        if n_ctx > MAX_CONTEXT:
            raise ContextSizeError(f"n_ctx = {n_ctx} is more than the {MAX_CONTEXT} positions constrain indexes")
        if n_slots <= 0:
            raise ValueError(f"the number of sequences must be positive, got {n_slots}")
        self.n_ctx = n_ctx
        n_blocks = -(-n_ctx // KEY_BLOCK)
        try:
            self.keys = _lazy_zeros((n_slots, hp.n_layer, n_blocks, hp.kv_dim, KEY_BLOCK))
            self.values = _lazy_zeros((n_slots, hp.n_layer, n_blocks * KEY_BLOCK, hp.kv_dim))
        except OSError as exc:  # the address space cannot hold the map
            gib = n_slots * 2 * 2 * hp.n_layer * n_blocks * KEY_BLOCK * hp.kv_dim / 2**30
            raise ContextSizeError(
                f"n_ctx = {n_ctx} for {n_slots} sequence(s) needs a KV cache of {gib:.1f} GiB, which cannot be "
                f"reserved ({exc.strerror})"
            ) from None
        self.caches = [KVCache(self, slot) for slot in range(n_slots)]


class KVCache:
    """One sequence's slot of a KVSlots: keys (n_layer, ...) and values of that slot."""

    def __init__(self, slots: KVSlots, slot: int):
        self.slot = slot
        self.n_ctx = slots.n_ctx
        self.keys = slots.keys[slot]
        self.values = slots.values[slot]
        self.n_tokens = 0  # positions 0..n_tokens-1 hold valid entries

    def check_room(self, n_new: int) -> None:
        if self.n_tokens + n_new > self.n_ctx:
            raise ContextOverflowError(
                f"context window of {self.n_ctx} tokens exceeded: {self.n_tokens} already evaluated, "
                f"{n_new} more requested (raise n_ctx)"
            )

    def rewind(self, n_keep: int) -> None:
        """Forget every position from n_keep on (the entries are simply overwritten later)."""
        if not 0 <= n_keep <= self.n_tokens:
            raise ValueError(f"cannot keep {n_keep} tokens of a cache holding {self.n_tokens}")
        self.n_tokens = n_keep


def _lazy_zeros(shape: tuple[int, ...]) -> np.ndarray:
    """A zero uint16 array in a private anonymous map: pages are committed when written."""
    count = int(np.prod(shape))
    flags = getattr(mmap, "MAP_PRIVATE", 0) | getattr(mmap, "MAP_ANONYMOUS", 0)
    if not flags:  # no such flags (Windows): numpy's allocation is fine there
        return np.zeros(shape, np.uint16)
    buffer = mmap.mmap(-1, max(count * 2, 1), flags=flags)
    return np.frombuffer(buffer, np.uint16, count=count).reshape(shape)
