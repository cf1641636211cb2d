"""The selection and exp kernels against plain numpy."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from constrain.samplers import kernels


@settings(max_examples=60, deadline=None)
@given(arrays(np.float32, st.integers(1, 600), elements=st.floats(-200, 60, width=32)))
def test_exp_shifted_matches_numpy(x):
    shift = np.float32(x.max())
    got = kernels.exp_shifted(x, shift)
    expected = np.exp((x - shift).astype(np.float64))
    big = expected > 1e-30
    np.testing.assert_allclose(got[big], expected[big], rtol=1e-6)
    assert np.all(got[~big] < 1e-29)


def test_exp_shifted_removed_tokens_are_exactly_zero():
    x = np.array([-np.inf, 0.0, -1000.0, 1.0], np.float32)
    got = kernels.exp_shifted(x, np.float32(1.0))
    assert got[0] == 0.0 and got[2] == 0.0 and got[3] == 1.0


@settings(max_examples=60, deadline=None)
@given(arrays(np.float32, st.integers(1, 400),
              elements=st.sampled_from([-np.inf, 0.0, 1.0, 2.5, -3.0]) | st.floats(-5, 5, width=32)),
       st.integers(1, 450))
def test_top_k_indices_best_first_ties_by_id(x, k):
    got = kernels.top_k_indices(x, k)
    candidates = np.flatnonzero(x != -np.inf)
    order = candidates[np.lexsort((candidates, -x[candidates]))]
    assert got.tolist() == order[:k].tolist()
