"""attention_rows (attention.py, attention_simd.py) against float64 softmax attention on the
float16 cache: causal prompt rows and next-token rows of several sequences, for every way
query heads share key/value heads and head sizes with and without a generated values loop."""

from __future__ import annotations

import numpy as np
import pytest

from constrain.runtime.attention import KEY_BLOCK, attention_rows, store_rows


def reference(q, keys16, values16, slots, positions, n_head, n_kv_head, head_dim):
    """float64 attention of q's rows over the stored positions 0..positions[i] of slots[i]."""
    group = n_head // n_kv_head
    out = np.zeros_like(q, dtype=np.float64)
    for i, (slot, position) in enumerate(zip(slots, positions)):
        k = keys16[slot][:position + 1].astype(np.float64)
        v = values16[slot][:position + 1].astype(np.float64)
        for h in range(n_head):
            kv = (h // group) * head_dim
            scores = k[:, kv:kv + head_dim] @ q[i, h * head_dim:(h + 1) * head_dim] / np.sqrt(head_dim)
            weights = np.exp(scores - scores.max())
            out[i, h * head_dim:(h + 1) * head_dim] = (weights / weights.sum()) @ v[:, kv:kv + head_dim]
    return out


@pytest.mark.parametrize("n_head, n_kv_head, head_dim", [
    (4, 4, 64),  # no sharing (Llama-2): one head per call
    (9, 3, 64),  # SmolLM2: three per key/value head, a pair and a single
    (8, 1, 128),  # eight per key/value head, 128 dimensions
    (6, 2, 48),  # a head size without a generated values loop
    (3, 1, 33),  # an odd head size, in a pair and alone
])
@pytest.mark.parametrize("layout", ["prompt", "several sequences"])
def test_attention_rows_matches_float64_attention(n_head, n_kv_head, head_dim, layout):
    rng = np.random.default_rng(n_head * 100 + head_dim)
    n_slots, n_ctx, n_layer, layer = 3, 3 * KEY_BLOCK, 2, 1
    kv_dim = n_kv_head * head_dim
    keys = np.zeros((n_slots, n_layer, n_ctx // KEY_BLOCK, kv_dim, KEY_BLOCK), np.uint16)
    values = np.zeros((n_slots, n_layer, n_ctx, kv_dim), np.uint16)
    k = (rng.standard_normal((n_slots, n_ctx, kv_dim)) * 0.7).astype(np.float16)
    v = rng.standard_normal((n_slots, n_ctx, kv_dim)).astype(np.float16)
    for slot in range(n_slots):
        positions = np.arange(n_ctx, dtype=np.int64)
        store_rows(keys, values, layer, np.full(n_ctx, slot, np.int64), positions,
                   k[slot].astype(np.float32), v[slot].astype(np.float32))
    if layout == "prompt":  # one sequence's rows at consecutive positions, across a block edge
        positions = np.arange(KEY_BLOCK - 5, 2 * KEY_BLOCK + 7, dtype=np.int64)
        slots = np.full(len(positions), 1, np.int64)
    else:  # one row per sequence, each at its own length
        positions = np.array([0, n_ctx - 1, KEY_BLOCK], np.int64)
        slots = np.array([2, 0, 1], np.int64)
    q = rng.standard_normal((len(positions), n_head * head_dim)).astype(np.float32)
    out = np.full_like(q, np.nan)
    attention_rows(q, keys, values, layer, slots, positions, n_head, n_kv_head, head_dim, out)
    want = reference(q, k, v, slots, positions, n_head, n_kv_head, head_dim)
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=2e-5)
