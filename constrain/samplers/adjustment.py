"""Processors that shift or scale logits: logit bias, repetition penalties, temperature.

A processor is called as `processor(ids, logits) -> logits`: `ids` are the tokens of the
context so far (prompt and generated), `logits` the float32 scores of the next token, -inf for
removed tokens. Processors never modify their input; they return a new array.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from constrain.errors import SamplingError
from constrain.samplers.kernels import keep_only
from constrain.samplers.token_text import token_ids_of


def as_logits(logits) -> np.ndarray:
    """A 1-D float32 view or copy of `logits`, with a clear error for anything else."""
    arr = np.asarray(logits, dtype=np.float32)
    if arr.ndim != 1 or arr.size == 0:
        raise SamplingError(f"logits must be a non-empty 1-D array, got shape {arr.shape}")
    return arr


MAX_FINITE_BIAS = 1e30  # far beyond any logit, far below float32's limit


class LogitBias:
    """Add a fixed bias to chosen tokens, as OpenAI's and llama-cpp-python's `logit_bias`.

    A bias of -inf bans the token. A bias of +inf forces it: when one or more +inf-biased
    tokens are still candidates, every other token is removed and the forced ones keep their
    own logits (so the model chooses among them). A token already removed (-inf, e.g. by the
    grammar mask) stays removed whatever its bias, so a bias never overrides a grammar. NaN
    is not a bias: it is refused with a SamplingError naming the token. Finite biases beyond
    +-1e30 act as +-1e30 (float32 logits would overflow to inf).
    """

    def __init__(self, biases: Mapping[int, float]):
        try:
            items = [(int(k), float(v)) for k, v in biases.items()]
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise SamplingError(f"logit_bias must map token ids to numbers: {exc}") from None
        if any(k < 0 for k, _ in items):
            raise SamplingError(f"logit_bias has a negative token id: {[k for k, _ in items if k < 0]}")
        nan = [k for k, v in items if math.isnan(v)]
        if nan:
            raise SamplingError(f"logit_bias value for token {nan[0]} is NaN: use a number, -inf to ban "
                                f"the token or +inf to force it")
        # huge finite biases act as they would in float64 (overwhelming, not overflowing to inf)
        items = [(k, v if math.isinf(v) else min(max(v, -MAX_FINITE_BIAS), MAX_FINITE_BIAS)) for k, v in items]
        self.token_ids = np.array([k for k, v in items if v != math.inf], dtype=np.int64)
        self.biases = np.array([v for _, v in items if v != math.inf], dtype=np.float32)
        self.forced_ids = np.array(sorted({k for k, v in items if v == math.inf}), dtype=np.int64)

    @property
    def _all_ids(self) -> np.ndarray:
        return np.concatenate([self.token_ids, self.forced_ids])

    @classmethod
    def for_text(cls, tokenizer, text: str, bias: float) -> LogitBias:
        """Bias every token of `text`'s tokenization (e.g. -inf to ban a word)."""
        ids = token_ids_of(tokenizer, text)
        if not ids:
            raise SamplingError(f"{text!r} tokenizes to no tokens; nothing to bias")
        return cls({i: bias for i in ids})

    def __call__(self, ids, logits) -> np.ndarray:
        logits = as_logits(logits)
        named = self._all_ids
        if named.size and named.max() >= logits.size:
            raise SamplingError(
                f"logit_bias names token {int(named.max())} but the vocabulary has {logits.size}"
            )
        out = logits.copy()
        out[self.token_ids] += self.biases  # -inf stays -inf: a finite or -inf bias cannot revive it
        if self.forced_ids.size:
            live = self.forced_ids[logits[self.forced_ids] != -np.inf]
            if live.size:
                return keep_only(out, live)
        return out

    def __repr__(self) -> str:
        biases = dict(zip(self.token_ids.tolist(), self.biases.tolist()))
        biases.update({k: math.inf for k in self.forced_ids.tolist()})
        return f"LogitBias({biases})"


class Penalties:
    """llama.cpp's repetition, frequency and presence penalties over the last `last_n` tokens.

    For each token seen c > 0 times in the window: a positive logit is divided by `repeat`, a
    non-positive one multiplied by it, then `c * frequency + presence` is subtracted.
    `last_n=0` disables; `last_n=-1` uses the whole context.
    """

    def __init__(self, last_n: int = 64, repeat: float = 1.0, frequency: float = 0.0, presence: float = 0.0):
        if last_n < -1:
            raise SamplingError(f"penalty last_n must be >= -1, got {last_n}")
        if repeat <= 0:
            raise SamplingError(f"repeat penalty must be > 0, got {repeat}")
        self.last_n = int(last_n)
        self.repeat = np.float32(repeat)
        self.frequency = np.float32(frequency)
        self.presence = np.float32(presence)

    @property
    def is_identity(self) -> bool:
        return self.last_n == 0 or (self.repeat == 1.0 and self.frequency == 0.0 and self.presence == 0.0)

    def __call__(self, ids, logits) -> np.ndarray:
        logits = as_logits(logits)
        if self.is_identity:
            return logits.copy()
        ids = np.asarray(ids, dtype=np.int64)
        window = ids if self.last_n == -1 else ids[max(0, ids.size - self.last_n):]
        out = logits.copy()
        if window.size == 0:
            return out
        seen, counts = np.unique(window, return_counts=True)
        values = out[seen]
        values = np.where(values <= 0, values * self.repeat, values / self.repeat)
        values -= counts.astype(np.float32) * self.frequency + self.presence
        out[seen] = values
        return out

    def __repr__(self) -> str:
        return (f"Penalties(last_n={self.last_n}, repeat={float(self.repeat)}, "
                f"frequency={float(self.frequency)}, presence={float(self.presence)})")


class Temperature:
    """Divide logits by t; t <= 0 keeps only the first best token (greedy)."""

    def __init__(self, t: float):
        self.t = float(t)

    def __call__(self, ids, logits) -> np.ndarray:
        logits = as_logits(logits)
        if self.t <= 0.0:
            best = int(np.argmax(logits))
            out = np.full(logits.size, -np.inf, dtype=np.float32)
            out[best] = logits[best]
            return out
        return logits / np.float32(self.t)

    def __repr__(self) -> str:
        return f"Temperature({self.t})"
