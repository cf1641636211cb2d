"""Unit tests of the schema -> lark translation: string spellings, patterns, numbers, formats,
objects, arrays, combinators, errors, options. The oracle is lark's own LALR parser."""

from __future__ import annotations

import json
import re
import warnings
from decimal import Decimal

import lark
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constrain.grammars.errors import GrammarError
from constrain.grammars.json_schema import (
    InvalidSchemaError,
    JsonSchemaError,
    SchemaTooLargeError,
    UnsupportedSchemaError,
    json_schema,
    json_schema_to_lark,
)
from constrain.grammars.json_schema.builder import lark_regex_literal
from constrain.grammars.json_schema.charset import CharSet, json_char_regex, json_literal_regex
from constrain.grammars.json_schema.formats import FORMATS
from constrain.grammars.json_schema.numbers import integer_range_regex, number_range_regex
from constrain.grammars.json_schema.regex_translate import pattern_to_json_regex

COMPACT = (",", ":")


def parser_for(schema, **options):
    return lark.Lark(json_schema_to_lark(schema, **options), parser="lalr", lexer="contextual")


def accepts(parser, text: str) -> bool:
    try:
        parser.parse(text)
    except lark.exceptions.LarkError:
        return False
    return True


def dumps(value, ascii_only=False) -> str:
    return json.dumps(value, separators=COMPACT, ensure_ascii=ascii_only)


# ------------------------------------------------------------------ strings and escapes
@settings(max_examples=150, deadline=None)
@given(st.text())
def test_literal_regex_accepts_both_json_dumps_spellings(text):
    regex = re.compile(json_literal_regex(text))
    assert regex.fullmatch(json.dumps(text, ensure_ascii=False))
    assert regex.fullmatch(json.dumps(text, ensure_ascii=True))


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=3), st.text(max_size=3))
def test_literal_regex_rejects_other_strings(text, other):
    if text != other:
        assert not re.fullmatch(json_literal_regex(text), json.dumps(other, ensure_ascii=False))


def test_lark_reads_regexes_with_the_same_meaning():
    # Characters that lark's grammar-literal unescaping treats specially must survive it.
    chars = "/\\\"'\n\t\u00e9\U0001f600 [-]^$"
    regex = json_char_regex(CharSet.of(chars))
    grammar = lark.Lark(f"start: T\nT: {lark_regex_literal(regex)}\n", parser="lalr")
    seen_by_lark = re.compile(grammar.get_terminal("T").pattern.value)
    samples = [json.dumps(c, ensure_ascii=a)[1:-1] for c in chars + "ab\\x" for a in (False, True)]
    for sample in samples + ["\\u0041", "\\", "\"", "x"]:
        assert bool(seen_by_lark.fullmatch(sample)) == bool(re.fullmatch(regex, sample)), sample


@pytest.mark.parametrize("schema,good,bad", [
    ({"type": "string", "minLength": 2, "maxLength": 3}, ["ab", "a\n", "\U0001f600\u00e9", "\\\""], ["a", "abcd", ""]),
    ({"type": "string", "maxLength": 1}, ["", "\u2028", "\U0001f600"], ["ab"]),
])
def test_lengths_count_code_points_not_escapes(schema, good, bad):
    parser = parser_for(schema)
    for value in good:
        assert accepts(parser, dumps(value)), value
        assert accepts(parser, dumps(value, ascii_only=True)), value
    for value in bad:
        assert not accepts(parser, dumps(value)), value


# ------------------------------------------------------------------ patterns
PATTERNS = ["^[a-z]+$", "abc", "^\\d{3}-\\d{4}$", "^(foo|bar)baz", "x+y?$", "^[^\"\\\\]*$", "^.{2}$",
            "\\s", "^\\w+@\\w+\\.com$", "^(?:[A-Z]{2}|[0-9])*$", "^a|b$", "é+", "^\\p"[:-2] + "[\\u00e0-\\u00ff]$"]


@pytest.mark.parametrize("pattern", PATTERNS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(st.text(max_size=8), st.from_regex(re.compile("[a-z0-9@. \\-\"]{0,8}"))))
def test_pattern_translation_agrees_with_python_re(pattern, text):
    json_regex = re.compile('"' + pattern_to_json_regex(pattern) + '"')
    python_says = re.search(pattern, text) is not None
    ours = json_regex.fullmatch(dumps(text)) is not None
    if ours:  # never accept a string the validator rejects
        assert python_says, (pattern, text)
    # Differences may only come from ECMA-vs-Python classes (\s, \d, \w, `.`) on characters
    # outside printable ASCII, where we take the intersection of both meanings.
    if python_says and not ours:
        assert any(ord(c) > 126 or ord(c) < 32 for c in text), (pattern, text)


