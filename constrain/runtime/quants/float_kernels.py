"""Matrix kernels for unquantized weights: F32, F16 and BF16.

Weights arrive as typed views of the mmap (float32 or uint16 bit patterns, shape
(rows, cols)); half and bfloat values are widened to float32 on the fly.
"""

from __future__ import annotations

import numpy as np
from gguf.constants import GGMLQuantizationType as T
from numba import njit, prange, types
from numba.extending import overload

from constrain.runtime.quants.bits import bf16_to_f32, f16_to_f32

F32, F16, BF16 = int(T.F32), int(T.F16), int(T.BF16)

ROW_TILE = 16


def widen(kind, value):
    """One stored weight as float32; `kind` is the GGML type code."""
    raise NotImplementedError("only callable from numba code")


@overload(widen, inline="always")
def _widen_overload(kind, value):
    if isinstance(value, types.Float):
        return lambda kind, value: np.float32(value)

    def widen_bits(kind, value):
        if kind == BF16:
            return bf16_to_f32(value)
        return f16_to_f32(value)

    return widen_bits


@njit(parallel=True, fastmath=True, cache=True)
def matvec(kind, w, x, out, rows_per_task):
    rows, cols = w.shape
    ntasks = (rows + rows_per_task - 1) // rows_per_task
    for task in prange(ntasks):
        for r in range(task * rows_per_task, min(rows, (task + 1) * rows_per_task)):
            total = np.float32(0.0)
            for j in range(cols):
                total += widen(kind, w[r, j]) * x[j]
            out[r] = total


@njit(parallel=True, fastmath=True, cache=True)
def matmul(kind, w, x, out):
    """out[i, r] = sum_j w[r, j] x[i, j]; each weight row is widened once per tile."""
    rows, cols = w.shape
    n = x.shape[0]
    ntiles = (rows + ROW_TILE - 1) // ROW_TILE
    for tile in prange(ntiles):
        r0 = tile * ROW_TILE
        nr = min(ROW_TILE, rows - r0)
        row = np.empty(cols, np.float32)
        for rr in range(nr):
            for j in range(cols):
                row[j] = widen(kind, w[r0 + rr, j])
            for i in range(n):
                total = np.float32(0.0)
                for j in range(cols):
                    total += row[j] * x[i, j]
                out[i, r0 + rr] = total


@njit(parallel=True, cache=True)
def get_rows(kind, w, ids, out):
    cols = w.shape[1]
    for i in prange(ids.shape[0]):
        r = ids[i]
        for j in range(cols):
            out[i, j] = widen(kind, w[r, j])
