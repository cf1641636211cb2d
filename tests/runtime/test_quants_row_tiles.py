"""Row-tiled matrices (quants/row_tiles.py) against gguf-py's reference dequantization."""

from __future__ import annotations

import numpy as np
import pytest
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as T
from gguf.quants import dequantize
from hypothesis import given, settings
from hypothesis import strategies as st

from constrain.runtime.quants import QuantMatrix
from constrain.runtime.quants.row_tiles import TILE, can_tile

TILED_TYPES = (T.Q4_0, T.Q4_1, T.Q8_0, T.Q4_K)
F16_FIELDS = {T.Q4_0: (0,), T.Q4_1: (0, 2), T.Q8_0: (0,), T.Q4_K: (0, 2)}


def _random_matrix(ggml_type, rows, cols, seed):
    rng = np.random.default_rng(seed)
    block_values, block_bytes = GGML_QUANT_SIZES[ggml_type]
    nblocks = rows * cols // block_values
    blocks = rng.integers(0, 256, (nblocks, block_bytes), dtype=np.uint8)
    for field in F16_FIELDS[ggml_type]:
        scales = rng.standard_normal(nblocks).astype(np.float16)
        blocks[:, field:field + 2] = scales.view(np.uint8).reshape(nblocks, 2)
    raw = np.frombuffer(blocks.tobytes(), np.uint8)
    return raw, dequantize(raw.reshape(rows, -1), ggml_type).reshape(rows, cols).astype(np.float64)


@pytest.mark.parametrize("ggml_type", TILED_TYPES, ids=lambda t: t.name)
@settings(max_examples=8, deadline=None)
@given(tiles=st.integers(1, 3), blocks=st.integers(1, 10), n=st.sampled_from([1, 2, 5]),
       seed=st.integers(0, 2**32 - 1))
def test_tiled_matmul_matches_reference(ggml_type, tiles, blocks, n, seed):
    rows, cols = tiles * TILE, blocks * GGML_QUANT_SIZES[ggml_type][0]
    raw, reference = _random_matrix(ggml_type, rows, cols, seed)
    matrix = QuantMatrix("w", ggml_type, raw, rows, cols)
    assert matrix.tile_rows() and matrix.is_row_tiled
    x = np.random.default_rng(seed + 1).standard_normal((n, cols)).astype(np.float32)
    expected = x.astype(np.float64) @ reference.T
    got = matrix.matmul(x) if n > 1 else matrix.matmul(x[0])[None, :]
    # float32 sums of `cols` products: error relative to the sum of magnitudes
    bound = 1e-5 * (np.abs(x.astype(np.float64)) @ np.abs(reference).T) + 1e-30
    assert np.all(np.abs(got - expected) <= bound)
    # the embedding lookup reads the tiled copy: the reference values up to float32 rounding
    lookup = matrix.get_rows(np.array([0, rows - 1, rows // 2]))
    want = reference[[0, rows - 1, rows // 2]]
    assert np.all(np.abs(lookup - want) <= 1e-6 * np.abs(want).max() + 1e-30)


def test_untileable_matrices_keep_the_row_kernels():
    assert not can_tile(T.Q4_1, TILE + 16)
    assert not can_tile(T.Q5_K, TILE)
    raw, _ = _random_matrix(T.Q4_1, 16, 32, 0)
    matrix = QuantMatrix("w", T.Q4_1, raw, 16, 32)
    assert not matrix.tile_rows() and not matrix.is_row_tiled
