"""One generated token through every layer in a single numba call.

The same architecture as model.py's batched pass, written for one token over the
stacked, fused weights of stacked_layers.py: no Python between the layers, one
matrix-vector product for Q/K/V and one for gate/up, RoPE's cos/sin computed once per
token for all layers, and the new key/value written straight into the cache.

The matrix-vector kernels keep their own parallel loops (over row tiles); attention
runs its heads in parallel only once the context is long enough to pay for the start.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from constrain.runtime.attention import attend, store_position
from constrain.runtime.quants.row_tiles import Q4_0, Q4_1, matvec_q4_0, matvec_q4_1, matvec_q8_0

# Below this many multiply-adds per head, a parallel region costs more than it saves.
PARALLEL_ATTENTION_WORK = 16384


@njit(inline="always", cache=True)
def _matvec(kind, scales, mins, quants, x, out):
    if kind == Q4_1:
        matvec_q4_1(scales, mins, quants, x, out)
    elif kind == Q4_0:
        matvec_q4_0(scales, mins, quants, x, out)
    else:
        matvec_q8_0(scales, mins, quants, x, out)


@njit(inline="always", cache=True)
def _rms_norm(x, weight, eps, out):
    ss = np.float32(0.0)
    for j in range(x.shape[0]):
        ss += x[j] * x[j]
    scale = np.float32(1.0) / np.sqrt(ss / np.float32(x.shape[0]) + np.float32(eps))
    for j in range(x.shape[0]):
        out[j] = x[j] * scale * weight[j]


@njit(inline="always", cache=True)
def _rope(v, offset, n_heads, head_dim, cos, sin):
    """Rotate adjacent pairs of each head of v[offset:offset + n_heads*head_dim] in place."""
    for h in range(n_heads):
        base = offset + h * head_dim
        for j in range(cos.shape[0]):
            a = v[base + 2 * j]
            b = v[base + 2 * j + 1]
            v[base + 2 * j] = a * cos[j] - b * sin[j]
            v[base + 2 * j + 1] = a * sin[j] + b * cos[j]


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


@njit(fastmath=True, cache=True)
def decode_layers(x, position, inv_freq, pos_scale, eps, n_head, n_kv_head, head_dim,
                  kinds, qkv_s, qkv_m, qkv_q, o_s, o_m, o_q, gu_s, gu_m, gu_q, dn_s, dn_m, dn_q,
                  attn_norm, ffn_norm, keys, values):
    """Run the token embedding `x` (dim,) at `position` through all layers, in place.

    kinds: the row-tiled type code of (qkv, attention output, gate/up, down). keys/values:
    the cache (kv_cache.py's layout); position `position` is written, 0..position read.
    """
    dim = x.shape[0]
    q_dim = n_head * head_dim
    kv_dim = n_kv_head * head_dim
    ffn_dim = gu_s.shape[1] * gu_s.shape[3] // 2
    angle = np.float64(position) / pos_scale * inv_freq
    cos = np.cos(angle).astype(np.float32)
    sin = np.sin(angle).astype(np.float32)
    h = np.empty(dim, np.float32)
    qkv = np.empty(q_dim + 2 * kv_dim, np.float32)
    attn = np.empty(q_dim, np.float32)
    proj = np.empty(dim, np.float32)
    gate_up = np.empty(2 * ffn_dim, np.float32)
    gated = np.empty(ffn_dim, np.float32)
    n_keys = position + 1
    scores = np.empty(n_keys, np.float32)
    parallel_attention = n_keys * head_dim >= PARALLEL_ATTENTION_WORK
    for layer in range(qkv_s.shape[0]):
        _rms_norm(x, attn_norm[layer], eps, h)
        _matvec(kinds[0], qkv_s[layer], qkv_m[layer], qkv_q[layer], h, qkv)
        _rope(qkv, 0, n_head, head_dim, cos, sin)
        _rope(qkv, q_dim, n_kv_head, head_dim, cos, sin)
        layer_keys = keys[layer]
        layer_values = values[layer]
        store_position(layer_keys, layer_values, qkv[q_dim:q_dim + kv_dim], qkv[q_dim + kv_dim:], position)
        if parallel_attention:
            _attend_parallel(qkv, n_head, n_kv_head, head_dim, layer_keys, layer_values, n_keys, attn)
        else:
            _attend_serial(qkv, n_head, n_kv_head, head_dim, layer_keys, layer_values, n_keys, attn, scores)
        _matvec(kinds[1], o_s[layer], o_m[layer], o_q[layer], attn, proj)
        for j in range(dim):
            x[j] += proj[j]

        _rms_norm(x, ffn_norm[layer], eps, h)
        _matvec(kinds[2], gu_s[layer], gu_m[layer], gu_q[layer], h, gate_up)
        for j in range(ffn_dim):
            g = gate_up[j]
            gated[j] = g / (np.float32(1.0) + np.exp(-g)) * gate_up[ffn_dim + j]
        _matvec(kinds[3], dn_s[layer], dn_m[layer], dn_q[layer], gated, proj)
        for j in range(dim):
            x[j] += proj[j]