@pytest.mark.parametrize("pattern", ["(a)\\1", "(?=a)", "(?i)a", "a\\b", "x^y"])
def test_non_regular_patterns_are_refused_with_path(pattern):
    with pytest.raises(UnsupportedSchemaError, match=r"#/properties/code/pattern"):
        json_schema_to_lark({"type": "object", "properties": {"code": {"type": "string", "pattern": pattern}}})


# ------------------------------------------------------------------ numbers
@pytest.mark.parametrize("lo,hi", [(None, None), (0, 9), (-15, 7), (3, 250), (-1000, -999), (7, None), (None, -3),
                                   (99, 100), (0, 0)])
def test_integer_ranges_are_exact(lo, hi):
    regex = re.compile(integer_range_regex(lo, hi))
    for value in range(-1200, 1200):
        inside = (lo is None or value >= lo) and (hi is None or value <= hi)
        assert bool(regex.fullmatch(str(value))) == inside, value
        assert bool(regex.fullmatch(f"{value}.0")) == inside, value


BOUNDS = st.sampled_from([None, 0, 1, -1, 2.5, -2.5, 0.1, 10, 1.1, -0.001, 100.25])


@settings(max_examples=300, deadline=None)
@given(value=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), bounds=st.tuples(BOUNDS, BOUNDS, BOUNDS, BOUNDS))
def test_number_bounds_agree_with_float_comparison(value, bounds):
    minimum, maximum, exclusive_minimum, exclusive_maximum = bounds
    regex = number_range_regex(minimum, maximum, exclusive_minimum, exclusive_maximum)
    text = json.dumps(value)
    if "e" in text:
        return  # exponent spellings are outside the bounded-number language by design
    valid = ((minimum is None or value >= minimum) and (maximum is None or value <= maximum)
             and (exclusive_minimum is None or value > exclusive_minimum)
             and (exclusive_maximum is None or value < exclusive_maximum))
    ours = regex is not None and re.fullmatch(regex, text) is not None
    assert ours == valid, (text, bounds)


@settings(max_examples=200, deadline=None)
@given(digits=st.decimals(min_value=-100, max_value=100, places=25, allow_nan=False, allow_infinity=False))
def test_long_decimals_near_bounds_never_round_into_invalid(digits):
    # "1.0999999999999999999999" is < 1.1 as a decimal but parses to the double 1.1.
    text = format(Decimal(digits), "f")
    regex = number_range_regex(None, None, None, 1.1)
    if re.fullmatch(regex, text):
        assert json.loads(text) < 1.1


def test_integer_type_with_multiple_of():
    parser = parser_for({"type": "integer", "multipleOf": 5, "minimum": -12})
    for value in range(-40, 200):
        assert accepts(parser, str(value)) == (value % 5 == 0 and value >= -12)
    with pytest.raises(UnsupportedSchemaError, match="multipleOf"):
        json_schema_to_lark({"type": "integer", "multipleOf": 7})


# ------------------------------------------------------------------ formats
FORMAT_CASES = {
    "date": (["2024-02-29", "1999-12-31"], ["2023-02-29", "2024-13-01", "24-01-01"]),
    "time": (["23:59:60Z", "12:00:00.5+02:00"], ["24:00:00Z", "12:00:00", "22:59:60Z"]),
    "date-time": (["2020-01-01T00:00:00Z", "2020-01-01t10:10:10.123-05:30"], ["2020-01-01 00:00:00Z"]),
    "duration": (["P1D", "PT1H30M", "P2W", "P1Y2M3DT4H5M6S"], ["P", "PT", "P1W2D", "1D"]),
    "email": (["a.b+c@example.com", "x@[127.0.0.1]"], ["no-at-sign", "a@@b", ".a@b.c"]),
    "uuid": (["123e4567-e89b-12d3-a456-426614174000"], ["123e4567e89b12d3a456426614174000"]),
    "uri": (["https://example.com/a?b=c#d", "urn:isbn:0451450523", "mailto:a@b.c"], ["no scheme", "http://a b"]),
    "ipv4": (["192.168.0.1", "0.0.0.0"], ["256.1.1.1", "01.2.3.4", "1.2.3"]),
    "ipv6": (["::1", "2001:db8::ff00:42:8329", "::ffff:1.2.3.4"], ["1:2:3:4:5:6:7:8:9", ":::"]),
    "hostname": (["example.com", "a-b.c-d.e"], ["-a.com", "a..b", "a_b.com"]),
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_formats(name):
    good, bad = FORMAT_CASES[name]
    parser = parser_for({"type": "string", "format": name})
    for value in good:
        assert accepts(parser, dumps(value)), value
    for value in bad:
        assert not accepts(parser, dumps(value)), value


def test_unknown_format_is_refused_unless_lenient():
    with pytest.raises(UnsupportedSchemaError, match="#/format"):
        json_schema_to_lark({"type": "string", "format": "iri"})
    with pytest.warns(UserWarning, match="#/format"):
        json_schema_to_lark({"type": "string", "format": "iri"}, lenient=True)


# ------------------------------------------------------------------ objects and arrays
PERSON = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
          "required": ["name"]}


