"""Pipeline: grammar mask first, then the processors in order, the mask again, then one sampler.

The mask is applied twice on purpose. First, so that biases, penalties and boosters only see
legal tokens (a top-k keeps the k best *legal* tokens). Last, after every processor and the
`restrict` hook, so that nothing a processor does - a +inf bias, a NaN, a token it brings back
from -inf - can let a token the grammar forbids be drawn. Every processor's output is checked
(shape, NaN, +inf) and a bad one raises a SamplingError that names the processor; the sampler's
choice is checked against the final logits as well.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from constrain.errors import SamplingError
from constrain.protocols import LogitsProcessor, Resettable, Sampler
from constrain.samplers import kernels
from constrain.samplers.adjustment import as_logits
from constrain.samplers.sampling import MirostatV2

Processor = LogitsProcessor


def as_processor_list(processors: Iterable[Processor] | Processor | None) -> list[Processor]:
    """One processor, a list of them or None, as a list (a SamplingError for one that is not callable)."""
    if processors is None:
        return []
    if callable(processors) and not isinstance(processors, (list, tuple)):
        return [processors]
    items = list(processors)
    for p in items:
        if not callable(p):
            raise SamplingError(f"processor {p!r} is not callable as processor(ids, logits)")
    return items


def _as_mask(allowed, logits: np.ndarray) -> np.ndarray:
    allowed = np.asarray(allowed, dtype=np.bool_)
    if allowed.shape != logits.shape:
        raise SamplingError(f"mask shape {allowed.shape} does not match logits shape {logits.shape}")
    return allowed


def _check_valid(logits, shape: tuple, source: str) -> np.ndarray:
    """`logits` as float32 if it has `shape` and holds no NaN or +inf; else a SamplingError."""
    try:
        out = np.asarray(logits, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise SamplingError(f"{source} returned {type(logits).__name__}, not an array of logits: {exc}") from None
    if out.shape != shape:
        raise SamplingError(f"{source} returned logits of shape {out.shape}, expected {shape} (one per token)")
    bad = int(kernels.first_invalid(out))
    if bad >= 0:
        raise SamplingError(f"{source} returned {float(out[bad])} for token {bad}: logits must be finite, "
                            f"or -inf to remove a token")
    return out


class Pipeline:
    """`Pipeline(processors, sampler)(ids, logits, allowed=None) -> token id`.

    `allowed` is a boolean mask over the vocabulary (from a grammar); it is applied before
    any processor, so biases, penalties and boosters only ever see legal tokens, and again
    after the last one, so that no processor can bring a forbidden token back.

    A processor must return logits of the vocabulary's shape, finite or -inf (removed); NaN,
    +inf or another shape is a SamplingError naming the processor. The model's own logits are
    held to the same rule.
    """

    def __init__(self, processors: Iterable[Processor] | Processor | None = (), sampler: Sampler | None = None):
        self.processors = as_processor_list(processors)
        self.sampler = sampler if sampler is not None else MirostatV2()
        if not callable(self.sampler):
            raise SamplingError(f"sampler {self.sampler!r} is not callable as sampler(logits)")

    def process(self, ids, logits, allowed: np.ndarray | None = None) -> np.ndarray:
        """The logits after the mask and every processor (the mask is not re-applied here)."""
        logits = as_logits(logits)
        if allowed is not None:
            allowed = _as_mask(allowed, logits)
            logits = kernels.masked_copy(logits, allowed)
        _check_valid(logits, logits.shape, "the model's logits")
        ids = np.asarray(ids, dtype=np.int64)
        for processor in self.processors:
            logits = _check_valid(processor(ids, logits), logits.shape, f"logits processor {processor!r}")
        return logits

    def __call__(self, ids, logits, allowed: np.ndarray | None = None,
                 restrict: Callable[[np.ndarray], np.ndarray] | None = None) -> int:
        """`restrict(processed) -> logits` narrows the choice after every processor (the grammar's
        budget-aware ending uses it: it needs the final order of the candidates)."""
        processed = self.process(ids, logits, allowed)
        mask = _as_mask(allowed, processed) if allowed is not None else None
        if mask is not None:  # whatever the processors did, before the restriction ranks candidates
            processed = processed.copy()
            kernels.remask(processed, mask)
        if restrict is not None:
            processed = _check_valid(restrict(processed), processed.shape, f"restriction {restrict!r}")
        if mask is not None:  # and last
            processed = processed.copy() if restrict is not None else processed
            kept = kernels.remask(processed, mask)
        else:
            kept = int(np.count_nonzero(processed != -np.inf))
        if kept == 0:
            raise SamplingError(self._explain_empty(ids, logits, allowed))
        token = self.sampler(processed)
        try:
            token = int(token)
        except (TypeError, ValueError):
            raise SamplingError(f"sampler {self.sampler!r} returned {token!r}, not a token id") from None
        if not 0 <= token < processed.size or processed[token] == -np.inf:
            why = ("outside the vocabulary" if not 0 <= token < processed.size
                   else "forbidden by the grammar" if allowed is not None and not allowed[token]
                   else "removed by the processors")
            raise SamplingError(f"sampler {self.sampler!r} chose token {token}, which is {why}")
        return token

    def _explain_empty(self, ids, logits, allowed) -> str:
        """Name the stage that removed the last candidate (only runs on failure)."""
        current = as_logits(logits)
        if current.max() == -np.inf:
            return "no token left to sample: the model's logits are all -inf"
        if allowed is not None:
            current = kernels.masked_copy(current, np.asarray(allowed, dtype=np.bool_))
            if current.max() == -np.inf:
                return "no token left to sample: the grammar mask allows no token"
        ids = np.asarray(ids, dtype=np.int64)
        for processor in self.processors:
            current = as_logits(processor(ids, current))
            if current.max() == -np.inf:
                return f"no token left to sample: {processor!r} removed every remaining token"
        if allowed is not None:
            return "no token left to sample: the processors kept only tokens the grammar forbids"
        return "no token left to sample"

    def reset(self) -> None:
        """Reset the sampler (seed, mirostat mu) and any stateful processor."""
        for processor in self.processors:
            if isinstance(processor, Resettable):
                processor.reset()
        if isinstance(self.sampler, Resettable):
            self.sampler.reset()

    def __repr__(self) -> str:
        return f"Pipeline({self.processors!r}, {self.sampler!r})"
