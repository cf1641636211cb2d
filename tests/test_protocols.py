"""The contracts in constrain/protocols.py hold for the parts that implement them, and the optional
abilities generation tests for are told apart (mypy checks the signatures; these check the objects)."""

from __future__ import annotations

import typing

import numpy as np
import pytest

from constrain import grammars, protocols
from constrain.samplers import Dist, Greedy, MirostatV1, MirostatV2, Penalties, Pipeline, WordBooster
from constrain.samplers.token_text import end_of_generation_ids, token_ids_of
from tests.generation_fakes import FakeGrammar, FakeLlama, FakeMatcher


def protocol_members(protocol) -> set[str]:
    names: set[str] = set()
    for cls in protocol.__mro__:
        if cls in (object, typing.Protocol, typing.Generic):
            continue
        names |= {n for n in vars(cls) if not n.startswith("_")}
        names |= set(getattr(cls, "__annotations__", {}))
    return names


def test_the_fake_model_has_every_member_of_the_model_protocol():
    llm = FakeLlama()
    members = protocol_members(protocols.Model)
    assert {"eval", "logits", "n_tokens", "rewind", "tokenizer", "token_eos", "tokenize"} <= members
    missing = [name for name in protocol_members(protocols.Model) if not hasattr(llm, name)]
    assert not missing
    assert not [name for name in protocol_members(protocols.ModelTokenizer) if not hasattr(llm.tokenizer, name)]


def test_optional_model_abilities_are_told_apart():
    llm = FakeLlama()
    assert not isinstance(llm, protocols.TracksContext)
    assert not isinstance(llm, protocols.RestoresContext)
    assert isinstance(llm, protocols.Tokenizing) and isinstance(llm, protocols.CarriesTokenizer)

    class Tracking(FakeLlama):
        @property
        def input_ids(self):
            return list(self.context)

    assert isinstance(Tracking(), protocols.TracksContext)


def test_the_runtime_tokenizer_is_a_vocabulary_source():
    tokenizer = FakeLlama().tokenizer
    assert isinstance(tokenizer, protocols.VocabularySource)
    assert isinstance(tokenizer, protocols.TextEncoder) and isinstance(tokenizer, protocols.HasEogIds)
    assert not isinstance(object(), protocols.VocabularySource)


def test_grammars_and_matchers():
    llm = FakeLlama()
    grammar = grammars.choice(["yes", "no"])
    assert isinstance(grammar, protocols.GrammarSource)
    matcher = grammar.matcher(llm.tokenizer)
    assert isinstance(matcher, protocols.Matcher)
    assert not isinstance(matcher, protocols.GrammarSource)
    assert isinstance(FakeMatcher([[1]], 4), protocols.Matcher)
    assert isinstance(FakeGrammar(["a"]), protocols.GrammarSource)
    assert not isinstance(object(), protocols.Matcher)


def test_samplers_that_keep_state_are_resettable():
    for sampler in (Dist(1), MirostatV1(), MirostatV2()):
        assert isinstance(sampler, protocols.Resettable)
    assert not isinstance(Penalties(64, 1.1, 0.0, 0.0), protocols.Resettable)


def test_pipeline_reset_resets_the_processors_that_have_state():
    class Counting:
        def __init__(self):
            self.resets = 0

        def __call__(self, ids, logits):
            return logits

        def reset(self):
            self.resets += 1

    counting = Counting()
    pipeline = Pipeline([counting, lambda ids, logits: logits], Greedy())
    pipeline.reset()
    assert counting.resets == 1
    assert pipeline(np.array([0]), np.array([0.0, 1.0], np.float32)) == 1


def test_token_ids_and_end_of_generation_from_a_model_or_a_tokenizer():
    llm = FakeLlama()
    assert token_ids_of(llm, " and") == token_ids_of(llm.tokenizer, " and")
    assert end_of_generation_ids(llm) == end_of_generation_ids(llm.tokenizer) == sorted(llm.tokenizer.eog_ids)

    class OnlyEos:
        eos_id = 7

    assert end_of_generation_ids(OnlyEos()) == [7]
    with pytest.raises(Exception, match="neither tokenize"):
        token_ids_of(object(), "x")
    WordBooster.for_word(llm, " and")  # a model is accepted where a tokenizer is
