"""Row-tiled copies of Q4_0 / Q4_1 / Q8_0 / Q4_K matrices and their kernels.

GGUF stores a matrix row after row, so a matrix-vector product is one dot product per
row, which vectorizes poorly (numba-kernels.md: 10x below memory bandwidth). Here the
rows are regrouped at load time into tiles of TILE rows: for each 32-value block, the
quant bytes of the tile's rows sit side by side, byte position j of all TILE rows in a
row of TILE bytes. The kernels then take one input value x[j], broadcast it, and update
TILE row sums at once (SIMD across rows), and apply the per-block scale once per block:

    sum_r += d_r * (sum_j q_rj x_j) + m_r * (sum_j x_j)

Layout of a tiled matrix of `rows` (a multiple of TILE) and nb blocks per row:
  scales  uint16 (n_tiles, nb, TILE)  f16 bits of d
  mins    uint16 (n_tiles, nb, TILE)  f16 bits of m (Q4_1; zeros otherwise, unused)
  quants  uint8  (n_tiles, nb, QB, TILE)  QB = 16 packed nibble bytes (Q4) or 32 int8 (Q8_0)
Same byte count as the GGUF layout (Q4_K: see SCALE_DTYPES); the values are unchanged,
so results agree with the row-wise kernels up to float summation order.

TILE is 64, not 16: the row loops take the tile width at run time (a constant 16 makes
LLVM unroll them into scalar code), and the vectorized loop's per-iteration checks are
then spread over 64 rows. Measured (1 thread, 576x1536 Q4_1): 0.154 ms with 16 rows,
0.055 ms with 64, 0.149 ms for the row-wise kernel.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from constrain.runtime.quants.bits import f16_to_f32, field_f32, load_f16
from constrain.runtime.quants.block_kernels import CHUNK, ROW_TILE, multiply_chunk
from constrain.runtime.quants.kquant_kernels import k_scale_min

Q4_0, Q4_1, Q8_0, Q4_K = 2, 3, 8, 12
TILE = 64
# type code -> (bytes per block, byte offset of the quants in a block, quant bytes per block)
GEOMETRY = {Q4_0: (18, 2, 16), Q4_1: (20, 4, 16), Q8_0: (34, 2, 32), Q4_K: (144, 16, 16)}
# Q4_K's 32-value sub-blocks become Q4_1 blocks: value = scale * q + min with the scale
# d * sc and the min -dmin * m. Those products are not float16 numbers, so they are kept
# as float32 (24 bytes per 32 values instead of the file's 18).
SCALE_DTYPES = {Q4_K: np.float32}
# The kernels that compute a tiled type: Q4_K tiles are Q4_1 tiles with float32 scales.
KERNEL_KIND = {Q4_0: Q4_0, Q4_1: Q4_1, Q8_0: Q8_0, Q4_K: Q4_1}

U = np.uint64  # unsigned indices: no negative-index wraparound to block vectorizing


def can_tile(ggml_type: int, rows: int) -> bool:
    return int(ggml_type) in GEOMETRY and rows % TILE == 0


def scale_dtype(ggml_type: int):
    return SCALE_DTYPES.get(int(ggml_type), np.uint16)


def has_mins(ggml_type: int) -> bool:
    return KERNEL_KIND[int(ggml_type)] == Q4_1


def scale_value(stored):
    """A tile's scale or min as float32, whether stored as float16 bits or float32."""


@overload(scale_value, inline="always")
def _scale_value(stored):
    if stored == types.uint16:
        return lambda stored: f16_to_f32(stored)
    return lambda stored: np.float32(stored)


