"""Forced-token fast-forward: the forced text is what every sentence takes next, generation
appends it in one batch, and the switch turns it off."""

from __future__ import annotations

import json

import numpy as np
import pytest

from constrain import grammars
from constrain.generation import create_completion
from constrain.grammars.forced import forced_text
from tests.generation_fakes import FakeLlama

PERSON = {"type": "object", "properties": {"name": {"type": "string"}, "kind": {"const": "human"},
                                           "age": {"type": "integer"}},
          "required": ["name", "kind", "age"], "additionalProperties": False}


def test_forced_text_is_the_only_way_on():
    engine = grammars.json_schema(PERSON).engine
    state = engine.step_bytes(engine.start, b'{"name":"Al","k')
    assert forced_text(engine).of(state) == b'ind":"human","age":'  # the last member left
    assert forced_text(engine).of(engine.start) == b'{"'


@pytest.mark.parametrize("prefix", [b"", b'{"', b'{"name":"x"', b'{"name":"x","kind":"human","age":1'])
def test_forced_text_agrees_with_a_byte_by_byte_look(prefix):
    engine = grammars.json_schema(PERSON).engine
    state = engine.step_bytes(engine.start, prefix)
    forced = forced_text(engine).of(state)
    for byte in forced:
        assert not engine.is_accepting(state)
        assert [b for b in range(256) if engine.step(state, b) != 0] == [byte]
        state = engine.step(state, byte)
    ways = [b for b in range(256) if engine.step(state, b) != 0]
    assert engine.is_accepting(state) or len(ways) != 1


@pytest.mark.parametrize("seed", range(4))
def test_generation_with_fast_forward_samples_fewer_steps_and_stays_valid(seed):
    import jsonschema

    grammar = grammars.json_schema(PERSON)
    steps = {}
    for on in (True, False):
        llm = FakeLlama(n_ctx=512, eog_bias=-6.0)
        out = create_completion(llm, "x", grammar=grammar, max_tokens=200, temperature=1.0, seed=seed,
                                fast_forward=on)
        choice = out["choices"][0]
        assert choice["finish_reason"] == "stop"
        jsonschema.validate(json.loads(choice["text"]), PERSON)
        steps[on] = len(llm.eval_calls)
    assert steps[True] < steps[False]


def test_logprobs_turn_fast_forward_off():
    grammar = grammars.json_schema(PERSON)
    llm = FakeLlama(n_ctx=512, eog_bias=-6.0)
    out = create_completion(llm, "x", grammar=grammar, max_tokens=200, temperature=0.0, logprobs=1)
    assert all(n == 1 for n, _ in llm.eval_calls[1:])
    assert np.isfinite([lp for lp in out["choices"][0]["logprobs"]["token_logprobs"] if lp is not None]).all()
