"""Samplers: pick one token from processed logits. `sampler(logits) -> int`, `sampler.reset()`.

Randomness comes from a per-sampler `numpy.random.Generator` (no global state): the same seed
gives the same draws in any process. `seed=None` draws fresh entropy, again at each reset.
Mirostat follows llama.cpp's arithmetic (mu starts at 2*tau, surprise in bits, one update of
mu per token). Tokens are drawn by walking the candidates in id order, which has the same
distribution as llama.cpp's walk in probability order.
"""

from __future__ import annotations

import math

import numpy as np

from constrain.errors import SamplingError
from constrain.samplers import kernels
from constrain.samplers.adjustment import as_logits
from constrain.samplers.candidates import Candidates, candidates_of


def _top_k_mask(values: np.ndarray, k: int) -> np.ndarray:
    """Mask of the k largest values; ties at the k-th value go to the smallest positions."""
    if k >= values.size:
        return np.ones(values.size, dtype=np.bool_)
    kth = np.partition(values, values.size - k)[values.size - k]
    keep = values > kth
    ties = np.flatnonzero(values == kth)
    keep[ties[:k - int(keep.sum())]] = True
    return keep


def _draw(cand: Candidates, keep: np.ndarray | None, u: float) -> tuple[int, float]:
    """Draw among the kept candidates (renormalized); returns (token id, its probability)."""
    positions = None if keep is None else np.flatnonzero(keep)
    weights = cand.weights if positions is None else cand.weights[positions]
    total = float(weights.sum(dtype=np.float64))
    j = int(kernels.first_reaching(weights, u * total))
    token = cand.ids[j] if positions is None else cand.ids[positions[j]]
    return int(token), float(weights[j]) / total


class _Seeded:
    def __init__(self, seed: int | None):
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise SamplingError(f"seed must be a non-negative int or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self.rng = np.random.default_rng(self.seed)

    def reset(self) -> None:
        self.rng = np.random.default_rng(self.seed)


class Greedy:
    """The most likely token; on ties the first (smallest id), as llama.cpp."""

    def __call__(self, logits) -> int:
        logits = as_logits(logits)
        if logits.max() == -np.inf:
            raise SamplingError("every token was removed (all logits are -inf): nothing to sample")
        return int(np.argmax(logits))

    def reset(self) -> None:
        pass

    def __repr__(self) -> str:
        return "Greedy()"


class Dist(_Seeded):
    """Draw from softmax(logits)."""

    def __init__(self, seed: int | None = None):
        super().__init__(seed)

    def __call__(self, logits) -> int:
        token, _ = _draw(candidates_of(as_logits(logits)), None, self.rng.random())
        return token

    def __repr__(self) -> str:
        return f"Dist(seed={self.seed})"


class MirostatV2(_Seeded):
    """Mirostat 2.0: drop tokens whose surprise exceeds mu bits, draw, steer mu toward tau."""

    def __init__(self, tau: float = 5.0, eta: float = 0.1, seed: int | None = None):
        super().__init__(seed)
        self.tau = float(tau)
        self.eta = float(eta)
        self.mu = 2.0 * self.tau

    def reset(self) -> None:
        super().reset()
        self.mu = 2.0 * self.tau

    def __call__(self, logits) -> int:
        cand = candidates_of(as_logits(logits))
        # surprise -log2 p <= mu  <=>  logit >= max + ln Z - mu ln 2: one comparison per token
        floor = float(cand.max_logit) + cand.log_total - self.mu * math.log(2.0)
        keep = cand.logits >= np.float32(floor)
        if not keep.any():  # even the best token is too surprising: keep it alone
            keep[int(np.argmax(cand.logits))] = True
        token, p = _draw(cand, keep, self.rng.random())
        self.mu -= self.eta * (-math.log2(p) - self.tau)
        return token

    def __repr__(self) -> str:
        return f"MirostatV2(tau={self.tau}, eta={self.eta}, seed={self.seed})"


class MirostatV1(_Seeded):
    """Mirostat 1.0: estimate the Zipf exponent from the top m tokens, derive k, top-k, draw."""

    def __init__(self, tau: float = 5.0, eta: float = 0.1, m: int = 100, seed: int | None = None,
                 n_vocab: int | None = None):
        super().__init__(seed)
        if m < 2:
            raise SamplingError(f"mirostat m must be >= 2, got {m}")
        self.tau = float(tau)
        self.eta = float(eta)
        self.m = int(m)
        self.n_vocab = n_vocab
        self.mu = 2.0 * self.tau

    def reset(self) -> None:
        super().reset()
        self.mu = 2.0 * self.tau

    def zipf_exponent(self, top_logits: np.ndarray) -> float:
        """s_hat: least-squares fit of ln(p_i/p_{i+1}) against ln((i+2)/(i+1)) over the top m."""
        n = min(self.m - 1, top_logits.size - 1)
        i = np.arange(n, dtype=np.float64)
        t = np.log((i + 2.0) / (i + 1.0))
        b = top_logits[:n].astype(np.float64) - top_logits[1:n + 1].astype(np.float64)
        return float(np.dot(t, b) / np.dot(t, t))

    def target_k(self, s_hat: float, n_vocab: int) -> int:
        """k = (eps * 2^mu / (1 - N^-eps))^(1/s_hat), eps = s_hat - 1, at least 1."""
        eps = s_hat - 1.0
        with np.errstate(all="ignore"):
            k = (eps * 2.0 ** self.mu / (1.0 - float(n_vocab) ** -eps)) ** (1.0 / s_hat)
        if not math.isfinite(k) or k >= n_vocab:
            return n_vocab
        return max(int(k), 1)

    def __call__(self, logits) -> int:
        logits = as_logits(logits)
        cand = candidates_of(logits)
        n_vocab = self.n_vocab or logits.size
        top = kernels.top_k_indices(cand.logits, self.m)  # positions in cand, best first
        if top.size < 2:
            keep_positions = top
        else:
            k = self.target_k(self.zipf_exponent(cand.logits[top]), n_vocab)
            keep_positions = top[:k] if k <= top.size else None
        if keep_positions is None:
            keep = None if k >= cand.ids.size else _top_k_mask(cand.logits, k)
        else:
            keep = np.zeros(cand.ids.size, dtype=np.bool_)
            keep[keep_positions] = True
        token, p = _draw(cand, keep, self.rng.random())
        self.mu -= self.eta * (-math.log2(p) - self.tau)
        return token

    def __repr__(self) -> str:
        return f"MirostatV1(tau={self.tau}, eta={self.eta}, m={self.m}, seed={self.seed})"