def test_strict_mode_forbids_unlisted_keys_and_spec_mode_allows_them():
    strict, spec = parser_for(PERSON), parser_for(PERSON, strict=False)
    extra = dumps({"name": "a", "nick": [1]})
    assert not accepts(strict, extra) and accepts(spec, extra)
    # an unlisted key may not be a listed key validated as "additional"
    assert not accepts(spec, dumps({"name": "a", "age": "x"}))
    assert not accepts(spec, dumps({"age": 3}))


def test_small_objects_accept_any_key_order_large_ones_schema_order():
    parser = parser_for(PERSON)
    assert accepts(parser, '{"age":3,"name":"x"}') and accepts(parser, '{"name":"x","age":3}')
    many = {"type": "object", "properties": {f"k{i}": {"type": "integer"} for i in range(8)}}
    parser = parser_for(many)
    assert accepts(parser, '{"k0":1,"k3":2,"k7":3}')
    assert not accepts(parser, '{"k3":1,"k0":2}')  # documented: schema order beyond 6 keys
    assert accepts(parser, "{}")


def test_counts_and_dependencies():
    schema = {"type": "object", "properties": {"a": {}, "b": {}, "c": {}}, "minProperties": 1, "maxProperties": 2,
              "dependentRequired": {"a": ["b"]}}
    parser = parser_for(schema)
    assert accepts(parser, '{"b":1}') and accepts(parser, '{"b":1,"a":2}')
    assert not accepts(parser, "{}") and not accepts(parser, '{"a":1}') and not accepts(parser, '{"a":1,"b":2,"c":3}')


def test_arrays_prefix_items_and_counts():
    parser = parser_for({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}],
                         "items": {"type": "boolean"}, "minItems": 1, "maxItems": 4})
    for good in (["a"], ["a", 1], ["a", 1, True, False]):
        assert accepts(parser, dumps(good))
    for bad in ([], [1], ["a", 1, True, False, True], ["a", "b"]):
        assert not accepts(parser, dumps(bad))


def test_recursive_refs():
    tree = {"$defs": {"node": {"type": "object", "properties": {"value": {"type": "integer"},
                                                                  "children": {"type": "array",
                                                                               "items": {"$ref": "#/$defs/node"}}},
                               "required": ["value"], "additionalProperties": False}},
            "$ref": "#/$defs/node"}
    parser = parser_for(tree)
    assert accepts(parser, dumps({"value": 1, "children": [{"value": 2, "children": []}, {"value": 3}]}))
    assert not accepts(parser, dumps({"value": 1, "children": [{"children": []}]}))


