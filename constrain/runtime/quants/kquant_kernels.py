"""Block decoders for the 256-value k-quant formats Q2_K, Q3_K, Q4_K, Q5_K and Q6_K.

Each decoder turns the super-block starting at byte `off` of the uint8 array `w` into
256 float32 values at out[o:o+256]; it is inlined into the matrix kernels. Layouts
follow ggml: a super-block holds 16 sub-blocks of 16 values (Q2_K, Q3_K, Q6_K) or 8 of
32 values (Q4_K, Q5_K), each with its own small integer scale (and min).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from constrain.runtime.quants.bits import load_f16


@njit(inline="always", cache=True)
def decode_q2_k(w, off, out, o):
    # scales[16] @0, qs[64] @16, d @80, dmin @82
    d = load_f16(w, off + 80)
    dmin = load_f16(w, off + 82)
    for half in range(2):
        for shift_index in range(4):
            shift = 2 * shift_index
            base = half * 128 + shift_index * 32
            for part in range(2):  # two 16-value sub-blocks per 32-value run
                sc = np.int32(w[off + base // 16 + part])
                dl = d * np.float32(sc & 15)
                ml = dmin * np.float32(sc >> 4)
                for l in range(16):
                    q = (np.int32(w[off + 16 + half * 32 + part * 16 + l]) >> shift) & 3
                    out[o + base + part * 16 + l] = dl * np.float32(q) - ml


@njit(inline="always", cache=True)
def _q3_k_scale(w, off, s):
    # 16 six-bit signed scales: low 4 bits in bytes 0..7, high 2 bits in bytes 8..11
    low = np.int32(w[off + s % 8]) >> (4 * (s // 8)) & 15
    high = (np.int32(w[off + 8 + s % 4]) >> (2 * (s // 4))) & 3
    return (low | (high << 4)) - 32


@njit(inline="always", cache=True)
def decode_q3_k(w, off, out, o):
    # hmask[32] @0, qs[64] @32, scales[12] @96, d @108
    d = load_f16(w, off + 108)
    for half in range(2):
        for shift_index in range(4):
            shift = 2 * shift_index
            base = half * 128 + shift_index * 32
            hbit = half * 4 + shift_index  # which bit of hmask[l] belongs to this run
            for part in range(2):
                dl = d * np.float32(_q3_k_scale(w, off + 96, base // 16 + part))
                for l0 in range(16):
                    l = part * 16 + l0
                    low = (np.int32(w[off + 32 + half * 32 + l]) >> shift) & 3
                    high_set = (np.int32(w[off + l]) >> hbit) & 1
                    # the 4 offset applies where the high bit is clear
                    out[o + base + l] = dl * np.float32(low - 4 + 4 * high_set)


@njit(inline="always", cache=True)
def _k_scale_min(w, off, j):
    # 8 six-bit (scale, min) pairs packed into 12 bytes at w[off:off+12]
    if j < 4:
        sc = np.int32(w[off + j]) & 63
        mn = np.int32(w[off + 4 + j]) & 63
    else:
        packed = np.int32(w[off + 4 + j])
        sc = (packed & 15) | ((np.int32(w[off + j - 4]) >> 2) & 48)
        mn = (packed >> 4) | ((np.int32(w[off + j]) >> 2) & 48)
    return sc, mn


@njit(inline="always", cache=True)
def decode_q4_k(w, off, out, o):
    # d @0, dmin @2, scales[12] @4, qs[128] @16
    d = load_f16(w, off)
    dmin = load_f16(w, off + 2)
    for group in range(4):
        for nibble in range(2):
            s = 2 * group + nibble
            sc, mn = _k_scale_min(w, off + 4, s)
            dl = d * np.float32(sc)
            ml = dmin * np.float32(mn)
            for l in range(32):
                q = (np.int32(w[off + 16 + group * 32 + l]) >> (4 * nibble)) & 15
                out[o + s * 32 + l] = dl * np.float32(q) - ml


@njit(inline="always", cache=True)
def decode_q5_k(w, off, out, o):
    # d @0, dmin @2, scales[12] @4, qh[32] @16, qs[128] @48
    d = load_f16(w, off)
    dmin = load_f16(w, off + 2)
    for group in range(4):
        for nibble in range(2):
            s = 2 * group + nibble
            sc, mn = _k_scale_min(w, off + 4, s)
            dl = d * np.float32(sc)
            ml = dmin * np.float32(mn)
            for l in range(32):
                low = (np.int32(w[off + 48 + group * 32 + l]) >> (4 * nibble)) & 15
                high = (np.int32(w[off + 16 + l]) >> s) & 1
                out[o + s * 32 + l] = dl * np.float32(low | (high << 4)) - ml


@njit(inline="always", cache=True)
def decode_q6_k(w, off, out, o):
    # ql[128] @0, qh[64] @128, scales int8[16] @192, d @208
    d = load_f16(w, off + 208)
    for half in range(2):
        for run in range(4):  # four 32-value runs per half
            base = half * 128 + run * 32
            nibble = run // 2
            ql_base = off + half * 64 + (run % 2) * 32
            for part in range(2):
                dl = d * np.float32(np.int8(w[off + 192 + base // 16 + part]))
                for l0 in range(16):
                    l = part * 16 + l0
                    low = (np.int32(w[ql_base + l]) >> (4 * nibble)) & 15
                    high = (np.int32(w[off + 128 + half * 32 + l]) >> (2 * run)) & 3
                    out[o + base + l] = dl * np.float32((low | (high << 4)) - 32)