# Serial: a load makes ~200 of these calls, and on a busy machine a parallel region can
# wait a scheduler time slice for a core, which added seconds to the load time.
@njit(cache=True)
def _repack(w, rows, cols, block_bytes, quant_offset, has_min, scales, mins, quants):
    nb = cols // 32
    qb = quants.shape[2]
    for t in range(rows // TILE):
        for r in range(TILE):
            row = t * TILE + r
            for b in range(nb):
                off = (row * nb + b) * block_bytes
                scales[t, b, r] = np.uint16(w[off]) | (np.uint16(w[off + 1]) << np.uint16(8))
                if has_min:
                    mins[t, b, r] = np.uint16(w[off + 2]) | (np.uint16(w[off + 3]) << np.uint16(8))
                for j in range(qb):
                    quants[t, b, j, r] = w[off + quant_offset + j]


def repack(ggml_type: int, data: np.ndarray, rows: int, cols: int):
    """(scales, mins, quants) of the row-tiled copy of a GGUF matrix (see module doc)."""
    _, _, qb = GEOMETRY[int(ggml_type)]
    n_tiles, nb = rows // TILE, cols // 32
    dtype = scale_dtype(ggml_type)
    scales = np.empty((n_tiles, nb, TILE), dtype)
    mins = np.empty((n_tiles, nb, TILE) if has_mins(ggml_type) else (0, 0, 0), dtype)
    quants = np.empty((n_tiles, nb, qb, TILE), np.uint8)
    repack_into(ggml_type, data, rows, cols, scales, mins, quants)
    return scales, mins, quants


def repack_into(ggml_type: int, data: np.ndarray, rows: int, cols: int, scales, mins, quants) -> None:
    """Fill preallocated (scales, mins, quants) arrays of repack()'s shapes, which may be
    C-contiguous views into a larger stack (stacked_layers.py)."""
    if int(ggml_type) == Q4_K:
        _repack_q4_k(data, rows, cols, scales, mins, quants)
        return
    block_bytes, quant_offset, _ = GEOMETRY[int(ggml_type)]
    _repack(data, rows, cols, block_bytes, quant_offset, int(ggml_type) == Q4_1, scales, mins, quants)


@njit(cache=True)
def _repack_q4_k(w, rows, cols, scales, mins, quants):
    """Q4_K rows -> Q4_1-style tiles with float32 scales (see SCALE_DTYPES).

    A Q4_K super-block (d @0, dmin @2, 12 bytes of 6-bit scales/mins @4, 128 bytes @16)
    holds 8 sub-blocks of 32; sub-block 2g+h is nibble h of bytes 16+32g .. 16+32g+31.
    A Q4_1 block pairs value i (low nibble) with value i+16 (high nibble) in byte i.
    """
    n_super = cols // 256
    for t in range(rows // TILE):
        for r in range(TILE):
            row = t * TILE + r
            for sb in range(n_super):
                off = (row * n_super + sb) * 144
                d = load_f16(w, U(off))
                dmin = load_f16(w, U(off + 2))
                for j in range(8):
                    sc, mn = k_scale_min(w, U(off + 4), j)
                    b = sb * 8 + j
                    scales[t, b, r] = d * np.float32(sc)
                    mins[t, b, r] = -(dmin * np.float32(mn))
                    q0 = off + 16 + (j // 2) * 32
                    shift = 4 * (j % 2)
                    for i in range(16):
                        low = (w[q0 + i] >> shift) & 15
                        high = (w[q0 + 16 + i] >> shift) & 15
                        quants[t, b, i, r] = low | (high << 4)


@njit(inline="always", cache=True)
def _block_sums(x):
    nb = x.shape[0] // 32
    sums = np.zeros(nb, np.float32)
    for b in range(nb):
        s = np.float32(0.0)
        for j in range(32):
            s += x[b * 32 + j]
        sums[b] = s
    return sums


@njit(inline="always", cache=True)
def _nibble_dots(quants, t, b, x, part, tile):
    """part[r] = sum_j q_rj x_j over block b of tile t, q the raw 4-bit values 0..15."""
    x0 = b * U(32)
    for r in range(tile):
        part[r] = np.float32(0.0)
    for j in range(16):
        x_low = x[x0 + U(j)]
        x_high = x[x0 + U(16 + j)]
        q = quants[t, b, U(j)]
        for r in range(tile):
            part[r] += field_f32(q[r], 0, 15) * x_low + field_f32(q[r], 4, 15) * x_high


@njit(parallel=True, fastmath=True, cache=True)
def matvec_q4_1(scales, mins, quants, x, out):
    n_tiles, nb, tile = scales.shape[0], scales.shape[1], U(scales.shape[2])
    x_sums = _block_sums(x)
    for t in prange(n_tiles):
        acc = np.zeros(TILE, np.float32)
        part = np.empty(TILE, np.float32)
        for b in range(U(nb)):
            _nibble_dots(quants, U(t), b, x, part, tile)
            xs = x_sums[b]
            for r in range(tile):
                acc[r] += scale_value(scales[t, b, r]) * part[r] + scale_value(mins[t, b, r]) * xs
        for r in range(tile):
            out[t * TILE + r] = acc[r]


@njit(parallel=True, fastmath=True, cache=True)
def matvec_q4_0(scales, mins, quants, x, out):
    n_tiles, nb, tile = scales.shape[0], scales.shape[1], U(scales.shape[2])
    x_sums = _block_sums(x)
    for t in prange(n_tiles):
        acc = np.zeros(TILE, np.float32)
        part = np.empty(TILE, np.float32)
        for b in range(U(nb)):
            _nibble_dots(quants, U(t), b, x, part, tile)
            offset = np.float32(8.0) * x_sums[b]  # the stored nibble is q + 8
            for r in range(tile):
                acc[r] += scale_value(scales[t, b, r]) * (part[r] - offset)
        for r in range(tile):
            out[t * TILE + r] = acc[r]


@njit(parallel=True, fastmath=True, cache=True)
def matvec_q8_0(scales, mins, quants, x, out):
    n_tiles, nb, tile = scales.shape[0], scales.shape[1], U(scales.shape[2])
    for t in prange(n_tiles):
        acc = np.zeros(TILE, np.float32)
        part = np.empty(TILE, np.float32)
        for b in range(U(nb)):
            for r in range(tile):
                part[r] = np.float32(0.0)
            for j in range(32):
                xj = x[b * U(32) + U(j)]
                q = quants[U(t), b, U(j)]
                for r in range(tile):
                    part[r] += np.float32(np.int8(q[r])) * xj
            for r in range(tile):
                acc[r] += scale_value(scales[t, b, r]) * part[r]
        for r in range(tile):
            out[t * TILE + r] = acc[r]


@njit(inline="always", cache=True)
def _decode_row_block(kind, scales, mins, quants, t, b, r, out, c0):
    """out[c0:c0+32] = the 32 values of block b of row r of tile t."""
    d = scale_value(scales[t, b, r])
    if kind == Q8_0:
        for j in range(32):
            out[c0 + j] = d * np.float32(np.int8(quants[t, b, j, r]))
    else:
        if kind == Q4_1:
            m = scale_value(mins[t, b, r])
        else:
            m = np.float32(-8.0) * d
        for j in range(16):
            q = quants[t, b, j, r]
            out[c0 + j] = d * field_f32(q, 0, 15) + m
            out[c0 + 16 + j] = d * field_f32(q, 4, 15) + m


@njit(inline="always", cache=True)
def _decode_block(kind, scales, mins, quants, t, b, r0, scratch, c0):
    """scratch[i, c0:c0+32] = the 32 values of block b of row r0+i of tile t, i < ROW_TILE."""
    for i in range(ROW_TILE):
        _decode_row_block(kind, scales, mins, quants, t, b, r0 + i, scratch[i], c0)


@njit(cache=True)
def get_rows(kind, scales, mins, quants, ids, out):
    """out[i] = row ids[i] of the tiled matrix: an embedding lookup that reads the tiled copy,
    so a tied embedding/output matrix is resident once, not also as file pages."""
    for i in range(ids.shape[0]):
        t, r = ids[i] // TILE, ids[i] % TILE
        for b in range(scales.shape[1]):
            _decode_row_block(kind, scales, mins, quants, t, b, r, out[i], b * 32)


@njit(inline="always", cache=True)
def _matmul_tile(kind, scales, mins, quants, x, out, t):
    """Tile t of out = x W^T for a batch x (n, cols), ROW_TILE rows at a time: they are
    decoded CHUNK columns at a time into an L1-sized scratch that serves every input row
    (as block_kernels' batched kernel does on the GGUF layout)."""
    nb = scales.shape[1]
    n = x.shape[0]
    chunk_blocks = CHUNK // 32
    scratch = np.empty((ROW_TILE, CHUNK), np.float32)
    for r0 in range(0, TILE, ROW_TILE):
        acc = np.zeros((n, ROW_TILE), np.float32)
        for b0 in range(0, nb, chunk_blocks):
            nblk = min(chunk_blocks, nb - b0)
            for k in range(nblk):
                _decode_block(kind, scales, mins, quants, t, b0 + k, r0, scratch, k * 32)
            multiply_chunk(scratch, ROW_TILE, U(nblk * 32), x, U(b0 * 32), acc)
        for i in range(n):
            for rr in range(ROW_TILE):
                out[i, t * TILE + r0 + rr] = acc[i, rr]


@njit(parallel=True, fastmath=True, cache=True)
def matmul_q4_0(scales, mins, quants, x, out):
    for t in prange(scales.shape[0]):
        _matmul_tile(Q4_0, scales, mins, quants, x, out, t)


@njit(parallel=True, fastmath=True, cache=True)
def matmul_q4_1(scales, mins, quants, x, out):
    for t in prange(scales.shape[0]):
        _matmul_tile(Q4_1, scales, mins, quants, x, out, t)


@njit(parallel=True, fastmath=True, cache=True)
def matmul_q8_0(scales, mins, quants, x, out):
    for t in prange(scales.shape[0]):
        _matmul_tile(Q8_0, scales, mins, quants, x, out, t)


# type code -> (matvec, matmul) over (scales, mins, quants, x, out)
KERNELS = {
    Q4_0: (matvec_q4_0, matmul_q4_0),
    Q4_1: (matvec_q4_1, matmul_q4_1),
    Q8_0: (matvec_q8_0, matmul_q8_0),
    Q4_K: (matvec_q4_1, matmul_q4_1),
}

