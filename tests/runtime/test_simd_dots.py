"""The integer dot-product intrinsics (quants/simd.py) against numpy's integer arithmetic,
at the extremes their overflow arguments rest on: weights of 63 (6-bit) and -128/127 (int8)
against activations of -127 and 127. Whichever instructions this CPU selects (vpdpbusd with
VNNI, vpmaddubsw and vpmaddwd with AVX2, portable vector code otherwise) must give the exact
sums."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from constrain.runtime.quants import simd
from constrain.runtime.quants.simd import TILE, dot_bytes_block, dot_signed_bytes_block

# Each CPU path of the intrinsics: the one this CPU takes, and the ones a CPU with fewer
# features would take (chosen when the caller is compiled, so switching the flags and
# compiling a new caller selects them here too).
PATHS = {"vnni": (True, True), "avx2": (True, False), "portable": (False, False)}


def _kernels(monkeypatch, path):
    avx2, vnni = PATHS[path]
    if vnni and not simd.HAVE_VNNI or avx2 and not simd.HAVE_AVX2:
        pytest.skip(f"this CPU has no {path} instructions")
    monkeypatch.setattr(simd, "HAVE_AVX2", avx2)
    monkeypatch.setattr(simd, "HAVE_VNNI", vnni)

    @njit  # never cached: compiled afresh under the flags above
    def unsigned(plane, xq, out):
        dot_bytes_block(plane, 0, xq, 0, out, 0)

    @njit
    def signed(plane, xq, out):
        dot_signed_bytes_block(plane, 0, xq, 0, out, 0)

    return unsigned, signed


def _reference(weights: np.ndarray, xq: np.ndarray) -> np.ndarray:
    """weights (TILE // 8, 8 quads, 8 rows, 4 values) -> out (2 * TILE,): values 0..15 of each
    row at out[row], values 16..31 at out[TILE + row]."""
    w = weights.astype(np.int64)
    x = xq.astype(np.int64).reshape(8, 4)
    out = np.zeros(2 * TILE, np.int64)
    for group in range(TILE // 8):
        for quad in range(8):
            out[TILE * (quad // 4) + 8 * group: TILE * (quad // 4) + 8 * group + 8] += w[group, quad] @ x[quad]
    return out


def _cases(rng, low, high):
    shape = (TILE // 8, 8, 8, 4)
    yield rng.integers(low, high + 1, shape), rng.integers(-127, 128, 32)
    yield np.full(shape, high), np.full(32, 127)  # the largest sums
    yield np.full(shape, low), np.full(32, -127)
    yield np.full(shape, high), np.full(32, -127)
    yield np.full(shape, low), np.full(32, 127)


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("signed", [False, True])
def test_dot_of_a_byte_plane_is_exact(monkeypatch, signed, path):
    unsigned_kernel, signed_kernel = _kernels(monkeypatch, path)
    rng = np.random.default_rng(0)
    low, high = (-128, 127) if signed else (0, 63)
    for weights, xq in _cases(rng, low, high):
        plane = weights.astype(np.int8 if signed else np.uint8).reshape(-1)
        x = xq.astype(np.int8)
        out = np.zeros(2 * TILE, np.float32)
        (signed_kernel if signed else unsigned_kernel)(plane.view(np.uint8), x, out)
        np.testing.assert_array_equal(out.astype(np.int64), _reference(weights, xq))
