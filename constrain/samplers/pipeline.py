"""Pipeline: grammar mask first, then the processors in order, then one sampler."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from constrain.errors import SamplingError
from constrain.samplers import kernels
from constrain.samplers.adjustment import as_logits
from constrain.samplers.sampling import MirostatV2

Processor = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _as_processor_list(processors) -> list[Processor]:
    if processors is None:
        return []
    if callable(processors) and not isinstance(processors, (list, tuple)):
        return [processors]
    items = list(processors)
    for p in items:
        if not callable(p):
            raise SamplingError(f"processor {p!r} is not callable as processor(ids, logits)")
    return items


class Pipeline:
    """`Pipeline(processors, sampler)(ids, logits, allowed=None) -> token id`.

    `allowed` is a boolean mask over the vocabulary (from a grammar); it is applied before
    any processor, so biases, penalties and boosters only ever see legal tokens.
    """

    def __init__(self, processors: Iterable[Processor] | Processor | None = (), sampler=None):
        self.processors = _as_processor_list(processors)
        self.sampler = sampler if sampler is not None else MirostatV2()
        if not callable(self.sampler):
            raise SamplingError(f"sampler {self.sampler!r} is not callable as sampler(logits)")

    def process(self, ids, logits, allowed: np.ndarray | None = None) -> np.ndarray:
        """The logits after the mask and every processor."""
        logits = as_logits(logits)
        if allowed is not None:
            allowed = np.asarray(allowed, dtype=np.bool_)
            if allowed.shape != logits.shape:
                raise SamplingError(f"mask shape {allowed.shape} does not match logits shape {logits.shape}")
            logits = kernels.masked_copy(logits, allowed)
        ids = np.asarray(ids, dtype=np.int64)
        for processor in self.processors:
            logits = as_logits(processor(ids, logits))
        return logits

    def __call__(self, ids, logits, allowed: np.ndarray | None = None,
                 restrict: Callable[[np.ndarray], np.ndarray] | None = None) -> int:
        """`restrict(processed) -> logits` narrows the choice after every processor (the grammar's
        budget-aware ending uses it: it needs the final order of the candidates)."""
        processed = self.process(ids, logits, allowed)
        if restrict is not None:
            processed = restrict(processed)
        if processed.max() == -np.inf:
            raise SamplingError(self._explain_empty(ids, logits, allowed))
        return int(self.sampler(processed))

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
        return "no token left to sample"

    def reset(self) -> None:
        """Reset the sampler (seed, mirostat mu) and any stateful processor."""
        for processor in self.processors:
            if hasattr(processor, "reset"):
                processor.reset()
        if hasattr(self.sampler, "reset"):
            self.sampler.reset()

    def __repr__(self) -> str:
        return f"Pipeline({self.processors!r}, {self.sampler!r})"
