"""Processors that shift or scale logits: logit bias, repetition penalties, temperature.

A processor is called as `processor(ids, logits) -> logits`: `ids` are the tokens of the
context so far (prompt and generated), `logits` the float32 scores of the next token, -inf for
removed tokens. Processors never modify their input; they return a new array.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from constrain.errors import SamplingError
from constrain.samplers.token_text import token_ids_of


def as_logits(logits) -> np.ndarray:
    """A 1-D float32 view or copy of `logits`, with a clear error for anything else."""
    arr = np.asarray(logits, dtype=np.float32)
    if arr.ndim != 1 or arr.size == 0:
        raise SamplingError(f"logits must be a non-empty 1-D array, got shape {arr.shape}")
    return arr


class LogitBias:
    """Add a fixed bias to chosen tokens (-inf bans them), as OpenAI's `logit_bias`."""

    def __init__(self, biases: Mapping[int, float]):
        try:
            items = [(int(k), float(v)) for k, v in biases.items()]
        except (TypeError, ValueError, AttributeError) as exc:
            raise SamplingError(f"logit bias must map token ids to numbers: {exc}") from None
        if any(k < 0 for k, _ in items):
            raise SamplingError(f"logit bias has a negative token id: {[k for k, _ in items if k < 0]}")
        self.token_ids = np.array([k for k, _ in items], dtype=np.int64)
        self.biases = np.array([v for _, v in items], dtype=np.float32)

    @classmethod
    def for_text(cls, tokenizer, text: str, bias: float) -> "LogitBias":
        """Bias every token of `text`'s tokenization (e.g. -inf to ban a word)."""
        ids = token_ids_of(tokenizer, text)
        if not ids:
            raise SamplingError(f"{text!r} tokenizes to no tokens; nothing to bias")
        return cls({i: bias for i in ids})

    def __call__(self, ids, logits) -> np.ndarray:
        logits = as_logits(logits)
        if self.token_ids.size and self.token_ids.max() >= logits.size:
            raise SamplingError(
                f"logit bias names token {int(self.token_ids.max())} but the vocabulary has {logits.size}"
            )
        out = logits.copy()
        out[self.token_ids] += self.biases
        return out

    def __repr__(self) -> str:
        return f"LogitBias({dict(zip(self.token_ids.tolist(), self.biases.tolist()))})"


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
