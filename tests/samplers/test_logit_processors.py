"""Processors against llama.cpp's sampler semantics, with expected values worked out by hand."""


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from constrain.errors import ConstrainError, SamplingError
from constrain.samplers import LogitBias, MinP, Penalties, Temperature, TopK, TopP, TypicalP, WordBooster

NEG = -np.inf


def f32(*values):
    return np.array(values, dtype=np.float32)


def kept(logits):
    return set(np.flatnonzero(np.asarray(logits) != NEG).tolist())


def softmax(x):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max())
    return e / e.sum()


# ---------------------------------------------------------------- top-k

def test_top_k_keeps_the_k_best():
    logits = f32(1.0, 5.0, 3.0, 4.0, 2.0)
    out = TopK(2)([], logits)
    assert kept(out) == {1, 3}
    assert out[1] == 5.0 and out[3] == 4.0


def test_top_k_ties_prefer_smaller_ids_and_nonpositive_k_keeps_all():
    logits = f32(2.0, 2.0, 2.0, 1.0)
    assert kept(TopK(2)([], logits)) == {0, 1}
    assert kept(TopK(0)([], logits)) == {0, 1, 2, 3}
    assert kept(TopK(10)([], logits)) == {0, 1, 2, 3}


def test_top_k_ignores_removed_tokens():
    logits = f32(NEG, 1.0, NEG, 0.5)
    assert kept(TopK(3)([], logits)) == {1, 3}


# ---------------------------------------------------------------- top-p

def test_top_p_keeps_smallest_prefix_reaching_p():
    # probabilities: exactly 0.5, 0.25, 0.125, 0.125 (logits are their logs)
    logits = np.log(f32(0.5, 0.25, 0.125, 0.125)).astype(np.float32)
    assert kept(TopP(0.5)([], logits)) == {0}          # 0.5 >= 0.5 already
    assert kept(TopP(0.6)([], logits)) == {0, 1}       # 0.75 >= 0.6
    assert kept(TopP(0.76)([], logits)) == {0, 1, 2}   # 0.875 >= 0.76
    assert kept(TopP(1.0)([], logits)) == {0, 1, 2, 3}


def test_top_p_min_keep():
    logits = np.log(f32(0.7, 0.2, 0.1)).astype(np.float32)
    assert kept(TopP(0.5, min_keep=2)([], logits)) == {0, 1}


def test_top_p_works_on_the_remaining_candidates():
    # after removing token 0, the rest renormalizes to 0.5/0.25/0.25
    logits = np.log(f32(0.6, 0.2, 0.1, 0.1)).astype(np.float32)
    logits[0] = NEG
    assert kept(TopP(0.5)([], logits)) == {1}
    assert kept(TopP(0.7)([], logits)) == {1, 2}


@settings(max_examples=40, deadline=None)
@given(arrays(np.float32, st.integers(2, 3000), elements=st.floats(-20, 20, width=32)),
       st.floats(0.05, 0.99))
def test_top_p_matches_sorted_reference(logits, p):
    """The selection kernels (small and bucketed paths) agree with a plain sort + cumsum."""
    out = TopP(p)([], logits)
    probs = softmax(logits)
    order = np.lexsort((np.arange(logits.size), -logits))  # best first, ties by id
    cum = np.cumsum(probs[order])
    n = int(np.searchsorted(cum, p - 1e-6)) + 1  # first index reaching p (float64 reference)
    reference = set(order[:n].tolist())
    got = kept(out)
    # float32 vs float64 prefix sums may disagree by one token right at the boundary
    assert len(got ^ reference) <= 1 and len(got) >= 1
    best = set(order[:max(1, n - 1)].tolist())
    assert best <= got


# ---------------------------------------------------------------- min-p

def test_min_p_keeps_tokens_at_least_p_times_the_best():
    # probabilities proportional to 1, 0.5, 0.1, 0.04
    logits = np.log(f32(1.0, 0.5, 0.1, 0.04)).astype(np.float32)
    assert kept(MinP(0.1)([], logits)) == {0, 1, 2}
    assert kept(MinP(0.5)([], logits)) == {0, 1}
    assert kept(MinP(0.6)([], logits)) == {0}
    assert kept(MinP(0.0)([], logits)) == {0, 1, 2, 3}


def test_min_p_min_keep():
    logits = np.log(f32(1.0, 0.5, 0.1, 0.04)).astype(np.float32)
    assert kept(MinP(0.9, min_keep=3)([], logits)) == {0, 1, 2}


# ---------------------------------------------------------------- typical-p

def test_typical_p_by_hand():
    probs = np.array([0.5, 0.3, 0.15, 0.05])
    logits = np.log(probs).astype(np.float32)
    entropy = -(probs * np.log(probs)).sum()                   # 1.1424 nats
    shifted = np.abs(-np.log(probs) - entropy)                 # 0.449, 0.062, 0.755, 1.853
    order = np.argsort(shifted)                                # 1, 0, 2, 3
    assert order.tolist() == [1, 0, 2, 3]
    # cumulative in that order: 0.3, 0.8, 0.95, 1.0; keep until the sum is > p
    assert kept(TypicalP(0.2)([], logits)) == {1}
    assert kept(TypicalP(0.3)([], logits)) == {0, 1}           # 0.3 is not > 0.3
    assert kept(TypicalP(0.9)([], logits)) == {0, 1, 2}
    assert kept(TypicalP(1.0)([], logits)) == {0, 1, 2, 3}


