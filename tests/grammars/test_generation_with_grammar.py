"""End to end with the default model: constrained generation finishes with text lark parses."""

from __future__ import annotations

import json as pyjson

import pytest

from constrain.grammars import Grammar, json


@pytest.mark.slow
def test_llm_with_json_grammar(smollm2):
    out = smollm2('A JSON object describing Ada Lovelace: ', grammar=json(), max_tokens=60, temperature=0.0)
    choice = out["choices"][0]
    if choice["finish_reason"] == "stop":
        pyjson.loads(choice["text"])
    else:
        assert choice["finish_reason"] == "length"


@pytest.mark.slow
def test_llm_with_custom_grammar_stops(smollm2):
    g = Grammar.from_lark('start: ANSWER "\\n"\nANSWER: "yes" | "no"\n')
    out = smollm2("Is the sky blue? Answer yes or no.\nAnswer: ", grammar=g, max_tokens=10)
    choice = out["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["text"] in ("yes\n", "no\n")
