"""The layer's elementwise operations (runtime/ops.py): exp_f32's accuracy against float64,
and results that do not depend on where in memory a row sits (vectorized lanes, peeled
scalar iterations and threads must all give a value the same bits)."""

from __future__ import annotations

import numpy as np
from numba import njit

from constrain.runtime.ops import exp_f32, swiglu, swiglu_row

ULP = float(np.finfo(np.float32).eps)


@njit(fastmath=True)
def _exp_all(x, out):
    for i in range(x.shape[0]):
        out[i] = exp_f32(x[i])


def _relative_error(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    _exp_all(x, out)
    exact = np.exp(x.astype(np.float64))
    return np.abs(out - exact) / exact


def test_exp_is_within_a_few_ulp_over_its_whole_range():
    x = np.linspace(-87.0, 88.0, 1_000_001).astype(np.float32)
    assert _relative_error(x).max() < 8 * ULP


def test_exp_is_within_two_ulp_where_activations_live():
    x = (np.random.default_rng(0).standard_normal(1_000_000) * 5).astype(np.float32)
    assert _relative_error(x).max() < 2 * ULP


def test_exp_clamps_instead_of_overflowing():
    x = np.array([-1e4, -100.0, 100.0, 1e4], np.float32)
    out = np.empty_like(x)
    _exp_all(x, out)
    assert np.all(np.isfinite(out)) and out[0] > 0 and out[0] == out[1] and out[2] == out[3]


def test_swiglu_values_do_not_depend_on_the_rows_alignment():
    width = 203  # odd, so each offset below puts other values in the vector loop's peel and tail
    rng = np.random.default_rng(1)
    gate_up = (rng.standard_normal(2 * width) * 4).astype(np.float32)
    results = []
    for offset in range(9):
        buffer = np.zeros(2 * width + offset, np.float32)
        buffer[offset:] = gate_up
        out_buffer = np.zeros(width + offset, np.float32)
        swiglu_row(buffer[offset:], width, width, out_buffer[offset:])
        results.append(out_buffer[offset:].copy())
    for got in results[1:]:
        np.testing.assert_array_equal(got, results[0])
    g, u = gate_up[:width].astype(np.float64), gate_up[width:].astype(np.float64)
    np.testing.assert_allclose(results[0], g / (1 + np.exp(-g)) * u, rtol=1e-6, atol=1e-6)


def test_swiglu_rows_match_the_row_primitive():
    rng = np.random.default_rng(2)
    gate_up = rng.standard_normal((37, 2 * 101)).astype(np.float32)
    batched = swiglu(gate_up, 101, 101, np.empty((37, 101), np.float32))
    for i in range(gate_up.shape[0]):
        row = np.empty(101, np.float32)
        swiglu_row(gate_up[i], 101, 101, row)
        np.testing.assert_array_equal(batched[i], row)
