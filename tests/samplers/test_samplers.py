"""Samplers: greedy tie-break, distribution, and mirostat's mu arithmetic as llama.cpp does it."""

import math
import subprocess
import sys

import numpy as np
import pytest

from constrain.errors import SamplingError
from constrain.samplers import Dist, Greedy, MirostatV1, MirostatV2

NEG = -np.inf


def softmax(x):
    x = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(x)
    e = np.where(finite, np.exp(np.where(finite, x, 0) - x[finite].max()), 0.0)
    return e / e.sum()


def test_greedy_first_maximum():
    assert Greedy()(np.array([1, 3, 3, 2], np.float32)) == 1
    assert Greedy()(np.array([NEG, NEG, 0.0], np.float32)) == 2


def test_all_removed_is_a_clear_error():
    for sampler in (Greedy(), Dist(1), MirostatV2(seed=1), MirostatV1(seed=1)):
        with pytest.raises(SamplingError, match="all logits are -inf"):
            sampler(np.full(4, NEG, np.float32))


def test_dist_follows_the_distribution_and_never_picks_removed():
    logits = np.log(np.array([0.6, 0.3, 0.1, 1.0], np.float32))
    logits[3] = NEG
    sampler = Dist(seed=7)
    draws = np.array([sampler(logits) for _ in range(4000)])
    assert not np.any(draws == 3)
    freq = np.bincount(draws, minlength=4)[:3] / draws.size
    np.testing.assert_allclose(freq, [0.6, 0.3, 0.1], atol=0.03)


def test_seeded_samplers_repeat_after_reset():
    logits = np.random.default_rng(0).standard_normal(500).astype(np.float32)
    for make in (lambda: Dist(5), lambda: MirostatV2(seed=5), lambda: MirostatV1(seed=5)):
        s = make()
        first = [s(logits) for _ in range(30)]
        s.reset()
        assert [s(logits) for _ in range(30)] == first
        assert [make()(logits) for _ in range(1)] == first[:1]


def _mirostat_v2_reference(probs, mu):
    """llama.cpp: sort, drop the tail from the first token with -log2 p > mu (keep >= 1), renormalize."""
    order = np.argsort(-probs, kind="stable")
    keep = [i for i in order if -math.log2(probs[i]) <= mu] or [order[0]]
    kept = probs[keep] / probs[keep].sum()
    return dict(zip(keep, kept))


def test_mirostat_v2_mu_updates_by_hand():
    # probabilities 1/2, 1/4, 1/8, 1/8 -> surprises 1, 2, 3, 3 bits
    logits = np.log(np.array([0.5, 0.25, 0.125, 0.125], np.float32))
    sampler = MirostatV2(tau=1.4, eta=0.1, seed=3)
    assert sampler.mu == pytest.approx(2.8)  # starts at 2 tau
    token = sampler(logits)
    # mu = 2.8 keeps the 1- and 2-bit tokens, renormalized to 2/3 and 1/3
    assert token in (0, 1)
    expected = {0: 2.8 - 0.1 * (math.log2(3 / 2) - 1.4), 1: 2.8 - 0.1 * (math.log2(3) - 1.4)}[token]
    assert sampler.mu == pytest.approx(expected, abs=1e-5)


def test_mirostat_v2_tracks_reference_over_many_steps():
    rng = np.random.default_rng(1)
    logits = (rng.standard_normal(300) * 2.5).astype(np.float32)
    probs = softmax(logits)
    sampler = MirostatV2(tau=4.0, eta=0.2, seed=11)
    mu = 8.0
    for _ in range(200):
        allowed = _mirostat_v2_reference(probs, mu)
        token = sampler(logits)
        assert token in allowed
        mu -= 0.2 * (-math.log2(allowed[token]) - 4.0)
        assert sampler.mu == pytest.approx(mu, abs=1e-4)


def test_mirostat_v2_keeps_the_best_token_when_mu_is_too_small():
    sampler = MirostatV2(tau=0.0, eta=0.1, seed=0)
    sampler.mu = -1.0  # no token has a negative surprise
    assert sampler(np.array([0.0, 2.0, 1.0], np.float32)) == 1


def _mirostat_v1_reference(logits, mu, m, n_vocab):
    probs = softmax(logits)
    order = np.argsort(-probs, kind="stable")
    p = probs[order]
    n = min(m - 1, int(np.isfinite(logits).sum()) - 1)
    t = np.log((np.arange(n) + 2) / (np.arange(n) + 1))
    b = np.log(p[:n] / p[1:n + 1])
    s_hat = (t * b).sum() / (t * t).sum()
    eps = s_hat - 1
    k = (eps * 2 ** mu / (1 - n_vocab ** -eps)) ** (1 / s_hat)
    k = max(int(k), 1) if np.isfinite(k) else len(order)
    keep = order[:k]
    return dict(zip(keep, probs[keep] / probs[keep].sum())), k


def test_mirostat_v1_k_and_mu_by_hand():
    # an exact Zipf distribution p_i ~ 1/(i+1): s_hat = 1 would divide by zero in eps, so use
    # p_i ~ (i+1)^-2, whose fitted exponent is exactly 2
    ranks = np.arange(1, 11, dtype=np.float64)
    logits = (-2.0 * np.log(ranks)).astype(np.float32)
    sampler = MirostatV1(tau=1.0, eta=0.5, m=100, seed=2)
    assert sampler.zipf_exponent(np.sort(logits)[::-1]) == pytest.approx(2.0, abs=1e-5)
    # k = (1 * 2^2 / (1 - 10^-1))^(1/2) = sqrt(4.444) = 2.108 -> top 2
    assert sampler.target_k(2.0, 10) == 2
    token = sampler(logits)
    assert token in (0, 1)
    p = {0: 1 / 1.25, 1: 0.25 / 1.25}[token]
    assert sampler.mu == pytest.approx(2.0 - 0.5 * (-math.log2(p) - 1.0), abs=1e-5)


def test_mirostat_v1_tracks_reference_over_many_steps():
    rng = np.random.default_rng(4)
    logits = (rng.standard_normal(400) * 3.0).astype(np.float32)
    logits[:50] = NEG  # removed tokens take no part
    sampler = MirostatV1(tau=3.0, eta=0.1, m=100, seed=5)
    mu = 6.0
    for _ in range(100):
        allowed, _ = _mirostat_v1_reference(logits, mu, 100, logits.size)
        token = sampler(logits)
        assert token in allowed
        mu -= 0.1 * (-math.log2(allowed[token]) - 3.0)
        assert sampler.mu == pytest.approx(mu, abs=1e-4)


_CHILD = """
import numpy as np
from constrain.samplers import Dist, MirostatV2
logits = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
for s in (Dist(seed=42), MirostatV2(seed=42)):
    print([s(logits) for _ in range(20)])
"""


def test_same_seed_same_tokens_in_a_new_process():
    logits = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    here = "\n".join(str([s(logits) for _ in range(20)]) for s in (Dist(seed=42), MirostatV2(seed=42)))
    there = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True).stdout
    assert there.strip() == here


def test_bad_seed():
    with pytest.raises(SamplingError):
        Dist(seed=-1)
