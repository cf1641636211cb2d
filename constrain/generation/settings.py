"""Map llama-cpp-python's sampling arguments onto a Pipeline.

Order, as llama-cpp-python builds its chain (the grammar mask always runs before all of it):
  user logits_processor(s) -> logit_bias -> penalties -> then by mode:
  temperature == 0 (or < 0)   greedy (truncation cannot change the best token, so it is skipped)
  mirostat_mode 2             Temperature(t) -> MirostatV2(tau, eta)   (top_k/top_p/min_p/typical ignored)
  mirostat_mode 1             Temperature(t) -> MirostatV1(tau, eta, m=100)
  mirostat_mode 0             TopK -> TypicalP -> TopP -> MinP -> Temperature -> Dist
mirostat_mode=None (the default) picks 2 for free text and 0 when a grammar constrains the
output: mirostat's target surprise (tau, in bits) is tuned for open prose, while under a
grammar most steps have a handful of legal tokens and the truncation chain is the better fit.
A `sampler=` argument replaces the mode's part: a Pipeline is used as is (after the mask), any
other sampler object runs after bias and penalties.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from constrain.errors import SamplingError
from constrain.samplers import (
    Dist,
    Greedy,
    LogitBias,
    MinP,
    MirostatV1,
    MirostatV2,
    Penalties,
    Pipeline,
    Temperature,
    TopK,
    TopP,
    TypicalP,
)
from constrain.samplers.pipeline import Processor, as_processor_list

MIROSTAT_M = 100


def _real(name: str, value) -> float:
    """A sampling argument as a finite float, or a SamplingError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise SamplingError(f"{name} must be a number, got {type(value).__name__}: {value!r}")
    if not math.isfinite(value):
        raise SamplingError(f"{name} must be finite, got {value}")
    return float(value)


def _whole(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise SamplingError(f"{name} must be an int, got {type(value).__name__}: {value!r}")
    return int(value)


def build_pipeline(*, temperature: float = 0.8, top_p: float = 0.95, top_k: int = 40, min_p: float = 0.05,
                   typical_p: float = 1.0, repeat_penalty: float = 1.0, frequency_penalty: float = 0.0,
                   presence_penalty: float = 0.0, penalty_last_n: int = 64, mirostat_mode: int | None = None,
                   mirostat_tau: float = 5.0, mirostat_eta: float = 0.1, seed: int | None = None,
                   logit_bias: dict | None = None, logits_processor=None, sampler=None,
                   constrained: bool = False, n_vocab: int | None = None) -> Pipeline:
    """The Pipeline a create_completion call with these arguments samples with."""
    temperature, top_p, min_p, typical_p = (_real(n, v) for n, v in (("temperature", temperature), ("top_p", top_p),
                                                                     ("min_p", min_p), ("typical_p", typical_p)))
    repeat_penalty, frequency_penalty, presence_penalty, mirostat_tau, mirostat_eta = (
        _real(n, v) for n, v in (("repeat_penalty", repeat_penalty), ("frequency_penalty", frequency_penalty),
                                 ("presence_penalty", presence_penalty), ("mirostat_tau", mirostat_tau),
                                 ("mirostat_eta", mirostat_eta)))
    top_k, penalty_last_n = _whole("top_k", top_k), _whole("penalty_last_n", penalty_last_n)
    if isinstance(sampler, Pipeline):
        return sampler
    if mirostat_mode is None:
        mirostat_mode = 0 if constrained else 2
    if mirostat_mode not in (0, 1, 2):
        raise SamplingError(f"mirostat_mode must be 0, 1, 2 or None, got {mirostat_mode!r}")

    processors = as_processor_list(logits_processor)
    if logit_bias:
        processors.append(LogitBias(logit_bias))
    penalties = Penalties(penalty_last_n, repeat_penalty, frequency_penalty, presence_penalty)
    if not penalties.is_identity:
        processors.append(penalties)

    if sampler is not None:
        return Pipeline(processors, sampler)
    if temperature <= 0:
        return Pipeline(processors, Greedy())
    if mirostat_mode == 2:
        return Pipeline(processors + [Temperature(temperature)], MirostatV2(mirostat_tau, mirostat_eta, seed))
    if mirostat_mode == 1:
        return Pipeline(processors + [Temperature(temperature)],
                        MirostatV1(mirostat_tau, mirostat_eta, MIROSTAT_M, seed, n_vocab=n_vocab))
    chain: list[Processor] = [TopK(top_k), TypicalP(typical_p), TopP(top_p), MinP(min_p), Temperature(temperature)]
    return Pipeline(processors + chain, Dist(seed))


@dataclass(frozen=True)
class SamplingArgs:
    """The sampling arguments create_completion and create_chat_completion share (their defaults
    differ: chat samples at a lower temperature), checked when the Pipeline is built."""

    temperature: float
    top_p: float
    top_k: int
    min_p: float
    typical_p: float
    repeat_penalty: float
    frequency_penalty: float
    presence_penalty: float
    penalty_last_n: int
    mirostat_mode: int | None
    mirostat_tau: float
    mirostat_eta: float
    seed: int | None
    logit_bias: dict | None
    logits_processor: Any
    sampler: Any

    @classmethod
    def of(cls, arguments: Mapping[str, Any]) -> SamplingArgs:
        """The sampling arguments among a call's arguments (e.g. its locals())."""
        return cls(**{f.name: arguments[f.name] for f in fields(cls)})

    def pipeline(self, *, constrained: bool, n_vocab: int | None) -> Pipeline:
        return build_pipeline(**{f.name: getattr(self, f.name) for f in fields(self)},
                              constrained=constrained, n_vocab=n_vocab)
