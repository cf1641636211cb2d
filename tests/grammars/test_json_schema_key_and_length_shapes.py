"""Shapes of real-world schemas whose masks used to walk thousands of lexer states: object keys
from `patternProperties` beside additionalProperties (Unicode classes in unanchored patterns,
`^.{1,255}$`, alternations of words), strings with minLength and a far maxLength, and a long
word-count pattern under maxLength. The fast masks must equal the slow reference mask along an
instance, and the grammar must agree with jsonschema on keys around the classes' edges."""

from __future__ import annotations

import json

import jsonschema
import pytest

from constrain.grammars.json_schema import json_schema
from constrain.testing import assert_masks_agree

SERVICE = {"type": "object", "properties": {"image": {"type": "string"}}}
CASES = {
    # (schema, instance, strict): keys matching \w+ are services, any other key takes any value
    "word keys beside other keys": (
        {"type": "object", "properties": {"services": {"type": "object", "patternProperties": {r"\w+": SERVICE}}}},
        {"services": {"web": {"image": "x"}, "-": 1}}, False),
    "word and dash keys with nested word keys": (
        {"type": "object", "patternProperties": {r"([\w\-]+)": {"type": "object", "patternProperties": {
            r"(\w+)": {"type": "string"}}}}},
        {"default": {"fg": "#fff", "-": "x"}}, False),
    "alternation of words": (
        {"type": "object", "properties": {"effect": {"type": "object", "patternProperties": {
            "Normal|Fighting|Flying|Fire|Water": {"type": "number", "minimum": 0, "maximum": 2}}}}},
        {"effect": {"Normal": 1, "Firewall": 2, "other": "x"}}, False),
    "any key of at most 255 characters": (
        {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
         "patternProperties": {"^.{1,255}$": {}}},
        {"a": 1, "b c": [True]}, False),
    "minLength with a far maxLength": (
        {"type": "object", "properties": {"name": {"type": "string", "minLength": 3, "maxLength": 255,
                                                   "pattern": "[a-zA-Z0-9_.-]+"}}},
        {"name": "a.b"}, True),
    "word count under maxLength": (
        {"type": "array", "items": {"type": "string", "maxLength": 300, "pattern": r"^(?:\S+\s+){0,29}\S+$"}},
        ["one two  three", "x"], True),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_masks_equal_the_reference_along_an_instance(name, smollm2_tokenizer):
    schema, instance, strict = CASES[name]
    grammar = json_schema(schema, strict=strict)
    text = json.dumps(instance, separators=(",", ":"), ensure_ascii=False)
    ids = smollm2_tokenizer.encode(text, add_bos=False)
    assert jsonschema.validators.validator_for(schema)(schema).is_valid(instance)
    matcher = grammar.matcher(smollm2_tokenizer)
    for k, token in enumerate(ids):
        if k % 3 == 0:  # the reference walks the whole vocabulary in Python: every third position
            assert_masks_agree(matcher)
        assert matcher.is_allowed(token), (text, k)
        matcher.advance(token)
    assert_masks_agree(matcher)
    assert matcher.is_accepting()


KEYS = ["", "a", "_", "-", "a-", "-a", "é", "é-", "-é", "é1", "\r", "a\r", "\n", "a\n", "\u2028", "ab\u2029",
        "Fire", "xFirex", "Fir", "ÉÀ", "\u00b2", "a" * 4, "é" * 4]
PATTERN_SETS = [{r"\w+": {"type": "string"}}, {r"\w": {"type": "string"}, r"^.{1,3}$": {"type": "integer"}},
                {"^.{1,3}$": {"type": "integer"}}, {"Fire|Water": {"type": "string"}, "^F": {"type": "integer"}}]


@pytest.mark.parametrize("index", range(len(PATTERN_SETS)))
@pytest.mark.parametrize("additional", [True, {"type": "boolean"}, False])
def test_pattern_keys_agree_with_jsonschema(index, additional):
    """Every key and value kind against jsonschema. A key that ECMA-262 and Python's `re` (the
    validator) read differently (a non-ASCII word character, a line terminator, Python's `$`
    before a final newline) may be refused, but is never accepted where the validator rejects."""
    patterns = PATTERN_SETS[index]
    schema = {"type": "object", "patternProperties": patterns, "additionalProperties": additional}
    grammar = json_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for key in KEYS:
        for value in ("x", 1, True):
            instance = {key: value}
            accepted = grammar.accepts(json.dumps(instance, separators=(",", ":"), ensure_ascii=False))
            if accepted or key.isascii() and key.isprintable():
                assert accepted == validator.is_valid(instance), (patterns, additional, instance)
