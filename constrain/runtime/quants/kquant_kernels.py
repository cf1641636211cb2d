"""Block kernels for the 256-value k-quant formats Q2_K, Q3_K, Q4_K, Q5_K and Q6_K.

accumulate_<type>(w, off, x, xo, acc, a) decodes the super-block starting at byte `off`
of the uint8 array `w` and adds value j times x[xo+j] to acc[a+j], for j in 0..255
(offsets are uint64), like the legacy block kernels; the matrix kernels inline it. Layouts
follow ggml: a super-block holds 16 sub-blocks of 16 values (Q2_K, Q3_K, Q6_K) or 8 of
32 values (Q4_K, Q5_K), each with its own small integer scale (and min).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from constrain.runtime.quants.bits import field_f32, load_f16

# Indices are uint64: numba then skips its negative-index wraparound, which would
# otherwise keep LLVM from seeing contiguous loads and vectorizing the loops.
U = np.uint64


@njit(inline="always", cache=True)
def accumulate_q2_k(w, off, x, xo, acc, a):
    # scales[16] @0, qs[64] @16, d @80, dmin @82
    d = load_f16(w, off + U(80))
    dmin = load_f16(w, off + U(82))
    for half in range(2):
        for shift_index in range(4):
            shift = 2 * shift_index
            base = half * 128 + shift_index * 32
            # a 32-value run spans two 16-value sub-blocks with their own scale and min
            sc0 = np.int32(w[off + U(base // 16)])
            sc1 = np.int32(w[off + U(base // 16 + 1)])
            dl0, dl1 = d * np.float32(sc0 & 15), d * np.float32(sc1 & 15)
            ml0, ml1 = dmin * np.float32(sc0 >> 4), dmin * np.float32(sc1 >> 4)
            for l in range(32):
                # per-lane select of the sub-block's scale keeps one 32-wide vector loop
                dl = dl1 if l >= 16 else dl0
                ml = ml1 if l >= 16 else ml0
                q = field_f32(w[off + U(16 + half * 32 + l)], shift, 3)
                xl = x[xo + U(base + l)]
                acc[a + U(base + l)] += dl * (q * xl) - ml * xl  # see legacy accumulate_q4_1


@njit(inline="always", cache=True)
def q3_k_scale(w, off, s):
    # 16 six-bit signed scales: low 4 bits in bytes 0..7, high 2 bits in bytes 8..11
    low = np.int32(w[off + U(s % 8)]) >> (4 * (s // 8)) & 15
    high = (np.int32(w[off + U(8 + s % 4)]) >> (2 * (s // 4))) & 3
    return (low | (high << 4)) - 32


@njit(inline="always", cache=True)
def accumulate_q3_k(w, off, x, xo, acc, a):
    # hmask[32] @0, qs[64] @32, scales[12] @96, d @108
    d = load_f16(w, off + U(108))
    for half in range(2):
        for shift_index in range(4):
            shift = 2 * shift_index
            base = half * 128 + shift_index * 32
            hbit = half * 4 + shift_index  # which bit of hmask[l] belongs to this run
            dl0 = d * np.float32(q3_k_scale(w, off + U(96), base // 16))
            dl1 = d * np.float32(q3_k_scale(w, off + U(96), base // 16 + 1))
            for l in range(32):
                dl = dl1 if l >= 16 else dl0
                low = field_f32(w[off + U(32 + half * 32 + l)], shift, 3)
                high_set = field_f32(w[off + U(l)], hbit, 1)
                # the 4 offset applies where the high bit is clear
                q = low + np.float32(4.0) * high_set - np.float32(4.0)
                acc[a + U(base + l)] += dl * q * x[xo + U(base + l)]


@njit(inline="always", cache=True)
def k_scale_min(w, off, j):
    # 8 six-bit (scale, min) pairs packed into 12 bytes at w[off:off+12]
    if j < 4:
        sc = np.int32(w[off + U(j)]) & 63
        mn = np.int32(w[off + U(4 + j)]) & 63
    else:
        packed = np.int32(w[off + U(4 + j)])
        sc = (packed & 15) | ((np.int32(w[off + U(j - 4)]) >> 2) & 48)
        mn = (packed >> 4) | ((np.int32(w[off + U(j)]) >> 2) & 48)
    return sc, mn


@njit(inline="always", cache=True)
def _accumulate_k_nibbles(w, off, x, xo, acc, a, qs_at, high_at):
    # d @0, dmin @2, scales[12] @4, qs[128] @qs_at; Q5_K adds bit s of qh[32] @high_at as 16
    # (high_at < 0: none, Q4_K)
    d = load_f16(w, off)
    dmin = load_f16(w, off + U(2))
    for group in range(4):
        for nibble in range(2):
            s = 2 * group + nibble
            sc, mn = k_scale_min(w, off + U(4), s)
            dl = d * np.float32(sc)
            ml = dmin * np.float32(mn)
            for l in range(32):
                q = field_f32(w[off + U(qs_at + group * 32 + l)], 4 * nibble, 15)
                if high_at >= 0:
                    q += np.float32(16.0) * field_f32(w[off + U(high_at + l)], s, 1)
                xl = x[xo + U(s * 32 + l)]
                acc[a + U(s * 32 + l)] += dl * (q * xl) - ml * xl  # see legacy accumulate_q4_1


@njit(inline="always", cache=True)
def accumulate_q4_k(w, off, x, xo, acc, a):
    _accumulate_k_nibbles(w, off, x, xo, acc, a, 16, -1)


@njit(inline="always", cache=True)
def accumulate_q5_k(w, off, x, xo, acc, a):
    _accumulate_k_nibbles(w, off, x, xo, acc, a, 48, 16)


@njit(inline="always", cache=True)
def accumulate_q6_k(w, off, x, xo, acc, a):
    # ql[128] @0, qh[64] @128, scales int8[16] @192, d @208
    d = load_f16(w, off + U(208))
    for half in range(2):
        for run in range(4):  # four 32-value runs per half
            base = half * 128 + run * 32
            nibble = run // 2
            ql_base = off + U(half * 64 + (run % 2) * 32)
            dl0 = d * np.float32(np.int8(w[off + U(192 + base // 16)]))
            dl1 = d * np.float32(np.int8(w[off + U(192 + base // 16 + 1)]))
            for l in range(32):
                dl = dl1 if l >= 16 else dl0
                low = field_f32(w[ql_base + U(l)], 4 * nibble, 15)
                high = field_f32(w[off + U(128 + half * 32 + l)], 2 * run, 3)
                q = low + np.float32(16.0) * high - np.float32(32.0)
                acc[a + U(base + l)] += dl * q * x[xo + U(base + l)]
