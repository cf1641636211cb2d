"""Matrix kernels for the block-quantized types, generic over the block decoder.

The quantized rows are read where they lie (a view into the GGUF mmap): a kernel
decodes a few blocks at a time into a small float32 scratch that stays in L1 cache,
and multiplies from there. The type code is a run-time argument; the branch that picks
the decoder is taken once per block and predicts perfectly.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from constrain.runtime.quants import kquant_kernels as kq
from constrain.runtime.quants import legacy_kernels as lg

# GGML type codes (gguf.GGMLQuantizationType), as plain ints for numba
Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 = 2, 3, 6, 7, 8
Q2_K, Q3_K, Q4_K, Q5_K, Q6_K = 10, 11, 12, 13, 14

# Columns decoded per step: one k-quant super-block, or eight legacy blocks.
CHUNK = 256
# Output rows that share one decoded chunk in the batched kernel.
ROW_TILE = 16


@njit(inline="always", cache=True)
def block_geometry(qtype):
    """(values per block, bytes per block) of a block-quantized type code."""
    if qtype == Q4_0:
        return 32, 18
    if qtype == Q4_1:
        return 32, 20
    if qtype == Q5_0:
        return 32, 22
    if qtype == Q5_1:
        return 32, 24
    if qtype == Q8_0:
        return 32, 34
    if qtype == Q2_K:
        return 256, 84
    if qtype == Q3_K:
        return 256, 110
    if qtype == Q4_K:
        return 256, 144
    if qtype == Q5_K:
        return 256, 176
    if qtype == Q6_K:
        return 256, 210
    return 0, 0


@njit(inline="always", cache=True)
def decode_block(qtype, w, off, out, o):
    """Decode the block at byte `off` of `w` into out[o:o+block_size]."""
    if qtype == Q4_0:
        lg.decode_q4_0(w, off, out, o)
    elif qtype == Q4_1:
        lg.decode_q4_1(w, off, out, o)
    elif qtype == Q5_0:
        lg.decode_q5_0(w, off, out, o)
    elif qtype == Q5_1:
        lg.decode_q5_1(w, off, out, o)
    elif qtype == Q8_0:
        lg.decode_q8_0(w, off, out, o)
    elif qtype == Q2_K:
        kq.decode_q2_k(w, off, out, o)
    elif qtype == Q3_K:
        kq.decode_q3_k(w, off, out, o)
    elif qtype == Q4_K:
        kq.decode_q4_k(w, off, out, o)
    elif qtype == Q5_K:
        kq.decode_q5_k(w, off, out, o)
    elif qtype == Q6_K:
        kq.decode_q6_k(w, off, out, o)


@njit(inline="always", cache=True)
def decode_span(qtype, w, row_off, first_block, nblocks, block_values, block_bytes, out, o):
    """Decode blocks first_block .. first_block+nblocks-1 of the row at byte row_off."""
    for k in range(nblocks):
        decode_block(qtype, w, row_off + (first_block + k) * block_bytes, out, o + k * block_values)


@njit(parallel=True, cache=True)
def get_rows(qtype, w, cols, ids, out):
    """out[i] = dequantized row ids[i]; out is float32 (len(ids), cols)."""
    bs, ts = block_geometry(qtype)
    nb = cols // bs
    row_bytes = nb * ts
    for i in prange(ids.shape[0]):
        decode_span(qtype, w, np.int64(ids[i]) * row_bytes, 0, nb, bs, ts, out[i], 0)


@njit(parallel=True, fastmath=True, cache=True)
def matvec(qtype, w, rows, cols, x, out, rows_per_task):
    """out[r] = sum_j W[r, j] * x[j] for a single float32 input vector x."""
    bs, ts = block_geometry(qtype)
    nb = cols // bs
    row_bytes = nb * ts
    chunk_blocks = max(1, CHUNK // bs)
    ntasks = (rows + rows_per_task - 1) // rows_per_task
    for task in prange(ntasks):
        scratch = np.empty(chunk_blocks * bs, np.float32)
        r_end = min(rows, (task + 1) * rows_per_task)
        for r in range(task * rows_per_task, r_end):
            total = np.float32(0.0)
            for b0 in range(0, nb, chunk_blocks):
                nblk = min(chunk_blocks, nb - b0)
                decode_span(qtype, w, r * row_bytes, b0, nblk, bs, ts, scratch, 0)
                x0 = b0 * bs
                partial = np.float32(0.0)
                for j in range(nblk * bs):
                    partial += scratch[j] * x[x0 + j]
                total += partial
            out[r] = total


@njit(parallel=True, fastmath=True, cache=True)
def matmul(qtype, w, rows, cols, x, out):
    """out[i, r] = sum_j W[r, j] * x[i, j] for a batch of inputs x (n, cols).

    Each chunk of ROW_TILE rows is decoded once and used for every input row, so the
    decoding cost is shared by the whole batch.
    """
    bs, ts = block_geometry(qtype)
    nb = cols // bs
    row_bytes = nb * ts
    chunk_blocks = max(1, CHUNK // bs)
    n = x.shape[0]
    ntiles = (rows + ROW_TILE - 1) // ROW_TILE
    for tile in prange(ntiles):
        r0 = tile * ROW_TILE
        nr = min(ROW_TILE, rows - r0)
        scratch = np.empty((ROW_TILE, chunk_blocks * bs), np.float32)
        acc = np.zeros((n, ROW_TILE), np.float32)
        for b0 in range(0, nb, chunk_blocks):
            nblk = min(chunk_blocks, nb - b0)
            span = nblk * bs
            for rr in range(nr):
                decode_span(qtype, w, (r0 + rr) * row_bytes, b0, nblk, bs, ts, scratch[rr], 0)
            x0 = b0 * bs
            for i in range(n):
                for rr in range(nr):
                    partial = np.float32(0.0)
                    for j in range(span):
                        partial += scratch[rr, j] * x[i, x0 + j]
                    acc[i, rr] += partial
        for i in range(n):
            for rr in range(nr):
                out[i, r0 + rr] = acc[i, rr]
