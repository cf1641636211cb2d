"""Matrix kernels for the block-quantized types, written once over a block kernel.

The quantized rows are read where they lie (a view into the GGUF mmap). The
matrix-vector kernel multiplies straight from the unpacked bytes; the batched kernel
decodes a tile of rows into a small float32 scratch once and reuses it for all inputs.
The shared loop nests take the type's block kernel (legacy_kernels / kquant_kernels)
as a compile-time argument and are instantiated once per type at the bottom.

numba's on-disk cache checks only the source file of the cached function itself: after
editing legacy_kernels.py, kquant_kernels.py or bits.py, delete this package's
__pycache__/*.nbi and *.nbc files, or the kernels here keep the old block code.
"""

from __future__ import annotations

import numpy as np
from gguf.constants import GGMLQuantizationType as T
from numba import njit, prange

from constrain.runtime.quants import kquant_kernels as kq
from constrain.runtime.quants import legacy_kernels as lg

# GGML type codes, as plain ints for the kernel table below
Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 = (int(T.Q4_0), int(T.Q4_1), int(T.Q5_0), int(T.Q5_1), int(T.Q8_0))
Q2_K, Q3_K, Q4_K, Q5_K, Q6_K = (int(T.Q2_K), int(T.Q3_K), int(T.Q4_K), int(T.Q5_K), int(T.Q6_K))

# Unsigned indices spare numba's negative-index wraparound, which blocks vectorizing.
U = np.uint64

# Columns decoded per step: one k-quant super-block, or eight legacy blocks.
CHUNK = 256
# Lanes of per-row accumulators in the matrix-vector kernels (see _matvec_task).
ACC_SPAN = 128
# Output rows that share one decoded chunk in the batched kernel.
ROW_TILE = 16


@njit(inline="always", cache=True)
def _decode_span(accumulate, bs, ts, w, row_off, first_block, nblocks, ones, out):
    """out[:nblocks*bs] = blocks first_block.. of the row starting at byte row_off.

    Decoding is accumulation against a vector of ones into zeros: exact, and one
    implementation per format instead of two.
    """
    out[:nblocks * bs] = 0.0
    for k in range(nblocks):
        accumulate(w, U(row_off + (first_block + k) * ts), ones, U(0), out, U(k * bs))


@njit(inline="always", cache=True)
def _get_row(accumulate, bs, ts, w, cols, row, ones, out):
    nb = cols // bs
    _decode_span(accumulate, bs, ts, w, row * nb * ts, 0, nb, ones, out)


@njit(inline="always", cache=True)
def _dot(wr, xi, x0, span):
    total = np.float32(0.0)
    for j in range(span):
        total += wr[j] * xi[x0 + j]
    return total


@njit(inline="always", cache=True)
def multiply_chunk(scratch, nr, span, x, x0, acc):
    """acc[i, r] += scratch[r, :span] . x[i, x0:x0+span] for every input i and row r < nr.

    Two inputs times four rows at once: eight dot products share each load, so the
    loop does more multiply-adds than loads (one dot at a time does two loads each).
    """
    n = x.shape[0]
    n_pairs = n // 2
    row_quads = nr // 4
    for p in range(n_pairs):
        xa = x[2 * p]
        xb = x[2 * p + 1]
        for q in range(row_quads):
            w0 = scratch[4 * q]
            w1 = scratch[4 * q + 1]
            w2 = scratch[4 * q + 2]
            w3 = scratch[4 * q + 3]
            a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = np.float32(0.0)
            for j in range(span):
                xaj = xa[x0 + j]
                xbj = xb[x0 + j]
                a0 += w0[j] * xaj
                a1 += w1[j] * xaj
                a2 += w2[j] * xaj
                a3 += w3[j] * xaj
                b0 += w0[j] * xbj
                b1 += w1[j] * xbj
                b2 += w2[j] * xbj
                b3 += w3[j] * xbj
            r = 4 * q
            acc[2 * p, r] += a0
            acc[2 * p, r + 1] += a1
            acc[2 * p, r + 2] += a2
            acc[2 * p, r + 3] += a3
            acc[2 * p + 1, r] += b0
            acc[2 * p + 1, r + 1] += b1
            acc[2 * p + 1, r + 2] += b2
            acc[2 * p + 1, r + 3] += b3
        for r in range(4 * row_quads, nr):
            acc[2 * p, r] += _dot(scratch[r], xa, x0, span)
            acc[2 * p + 1, r] += _dot(scratch[r], xb, x0, span)
    for i in range(2 * n_pairs, n):
        for r in range(nr):
            acc[i, r] += _dot(scratch[r], x[i], x0, span)


