"""One generated token through every layer in a single numba call.

The same architecture as model.py's batched pass, with the same row primitives (ops.py),
written for one token over the stacked, fused weights of stacked_layers.py: no Python
between the layers, one matrix-vector product for Q/K/V and one for gate/up, RoPE's
cos/sin computed once per token for all layers, each product's input quantized to int8
once for all its matrices, and the new key/value written straight into the cache.

The matrix-vector products keep their own parallel loops (over row tiles); attention
runs its heads in parallel only once the context is long enough to pay for the start.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from constrain.runtime.attention import attend, attention_rows, store_position
from constrain.runtime.ops import add_row, rms_norm_row, rope_angles, rope_row, swiglu_row
from constrain.runtime.quants.tiles import (
    TILE,
    new_activations,
    new_row_activations,
    quantize_activations,
    quantize_rows,
    role_matvec,
    role_matvec_rows,
)

# Below this many multiply-adds per head, a parallel region costs more than it saves.
PARALLEL_ATTENTION_WORK = 16384


@njit(parallel=True, fastmath=True, cache=True)
def _attend_parallel(qkv, n_head, n_kv_head, head_dim, keys, values, n_keys, out):
    scale = np.float32(1.0 / np.sqrt(head_dim))
    group = n_head // n_kv_head
    for h in prange(n_head):
        scores = np.empty(n_keys, np.float32)
        attend(qkv, h * head_dim, keys, values, (h // group) * head_dim, head_dim, n_keys, scale, scores, out,
               h * head_dim)


@njit(fastmath=True, cache=True)
def _attend_serial(qkv, n_head, n_kv_head, head_dim, keys, values, n_keys, out, scores):
    scale = np.float32(1.0 / np.sqrt(head_dim))
    group = n_head // n_kv_head
    for h in range(n_head):
        attend(qkv, h * head_dim, keys, values, (h // group) * head_dim, head_dim, n_keys, scale, scores, out,
               h * head_dim)


@njit(inline="always", cache=True)
def _product(role, layer, x, act, out):
    quantize_activations(x, act)
    role_matvec(role, layer, x, act, out)


@njit(fastmath=True, cache=True)
def decode_layers(x, position, inv_freq, pos_scale, shape, weights, keys, values):
    """Run the token embedding `x` (dim,) at `position` through all layers, in place.

    shape: stacked_layers.LayerShape; weights: stacked_layers.LayerStack; keys/values:
    the cache (kv_cache.py's layout); position `position` is written, 0..position read.
    """
    dim, n_head, n_kv_head, head_dim = shape.dim, shape.n_head, shape.n_kv_head, shape.head_dim
    q_dim = n_head * head_dim
    kv_dim = n_kv_head * head_dim
    ffn_dim = shape.ffn_dim
    cos = np.empty(inv_freq.shape[0], np.float32)
    sin = np.empty(inv_freq.shape[0], np.float32)
    rope_angles(position, pos_scale, inv_freq, cos, sin)
    h = np.empty(dim, np.float32)
    qkv = np.empty(weights.qkv.tile_kind.shape[1] * TILE, np.float32)
    attn = np.empty(q_dim, np.float32)
    proj = np.empty(weights.down.tile_kind.shape[1] * TILE, np.float32)
    gate_up = np.empty(weights.gate_up.tile_kind.shape[1] * TILE, np.float32)
    gated = np.empty(ffn_dim, np.float32)
    act_dim, act_q, act_ffn = new_activations(dim), new_activations(q_dim), new_activations(ffn_dim)
    n_keys = position + 1
    scores = np.empty(n_keys, np.float32)
    parallel_attention = n_keys * head_dim >= PARALLEL_ATTENTION_WORK
    for layer in range(weights.attn_norm.shape[0]):
        rms_norm_row(x, weights.attn_norm[layer], shape.eps, h)
        _product(weights.qkv, layer, h, act_dim, qkv)
        rope_row(qkv, 0, n_head, head_dim, cos, sin)
        rope_row(qkv, shape.k_at, n_kv_head, head_dim, cos, sin)
        layer_keys = keys[layer]
        layer_values = values[layer]
        store_position(layer_keys, layer_values, qkv[shape.k_at:shape.k_at + kv_dim],
                       qkv[shape.v_at:shape.v_at + kv_dim], position)
        if parallel_attention:
            _attend_parallel(qkv, n_head, n_kv_head, head_dim, layer_keys, layer_values, n_keys, attn)
        else:
            _attend_serial(qkv, n_head, n_kv_head, head_dim, layer_keys, layer_values, n_keys, attn, scores)
        _product(weights.attn_output, layer, attn, act_q, proj)
        add_row(x, proj[:dim])

        rms_norm_row(x, weights.ffn_norm[layer], shape.eps, h)
        _product(weights.gate_up, layer, h, act_dim, gate_up)
        swiglu_row(gate_up, shape.up_at, ffn_dim, gated)
        _product(weights.down, layer, gated, act_ffn, proj)
        add_row(x, proj[:dim])


@njit(inline="always", cache=True)
def _rows_product(role, layer, x, act, out):
    xq, dx, xsums = act
    quantize_rows(x, xq, dx, xsums)
    role_matvec_rows(role, layer, x, xq, dx, xsums, out)


@njit(fastmath=True, cache=True)
def decode_rows(xs, positions, slots, inv_freq, pos_scale, shape, weights, keys, values):
    """Advance several sequences by one token each: row i of xs (n, dim), the embedding of
    the token at positions[i] of the sequence in KV slot slots[i], runs through all layers
    in place. Each row is computed exactly as decode_layers computes it alone (the same row
    primitives in the same order, products that keep rows apart), so a sequence's tokens do
    not depend on which others share the pass; each block of weights, once loaded, serves
    every row. keys/values: kv_cache.KVSlots' arrays."""
    n = xs.shape[0]
    dim, n_head, n_kv_head, head_dim = shape.dim, shape.n_head, shape.n_kv_head, shape.head_dim
    q_dim = n_head * head_dim
    kv_dim = n_kv_head * head_dim
    ffn_dim = shape.ffn_dim
    cos = np.empty((n, inv_freq.shape[0]), np.float32)
    sin = np.empty((n, inv_freq.shape[0]), np.float32)
    for i in range(n):
        rope_angles(positions[i], pos_scale, inv_freq, cos[i], sin[i])
    h = np.empty((n, dim), np.float32)
    qkv = np.empty((n, weights.qkv.tile_kind.shape[1] * TILE), np.float32)
    proj = np.empty((n, weights.down.tile_kind.shape[1] * TILE), np.float32)
    gate_up = np.empty((n, weights.gate_up.tile_kind.shape[1] * TILE), np.float32)
    gated = np.empty((n, ffn_dim), np.float32)
    attn = np.empty((n, q_dim), np.float32)
    act_dim, act_q = new_row_activations(n, dim), new_row_activations(n, q_dim)
    act_ffn = new_row_activations(n, ffn_dim)
    for layer in range(weights.attn_norm.shape[0]):
        for i in range(n):
            rms_norm_row(xs[i], weights.attn_norm[layer], shape.eps, h[i])
        _rows_product(weights.qkv, layer, h, act_dim, qkv)
        for i in range(n):
            rope_row(qkv[i], 0, n_head, head_dim, cos[i], sin[i])
            rope_row(qkv[i], shape.k_at, n_kv_head, head_dim, cos[i], sin[i])
            store_position(keys[slots[i], layer], values[slots[i], layer], qkv[i, shape.k_at:shape.k_at + kv_dim],
                           qkv[i, shape.v_at:shape.v_at + kv_dim], positions[i])
        attention_rows(qkv[:, :q_dim], keys, values, layer, slots, positions, n_head, n_kv_head, head_dim, attn)
        _rows_product(weights.attn_output, layer, attn, act_q, proj)
        for i in range(n):
            add_row(xs[i], proj[i, :dim])

        for i in range(n):
            rms_norm_row(xs[i], weights.ffn_norm[layer], shape.eps, h[i])
        _rows_product(weights.gate_up, layer, h, act_dim, gate_up)
        for i in range(n):
            swiglu_row(gate_up[i], shape.up_at, ffn_dim, gated[i])
        _rows_product(weights.down, layer, gated, act_ffn, proj)
        for i in range(n):
            add_row(xs[i], proj[i, :dim])
