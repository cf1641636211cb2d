"""Block kernels for the 32-value legacy formats Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0.

accumulate_<type>(w, off, x, xo, acc, a) decodes the block starting at byte `off` of the
uint8 array `w` and adds value j times x[xo+j] to acc[a+j], for j in 0..31 (offsets are
uint64). Multiplying straight from the unpacked bytes, with one accumulator lane per
column, keeps the loop free of stores to a scratch buffer and of horizontal sums: it
vectorizes, and the matrix kernels inline it. Decoding alone is the same call with
x = ones and acc = zeros.
Layouts follow ggml (d and m are little-endian f16; value j of a 4-bit block sits in
the low nibble of byte j, value j+16 in the high nibble).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from constrain.runtime.quants.bits import field_f32, load_f16

# Indices are uint64: numba then skips its negative-index wraparound, which would
# otherwise keep LLVM from seeing contiguous loads and vectorizing the loops.
U = np.uint64


@njit(inline="always", cache=True)
def _load_u32(w, off):
    return (np.uint32(w[off]) | (np.uint32(w[off + U(1)]) << np.uint32(8))
            | (np.uint32(w[off + U(2)]) << np.uint32(16)) | (np.uint32(w[off + U(3)]) << np.uint32(24)))


@njit(inline="always", cache=True)
def accumulate_q4_0(w, off, x, xo, acc, a):
    d = load_f16(w, off)
    for j in range(16):
        q = w[off + U(2 + j)]
        acc[a + U(j)] += d * (field_f32(q, 0, 15) - np.float32(8.0)) * x[xo + U(j)]
        acc[a + U(16 + j)] += d * (field_f32(q, 4, 15) - np.float32(8.0)) * x[xo + U(16 + j)]


@njit(inline="always", cache=True)
def accumulate_q4_1(w, off, x, xo, acc, a):
    d = load_f16(w, off)
    m = load_f16(w, off + U(2))
    for j in range(16):
        q = w[off + U(4 + j)]
        x_low = x[xo + U(j)]
        x_high = x[xo + U(16 + j)]
        # d*(q*x) + m*x rather than (d*q + m)*x: two independent products instead of
        # a chain of two dependent fused multiply-adds, measured 1.75x faster
        acc[a + U(j)] += d * (field_f32(q, 0, 15) * x_low) + m * x_low
        acc[a + U(16 + j)] += d * (field_f32(q, 4, 15) * x_high) + m * x_high


@njit(inline="always", cache=True)
def accumulate_q5_0(w, off, x, xo, acc, a):
    d = load_f16(w, off)
    qh = _load_u32(w, off + U(2))
    for j in range(16):
        q = w[off + U(6 + j)]
        low = field_f32(q, 0, 15) + np.float32(16.0) * field_f32(qh, j, 1) - np.float32(16.0)
        high = field_f32(q, 4, 15) + np.float32(16.0) * field_f32(qh, j + 16, 1) - np.float32(16.0)
        acc[a + U(j)] += d * low * x[xo + U(j)]
        acc[a + U(16 + j)] += d * high * x[xo + U(16 + j)]


@njit(inline="always", cache=True)
def accumulate_q5_1(w, off, x, xo, acc, a):
    d = load_f16(w, off)
    m = load_f16(w, off + U(2))
    qh = _load_u32(w, off + U(4))
    for j in range(16):
        q = w[off + U(8 + j)]
        low = field_f32(q, 0, 15) + np.float32(16.0) * field_f32(qh, j, 1)
        high = field_f32(q, 4, 15) + np.float32(16.0) * field_f32(qh, j + 16, 1)
        x_low = x[xo + U(j)]
        x_high = x[xo + U(16 + j)]
        acc[a + U(j)] += d * (low * x_low) + m * x_low  # see accumulate_q4_1
        acc[a + U(16 + j)] += d * (high * x_high) + m * x_high


@njit(inline="always", cache=True)
def accumulate_q8_0(w, off, x, xo, acc, a):
    d = load_f16(w, off)
    for j in range(32):
        acc[a + U(j)] += d * np.float32(np.int8(w[off + U(2 + j)])) * x[xo + U(j)]
