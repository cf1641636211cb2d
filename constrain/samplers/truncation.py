"""Processors that remove unlikely tokens (set them to -inf): top-k, top-p, min-p, typical-p.

Semantics follow llama.cpp's samplers, on the current candidates (finite logits):
- top-k keeps the k best (ties: smaller id first); k <= 0 keeps all.
- top-p keeps the smallest prefix of the probability-sorted candidates whose mass is >= p.
- min-p keeps tokens with p_i >= p * p_max, i.e. logit_i >= max_logit + ln(p).
- typical-p sorts by |-ln p_i - H| (H the entropy) and keeps the smallest prefix whose mass
  is > p.
All keep at least `min_keep` candidates (default 1, as llama-cpp-python passes).
"""

from __future__ import annotations

import math

import numpy as np

from constrain.errors import SamplingError
from constrain.samplers import kernels
from constrain.samplers.adjustment import as_logits
from constrain.samplers.candidates import candidates_of


class TopK:
    """Keep the k most likely candidates."""

    def __init__(self, k: int):
        self.k = int(k)

    def __call__(self, ids, logits) -> np.ndarray:
        logits = as_logits(logits)
        if self.k <= 0 or self.k >= logits.size:
            return logits.copy()
        return kernels.keep_only(logits, kernels.top_k_indices(logits, self.k))

    def __repr__(self) -> str:
        return f"TopK({self.k})"


def _prefix_keep(keys: np.ndarray, sort_keys: np.ndarray, probs: np.ndarray, target: float, min_keep: int,
                 strict: bool) -> np.ndarray:
    """Keep-mask of the shortest prefix in (sort key, id) order whose probability mass reaches target.

    `keys` are the same order as `sort_keys` expressed as non-negative nats (for bucketing).
    """
    if keys.size <= kernels.SMALL:
        order = np.argsort(sort_keys, kind="stable")
        cum = np.cumsum(probs[order], dtype=np.float32)
        reached = (cum > target) if strict else (cum >= target)
        reached[:max(min_keep, 1) - 1] = False
        hits = np.flatnonzero(reached)
        keep = np.zeros(keys.size, dtype=np.bool_)
        keep[order[:hits[0] + 1] if hits.size else order] = True
        return keep
    return kernels.smallest_mass_prefix(keys, sort_keys, probs, np.float32(target), min_keep, strict)


class _ProbabilityCut:
    """A truncation set by one probability `p` that keeps at least `min_keep` candidates."""

    def __init__(self, p: float, min_keep: int = 1):
        self.p = float(p)
        if min_keep < 0:
            raise SamplingError(f"min_keep must be >= 0, got {min_keep}")
        self.min_keep = int(min_keep)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.p})"


class TopP(_ProbabilityCut):
    """Nucleus sampling: keep the smallest set of best tokens whose probability mass reaches p."""

    def __call__(self, ids, logits) -> np.ndarray:
        logits = as_logits(logits)
        if self.p >= 1.0:
            return logits.copy()
        cand = candidates_of(logits)
        probs = cand.probs
        sel = np.arange(cand.ids.size)
        if cand.ids.size > kernels.SMALL and self.p > 0.0:
            # tokens below (1-p)/n together hold less than 1-p, so the prefix lies above them
            above = np.flatnonzero(probs >= np.float32((1.0 - self.p) / cand.ids.size))
            if above.size >= self.min_keep:
                sel = above
        values = cand.logits[sel]
        keep = _prefix_keep(cand.max_logit - values, -values, probs[sel], self.p, self.min_keep, False)
        return kernels.keep_only(logits, cand.ids[sel[keep]])


class MinP(_ProbabilityCut):
    """Keep tokens at least p times as likely as the best one."""

    def __call__(self, ids, logits) -> np.ndarray:
        logits = as_logits(logits)
        if self.p <= 0.0:
            return logits.copy()
        max_l = logits.max()
        if max_l == -np.inf:
            return logits.copy()
        threshold = np.float32(max_l + np.float32(math.log(self.p)))
        out = kernels.keep_at_least(logits, threshold)
        if self.min_keep > 1:
            n_kept = int(np.count_nonzero(out != -np.inf))
            if n_kept < self.min_keep:
                return kernels.keep_only(logits, kernels.top_k_indices(logits, self.min_keep))
        return out


class TypicalP(_ProbabilityCut):
    """Locally typical sampling (Meister et al.): keep tokens whose surprise is near the entropy."""

    def __call__(self, ids, logits) -> np.ndarray:
        logits = as_logits(logits)
        if self.p >= 1.0:
            return logits.copy()
        cand = candidates_of(logits)
        log_total = cand.log_total
        # H = -sum p ln p = ln Z - sum p (l - max): no logarithm per token needed
        entropy = log_total - float(kernels.weighted_offsets(cand.weights, cand.logits, cand.max_logit)) / cand.total
        surprise = (cand.max_logit - cand.logits) + np.float32(log_total)
        keys = np.abs(surprise - np.float32(entropy))
        keep = _prefix_keep(keys, keys, cand.probs, self.p, self.min_keep, True)
        return kernels.keep_only(logits, cand.ids[keep])
