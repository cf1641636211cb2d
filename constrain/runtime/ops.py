"""The non-matmul operations of a llama layer, as numba kernels.

Activations are float32 matrices of shape (n_tokens, width): a prompt batch and a
single generated token go through the same code.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, fastmath=True)
def rms_norm(x, weight, eps):
    """Each row scaled to unit root-mean-square, then by `weight`."""
    n, d = x.shape
    out = np.empty_like(x)
    for i in range(n):
        ss = np.float32(0.0)
        for j in range(d):
            ss += x[i, j] * x[i, j]
        scale = np.float32(1.0) / np.sqrt(ss / np.float32(d) + np.float32(eps))
        for j in range(d):
            out[i, j] = x[i, j] * scale * weight[j]
    return out


def rope_inverse_frequencies(rope_dim: int, base: float, freq_factors: np.ndarray | None) -> np.ndarray:
    """theta_j = base^(-2j/rope_dim), divided by per-pair factors when the model has them (Llama 3.1)."""
    inv = base ** (-np.arange(0, rope_dim, 2, dtype=np.float64) / rope_dim)
    if freq_factors is not None:
        inv = inv / freq_factors.astype(np.float64)
    return inv


@njit(cache=True, fastmath=True)
def apply_rope(x, n_heads, head_dim, rope_dim, positions, inv_freq, pos_scale):
    """Rotate adjacent pairs (x[2j], x[2j+1]) of each head in place.

    GGUF llama files store Q/K rows permuted by the converter so that rotating adjacent
    pairs here equals the Hugging Face "rotate halves" formulation.
    """
    n = x.shape[0]
    half = rope_dim // 2
    for t in range(n):
        p = positions[t] / pos_scale
        for j in range(half):
            angle = p * inv_freq[j]
            c = np.float32(np.cos(angle))
            s = np.float32(np.sin(angle))
            for h in range(n_heads):
                base = h * head_dim + 2 * j
                a = x[t, base]
                b = x[t, base + 1]
                x[t, base] = a * c - b * s
                x[t, base + 1] = a * s + b * c


@njit(cache=True, fastmath=True)
def silu_mul(gate, up):
    """SwiGLU's elementwise part: silu(gate) * up, written into gate."""
    n, d = gate.shape
    for i in range(n):
        for j in range(d):
            g = gate[i, j]
            gate[i, j] = g / (np.float32(1.0) + np.exp(-g)) * up[i, j]
    return gate


@njit(cache=True, fastmath=True)
def silu_mul_halves(gate_up, width):
    """SwiGLU on a fused product: silu(gate_up[:, :width]) * gate_up[:, width:], as a new
    contiguous (n, width) array (no copies of the two halves)."""
    n = gate_up.shape[0]
    out = np.empty((n, width), np.float32)
    for i in range(n):
        for j in range(width):
            g = gate_up[i, j]
            out[i, j] = g / (np.float32(1.0) + np.exp(-g)) * gate_up[i, width + j]
    return out


@njit(cache=True, fastmath=True)
def add_inplace(x, y):
    n, d = x.shape
    for i in range(n):
        for j in range(d):
            x[i, j] += y[i, j]
