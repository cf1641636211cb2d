"""GrammarMask: the logits processor that runs first in the sampler pipeline."""

from __future__ import annotations

import numpy as np

from constrain.grammars.matcher import GrammarMatcher


class GrammarMask:
    """Sets the logits of tokens the grammar forbids to -inf. The caller advances the matcher."""

    def __init__(self, matcher: GrammarMatcher):
        self.matcher = matcher

    def __call__(self, ids, logits: np.ndarray) -> np.ndarray:
        allowed = self.matcher.mask()
        n = min(len(allowed), logits.shape[-1])
        out = np.array(logits, copy=True)
        out[..., :n][..., ~allowed[:n]] = -np.inf
        out[..., n:] = -np.inf  # ids the tokenizer does not know are never text
        return out
