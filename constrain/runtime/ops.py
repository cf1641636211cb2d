"""The non-matmul operations of a llama layer, as numba kernels.

Each is written once as a row primitive (one token's vector, in place or into `out`),
used as is by the one-call decode step (decode_step.py) and looped over the rows of a
batch (n_tokens, width) by the batched pass (model.py): the two paths cannot drift apart.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from constrain.runtime.quants.bits import bits_to_f32

# exp's range reduction: x = n ln2 + r with |r| <= ln2 / 2; ln2 split so that n * _LN2_HIGH
# is exact for the n a float32 exp can have (Cody and Waite's trick).
_LOG2E = np.float32(1.4426950408889634)
_LN2_HIGH = np.float32(0.693359375)
_LN2_LOW = np.float32(-2.12194440e-4)


@njit(inline="always", fastmath=True, cache=True)
def exp_f32(x):
    """e**x in float32 (within 2 ulp for |x| <= 15, 6 at the ends of the range), from
    arithmetic alone so that loops over it vectorize
    (numba's np.exp on float32 is a libm call per value: SwiGLU's and softmax's exps were a
    fifth of a TinyLlama prompt) and every lane computes the same bits as a scalar would.
    Inputs are clamped to [-87, 88], where 2**n is a normal float."""
    x = min(max(np.float32(x), np.float32(-87.0)), np.float32(88.0))
    n = np.float32(np.floor(x * _LOG2E + np.float32(0.5)))
    r = (x - n * _LN2_HIGH) - n * _LN2_LOW
    # e**r by its Taylor series to r**7 / 7!: the next term is below 5e-9 for |r| <= ln2 / 2
    p = np.float32(1.0 / 5040.0)
    p = p * r + np.float32(1.0 / 720.0)
    p = p * r + np.float32(1.0 / 120.0)
    p = p * r + np.float32(1.0 / 24.0)
    p = p * r + np.float32(1.0 / 6.0)
    p = p * r + np.float32(0.5)
    p = p * r + np.float32(1.0)
    p = p * r + np.float32(1.0)
    return p * bits_to_f32(np.uint32(np.int32(n) + np.int32(127)) << np.uint32(23))


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


# SwiGLU's row is compiled on its own, not inlined into its callers' loops: inlined into the
# batch's parallel loop, its vectorized exps and divisions gave a prompt's logits that changed
# in the last bit between two identical evaluations. "arcp" is left out so that a division is
# never a reciprocal estimate in one lane and exact in another (flags stay on the instructions
# when LLVM inlines the call).
EXACT_DIVISION_FASTMATH = {"nnan", "ninf", "nsz", "contract", "afn", "reassoc"}


@njit(fastmath=EXACT_DIVISION_FASTMATH, cache=True)
def swiglu_row(gate_up, up_at, width, out):
    """SwiGLU's elementwise part on a fused gate/up product: out[j] = silu(gate_up[j]) * gate_up[up_at + j].
    The exps go through `out` first: with the division in the same loop, LLVM left it scalar
    (2.5x slower)."""
    for j in range(width):
        out[j] = exp_f32(-gate_up[j])
    for j in range(width):
        out[j] = gate_up[j] / (np.float32(1.0) + out[j]) * gate_up[up_at + j]


@njit(inline="always", fastmath=True, cache=True)
def add_row(x, y):
    for j in range(x.shape[0]):
        x[j] += y[j]


@njit(cache=True, fastmath=True)
def rms_norm(x, weight, eps, out):
    """Each row of x (n, width) normalized (rms_norm_row) into out; returns out."""
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


@njit(cache=True, fastmath=True, parallel=True)
def swiglu(gate_up, up_at, width, out):
    """swiglu_row on each row of a fused gate/up product into out (n, width); returns out.
    Rows split among the threads: each row's values are the same whichever thread takes it."""
    for i in prange(gate_up.shape[0]):
        swiglu_row(gate_up[i], up_at, width, out[i])
    return out


@njit(cache=True, fastmath=True)
def add_inplace(x, y):
    for i in range(x.shape[0]):
        add_row(x[i], y[i])
