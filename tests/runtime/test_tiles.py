"""Tiles (quants/tiles.py) of every type against gguf-py's dequantization: the integer
matrix-vector and batched products on int8 activations (float32 products for float
tiles), row lookups, and roles that fuse matrices of different types."""

from __future__ import annotations

import numpy as np
import pytest
from gguf import GGML_QUANT_SIZES
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize
from hypothesis import given, settings
from hypothesis import strategies as st

from constrain.runtime.quants import tile_packing, tiles
from constrain.runtime.quants.tile_packing import build_role
from constrain.runtime.quants.tiles import TILE
from constrain.runtime.quants.type_traits import TYPE_TRAITS

ALL_TYPES = tuple(TYPE_TRAITS)


class Matrix:
    def __init__(self, ggml_type, data, rows, cols):
        self.ggml_type, self.data, self.rows, self.cols = ggml_type, data, rows, cols


def random_matrix(ggml_type, rows, cols, rng):
    """(Matrix, float64 reference values) with random blocks and finite random scales."""
    traits = TYPE_TRAITS[ggml_type]
    if traits.is_float:
        values = rng.standard_normal((rows, cols)).astype(np.float32)
        if ggml_type == T.F16:
            raw = values.astype(np.float16).view(np.uint8)
            ref = values.astype(np.float16).astype(np.float64)
        elif ggml_type == T.BF16:
            bits = (values.view(np.uint32) >> 16).astype(np.uint16)
            raw = bits.view(np.uint8)
            ref = (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
        else:
            raw, ref = values.view(np.uint8), values.astype(np.float64)
        return Matrix(ggml_type, np.frombuffer(raw.tobytes(), np.uint8), rows, cols), ref
    block, size = GGML_QUANT_SIZES[ggml_type]
    n = rows * cols // block
    blocks = rng.integers(0, 256, (n, size), dtype=np.uint8)
    for off in traits.f16_scale_offsets:
        blocks[:, off:off + 2] = (rng.standard_normal(n) * 0.05).astype(np.float16).view(np.uint8).reshape(n, 2)
    raw = np.frombuffer(blocks.tobytes(), np.uint8)
    ref = dequantize(raw.reshape(rows, -1), ggml_type).reshape(rows, cols).astype(np.float64)
    return Matrix(ggml_type, raw, rows, cols), ref


def quantized_input(x):
    """x as the kernels see it after int8 quantization per 32 values (float32 arithmetic)."""
    blocks = x.reshape(-1, 32)
    d = (np.abs(blocks).max(axis=1) / np.float32(127)).astype(np.float32)
    inv = np.where(d > 0, np.float32(1) / np.where(d > 0, d, 1), 0).astype(np.float32)
    q = np.rint(blocks * inv[:, None]).astype(np.int8)
    return (q.astype(np.float64) * d[:, None].astype(np.float64)).reshape(-1)


def tie_steps(x):
    """Per value, the quantization step d where x / d lies within 1e-3 of a rounding tie
    (k + 1/2), else 0: there the kernel's own float32 rounding (fastmath, possibly a fused
    multiply) may land on the other integer than quantized_input's, one step away."""
    blocks = x.reshape(-1, 32).astype(np.float64)
    d = (np.abs(blocks).max(axis=1) / 127).astype(np.float32).astype(np.float64)
    scaled = np.abs(blocks) / np.where(d > 0, d, 1)[:, None]
    near = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-3
    return (near * d[:, None]).reshape(-1)


def matvec(role, x, layer=0):
    out = np.empty((1, role.tile_kind.shape[1] * TILE), np.float32)
    tiles.matvec_rows(role, layer, x[None], out)
    return out[0]


def check_close(got, want, bound_terms, rounding_ties=0.0):
    bound = 2e-5 * bound_terms + rounding_ties + 1e-30
    assert np.all(np.abs(got - want) <= bound), float(np.max(np.abs(got - want) / bound))


@pytest.mark.parametrize("ggml_type", ALL_TYPES, ids=lambda t: t.name)
@settings(max_examples=6, deadline=None)
@given(rows=st.sampled_from([1, 17, TILE, TILE + 5, 3 * TILE]), blocks=st.integers(1, 3), n=st.sampled_from([2, 5]),
       seed=st.integers(0, 2**32 - 1))
def test_tiles_match_dequantized_values(ggml_type, rows, blocks, n, seed):
    rng = np.random.default_rng(seed)
    cols = blocks * max(GGML_QUANT_SIZES[ggml_type][0], 32)
    matrix, ref = random_matrix(ggml_type, rows, cols, rng)
    role = build_role([[matrix]])
    x = rng.standard_normal(cols).astype(np.float32)

    seen = x.astype(np.float64) if TYPE_TRAITS[ggml_type].is_float else quantized_input(x)
    got = matvec(role, x)
    assert np.all(got[rows:] == 0)  # padding rows
    ties = np.zeros_like(seen) if TYPE_TRAITS[ggml_type].is_float else tie_steps(x)
    check_close(got[:rows], ref @ seen, np.abs(ref) @ np.abs(seen), np.abs(ref) @ ties)

    xb = rng.standard_normal((n, cols)).astype(np.float32)
    out = np.empty((n, role.tile_kind.shape[1] * TILE), np.float32)
    tiles.role_matmul(role, 0, xb, *tiles.new_row_activations(n, cols), out)
    seen = xb.astype(np.float64) if TYPE_TRAITS[ggml_type].is_float else np.stack([quantized_input(v) for v in xb])
    ties = np.zeros_like(seen) if TYPE_TRAITS[ggml_type].is_float else np.stack([tie_steps(v) for v in xb])
    check_close(out[:, :rows], seen @ ref.T, np.abs(seen) @ np.abs(ref).T, ties @ np.abs(ref).T)

    ids = np.array([0, rows - 1, rows // 2], np.int64)
    rows_out = np.empty((3, cols), np.float32)
    tiles.get_rows(role, 0, cols, ids, rows_out)
    assert np.allclose(rows_out, ref[ids], rtol=1e-6, atol=1e-30)


def test_a_role_fuses_matrices_of_different_types_per_layer():
    """Q/K/V as llama.cpp's Q4_K_M writes them: V in Q6_K in some layers, Q4_K elsewhere."""
    rng = np.random.default_rng(3)
    cols = 256
    layout = [(T.Q4_K, T.Q4_K, T.Q6_K), (T.Q4_K, T.Q4_K, T.Q4_K), (T.Q8_0, T.F16, T.Q5_K)]
    shapes = (128, 64, 40)  # V padded to one tile
    layers, refs = [], []
    for types in layout:
        pairs = [random_matrix(t, r, cols, rng) for t, r in zip(types, shapes)]
        layers.append([m for m, _ in pairs])
        refs.append([ref for _, ref in pairs])
    role = build_role(layers)
    assert role.tile_kind.shape == (3, 2 + 1 + 1)
    x = rng.standard_normal(cols).astype(np.float32)
    for layer, (types, ref_parts) in enumerate(zip(layout, refs)):
        got = matvec(role, x, layer)
        start = 0
        for t, ref in zip(types, ref_parts):
            seen = x.astype(np.float64) if TYPE_TRAITS[t].is_float else quantized_input(x)
            part = got[start:start + ref.shape[0]]
            check_close(part, ref @ seen, np.abs(ref) @ np.abs(seen))
            start += -(-ref.shape[0] // TILE) * TILE


def _huge_q4_0(rows, cols, rng):
    """A Q4_0 matrix whose scales are large float16s: its min, -8 d, overflows float16."""
    matrix, _ = random_matrix(T.Q4_0, rows, cols, rng)
    blocks = matrix.data.copy().reshape(-1, 18)
    blocks[:, :2] = np.full(len(blocks), 9000.0, np.float16).view(np.uint8).reshape(-1, 2)
    raw = np.frombuffer(blocks.tobytes(), np.uint8)
    ref = dequantize(raw.reshape(rows, -1), T.Q4_0).reshape(rows, cols).astype(np.float64)
    return Matrix(T.Q4_0, raw, rows, cols), ref


@pytest.mark.parametrize("case, scale_type", [
    ("file scales", np.uint16),  # K-quants' two levels and legacy scales: the file's float16s
    ("K-quant and legacy rows in one kind", np.float32),  # group scales d * sub are no float16
    ("legacy min beyond float16", np.float32),  # Q4_0's -8 d overflows
])
def test_scales_are_float16_where_every_value_is_one(case, scale_type):
    rng = np.random.default_rng(11)
    cols = 256
    if case == "file scales":
        pairs = [random_matrix(t, TILE, cols, rng) for t in (T.Q4_K, T.Q5_0, T.Q6_K, T.Q8_0, T.Q2_K)]
    elif case == "K-quant and legacy rows in one kind":
        pairs = [random_matrix(t, TILE, cols, rng) for t in (T.Q4_K, T.Q4_1)]
    else:
        pairs = [random_matrix(T.Q4_1, TILE, cols, rng), _huge_q4_0(TILE, cols, rng)]
    role = build_role([[m for m, _ in pairs]])
    assert {part.scales.dtype for part in role[2:7]} == {np.dtype(scale_type)}
    assert tile_packing.half_scales_fit([[m for m, _ in pairs]]) == (case != "K-quant and legacy rows in one kind")
    x = rng.standard_normal(cols).astype(np.float32)
    got = matvec(role, x)
    seen = quantized_input(x)
    for k, (_, ref) in enumerate(pairs):
        check_close(got[TILE * k:TILE * (k + 1)], ref @ seen, np.abs(ref) @ np.abs(seen), np.abs(ref) @ tie_steps(x))
    xb = rng.standard_normal((3, cols)).astype(np.float32)
    out = np.empty((3, len(pairs) * TILE), np.float32)
    tiles.role_matmul(role, 0, xb, *tiles.new_row_activations(3, cols), out)
    seen = np.stack([quantized_input(v) for v in xb])
    ties = np.stack([tie_steps(v) for v in xb])
    for k, (_, ref) in enumerate(pairs):
        check_close(out[:, TILE * k:TILE * (k + 1)], seen @ ref.T, np.abs(seen) @ np.abs(ref).T, ties @ np.abs(ref).T)
    ids = np.arange(0, TILE * len(pairs), 7)
    rows_out = np.empty((len(ids), cols), np.float32)
    tiles.get_rows(role, 0, cols, ids, rows_out)
    assert np.allclose(rows_out, np.concatenate([ref for _, ref in pairs])[ids], rtol=1e-6, atol=1e-30)


def test_a_batch_longer_than_one_pass_matches_dequantized_values():
    """role_matmul takes rows in passes of PASS_BYTES of activations: three passes here."""
    rng = np.random.default_rng(5)
    cols = 8192
    n = 2 * (tiles.PASS_BYTES // cols) + 7
    matrix, ref = random_matrix(T.Q4_K, TILE, cols, rng)
    role = build_role([[matrix]])
    xb = rng.standard_normal((n, cols)).astype(np.float32)
    out = np.empty((n, TILE), np.float32)
    tiles.role_matmul(role, 0, xb, *tiles.new_row_activations(n, cols), out)
    seen = np.stack([quantized_input(v) for v in xb])
    ties = np.stack([tie_steps(v) for v in xb])
    check_close(out, seen @ ref.T, np.abs(seen) @ np.abs(ref).T, ties @ np.abs(ref).T)
