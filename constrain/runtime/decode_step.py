"""Generated tokens through every layer in a single numba call.

The same architecture as model.py's batched pass, with the same row primitives (ops.py),
written for a few rows over the stacked, fused weights of stacked_layers.py: no Python
between the layers, one matrix-vector product for Q/K/V and one for gate/up, RoPE's
cos/sin computed once per row for all layers, each product's input quantized to int8
once for all its matrices, and the new keys/values written straight into the cache.

One sequence's next token is a single row; several sequences' next tokens share the
pass. Both run this one compiled function, so a sequence's logits are bit for bit the
same whatever company it keeps (two separately compiled fastmath kernels may round
differently). The products and attention keep their own parallel loops.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from constrain.runtime.attention import attention_rows, store_position
from constrain.runtime.ops import add_row, rms_norm_row, rope_angles, rope_row, swiglu_row
from constrain.runtime.quants.tiles import TILE, new_row_activations, quantize_rows, role_matvec_rows


@njit(inline="always", cache=True)
def _rows_product(role, layer, x, act, out):
    xq, dx, xsums = act
    quantize_rows(x, xq, dx, xsums)
    role_matvec_rows(role, layer, x, xq, dx, xsums, out)


@njit(fastmath=True, cache=True)
def decode_rows(xs, positions, slots, inv_freq, pos_scale, shape, weights, keys, values):
    """Run rows through all layers in place: row i of xs (n, dim), the embedding of the
    token at positions[i] of the sequence in KV slot slots[i]. Rows are kept apart (row
    primitives, products that do not mix rows), so a row's result does not depend on the
    others; rows of one slot at consecutive positions attend to each other causally (a few
    tokens of one sequence). Each block of weights, once loaded, serves every row.
    keys/values: kv_cache.KVSlots' arrays."""
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
