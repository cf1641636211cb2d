"""Block decoders for the 32-value legacy formats Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0.

Each decoder turns the block starting at byte `off` of the uint8 array `w` into 32
float32 values at out[o:o+32]. They are inlined into the matrix kernels, so the
byte-unpacking loops vectorize together with the surrounding code.
Layouts follow ggml (d and m are little-endian f16; value j of a 4-bit block sits in
the low nibble of byte j, value j+16 in the high nibble).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from constrain.runtime.quants.bits import load_f16


@njit(inline="always", cache=True)
def _load_u32(w, off):
    return (np.uint32(w[off]) | (np.uint32(w[off + 1]) << np.uint32(8))
            | (np.uint32(w[off + 2]) << np.uint32(16)) | (np.uint32(w[off + 3]) << np.uint32(24)))


@njit(inline="always", cache=True)
def decode_q4_0(w, off, out, o):
    d = load_f16(w, off)
    for j in range(16):
        q = np.int32(w[off + 2 + j])
        out[o + j] = d * np.float32((q & 15) - 8)
        out[o + 16 + j] = d * np.float32((q >> 4) - 8)


@njit(inline="always", cache=True)
def decode_q4_1(w, off, out, o):
    d = load_f16(w, off)
    m = load_f16(w, off + 2)
    for j in range(16):
        q = np.int32(w[off + 4 + j])
        out[o + j] = d * np.float32(q & 15) + m
        out[o + 16 + j] = d * np.float32(q >> 4) + m


@njit(inline="always", cache=True)
def decode_q5_0(w, off, out, o):
    d = load_f16(w, off)
    qh = _load_u32(w, off + 2)
    for j in range(16):
        q = np.int32(w[off + 6 + j])
        lo_high_bit = np.int32((qh >> np.uint32(j)) & np.uint32(1)) << 4
        hi_high_bit = np.int32((qh >> np.uint32(j + 16)) & np.uint32(1)) << 4
        out[o + j] = d * np.float32(((q & 15) | lo_high_bit) - 16)
        out[o + 16 + j] = d * np.float32(((q >> 4) | hi_high_bit) - 16)


@njit(inline="always", cache=True)
def decode_q5_1(w, off, out, o):
    d = load_f16(w, off)
    m = load_f16(w, off + 2)
    qh = _load_u32(w, off + 4)
    for j in range(16):
        q = np.int32(w[off + 8 + j])
        lo_high_bit = np.int32((qh >> np.uint32(j)) & np.uint32(1)) << 4
        hi_high_bit = np.int32((qh >> np.uint32(j + 16)) & np.uint32(1)) << 4
        out[o + j] = d * np.float32((q & 15) | lo_high_bit) + m
        out[o + 16 + j] = d * np.float32((q >> 4) | hi_high_bit) + m


@njit(inline="always", cache=True)
def decode_q8_0(w, off, out, o):
    d = load_f16(w, off)
    for j in range(32):
        out[o + j] = d * np.float32(np.int8(w[off + 2 + j]))
