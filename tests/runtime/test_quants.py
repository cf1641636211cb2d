"""QuantMatrix against gguf-py's reference dequantization, for every supported type."""

from __future__ import annotations

import numpy as np
import pytest
from gguf import GGML_QUANT_SIZES
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constrain.errors import ConstrainError, ModelFormatError, UnsupportedModelError
from constrain.runtime.quants import SUPPORTED_TYPES, QuantMatrix, check_supported, row_nbytes

# Byte offsets of the f16 scale/min fields inside one block of each quantized type.
F16_FIELDS = {
    T.Q4_0: (0,), T.Q4_1: (0, 2), T.Q5_0: (0,), T.Q5_1: (0, 2), T.Q8_0: (0,),
    T.Q2_K: (80, 82), T.Q3_K: (108,), T.Q4_K: (0, 2), T.Q5_K: (0, 2), T.Q6_K: (208,),
}
FLOAT_TYPES = (T.F32, T.F16, T.BF16)
ROW_TILE = 16  # the kernels' row tile; row counts below straddle it

finite_f16 = st.floats(width=16, allow_nan=False, allow_infinity=False) | st.sampled_from(
    [0.0, -0.0, 6e-8, -6e-8, 1e-4, 65504.0, -65504.0]  # zero, subnormal, tiny, largest
)


def _finite_float_bits(rng, ggml_type, count):
    """Random weights of a float type, with no NaN or infinity among them."""
    if ggml_type == T.F16:
        bits = rng.integers(0, 1 << 16, count, dtype=np.uint16)
        infinite = (bits & np.uint16(0x7C00)) == np.uint16(0x7C00)
        bits[infinite] &= ~np.uint16(0x4000)  # clear the top exponent bit: finite
        return bits.view(np.uint8)
    # magnitudes spread over many decades but small enough that x @ W.T stays finite
    values = (rng.standard_normal(count) * 10.0 ** rng.integers(-20, 20, count)).astype(np.float32)
    if ggml_type == T.BF16:
        return (values.view(np.uint32) >> 16).astype(np.uint16).view(np.uint8)
    return values.view(np.uint8)


@st.composite
def weight_matrices(draw, ggml_type):
    """(raw bytes, rows, cols) of a random matrix of `ggml_type` with finite scales."""
    block_values, block_bytes = GGML_QUANT_SIZES[ggml_type]
    blocks_per_row = draw(st.integers(1, 3 if block_values == 32 else 2))
    if block_values == 1:
        cols = draw(st.integers(1, 70))
    else:
        cols = blocks_per_row * block_values
    rows = draw(st.sampled_from([1, 3, ROW_TILE - 1, ROW_TILE + 1, 2 * ROW_TILE + 5]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if ggml_type in FLOAT_TYPES:
        raw = _finite_float_bits(rng, ggml_type, rows * cols)
        special = draw(st.lists(finite_f16, max_size=4))
        values = raw.view(np.float32 if ggml_type == T.F32 else np.uint16)
        for k, value in enumerate(special):
            if ggml_type == T.F32:
                values[k % values.size] = value
            elif ggml_type == T.F16:
                values[k % values.size] = np.float16(value).view(np.uint16)
            else:
                values[k % values.size] = np.float32(value).view(np.uint32) >> 16
    else:
        nblocks = rows * cols // block_values
        blocks = rng.integers(0, 256, (nblocks, block_bytes), dtype=np.uint8)
        for field in F16_FIELDS[ggml_type]:
            # a drawn pool of scales spread over the blocks keeps the example small
            pool = np.array(draw(st.lists(finite_f16, min_size=1, max_size=6)), np.float16)
            scales = pool[rng.integers(0, pool.size, nblocks)]
            blocks[:, field:field + 2] = scales.view(np.uint8).reshape(nblocks, 2)
        raw = blocks.reshape(-1)
    raw = np.frombuffer(raw.tobytes(), np.uint8)  # read-only, like the mmap the model hands over
    return raw, rows, cols


def _reference(raw, ggml_type, rows, cols):
    if ggml_type == T.BF16:  # gguf-py's generic dequantize() has no BF16 branch
        return (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32).reshape(rows, cols)
    return dequantize(raw.reshape(rows, -1), ggml_type).reshape(rows, cols)


def _assert_matmul_close(got, x, weights):
    """float32 accumulation against float64 truth: error bounded relative to sum |w||x|."""
    w64 = weights.astype(np.float64)
    x64 = x.astype(np.float64)
    expected = x64 @ w64.T
    bound = np.abs(x64) @ np.abs(w64).T
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert np.all(np.isfinite(got))
    excess = np.abs(got - expected) - (2e-5 * bound + 1e-35)
    assert np.all(excess <= 0), f"worst excess {excess.max()} at {np.unravel_index(excess.argmax(), excess.shape)}"


def _check_matrix(ggml_type, drawn, n, seed):
    raw, rows, cols = drawn
    weights = _reference(raw, ggml_type, rows, cols)
    matrix = QuantMatrix("blk.0.test.weight", ggml_type, raw, rows, cols)
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, cols)) * 3).astype(np.float32)
    _assert_matmul_close(matrix.matmul(x), x, weights)
    ids = rng.integers(0, rows, size=min(rows, 5))
    np.testing.assert_array_equal(matrix.get_rows(ids), weights[ids])