def test_any_of_unions_per_kind_and_one_of_needs_disjointness():
    parser = parser_for({"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 2}, {"type": "null"}]})
    assert all(accepts(parser, t) for t in ("1", '"ab"', "null"))
    assert not any(accepts(parser, t) for t in ("1.5", '"abc"', "true"))
    parser = parser_for({"oneOf": [{"const": "a"}, {"type": "integer"}]})
    assert accepts(parser, '"a"') and accepts(parser, "3") and not accepts(parser, '"b"')
    with pytest.raises(UnsupportedSchemaError, match="#/oneOf"):
        json_schema_to_lark({"oneOf": [{"type": "integer"}, {"minimum": 2}]})


def test_enum_and_const_are_filtered_by_the_whole_schema():
    parser = parser_for({"type": "string", "enum": ["a", "bb", 3, None], "maxLength": 1})
    assert accepts(parser, '"a"') and not accepts(parser, '"bb"') and not accepts(parser, "3")
    parser = parser_for({"const": {"x": [1, 2.5], "y": None}})
    assert accepts(parser, '{"y":null,"x":[1.0,2.50]}') and not accepts(parser, '{"x":[1,2.5]}')


def test_if_then_else_and_not_over_simple_schemas():
    parser = parser_for({"if": {"maxLength": 3}, "then": {"const": "abc"}, "else": {"type": "string"}})
    assert accepts(parser, '"abc"') and accepts(parser, '"bcdz"') and accepts(parser, '"\\n\\n\\n\\n"')
    assert not accepts(parser, '"bc"') and not accepts(parser, '"\\n"') and not accepts(parser, "1")
    parser = parser_for({"not": {"type": ["string", "null"]}})
    assert accepts(parser, "1") and not accepts(parser, '"x"') and not accepts(parser, "null")


def test_whitespace_option_is_bounded():
    assert not accepts(parser_for(PERSON), '{"name": "x"}')
    parser = parser_for(PERSON, whitespace=2)
    assert accepts(parser, json.dumps({"name": "x", "age": 2}))
    assert accepts(parser, json.dumps({"name": "x"}, indent=1))
    assert not accepts(parser, '{"name":     "x"}')


# ------------------------------------------------------------------ errors and API
def test_unsupported_keyword_names_keyword_and_path():
    schema = {"type": "object", "properties": {"tags": {"type": "array", "uniqueItems": True}}}
    with pytest.raises(UnsupportedSchemaError) as info:
        json_schema_to_lark(schema)
    assert "#/properties/tags/uniqueItems" in str(info.value)
    assert info.value.keyword == "uniqueItems" and info.value.path == "#/properties/tags"
    assert isinstance(info.value, GrammarError)


def test_lenient_drops_and_warns_once_per_keyword():
    schema = {"type": "array", "items": {"type": "integer"}, "uniqueItems": True, "contains": {"const": 1}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parser = lark.Lark(json_schema_to_lark(schema, lenient=True), parser="lalr")
    messages = [str(w.message) for w in caught]
    assert sum("#/uniqueItems" in m for m in messages) == 1 and sum("#/contains" in m for m in messages) == 1
    assert accepts(parser, "[1,1]")


@pytest.mark.parametrize("schema,error", [
    ({"type": "strin"}, InvalidSchemaError),
    ({"$ref": "#/$defs/missing"}, InvalidSchemaError),
    ({"type": "array", "items": [{}]}, InvalidSchemaError),
    (False, UnsupportedSchemaError),
    ([1, 2], InvalidSchemaError),
])
def test_bad_schemas_raise_typed_errors(schema, error):
    with pytest.raises(error):
        json_schema_to_lark(schema)


def test_pydantic_models_and_engine_grammar():
    pydantic = pytest.importorskip("pydantic")

    class Item(pydantic.BaseModel):
        sku: str
        quantity: int = pydantic.Field(ge=1, le=99)

    class Order(pydantic.BaseModel):
        id: int
        items: list[Item]
        note: str | None = None

    text = json_schema_to_lark(Order)
    parser = lark.Lark(text, parser="lalr")
    order = Order(id=1, items=[Item(sku="a", quantity=2)])
    assert accepts(parser, order.model_dump_json())
    assert not accepts(parser, '{"id":1,"items":[{"sku":"a","quantity":0}],"note":null}')
    grammar = json_schema(Order)
    assert grammar.accepts(order.model_dump_json())
    assert not grammar.accepts('{"id":1}')


def test_errors_are_json_schema_errors():
    assert issubclass(SchemaTooLargeError, JsonSchemaError) and issubclass(JsonSchemaError, GrammarError)


LENGTH_PATTERNS = [("^[A-Z]{2}-[0-9]+$", 4, 6), ("^ab", 0, 4), ("x$", 2, None), ("^(a|b)c*$", 1, 3), ("^.{2}z*$", 3, 5)]


@pytest.mark.parametrize("pattern,min_len,max_len", LENGTH_PATTERNS)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(st.text(alphabet="abcxzAB-019", max_size=8), st.text(max_size=6)))
def test_pattern_with_length_is_the_exact_intersection(pattern, min_len, max_len, text):
    schema = {"type": "string", "pattern": pattern, "minLength": min_len}
    if max_len is not None:
        schema["maxLength"] = max_len
    expected = re.search(pattern, text) is not None and min_len <= len(text) <= (max_len or 99)
    got = accepts(parser_for(schema), dumps(text))
    if got:
        assert expected, text
    elif expected:
        assert any(ord(c) > 126 or ord(c) < 32 for c in text), text


def test_pattern_with_length_of_other_shapes_is_refused():
    with pytest.raises(UnsupportedSchemaError, match="#/maxLength"):
        json_schema_to_lark({"type": "string", "pattern": "a+b+", "maxLength": 5})