def test_typical_p_large_vocabulary_path_agrees_with_reference():
    rng = np.random.default_rng(3)
    logits = (rng.standard_normal(5000) * 2).astype(np.float32)
    p = softmax(logits)
    shifted = np.abs(-np.log(p) - (-(p * np.log(p)).sum()))
    order = np.argsort(shifted, kind="stable")
    cum = np.cumsum(p[order])
    n = int(np.flatnonzero(cum > 0.5)[0]) + 1
    got = kept(TypicalP(0.5)([], logits))
    assert len(got ^ set(order[:n].tolist())) <= 1


# ---------------------------------------------------------------- penalties

def test_penalties_as_llama_cpp_applies_them():
    logits = f32(2.0, -1.0, 3.0, 0.5)
    ids = [0, 1, 0, 3, 3, 3]
    out = Penalties(last_n=64, repeat=2.0, frequency=0.5, presence=0.25)(ids, logits)
    # token 0: seen 2x, positive -> 2/2 = 1, minus 2*0.5 + 0.25 -> -0.25
    # token 1: seen 1x, negative -> -1*2 = -2, minus 0.5 + 0.25 -> -2.75
    # token 2: unseen -> 3
    # token 3: seen 3x -> 0.25 - 1.5 - 0.25 = -1.5
    np.testing.assert_allclose(out, [-0.25, -2.75, 3.0, -1.5], rtol=1e-6)


def test_penalties_window_and_identity():
    logits = f32(2.0, 2.0)
    # only the last token (1) is in a window of 1
    np.testing.assert_allclose(Penalties(last_n=1, repeat=2.0)([0, 0, 1], logits), [2.0, 1.0])
    np.testing.assert_allclose(Penalties(last_n=0, repeat=2.0)([0, 1], logits), [2.0, 2.0])
    np.testing.assert_allclose(Penalties(last_n=-1, repeat=2.0)([0, 1], logits), [1.0, 1.0])
    np.testing.assert_allclose(Penalties()([0, 1], logits), logits)


def test_penalties_reject_bad_settings():
    with pytest.raises(SamplingError):
        Penalties(repeat=0.0)
    with pytest.raises(SamplingError):
        Penalties(last_n=-5)


# ---------------------------------------------------------------- bias, temperature

def test_logit_bias_and_ban():
    logits = f32(1.0, 2.0, 3.0)
    out = LogitBias({0: 5.0, 2: -np.inf})([], logits)
    np.testing.assert_allclose(out, [6.0, 2.0, NEG])
    assert np.all(logits == f32(1.0, 2.0, 3.0)), "processors must not modify their input"


def test_logit_bias_rejects_out_of_vocabulary_ids():
    with pytest.raises(SamplingError, match="vocabulary"):
        LogitBias({7: 1.0})([], f32(1.0, 2.0))


class _Tok:
    def encode(self, text, add_bos=False):
        return [ord(c) % 8 for c in text]


def test_logit_bias_for_text_biases_every_token():
    out = LogitBias.for_text(_Tok(), "ab", -np.inf)([], np.zeros(8, np.float32))
    assert kept(out) == set(range(8)) - {ord("a") % 8, ord("b") % 8}


def test_temperature_scales_and_zero_is_greedy_first_max():
    np.testing.assert_allclose(Temperature(0.5)([], f32(1.0, -2.0)), [2.0, -4.0])
    out = Temperature(0.0)([], f32(1.0, 3.0, 3.0, 2.0))
    assert kept(out) == {1}


# ---------------------------------------------------------------- word booster

def _ranked_logits():
    # token 5 is ranked 3rd; token 0 (EOS) is low
    return f32(-5.0, 9.0, 8.0, 0.0, 1.0, 7.0, 6.0, 2.0)


def test_word_booster_forces_word_in_top_k():
    booster = WordBooster(5, eog_ids=[0], top_k=3, window=2)
    out = booster([1, 2], _ranked_logits())
    assert kept(out) == {5}


def test_word_booster_respects_rank_window_and_eos():
    logits = _ranked_logits()
    assert kept(WordBooster(5, [0], top_k=2)([1], logits)) == kept(logits)      # rank 2 is not < 2
    assert kept(WordBooster(5, [0], top_k=3, window=2)([5, 1], logits)) == kept(logits)  # used recently
    assert kept(WordBooster(5, [0], top_k=3, window=2)([5, 1, 2], logits)) == {5}         # left the window
    eos_best = logits.copy()
    eos_best[0] = 20.0
    assert kept(WordBooster(5, [0], top_k=3)([], eos_best)) == kept(eos_best)


def test_word_booster_bias_mode_and_mask():
    out = WordBooster(5, [0], top_k=3, mode="bias", bias=4.0)([], _ranked_logits())
    assert out[5] == pytest.approx(11.0)
    masked = _ranked_logits()
    masked[5] = NEG  # removed by the grammar: never forced back
    assert WordBooster(5, [0], top_k=8)([], masked)[5] == NEG


def test_word_booster_validation():
    with pytest.raises(ConstrainError):
        WordBooster(1, [0], mode="sometimes")
    with pytest.raises(ConstrainError, match="one token"):
        WordBooster.for_word(_Tok(), " and")


def test_processors_reject_bad_logits():
    with pytest.raises(SamplingError, match="1-D"):
        TopK(2)([], np.zeros((2, 2), np.float32))
