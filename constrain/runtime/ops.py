"""The non-matmul operations of a llama layer, as numba kernels.

Each is written once as a row primitive (one token's vector, in place or into `out`),
used as is by the one-call decode step (decode_step.py) and looped over the rows of a
batch (n_tokens, width) by the batched pass (model.py): the two paths cannot drift apart.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(inline="always", fastmath=True, cache=True)
def rms_norm_row(x, weight, eps, out):
    """out = x scaled to unit root-mean-square, then by `weight` (all (width,))."""
    ss = np.float32(0.0)
    for j in range(x.shape[0]):
        ss += x[j] * x[j]
    scale = np.float32(1.0) / np.sqrt(ss / np.float32(x.shape[0]) + np.float32(eps))
    for j in range(x.shape[0]):
        out[j] = x[j] * scale * weight[j]


@njit(inline="always", fastmath=True, cache=True)
def rope_row(v, offset, n_heads, head_dim, cos, sin):
    """Rotate adjacent pairs (v[2j], v[2j+1]) of each head of v[offset:offset+n_heads*head_dim]
    in place, by the angles whose cos/sin are given for the first len(cos) pairs.

    GGUF llama files store Q/K rows permuted by the converter so that rotating adjacent
    pairs here equals the Hugging Face "rotate halves" formulation.
    """
    for h in range(n_heads):
        base = offset + h * head_dim
        for j in range(cos.shape[0]):
            a = v[base + 2 * j]
            b = v[base + 2 * j + 1]
            v[base + 2 * j] = a * cos[j] - b * sin[j]
            v[base + 2 * j + 1] = a * sin[j] + b * cos[j]


@njit(inline="always", cache=True)
def rope_angles(position, pos_scale, inv_freq, cos, sin):
    """cos/sin (float32, rope_dim // 2) of one position's rotation angles."""
    p = np.float64(position) / pos_scale
    for j in range(inv_freq.shape[0]):
        angle = p * inv_freq[j]
        cos[j] = np.float32(np.cos(angle))
        sin[j] = np.float32(np.sin(angle))


@njit(inline="always", fastmath=True, cache=True)
def swiglu_row(gate_up, up_at, width, out):
    """SwiGLU's elementwise part on a fused gate/up product: out[j] = silu(gate_up[j]) * gate_up[up_at + j]."""
    for j in range(width):
        g = gate_up[j]
        out[j] = g / (np.float32(1.0) + np.exp(-g)) * gate_up[up_at + j]


@njit(inline="always", fastmath=True, cache=True)
def add_row(x, y):
    for j in range(x.shape[0]):
        x[j] += y[j]


@njit(cache=True, fastmath=True)
def rms_norm(x, weight, eps):
    """Each row of x (n, width) normalized (rms_norm_row), as a new array."""
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        rms_norm_row(x[i], weight, eps, out[i])
    return out


def rope_inverse_frequencies(rope_dim: int, base: float, freq_factors: np.ndarray | None) -> np.ndarray:
    """theta_j = base^(-2j/rope_dim), divided by per-pair factors when the model has them (Llama 3.1)."""
    inv = base ** (-np.arange(0, rope_dim, 2, dtype=np.float64) / rope_dim)
    if freq_factors is not None:
        inv = inv / freq_factors.astype(np.float64)
    return inv


@njit(cache=True, fastmath=True)
def apply_rope(x, offset, n_heads, head_dim, positions, inv_freq, pos_scale):
    """rope_row on each row of x (n, width) at its position, heads from column `offset`."""
    cos = np.empty(inv_freq.shape[0], np.float32)
    sin = np.empty(inv_freq.shape[0], np.float32)
    for t in range(x.shape[0]):
        rope_angles(positions[t], pos_scale, inv_freq, cos, sin)
        rope_row(x[t], offset, n_heads, head_dim, cos, sin)


@njit(cache=True, fastmath=True)
def swiglu(gate_up, up_at, width):
    """swiglu_row on each row of a fused gate/up product, as a new contiguous (n, width) array.
    Serial: numba's cached parallel version of this loop gave results that changed in the
    last bit from one run to the next on the same input, and a prompt's logits must not
    (its exps are about 5% of TinyLlama's prompt time)."""
    out = np.empty((gate_up.shape[0], width), np.float32)
    for i in range(gate_up.shape[0]):
        swiglu_row(gate_up[i], up_at, width, out[i])
    return out


@njit(cache=True, fastmath=True)
def add_inplace(x, y):
    for i in range(x.shape[0]):
        add_row(x[i], y[i])
