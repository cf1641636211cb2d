"""End to end with the default model: constrained generation finishes with text lark parses."""

from __future__ import annotations

import json as pyjson

import pytest

from constrain.grammars import Grammar, json


@pytest.mark.slow
def test_llm_with_json_grammar(smollm2):
    grammar = json()
    out = smollm2('A JSON object describing Ada Lovelace: ', grammar=grammar, max_tokens=60, temperature=0.0)
    choice = out["choices"][0]
    # near max_tokens only tokens after which the value can still close are drawn: a whole value
    assert choice["finish_reason"] == "stop", choice
    pyjson.loads(choice["text"])
    assert grammar.accepts(choice["text"])


@pytest.mark.slow
def test_llm_with_json_grammar_cut_at_length_is_a_prefix(smollm2):
    """Without the budget-aware ending, text cut at max_tokens is still a prefix the grammar allows."""
    grammar = json()
    out = smollm2('A JSON object describing Ada Lovelace: ', grammar=grammar, max_tokens=12, temperature=0.0,
                  finish_within_budget=False)
    choice = out["choices"][0]
    assert choice["finish_reason"] == "length", choice
    assert choice["text"].strip()
    assert grammar.matcher(smollm2.tokenizer).advance_bytes(choice["text"].encode("utf-8"))


@pytest.mark.slow
def test_llm_with_custom_grammar_stops(smollm2):
    g = Grammar.from_lark('start: ANSWER "\\n"\nANSWER: "yes" | "no"\n')
    out = smollm2("Is the sky blue? Answer yes or no.\nAnswer: ", grammar=g, max_tokens=10)
    choice = out["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["text"] in ("yes\n", "no\n")
