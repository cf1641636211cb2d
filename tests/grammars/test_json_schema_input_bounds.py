"""Schemas that used to let generation run on or cost unbounded work at compile time."""

from __future__ import annotations

import json

import pytest

from constrain.grammars import json_schema, regex
from constrain.grammars.json_schema.numbers import MAX_ZERO_FRACTION_DIGITS
from constrain.grammars.lexemes.engine import DEAD as LEXEME_DEAD
from constrain.grammars.lexemes.shared import shared_store


def dead_after(grammar, text: str) -> bool:
    engine = grammar.engine
    return engine.step_bytes(engine.start, text.encode()) == LEXEME_DEAD


@pytest.mark.parametrize("schema, number, wrap", [
    ({"type": "integer", "minimum": -5}, "-3", "@"),
    ({"type": "integer"}, "-1", "@"),
    ({"type": "integer", "maximum": 100, "multipleOf": 3}, "3", "@"),
    ({"const": 1.0}, "1", "@"),
    ({"enum": [2, 7.0]}, "7", "@"),
    ({"type": "object", "properties": {"n": {"type": "integer", "exclusiveMinimum": -10}}, "required": ["n"]},
     "-3", '{"n":@}'),
    ({"$schema": "http://json-schema.org/draft-04/schema#", "type": "number", "enum": [4.0]}, "4", "@"),
])
def test_integer_zero_fractions_are_bounded(schema, number, wrap):
    g = json_schema(schema)
    assert g.accepts(wrap.replace("@", number)) or "draft-04" in str(schema.get("$schema"))
    assert g.accepts(wrap.replace("@", number + ".0"))
    assert g.accepts(wrap.replace("@", number + "." + "0" * MAX_ZERO_FRACTION_DIGITS))
    # a sampled integer cannot run on as -1.0000000... until max_tokens
    head = wrap.split("@")[0]
    assert dead_after(g, head + number + "." + "0" * (MAX_ZERO_FRACTION_DIGITS + 1))


def test_numbers_keep_their_fraction_digits():
    g = json_schema({"type": "number", "minimum": 0})
    assert g.accepts("1.25") and g.accepts("1.000001") and g.accepts("1." + "0" * 40)


def _terms_added(build) -> int:
    store = shared_store()
    before = len(store)
    build()
    return len(store) - before


def test_counted_repetition_costs_the_same_whatever_the_count():
    small = _terms_added(lambda: regex("b{0,10}").accepts("b" * 10))
    large = _terms_added(lambda: regex("c{0,100000}").accepts("c" * 10))
    assert large <= small + 8
    # and walking it costs a few terms per byte (each count left is one term), not per count
    walked = _terms_added(lambda: regex("d{0,100000}").accepts("d" * 1000))
    assert walked <= 3 * 1000 + small


def test_unicode_word_class_repetition_compiles_small():
    g = regex(r"\w{1,20}")
    assert g.accepts("héllo_wörld") and not g.accepts("x" * 21) and not g.accepts("a b")
    assert _terms_added(lambda: regex(r"\w{1,21}").accepts("abc")) < 200


@pytest.mark.parametrize("max_length", [255, 1000])
def test_documented_string_limits_work(max_length):
    g = json_schema({"type": "string", "maxLength": max_length})
    assert g.accepts(json.dumps("é" * max_length)) and not g.accepts(json.dumps("x" * (max_length + 1)))


def test_documented_enum_limit_works():
    values = [f"value-{i}" for i in range(20000)]
    g = json_schema({"enum": values})
    assert g.accepts('"value-19999"') and g.accepts('"value-7"') and not g.accepts('"value-20000"')


def _nested(depth: int, wrap) -> dict:
    schema = {"type": "string"}
    for _ in range(depth):
        schema = wrap(schema)
    return schema


@pytest.mark.parametrize("wrap", [lambda s: {"type": "array", "items": s}, lambda s: {"anyOf": [s, {"type": "null"}]}])
def test_deep_schema_is_a_typed_error_naming_the_path(wrap):
    from constrain.grammars.json_schema import SchemaTooLargeError

    with pytest.raises(SchemaTooLargeError, match="levels deep") as err:
        json_schema(_nested(100_000, wrap))
    assert str(err.value).startswith("#/") and len(str(err.value)) < 300


def test_deep_schema_text_is_a_typed_error():
    from constrain.grammars.json_schema import SchemaTooLargeError

    with pytest.raises(SchemaTooLargeError, match="levels deep"):
        json_schema('{"items":' * 100_000 + "{}" + "}" * 100_000)


def test_schema_nested_below_the_limit_compiles():
    g = json_schema(_nested(120, lambda s: {"type": "array", "items": s}))
    assert g.accepts("[" * 120 + '"a"' + "]" * 120) and not g.accepts("[" * 119 + '"a"' + "]" * 119)


def test_schema_error_messages_stay_short():
    from constrain.grammars.json_schema import JsonSchemaError

    err = JsonSchemaError("x" * 300_000, keyword="pattern", path="#/properties/a")
    assert len(str(err)) < 2200 and str(err).startswith("#/properties/a/pattern: xxx")