@pytest.mark.parametrize("ggml_type", SUPPORTED_TYPES, ids=lambda t: t.name)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_matches_reference(ggml_type, data):
    drawn = data.draw(weight_matrices(ggml_type))
    n = data.draw(st.sampled_from([1, 1, 2, 7]))
    _check_matrix(ggml_type, drawn, n, data.draw(st.integers(0, 1000)))


@pytest.mark.parametrize("ggml_type", SUPPORTED_TYPES, ids=lambda t: t.name)
def test_dequantize_and_vector_input(ggml_type):
    block_values, block_bytes = GGML_QUANT_SIZES[ggml_type]
    rows, cols = ROW_TILE + 3, 256 if block_values > 1 else 40
    rng = np.random.default_rng(int(ggml_type))
    if ggml_type in FLOAT_TYPES:
        raw = _finite_float_bits(rng, ggml_type, rows * cols)
    else:
        blocks = rng.integers(0, 256, (rows * cols // block_values, block_bytes), dtype=np.uint8)
        for field in F16_FIELDS[ggml_type]:
            blocks[:, field:field + 2] = np.full(blocks.shape[0], 0.01, np.float16).view(np.uint8).reshape(-1, 2)
        raw = blocks.reshape(-1)
    matrix = QuantMatrix("t", ggml_type, raw, rows, cols)
    weights = _reference(raw, ggml_type, rows, cols)
    np.testing.assert_array_equal(matrix.dequantize(), weights)
    x = rng.standard_normal(cols).astype(np.float32)
    y = matrix.matmul(x)
    assert y.shape == (rows,)  # a 1-D input gives a 1-D result
    _assert_matmul_close(y[None, :], x[None, :], weights)
    batch = rng.standard_normal((3, cols)).astype(np.float32)
    out = np.full((3, rows), np.nan, np.float32)
    assert matrix.matmul(batch, out=out) is out
    _assert_matmul_close(out, batch, weights)


@pytest.mark.parametrize("name", ["IQ2_XS", "TQ1_0", "MXFP4", "Q8_1", "IQ4_NL"])
def test_unsupported_type_is_refused_with_tensor_and_type(name):
    ggml_type = T[name]
    with pytest.raises(UnsupportedModelError, match=f"blk.3.ffn_up.weight.*{name}"):
        check_supported("blk.3.ffn_up.weight", ggml_type)
    with pytest.raises(UnsupportedModelError, match=name):
        QuantMatrix("blk.3.ffn_up.weight", ggml_type, np.zeros(1024, np.uint8), 1, 256)


def test_unknown_type_code_is_refused():
    with pytest.raises(UnsupportedModelError, match="token_embd.weight.*unknown type 99"):
        check_supported("token_embd.weight", 99)


def test_row_nbytes_matches_gguf_geometry():
    for ggml_type in SUPPORTED_TYPES:
        block_values, block_bytes = GGML_QUANT_SIZES[ggml_type]
        assert row_nbytes(ggml_type, 4 * 256) == 4 * 256 // block_values * block_bytes


@pytest.mark.parametrize("ggml_type", [T.Q4_1, T.Q6_K])
def test_row_length_not_whole_blocks_is_a_format_error(ggml_type):
    with pytest.raises(ModelFormatError, match="output.weight.*100"):
        row_nbytes(ggml_type, 100, "output.weight")
    with pytest.raises(ModelFormatError, match="output.weight"):
        QuantMatrix("output.weight", ggml_type, np.zeros(1000, np.uint8), 2, 100)


def test_wrong_data_size_is_a_format_error_naming_the_tensor():
    good = row_nbytes(T.Q4_1, 64) * 3
    with pytest.raises(ModelFormatError, match="blk.0.attn_q.weight.*3 rows"):
        QuantMatrix("blk.0.attn_q.weight", T.Q4_1, np.zeros(good - 1, np.uint8), 3, 64)
    with pytest.raises(ModelFormatError, match="blk.0.attn_q.weight"):
        QuantMatrix("blk.0.attn_q.weight", T.Q4_1, np.zeros(good, np.float32), 3, 64)
    assert issubclass(ModelFormatError, ConstrainError)


def test_bad_inputs_are_rejected():
    raw = np.zeros(row_nbytes(T.Q8_0, 64) * 2, np.uint8)
    matrix = QuantMatrix("w", T.Q8_0, raw, 2, 64)
    with pytest.raises(ValueError, match="64 columns"):
        matrix.matmul(np.zeros((1, 65), np.float32))
    with pytest.raises(ValueError, match="out must be"):
        matrix.matmul(np.zeros((2, 64), np.float32), out=np.zeros((2, 3), np.float32))
    with pytest.raises(IndexError, match="row id 2"):
        matrix.get_rows([0, 2])
    assert matrix.matmul(np.ones((3, 64), np.float64)).shape == (3, 2)  # converted, not refused
