"""Pipeline: the grammar mask runs first, processors in the given order, then the sampler."""

import numpy as np
import pytest

from constrain.errors import SamplingError
from constrain.samplers import Greedy, LogitBias, MinP, Pipeline, Temperature, TopK, WordBooster

NEG = -np.inf


class Spy:
    """Records what it saw; adds `shift` to token `token`."""

    def __init__(self, log, name, token=0, shift=0.0):
        self.log, self.name, self.token, self.shift = log, name, token, shift

    def __call__(self, ids, logits):
        self.log.append((self.name, logits.copy()))
        out = logits.copy()
        out[self.token] += self.shift
        return out


def test_mask_runs_before_every_processor_and_order_is_kept():
    log = []
    pipe = Pipeline([Spy(log, "a", 0, 10.0), Spy(log, "b")], Greedy())
    logits = np.array([0.0, 5.0, 1.0], np.float32)
    allowed = np.array([True, False, True])
    token = pipe([], logits, allowed)
    assert [name for name, _ in log] == ["a", "b"]
    assert log[0][1][1] == NEG  # the first processor already sees the mask
    assert log[1][1][0] == 10.0  # b sees a's output
    assert token == 0


def test_order_matters_bias_then_top_k_vs_top_k_then_bias():
    logits = np.array([3.0, 2.0, 1.0], np.float32)
    bias = LogitBias({2: 5.0})
    assert Pipeline([bias, TopK(1)], Greedy())([], logits) == 2
    assert Pipeline([TopK(1), bias], Greedy())([], logits) == 0


def test_booster_never_overrides_the_mask():
    logits = np.array([0.0, 3.0, 2.0, 1.0], np.float32)
    booster = WordBooster(2, eog_ids=[0], top_k=4)
    assert Pipeline([booster], Greedy())([], logits) == 2
    assert Pipeline([booster], Greedy())([], logits, np.array([True, True, False, True])) == 1


def test_empty_candidates_name_the_culprit():
    logits = np.array([1.0, 2.0], np.float32)
    with pytest.raises(SamplingError, match="grammar mask allows no token"):
        Pipeline([], Greedy())([], logits, np.array([False, False]))
    with pytest.raises(SamplingError, match="LogitBias"):
        Pipeline([MinP(0.5), LogitBias({1: NEG, 0: NEG})], Greedy())([], logits)


def test_mask_shape_is_checked():
    with pytest.raises(SamplingError, match="mask shape"):
        Pipeline([], Greedy())([], np.zeros(3, np.float32), np.ones(4, bool))


def test_single_processor_and_reset():
    pipe = Pipeline(Temperature(0.0), Greedy())
    assert pipe([], np.array([1.0, 4.0, 2.0], np.float32)) == 1
    pipe.reset()


def test_non_callable_processor_is_rejected():
    with pytest.raises(SamplingError):
        Pipeline([42], Greedy())
