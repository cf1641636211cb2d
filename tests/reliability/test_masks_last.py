"""The grammar mask is applied last and always: no bias, processor or NaN lets a forbidden token win."""

import json

import numpy as np
import pytest

from constrain import grammars
from constrain.errors import ConstrainError, SamplingError
from constrain.generation import create_chat_completion, create_completion
from constrain.samplers import Greedy, LogitBias, Pipeline, TopK
from tests.generation_fakes import FakeLlama

PROMPT = "Give me a JSON object:"


def _json_prefix_ok(text: str, finish: str) -> None:
    """A finished JSON grammar output parses; an unfinished one is at least not empty."""
    assert text.strip(), "the grammar was bypassed: nothing was generated"
    if finish == "stop":
        json.loads(text)


@pytest.mark.parametrize("temperature", [0.0, 0.8])
@pytest.mark.parametrize("budget", [dict(max_tokens=200), dict(max_tokens=40, finish_within_budget=False),
                                    dict(max_tokens=16)])
def test_plus_inf_bias_on_eos_cannot_end_an_unfinished_json(temperature, budget):
    llm = FakeLlama(eog_bias=-50.0)
    out = create_completion(llm, PROMPT, grammar=grammars.json(), temperature=temperature, seed=3,
                            logit_bias={llm.token_eos(): float("inf")}, **budget)["choices"][0]
    _json_prefix_ok(out["text"], out["finish_reason"])
    assert out["text"] != ""


def test_plus_inf_bias_forces_the_token_where_the_grammar_allows_it():
    llm = FakeLlama(eog_bias=-50.0)
    # "x" is a legal first character of the choice grammar and is forced by the bias
    x = llm.tokenize(b"x", add_bos=False)[0]
    out = create_completion(llm, "pick:", grammar=grammars.choice(["xyz", "abc"]), temperature=0.0,
                            logit_bias={x: float("inf")})["choices"][0]
    assert out["text"] == "xyz" and out["finish_reason"] == "stop"
    # without a grammar, +inf forces the token at every step
    plain = create_completion(FakeLlama(eog_bias=-50.0), "pick:", temperature=0.8, seed=1, max_tokens=5,
                              logit_bias={x: float("inf")})["choices"][0]
    assert plain["text"] == "xxxxx"


def test_eos_bias_ends_as_soon_as_the_grammar_accepts():
    llm = FakeLlama(eog_bias=-50.0)
    out = create_completion(llm, "pick:", grammar=grammars.choice(["ab", "abab"]), temperature=0.0,
                            logit_bias={llm.token_eos(): float("inf")}, max_tokens=10)["choices"][0]
    assert out["text"] in ("ab", "abab") and out["finish_reason"] == "stop"


def test_nan_bias_is_refused_with_the_argument_named():
    llm = FakeLlama()
    with pytest.raises(SamplingError, match="logit_bias.*NaN"):
        create_completion(llm, PROMPT, grammar=grammars.json(), logit_bias={5: float("nan")})
    with pytest.raises(SamplingError, match="logit_bias"):
        create_completion(llm, PROMPT, logit_bias={5: "high"})


def test_huge_finite_bias_does_not_overflow():
    logits = np.array([1.0, 2.0, 3.0], np.float32)
    out = LogitBias({0: 1e39, 1: -1e39})([], logits)
    assert np.isfinite(out).all() and np.argmax(out) == 0


def _processor_writing(value, token=None):
    def processor(ids, logits):
        out = logits.copy()
        out[token if token is not None else np.argmax(logits)] = value
        return out
    return processor


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nan_or_inf_from_a_logits_processor_is_a_typed_error(value):
    llm = FakeLlama(eog_bias=-50.0)
    with pytest.raises(SamplingError, match=r"logits processor .* returned (nan|inf) for token \d+"):
        create_completion(llm, PROMPT, grammar=grammars.json(), temperature=0.0, max_tokens=8,
                          logits_processor=_processor_writing(value))
    with pytest.raises(SamplingError, match=r"returned (nan|inf)"):
        create_chat_completion(llm, [{"role": "user", "content": "hi"}], max_tokens=4,
                               logits_processor=[_processor_writing(value, token=7)])


@pytest.mark.parametrize("shape", [(10,), (1, 270), (), (3, 3)])
def test_wrong_shape_from_a_logits_processor_is_a_typed_error(shape):
    llm = FakeLlama()
    with pytest.raises(SamplingError, match=r"shape .* expected"):
        create_completion(llm, PROMPT, max_tokens=4, logits_processor=lambda ids, logits: np.zeros(shape, np.float32))


def test_a_processor_returning_no_array_is_a_typed_error():
    with pytest.raises(SamplingError, match="not an array of logits"):
        create_completion(FakeLlama(), PROMPT, max_tokens=4, logits_processor=lambda ids, logits: "oops")


def test_a_processor_reviving_forbidden_tokens_does_not_beat_the_grammar():
    """A processor that sets every token (forbidden ones included) to a large finite value."""
    llm = FakeLlama(eog_bias=-50.0)

    def flatten(ids, logits):
        out = np.full(logits.shape, 100.0, np.float32)
        out[llm.token_eos()] = 1000.0
        return out

    out = create_completion(llm, PROMPT, grammar=grammars.json(), temperature=0.0, max_tokens=30,
                            logits_processor=flatten)["choices"][0]
    _json_prefix_ok(out["text"], out["finish_reason"])


def test_nan_in_the_model_logits_is_a_typed_error_not_a_pick():
    logits = np.array([0.0, np.nan, 1.0], np.float32)
    with pytest.raises(SamplingError, match="model's logits returned nan for token 1"):
        Pipeline([], Greedy())([], logits)
    # a NaN on a token the grammar forbids is masked away before anything looks at it
    assert Pipeline([], Greedy())([], logits, np.array([True, False, True])) == 2


def test_mask_is_applied_after_the_processors_and_the_sampler_is_checked():
    logits = np.array([5.0, 0.0, 1.0], np.float32)
    allowed = np.array([False, True, True])
    revive = _processor_writing(50.0, token=0)
    assert Pipeline([revive], Greedy())([], logits, allowed) == 2

    class Rogue:
        def __call__(self, logits):
            return 0

    with pytest.raises(SamplingError, match="chose token 0, which is forbidden by the grammar"):
        Pipeline([], Rogue())([], logits, allowed)
    with pytest.raises(SamplingError, match="outside the vocabulary"):
        Pipeline([], lambda logits: 99)([], logits)
    with pytest.raises(SamplingError, match="only tokens the grammar forbids"):
        Pipeline([revive, TopK(1)], Greedy())([], logits, allowed)


def test_errors_are_constrain_errors():
    assert issubclass(SamplingError, ConstrainError)