@njit(inline="always", cache=True)
def _matmul_tile(accumulate, bs, ts, w, rows, cols, x, out, tile):
    """Rows tile*ROW_TILE.. of out = x W^T for a batch x (n, cols).

    The tile's rows are decoded CHUNK columns at a time into an L1-sized float32
    scratch, and each decoded chunk serves every input row: the decoding cost is
    shared by the whole batch.
    """
    nb = cols // bs
    row_bytes = nb * ts
    chunk_blocks = max(1, CHUNK // bs)
    ones = np.ones(bs, np.float32)
    n = x.shape[0]
    r0 = tile * ROW_TILE
    nr = min(ROW_TILE, rows - r0)
    scratch = np.empty((ROW_TILE, chunk_blocks * bs), np.float32)
    acc = np.zeros((n, ROW_TILE), np.float32)
    for b0 in range(0, nb, chunk_blocks):
        nblk = min(chunk_blocks, nb - b0)
        span = U(nblk * bs)
        for rr in range(nr):
            _decode_span(accumulate, bs, ts, w, (r0 + rr) * row_bytes, b0, nblk, ones, scratch[rr])
        multiply_chunk(scratch, nr, span, x, U(b0 * bs), acc)
    for i in range(n):
        for rr in range(nr):
            out[i, r0 + rr] = acc[i, rr]


@njit(inline="always", cache=True)
def _matvec_task(accumulate, bs, ts, w, rows, cols, x, out, task, rows_per_task):
    """Rows task*rows_per_task.. of out = W x, with `accumulate` the type's block kernel.

    Products are summed lane-wise (one accumulator per column position within a block)
    and reduced once per row: no horizontal sum per block. `accumulate` is a compile-time constant
    in each caller, so the block kernel is inlined with no type dispatch in the loop
    (a run-time dispatch here measured about 2x slower).
    """
    nb = cols // bs
    row_bytes = nb * ts
    # Consecutive small blocks go to different accumulator sets, so each set is
    # updated only every `sets` blocks and its store-reload latency overlaps work.
    sets = max(1, ACC_SPAN // bs)
    for r in range(task * rows_per_task, min(rows, (task + 1) * rows_per_task)):
        acc = np.zeros(sets * bs, np.float32)
        for b in range(nb):
            accumulate(w, U(r * row_bytes + b * ts), x, U(b * bs), acc, U((b % sets) * bs))
        out[r] = acc.sum()


# One kernel of each kind per type, so that each inlines its own block code (no
# type dispatch inside the loops) and only the types a model uses get compiled.

@njit(parallel=True, fastmath=True, cache=True)
def matvec_q4_0(w, rows, cols, x, out, rows_per_task):
    for task in prange((rows + rows_per_task - 1) // rows_per_task):
        _matvec_task(lg.accumulate_q4_0, 32, 18, w, rows, cols, x, out, task, rows_per_task)


@njit(parallel=True, fastmath=True, cache=True)
def matmul_q4_0(w, rows, cols, x, out):
    for tile in prange((rows + ROW_TILE - 1) // ROW_TILE):
        _matmul_tile(lg.accumulate_q4_0, 32, 18, w, rows, cols, x, out, tile)


@njit(parallel=True, cache=True)
def get_rows_q4_0(w, cols, ids, out):
    ones = np.ones(32, np.float32)
    for i in prange(ids.shape[0]):
        _get_row(lg.accumulate_q4_0, 32, 18, w, cols, ids[i], ones, out[i])


@njit(parallel=True, fastmath=True, cache=True)
def matvec_q4_1(w, rows, cols, x, out, rows_per_task):
    for task in prange((rows + rows_per_task - 1) // rows_per_task):
        _matvec_task(lg.accumulate_q4_1, 32, 20, w, rows, cols, x, out, task, rows_per_task)


@njit(parallel=True, fastmath=True, cache=True)
def matmul_q4_1(w, rows, cols, x, out):
    for tile in prange((rows + ROW_TILE - 1) // ROW_TILE):
        _matmul_tile(lg.accumulate_q4_1, 32, 20, w, rows, cols, x, out, tile)


@njit(parallel=True, cache=True)
def get_rows_q4_1(w, cols, ids, out):
    ones = np.ones(32, np.float32)
    for i in prange(ids.shape[0]):
        _get_row(lg.accumulate_q4_1, 32, 20, w, cols, ids[i], ones, out[i])


@njit(parallel=True, fastmath=True, cache=True)
def matvec_q5_0(w, rows, cols, x, out, rows_per_task):
    for task in prange((rows + rows_per_task - 1) // rows_per_task):
        _matvec_task(lg.accumulate_q5_0, 32, 22, w, rows, cols, x, out, task, rows_per_task)


@njit(parallel=True, fastmath=True, cache=True)
def matmul_q5_0(w, rows, cols, x, out):
    for tile in prange((rows + ROW_TILE - 1) // ROW_TILE):
        _matmul_tile(lg.accumulate_q5_0, 32, 22, w, rows, cols, x, out, tile)


@njit(parallel=True, cache=True)
def get_rows_q5_0(w, cols, ids, out):
    ones = np.ones(32, np.float32)
    for i in prange(ids.shape[0]):
        _get_row(lg.accumulate_q5_0, 32, 22, w, cols, ids[i], ones, out[i])


@njit(parallel=True, fastmath=True, cache=True)
def matvec_q5_1(w, rows, cols, x, out, rows_per_task):
    for task in prange((rows + rows_per_task - 1) // rows_per_task):
        _matvec_task(lg.accumulate_q5_1, 32, 24, w, rows, cols, x, out, task, rows_per_task)


@njit(parallel=True, fastmath=True, cache=True)
def matmul_q5_1(w, rows, cols, x, out):
    for tile in prange((rows + ROW_TILE - 1) // ROW_TILE):
        _matmul_tile(lg.accumulate_q5_1, 32, 24, w, rows, cols, x, out, tile)


@njit(parallel=True, cache=True)
def get_rows_q5_1(w, cols, ids, out):
    ones = np.ones(32, np.float32)
    for i in prange(ids.shape[0]):
        _get_row(lg.accumulate_q5_1, 32, 24, w, cols, ids[i], ones, out[i])


@njit(parallel=True, fastmath=True, cache=True)
def matvec_q8_0(w, rows, cols, x, out, rows_per_task):
    for task in prange((rows + rows_per_task - 1) // rows_per_task):
        _matvec_task(lg.accumulate_q8_0, 32, 34, w, rows, cols, x, out, task, rows_per_task)


@njit(parallel=True, fastmath=True, cache=True)
def matmul_q8_0(w, rows, cols, x, out):
    for tile in prange((rows + ROW_TILE - 1) // ROW_TILE):
        _matmul_tile(lg.accumulate_q8_0, 32, 34, w, rows, cols, x, out, tile)


@njit(parallel=True, cache=True)
def get_rows_q8_0(w, cols, ids, out):
    ones = np.ones(32, np.float32)
    for i in prange(ids.shape[0]):
        _get_row(lg.accumulate_q8_0, 32, 34, w, cols, ids[i], ones, out[i])


@njit(parallel=True, fastmath=True, cache=True)
def matvec_q2_k(w, rows, cols, x, out, rows_per_task):
    for task in prange((rows + rows_per_task - 1) // rows_per_task):
        _matvec_task(kq.accumulate_q2_k, 256, 84, w, rows, cols, x, out, task, rows_per_task)


@njit(parallel=True, fastmath=True, cache=True)
def matmul_q2_k(w, rows, cols, x, out):
    for tile in prange((rows + ROW_TILE - 1) // ROW_TILE):
        _matmul_tile(kq.accumulate_q2_k, 256, 84, w, rows, cols, x, out, tile)


@njit(parallel=True, cache=True)
def get_rows_q2_k(w, cols, ids, out):
    ones = np.ones(256, np.float32)
    for i in prange(ids.shape[0]):
        _get_row(kq.accumulate_q2_k, 256, 84, w, cols, ids[i], ones, out[i])


@njit(parallel=True, fastmath=True, cache=True)
def matvec_q3_k(w, rows, cols, x, out, rows_per_task):
    for task in prange((rows + rows_per_task - 1) // rows_per_task):
        _matvec_task(kq.accumulate_q3_k, 256, 110, w, rows, cols, x, out, task, rows_per_task)


@njit(parallel=True, fastmath=True, cache=True)
def matmul_q3_k(w, rows, cols, x, out):
    for tile in prange((rows + ROW_TILE - 1) // ROW_TILE):
        _matmul_tile(kq.accumulate_q3_k, 256, 110, w, rows, cols, x, out, tile)


@njit(parallel=True, cache=True)
def get_rows_q3_k(w, cols, ids, out):
    ones = np.ones(256, np.float32)
    for i in prange(ids.shape[0]):
        _get_row(kq.accumulate_q3_k, 256, 110, w, cols, ids[i], ones, out[i])


@njit(parallel=True, fastmath=True, cache=True)
def matvec_q4_k(w, rows, cols, x, out, rows_per_task):
    for task in prange((rows + rows_per_task - 1) // rows_per_task):
        _matvec_task(kq.accumulate_q4_k, 256, 144, w, rows, cols, x, out, task, rows_per_task)


@njit(parallel=True, fastmath=True, cache=True)
def matmul_q4_k(w, rows, cols, x, out):
    for tile in prange((rows + ROW_TILE - 1) // ROW_TILE):
        _matmul_tile(kq.accumulate_q4_k, 256, 144, w, rows, cols, x, out, tile)


@njit(parallel=True, cache=True)
def get_rows_q4_k(w, cols, ids, out):
    ones = np.ones(256, np.float32)
    for i in prange(ids.shape[0]):
        _get_row(kq.accumulate_q4_k, 256, 144, w, cols, ids[i], ones, out[i])


@njit(parallel=True, fastmath=True, cache=True)
def matvec_q5_k(w, rows, cols, x, out, rows_per_task):
    for task in prange((rows + rows_per_task - 1) // rows_per_task):
        _matvec_task(kq.accumulate_q5_k, 256, 176, w, rows, cols, x, out, task, rows_per_task)


@njit(parallel=True, fastmath=True, cache=True)
def matmul_q5_k(w, rows, cols, x, out):
    for tile in prange((rows + ROW_TILE - 1) // ROW_TILE):
        _matmul_tile(kq.accumulate_q5_k, 256, 176, w, rows, cols, x, out, tile)


@njit(parallel=True, cache=True)
def get_rows_q5_k(w, cols, ids, out):
    ones = np.ones(256, np.float32)
    for i in prange(ids.shape[0]):
        _get_row(kq.accumulate_q5_k, 256, 176, w, cols, ids[i], ones, out[i])


@njit(parallel=True, fastmath=True, cache=True)
def matvec_q6_k(w, rows, cols, x, out, rows_per_task):
    for task in prange((rows + rows_per_task - 1) // rows_per_task):
        _matvec_task(kq.accumulate_q6_k, 256, 210, w, rows, cols, x, out, task, rows_per_task)


@njit(parallel=True, fastmath=True, cache=True)
def matmul_q6_k(w, rows, cols, x, out):
    for tile in prange((rows + ROW_TILE - 1) // ROW_TILE):
        _matmul_tile(kq.accumulate_q6_k, 256, 210, w, rows, cols, x, out, tile)


@njit(parallel=True, cache=True)
def get_rows_q6_k(w, cols, ids, out):
    ones = np.ones(256, np.float32)
    for i in prange(ids.shape[0]):
        _get_row(kq.accumulate_q6_k, 256, 210, w, cols, ids[i], ones, out[i])


# type code -> (matvec, matmul, get_rows)
KERNELS = {
    Q4_0: (matvec_q4_0, matmul_q4_0, get_rows_q4_0),
    Q4_1: (matvec_q4_1, matmul_q4_1, get_rows_q4_1),
    Q5_0: (matvec_q5_0, matmul_q5_0, get_rows_q5_0),
    Q5_1: (matvec_q5_1, matmul_q5_1, get_rows_q5_1),
    Q8_0: (matvec_q8_0, matmul_q8_0, get_rows_q8_0),
    Q2_K: (matvec_q2_k, matmul_q2_k, get_rows_q2_k),
    Q3_K: (matvec_q3_k, matmul_q3_k, get_rows_q3_k),
    Q4_K: (matvec_q4_k, matmul_q4_k, get_rows_q4_k),
    Q5_K: (matvec_q5_k, matmul_q5_k, get_rows_q5_k),
    Q6_K: (matvec_q6_k, matmul_q6_k, get_rows_q6_k),
}
