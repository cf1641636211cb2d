"""The current candidates of a logits vector and their probabilities, in compact form.

Processors late in a chain see few candidates (top-k left 40), so the probability work is
done on the compact arrays of finite logits instead of the whole vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from constrain.errors import SamplingError
from constrain.samplers import kernels


@dataclass
class Candidates:
    ids: np.ndarray        # int64 token ids, ascending
    logits: np.ndarray     # float32 logits of those tokens
    max_logit: np.float32
    weights: np.ndarray    # float32 exp(logit - max_logit)
    total: float           # sum of weights

    @property
    def probs(self) -> np.ndarray:
        return self.weights / np.float32(self.total)

    @property
    def log_total(self) -> float:
        return float(np.log(self.total))


@lru_cache(maxsize=4)
def _identity(n: int) -> np.ndarray:
    ids = np.arange(n, dtype=np.int64)
    ids.flags.writeable = False
    return ids


def candidates_of(logits: np.ndarray) -> Candidates:
    """Compact candidates of `logits`; raises SamplingError if every token was removed."""
    if logits.min() != -np.inf:  # nothing removed yet: no gather needed
        ids, values = _identity(logits.size), logits
    else:
        ids = np.flatnonzero(logits != -np.inf)
        if ids.size == 0:
            raise SamplingError("every token was removed (all logits are -inf): nothing to sample")
        values = logits[ids]
    max_logit = values.max()
    if not np.isfinite(max_logit):
        raise SamplingError(f"logits contain {max_logit}: cannot form probabilities")
    weights = kernels.exp_shifted(values, max_logit)
    return Candidates(ids, values, max_logit, weights, float(weights.sum()))
