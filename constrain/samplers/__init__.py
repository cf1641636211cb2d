"""Logit processors, samplers and the pipeline that chains them.

processor(ids, logits) -> logits    (ids: tokens so far; -inf removes a token)
sampler(logits) -> token id; sampler.reset()
Pipeline(processors, sampler)(ids, logits, allowed=grammar_mask) -> token id
"""

from constrain.samplers.adjustment import LogitBias, Penalties, Temperature
from constrain.samplers.booster import WordBooster
from constrain.samplers.pipeline import Pipeline
from constrain.samplers.sampling import Dist, Greedy, MirostatV1, MirostatV2
from constrain.samplers.truncation import MinP, TopK, TopP, TypicalP

__all__ = [
    "LogitBias", "Penalties", "Temperature", "TopK", "TopP", "MinP", "TypicalP", "WordBooster",
    "Greedy", "Dist", "MirostatV1", "MirostatV2", "Pipeline",
]
