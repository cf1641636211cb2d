"""Keys and values of every evaluated position, per layer.

Allocated with np.zeros, so pages of positions never reached are never touched and do
not count against memory.
"""

from __future__ import annotations

import numpy as np

from constrain.errors import ContextOverflowError
from constrain.runtime.hparams import LlamaHParams


class KVCache:
    def __init__(self, hp: LlamaHParams, n_ctx: int):
        if n_ctx <= 0:
            raise ValueError(f"n_ctx must be positive, got {n_ctx}")
        self.n_ctx = n_ctx
        self.keys = np.zeros((hp.n_layer, n_ctx, hp.kv_dim), dtype=np.float32)
        self.values = np.zeros((hp.n_layer, n_ctx, hp.kv_dim), dtype=np.float32)
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
