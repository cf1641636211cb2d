"""Prompt batches' byte planes (quants/byte_planes.py) against numpy: each tile kind's block
decoded from tiles.py's pair-interleaved layout, then multiplied by activation rows and
scaled, for every CPU path (vpdpbusd with VNNI, vpmaddubsw and vpmaddwd with AVX2, portable
vector code otherwise) and for one row and SCALED_ROWS rows at a time.

With unit scales the float result is the integer sum itself (below 2**24), so the decode and
the integer core are checked exactly, at the extremes the overflow arguments rest on: the
largest weights of each kind against activations of -127 and 127."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from constrain.runtime.quants import byte_planes, simd
from constrain.runtime.quants.simd import TILE

# Each CPU path: the one this CPU takes, and the ones a CPU with fewer features would take
# (chosen when the caller is compiled, so switching the flags and compiling a new caller
# selects them here too).
PATHS = {"vnni": (True, True), "avx2": (True, False), "portable": (False, False)}

# kind: (bits per value, pairs per block, decoder, one-row and several-row products,
#        values per scale, has mins, zero point); int8 values are signed
KINDS = {
    "U4": (4, 8, "decode_u4", "g32_mins", 32, True, 0),
    "U4_G16": (4, 8, "decode_u4", "g16_mins", 16, True, 0),
    "U5": (5, 8, "decode_u5", "g32_mins", 32, True, 0),
    "U6_G16": (6, 8, "decode_u6", "g16_zero", 16, False, 32),
    "I8": (8, 16, "decode_i8", "i8", 32, False, 0),
}


def _encode(values: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """values (TILE, 32) -> (quants, highs) of one block in tiles.py's layout (its module doc)."""
    if bits == 8:
        quants = np.zeros((16, TILE, 2), np.uint8)
        for p in range(16):
            for e in range(2):
                quants[p, :, e] = values[:, 2 * p + e].astype(np.int8).view(np.uint8)
        return quants, np.zeros((0, TILE, 2), np.uint8)
    high_bits = bits - 4
    quants = np.zeros((8, TILE, 2), np.uint8)
    highs = np.zeros((2 * high_bits, TILE, 2), np.uint8)
    for p in range(8):
        for e in range(2):
            low, high = values[:, 2 * p + e], values[:, 16 + 2 * p + e]
            quants[p, :, e] = (low & 15) | ((high & 15) << 4)
            for half, v in enumerate((low, high)):
                bit = (2 * p + half) * high_bits
                if high_bits:
                    highs[bit // 8, :, e] |= ((v >> 4) << (bit % 8)).astype(np.uint8)
    return quants, highs


def _expected(values, xq, sb, dx, group, mins, zero, acc):
    v = values.astype(np.float64) - zero
    x = xq.astype(np.float64)
    out = acc.astype(np.float64).copy()
    for k in range(xq.shape[0]):
        lo, hi = x[k, :16].sum(), x[k, 16:].sum()
        if group == 16:
            dots = sb[0] * (v[:, :16] @ x[k, :16]) + sb[1] * (v[:, 16:] @ x[k, 16:])
            offsets = sb[2] * lo + sb[3] * hi if mins else 0.0
        else:
            dots = sb[0] * (v @ x[k])
            offsets = sb[2] * (lo + hi) if mins else 0.0
        out[k] += dx[k] * (dots + offsets)
    return out


def _runner(monkeypatch, path, kind, rows):
    avx2, vnni = PATHS[path]
    if vnni and not simd.HAVE_VNNI or avx2 and not simd.HAVE_AVX2:
        pytest.skip(f"this CPU has no {path} instructions")
    monkeypatch.setattr(simd, "HAVE_AVX2", avx2)
    monkeypatch.setattr(simd, "HAVE_VNNI", vnni)
    _, _, decoder, product, _, _, _ = KINDS[kind]
    decode = getattr(byte_planes, decoder)
    multiply = getattr(byte_planes, product + ("_rows" if rows > 1 else ""))

    @njit  # never cached: compiled afresh under the flags above
    def run(quants, highs, xq, sb, dx, xsums, acc):
        plane = np.empty((TILE // 8, 8, 8, 4), np.uint8)
        decode(quants, 0, highs, 0, plane)
        multiply(plane.reshape(-1), 0, xq.reshape(-1), 0, 32, sb, dx, xsums.reshape(-1), 0, 1, acc.reshape(-1), 0)

    return run


def _cases(rng, bits, rows):
    low, high = (-128, 127) if bits == 8 else (0, 2 ** bits - 1)
    yield rng.integers(low, high + 1, (TILE, 32)), rng.integers(-127, 128, (rows, 32))
    for w in (low, high):
        for x in (-127, 127):
            yield np.full((TILE, 32), w), np.full((rows, 32), x)


def _every_path_kind_and_row_count(test):
    for name, values in (("rows", [1, byte_planes.SCALED_ROWS]), ("kind", list(KINDS)), ("path", list(PATHS))):
        test = pytest.mark.parametrize(name, values)(test)
    return test


def _multiply(run, bits, values, xq, sb, dx, acc):
    """acc += the block of `values` times the activation rows xq, through the kernels."""
    quants, highs = _encode(values, bits)
    xsums = np.stack([xq[:, :16].sum(1), xq[:, 16:].sum(1)], 1).astype(np.float32)
    run(quants.reshape(-1), highs.reshape(-1), xq.astype(np.int8), sb, dx, xsums, acc)


@_every_path_kind_and_row_count
def test_unit_scales_give_the_exact_integer_sums(monkeypatch, path, kind, rows):
    bits, _, _, _, group, mins, zero = KINDS[kind]
    run = _runner(monkeypatch, path, kind, rows)
    rng = np.random.default_rng(0)
    sb = np.zeros((4, TILE), np.float32)
    sb[:2] = 1.0
    dx = np.ones(rows, np.float32)
    for values, xq in _cases(rng, bits, rows):
        acc = np.zeros((rows, TILE), np.float32)
        _multiply(run, bits, values, xq, sb, dx, acc)
        np.testing.assert_array_equal(acc, _expected(values, xq, sb, dx, group, mins, zero, np.zeros_like(acc)))


@_every_path_kind_and_row_count
def test_scales_mins_and_accumulation(monkeypatch, path, kind, rows):
    bits, _, _, _, group, mins, zero = KINDS[kind]
    run = _runner(monkeypatch, path, kind, rows)
    rng = np.random.default_rng(1)
    values, xq = next(_cases(rng, bits, rows))
    sb = rng.uniform(-0.05, 0.05, (4, TILE)).astype(np.float32)
    dx = rng.uniform(0.001, 0.02, rows).astype(np.float32)
    acc = rng.standard_normal((rows, TILE)).astype(np.float32)
    expected = _expected(values, xq, sb, dx, group, mins, zero, acc)
    _multiply(run, bits, values, xq, sb, dx, acc)
    np.testing.assert_allclose(acc, expected, rtol=1e-5, atol=1e-4)
