"""Grouped-query attention over the KV cache, with keys laid out for vectorized scores.

A query's scores are dot products with every cached key. Done key by key, each is a
64-long reduction: a serial chain of adds that kept a 200-token prompt's attention at half
its evaluation time. So the cache stores keys transposed in blocks of KEY_BLOCK positions,
(n_blocks, kv_dim, KEY_BLOCK) per layer, and the scores are accumulated one dimension at a
time across a block of positions (SIMD across positions). Blocks rather than a full
transpose so that writing one position touches one block's pages, not the whole layer's.
Values stay (n_ctx, kv_dim): the weighted sum is SIMD across dimensions already.

Both are stored as IEEE half floats (their uint16 bits), as llama.cpp stores them: half
the memory of float32, which is most of a long context's footprint, and the conversion
is one vector instruction (F16C) inside the loops.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from constrain.runtime.ops import exp_f32
from constrain.runtime.quants.bits import f16_to_f32, f32_to_f16

KEY_BLOCK = 64
U = np.uint64  # unsigned indices: no negative-index wraparound to block vectorizing


@njit(inline="always", cache=True)
def attend(q, q0, keys, values, kv0, head_dim, n_keys, scale, scores, out, o0):
    """out[o0:o0+head_dim] = softmax(scale * q.K) V for the head at q[q0:q0+head_dim]
    over positions 0..n_keys-1 of one layer's keys (blocked) and values (n_ctx, kv_dim)."""
    n = U(n_keys)
    for p in range(n):
        scores[p] = np.float32(0.0)
    for blk in range(U((n_keys + KEY_BLOCK - 1) // KEY_BLOCK)):
        p0 = blk * U(KEY_BLOCK)
        width = min(U(KEY_BLOCK), n - p0)
        for d in range(U(head_dim)):
            qd = q[U(q0) + d] * scale
            row = keys[blk, U(kv0) + d]
            for p in range(width):
                scores[p0 + p] += qd * f16_to_f32(row[p])
    best = np.float32(-np.inf)
    for p in range(n):
        best = max(best, scores[p])
    for p in range(n):
        scores[p] = exp_f32(scores[p] - best)
    total = np.float32(0.0)
    for p in range(n):
        total += scores[p]
    inv_total = np.float32(1.0) / total
    for d in range(U(head_dim)):
        out[U(o0) + d] = np.float32(0.0)
    for p in range(n):
        w = scores[p] * inv_total
        row = values[p]
        for d in range(U(head_dim)):
            out[U(o0) + d] += w * f16_to_f32(row[U(kv0) + d])


@njit(inline="always", cache=True)
def store_position(keys, values, k, v, p):
    """Write one position's key and value (kv_dim,) into one layer's cache, as float16."""
    blk, slot = p // KEY_BLOCK, p % KEY_BLOCK
    for j in range(k.shape[0]):
        keys[blk, j, slot] = f32_to_f16(k[j])
        values[p, j] = f32_to_f16(v[j])


@njit(cache=True)
def store_rows(keys, values, layer, slots, positions, k, v):
    """Write row i's key and value (rows of k, v: (n, kv_dim)) at position positions[i] of
    sequence slots[i], layer `layer` (keys/values: kv_cache.KVSlots' arrays)."""
    for i in range(k.shape[0]):
        store_position(keys[slots[i], layer], values[slots[i], layer], k[i], v[i], positions[i])


@njit(cache=True, fastmath=True, parallel=True)
def attention_rows(q, keys, values, layer, slots, positions, n_head, n_kv_head, head_dim, out):
    """Attention of new query rows q (n, n_head*head_dim), row i at position positions[i] of
    sequence slots[i], over that sequence's keys 0..positions[i] (already stored), into out
    (n, n_head*head_dim); returns out. A prompt's rows (one slot, consecutive positions:
    causal attention) and the next tokens of several sequences (one row per slot) alike."""
    n_rows = q.shape[0]
    group = n_head // n_kv_head
    scale = np.float32(1.0 / np.sqrt(head_dim))
    for work in prange(n_rows * n_head):
        t = work // n_head
        h = work % n_head
        n_keys = positions[t] + 1
        scores = np.empty(n_keys, dtype=np.float32)
        attend(q[t], h * head_dim, keys[slots[t], layer], values[slots[t], layer], (h // group) * head_dim, head_dim,
               n_keys, scale, scores, out[t], h * head_dim)
    return out
