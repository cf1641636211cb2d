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
is one vector instruction (F16C) inside the loops. The two reductions run in generated
vector loops (attention_simd.py) with their sums in registers.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from constrain.runtime import attention_simd as simd
from constrain.runtime.attention_simd import KEY_BLOCK
from constrain.runtime.ops import exp_f32
from constrain.runtime.quants.bits import f16_to_f32, f32_to_f16

U = np.uint64  # unsigned indices: no negative-index wraparound to block vectorizing


@njit(inline="always", cache=True)
def _block_scores(heads, keys, k_off, q, q0, head_dim, scale, scores, s_off, stride):
    if heads == 2:
        simd.scores_2(keys, k_off, q, q0, head_dim, scale, scores, s_off, stride)
    elif head_dim % 2 == 0:
        simd.scores_1(keys, k_off, q, q0, head_dim, scale, scores, s_off, stride)
    else:
        simd.scores_1_odd(keys, k_off, q, q0, head_dim, scale, scores, s_off, stride)


@njit(inline="always", fastmath=True, cache=True)
def _weighted_values(heads, values, kv0, head_dim, weights, stride, n, out, o0):
    """out[o0 + h * head_dim + j] = sum over p < n of weights[h * stride + p] * values[p, kv0 + j]."""
    kv_dim = values.shape[1]
    if head_dim == 64 and heads == 2:
        simd.values_64_2(values, kv0, kv_dim, weights, 0, stride, n, out, o0)
    elif head_dim == 64:
        simd.values_64_1(values, kv0, kv_dim, weights, 0, stride, n, out, o0)
    elif head_dim == 128 and heads == 2:
        simd.values_128_2(values, kv0, kv_dim, weights, 0, stride, n, out, o0)
    elif head_dim == 128:
        simd.values_128_1(values, kv0, kv_dim, weights, 0, stride, n, out, o0)
    else:
        for h in range(heads):
            for d in range(U(head_dim)):
                out[U(o0 + h * head_dim) + d] = np.float32(0.0)
            for p in range(U(n)):
                w = weights[U(h * stride) + p]
                row = values[p]
                for d in range(U(head_dim)):
                    out[U(o0 + h * head_dim) + d] += w * f16_to_f32(row[U(kv0) + d])


@njit(inline="always", fastmath=True, cache=True)
def attend(q, q0, heads, keys, values, kv0, head_dim, n_keys, scale, scores, out, o0):
    """out[o0 + h*head_dim : ...] = softmax(scale * q_h.K) V for `heads` (1 or 2) query
    heads at q[q0 + h*head_dim : ...] that share one key/value head, over positions
    0..n_keys-1 of one layer's keys (blocked) and values (n_ctx, kv_dim). scores: scratch
    of at least heads times n_keys rounded up to whole KEY_BLOCKs (a head's scores start
    at a block boundary)."""
    n_blocks = (n_keys + KEY_BLOCK - 1) // KEY_BLOCK
    stride = n_blocks * KEY_BLOCK
    kv_dim = keys.shape[1]
    for blk in range(n_blocks):
        _block_scores(heads, keys, (blk * kv_dim + kv0) * KEY_BLOCK, q, q0, head_dim, scale, scores,
                      blk * KEY_BLOCK, stride)
    n = U(n_keys)
    for h in range(heads):
        base = U(h * stride)
        best = np.float32(-np.inf)
        for p in range(n):
            best = max(best, scores[base + p])
        for p in range(n):
            scores[base + p] = exp_f32(scores[base + p] - best)
        total = np.float32(0.0)
        for p in range(n):
            total += scores[base + p]
        inv_total = np.float32(1.0) / total
        for p in range(n):
            scores[base + p] *= inv_total
    _weighted_values(heads, values, kv0, head_dim, scores, stride, n_keys, out, o0)


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
    causal attention) and the next tokens of several sequences (one row per slot) alike.
    The query heads of one key/value head go two at a time (each key vector converted once
    for both)."""
    n_rows = q.shape[0]
    group = n_head // n_kv_head
    pairs = (group + 1) // 2
    scale = np.float32(1.0 / np.sqrt(head_dim))
    for work in prange(n_rows * n_kv_head * pairs):
        # all rows of one head pair in a row, so its keys and values stay in cache; the rows
        # from both ends in turn, as a causal prompt's late rows cost the most and each
        # thread takes one contiguous share of the items
        i = work % n_rows
        t = i // 2 if i % 2 == 0 else n_rows - 1 - i // 2
        kv = work // n_rows // pairs
        first = kv * group + 2 * (work // n_rows % pairs)
        heads = min(2, kv * group + group - first)
        n_keys = positions[t] + 1
        scores = np.empty(2 * ((n_keys + KEY_BLOCK - 1) // KEY_BLOCK) * KEY_BLOCK, dtype=np.float32)
        attend(q[t], first * head_dim, heads, keys[slots[t], layer], values[slots[t], layer], kv * head_dim,
               head_dim, n_keys, scale, scores, out[t], first * head_dim)
    return out
