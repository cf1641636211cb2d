"""WordBooster: llama.clj's "run-on" sampler, generalized.

When a chosen word's token is among the top k candidates, has not been produced within the
last `window` tokens, and the best token is not an end-of-generation token, the word is
forced (every other token removed) or, in "bias" mode, boosted by `bias`. Small models keep
talking instead of stopping; with " and" this makes them run on.
"""

from __future__ import annotations

import numpy as np

from constrain.errors import SamplingError
from constrain.samplers.adjustment import as_logits
from constrain.samplers.token_text import end_of_generation_ids, token_ids_of

MODES = ("force", "bias")


class WordBooster:
    """Force (or boost) one token when it ranks within the top k and was not just used."""

    def __init__(self, token_id: int, eog_ids, top_k: int = 30, window: int = 5,
                 mode: str = "force", bias: float = 5.0):
        if mode not in MODES:
            raise SamplingError(f"WordBooster mode must be one of {MODES}, got {mode!r}")
        if top_k <= 0:
            raise SamplingError(f"WordBooster top_k must be > 0, got {top_k}")
        if window < 0:
            raise SamplingError(f"WordBooster window must be >= 0, got {window}")
        self.token_id = int(token_id)
        self.eog_ids = np.array(sorted(int(i) for i in eog_ids), dtype=np.int64)
        self.top_k = int(top_k)
        self.window = int(window)
        self.mode = mode
        self.bias = np.float32(bias)

    @classmethod
    def for_word(cls, tokenizer, word: str = " and", top_k: int = 30, window: int = 5,
                 mode: str = "force", bias: float = 5.0) -> WordBooster:
        """Build from a model or tokenizer; `word` must be a single token."""
        ids = token_ids_of(tokenizer, word)
        if len(ids) != 1:
            raise SamplingError(f"WordBooster word {word!r} must be one token, it tokenizes to {ids}")
        return cls(ids[0], end_of_generation_ids(tokenizer), top_k=top_k, window=window, mode=mode, bias=bias)

    def applies(self, ids, logits: np.ndarray) -> bool:
        """True when the word should be forced/boosted at this step."""
        word_logit = logits[self.token_id]
        if word_logit == -np.inf:  # removed earlier (e.g. by the grammar mask): respect that
            return False
        if self.window:
            recent = np.asarray(ids, dtype=np.int64)[-self.window:]
            if np.any(recent == self.token_id):
                return False
        best = int(np.argmax(logits))
        if self.eog_ids.size and np.any(self.eog_ids == best):
            return False
        rank = int(np.count_nonzero(logits > word_logit))  # tokens strictly better than the word
        return rank < self.top_k

    def __call__(self, ids, logits) -> np.ndarray:
        logits = as_logits(logits)
        if self.token_id >= logits.size:
            raise SamplingError(f"WordBooster token {self.token_id} is outside the vocabulary ({logits.size})")
        if not self.applies(ids, logits):
            return logits.copy()
        if self.mode == "force":
            out = np.full(logits.size, -np.inf, dtype=np.float32)
            out[self.token_id] = logits[self.token_id]
            return out
        out = logits.copy()
        out[self.token_id] += self.bias
        return out

    def __repr__(self) -> str:
        return (f"WordBooster(token_id={self.token_id}, top_k={self.top_k}, window={self.window}, "
                f"mode={self.mode!r})")
