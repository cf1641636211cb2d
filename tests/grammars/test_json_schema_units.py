"""Unit tests of the JSON Schema compiler: string spellings, patterns, numbers, formats, objects,
arrays, combinators, errors, options. The oracle is `jsonschema` itself: a compiled grammar must
accept the compact JSON of a value exactly when the validator says the value is valid (with the
documented spelling disciplines: bounded numbers without exponents, formats asserted)."""

from __future__ import annotations

import json
import re
import warnings
from decimal import Decimal

import jsonschema
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
)
from constrain.grammars.json_schema.numbers import integer_range_regex, number_range_regex
from tests.grammars.compile_work import counted

COMPACT = (",", ":")
FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


def dumps(value, ascii_only=False) -> str:
    return json.dumps(value, separators=COMPACT, ensure_ascii=ascii_only)


def exactly(schema, values, *, strict: bool = False, **options):
    """The grammar accepts each value's compact JSON iff jsonschema says it is valid."""
    grammar = json_schema(schema, strict=strict, **options)
    validator = jsonschema.Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
    for value in values:
        assert grammar.accepts(dumps(value)) == validator.is_valid(value), (schema, value)
    return grammar


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(max_size=6),
                    st.sampled_from([0.5, -2.25, 1.0, 3, "a", "ab", "abc", "", "x1", "1.5"]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.sampled_from(["a", "b", "c", "kind", "x"]), inner, max_size=4),
                      max_leaves=10)


# ------------------------------------------------------------------ strings and escapes
@pytest.mark.parametrize("schema,good,bad", [
    ({"type": "string", "minLength": 2, "maxLength": 3}, ["ab", "a\n", "\U0001f600\u00e9", "\\\""], ["a", "abcd", ""]),
    ({"type": "string", "maxLength": 1}, ["", "\u2028", "\U0001f600"], ["ab"]),
])
def test_lengths_count_code_points_not_escapes(schema, good, bad):
    grammar = json_schema(schema)
    for value in good:
        assert grammar.accepts(dumps(value)), value
        assert grammar.accepts(dumps(value, ascii_only=True)), value
    for value in bad:
        assert not grammar.accepts(dumps(value)), value


@settings(max_examples=150, deadline=None)
@given(st.text())
def test_every_json_dumps_spelling_of_a_string_is_accepted(text):
    grammar = json_schema({"type": "string"})
    assert grammar.accepts(json.dumps(text, ensure_ascii=False))
    assert grammar.accepts(json.dumps(text, ensure_ascii=True))


def test_const_string_accepts_its_spellings_only():
    grammar = json_schema({"const": "a/é\n"})
    for spelled in ['"a/é\\n"', '"a\\/\\u00e9\\n"', '"a/\\u00E9\\u000a"']:
        assert grammar.accepts(spelled), spelled
    assert not grammar.accepts('"a/e\\n"') and not grammar.accepts('"\\u0061/é\\n"')  # no \\u0061 for ASCII


# ------------------------------------------------------------------ patterns
PATTERNS = ["^[a-z]+$", "abc", "^\\d{3}-\\d{4}$", "^(foo|bar)baz", "x+y?$", "^[^\"\\\\]*$", "^.{2}$",
            "\\s", "^\\w+@\\w+\\.com$", "^(?:[A-Z]{2}|[0-9])*$", "^a|b$", "é+", "^[\\u00e0-\\u00ff]$"]


@pytest.mark.parametrize("pattern", PATTERNS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(st.text(max_size=8), st.from_regex(re.compile("[a-z0-9@. \\-\"]{0,8}"))))
def test_pattern_agrees_with_python_re(pattern, text):
    grammar = json_schema({"type": "string", "pattern": pattern})
    python_says = re.search(pattern, text) is not None
    ours = grammar.accepts(dumps(text))
    if ours:  # never accept a string the validator rejects
        assert python_says, (pattern, text)
    # Differences may only come from ECMA-vs-Python classes (\s, \d, \w, `.`) on characters
    # outside printable ASCII, where the intersection of both meanings is taken.
    if python_says and not ours:
        assert any(ord(c) > 126 or ord(c) < 32 for c in text), (pattern, text)


@pytest.mark.parametrize("pattern", ["(a)\\1", "(?=a)", "(?i)a", "a\\b", "x^y"])
def test_non_regular_patterns_are_refused_with_path(pattern):
    with pytest.raises(UnsupportedSchemaError, match=r"#/properties/code/pattern"):
        json_schema({"type": "object", "properties": {"code": {"type": "string", "pattern": pattern}}})


LENGTH_PATTERNS = [("^[A-Z]{2}-[0-9]+$", 4, 6), ("^ab", 0, 4), ("x$", 2, None), ("^(a|b)c*$", 1, 3),
                   ("^.{2}z*$", 3, 5), ("a+b+", 0, 5), ("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", 1, 8)]


@pytest.mark.parametrize("pattern,min_len,max_len", LENGTH_PATTERNS)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(st.text(alphabet="abcxzAB-019", max_size=10), st.text(max_size=6)))
def test_pattern_with_length_is_the_exact_intersection(pattern, min_len, max_len, text):
    schema = {"type": "string", "pattern": pattern, "minLength": min_len}
    if max_len is not None:
        schema["maxLength"] = max_len
    expected = re.search(pattern, text) is not None and min_len <= len(text) <= (max_len or 99)
    got = json_schema(schema).accepts(dumps(text))
    if got:
        assert expected, text
    elif expected:
        assert any(ord(c) > 126 or ord(c) < 32 for c in text), text


def test_pattern_with_format_and_length():
    schema = {"type": "string", "format": "date", "pattern": "^2024-", "maxLength": 10}
    exactly(schema, ["2024-02-29", "2023-02-28", "2024-13-01", "2024-1-1"])


def test_long_strings_are_exact_without_unrolling():
    grammar, work = counted(lambda: json_schema({"type": "string", "minLength": 99_990, "maxLength": 100_000}))
    assert work.terms < 1_000  # a counter, not 100,000 copies of a character
    assert grammar.accepts(dumps("x" * 99_995)) and grammar.accepts(dumps("é" * 100_000))
    assert not grammar.accepts(dumps("x" * 100_001)) and not grammar.accepts(dumps("x" * 99_989))


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
@given(value=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
       bounds=st.tuples(BOUNDS, BOUNDS, BOUNDS, BOUNDS))
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


@pytest.mark.parametrize("multiple", [5, 7, 33, 4096])
def test_integer_multiple_of_any_divisor(multiple):
    grammar = json_schema({"type": "integer", "multipleOf": multiple, "minimum": -12})
    for value in list(range(-40, 200)) + [multiple * 1234567, multiple * 1234567 + 1]:
        assert grammar.accepts(str(value)) == (value % multiple == 0 and value >= -12), value
        assert grammar.accepts(f"{value}.0") == (value % multiple == 0 and value >= -12), value
    assert not grammar.accepts(f"{multiple}.5")


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


@pytest.mark.parametrize("name", sorted(FORMAT_CASES))
def test_formats(name):
    good, bad = FORMAT_CASES[name]
    grammar = json_schema({"type": "string", "format": name})
    for value in good:
        assert grammar.accepts(dumps(value)), value
    for value in bad:
        assert not grammar.accepts(dumps(value)), value


def test_unknown_formats_are_annotations():
    grammar = json_schema({"type": "string", "format": "x-custom-thing"})
    assert grammar.accepts('"anything at all"') and not grammar.accepts("1")


# ------------------------------------------------------------------ objects and arrays
PERSON = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
          "required": ["name"]}


def test_strict_mode_forbids_unlisted_keys_and_spec_mode_allows_them():
    strict, spec = json_schema(PERSON), json_schema(PERSON, strict=False)
    extra = dumps({"name": "a", "nick": [1]})
    assert not strict.accepts(extra) and spec.accepts(extra)
    # an unlisted key may not be a listed key validated as "additional"
    assert not spec.accepts(dumps({"name": "a", "age": "x"}))
    assert not spec.accepts(dumps({"age": 3}))
    assert not spec.accepts('{"name":"a","name":"b"}')  # no key twice


def test_members_come_in_any_order_even_with_many_keys():
    grammar = json_schema({"type": "object", "properties": {f"k{i}": {"type": "integer"} for i in range(300)},
                           "required": ["k7", "k250"]})
    assert grammar.accepts('{"k250":1,"k3":2,"k7":3}') and grammar.accepts('{"k7":1,"k250":2}')
    assert not grammar.accepts('{"k7":1}') and not grammar.accepts('{"k7":1,"k250":2,"k7":3}')


def test_counts_and_dependencies():
    schema = {"type": "object", "properties": {"a": {}, "b": {}, "c": {}}, "minProperties": 1, "maxProperties": 2,
              "dependentRequired": {"a": ["b"]}}
    grammar = json_schema(schema)
    assert grammar.accepts('{"b":1}') and grammar.accepts('{"b":1,"a":2}')
    assert not grammar.accepts("{}") and not grammar.accepts('{"a":1}') and not grammar.accepts('{"a":1,"b":2,"c":3}')


def test_min_properties_never_counts_a_repeated_key():
    grammar = json_schema({"type": "object", "minProperties": 2})
    assert grammar.accepts('{"a":1,"b":2}') and not grammar.accepts('{"a":1,"a":2}')


def test_pattern_properties_combine_and_exclude_listed_keys():
    schema = {"type": "object", "properties": {"id": {"type": "integer"}},
              "patternProperties": {"^x": {"type": "integer"}, "y$": {"minimum": 5}, "^no": False},
              "additionalProperties": {"type": "string"}}
    exactly(schema, [{"id": 1}, {"id": "a"}, {"xy": 7}, {"xy": 3}, {"x1": 2}, {"zy": 9}, {"zy": "s"},
                     {"other": "s"}, {"other": 1}, {"nope": 1}, {"xno": 1}])


def test_property_names():
    exactly({"type": "object", "propertyNames": {"pattern": "^[a-z]+$", "maxLength": 3}},
            [{}, {"ab": 1}, {"abcd": 1}, {"A": 1}, {"a": 1, "b": [2]}])


def test_arrays_prefix_items_and_counts():
    grammar = json_schema({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}],
                           "items": {"type": "boolean"}, "minItems": 1, "maxItems": 4})
    for good in (["a"], ["a", 1], ["a", 1, True, False]):
        assert grammar.accepts(dumps(good))
    for bad in ([], [1], ["a", 1, True, False, True], ["a", "b"]):
        assert not grammar.accepts(dumps(bad))


def test_long_arrays_are_counted_not_unrolled():
    grammar, work = counted(lambda: json_schema({"type": "array", "items": {"type": "integer"},
                                                 "minItems": 99_999, "maxItems": 100_000}))
    assert work.terms < 1_000
    assert grammar.accepts(dumps([1] * 100_000)) and not grammar.accepts(dumps([1] * 100_001))


def test_unique_items_on_scalars():
    exactly({"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            [[], ["a"], ["a", "b"], ["a", "a"], ["a", "b", "a"]])
    exactly({"type": "array", "items": {"type": "number"}, "uniqueItems": True}, [[1, 2], [1, 1.0], [1.5, 2, 1.5]])
    grammar = json_schema({"type": "array", "items": {"type": "number"}, "uniqueItems": True})
    assert not grammar.accepts("[1,1e0]") and not grammar.accepts("[10,1e1]")
    # only two booleans exist: a third unique item cannot be offered
    exactly({"type": "array", "items": {"type": "boolean"}, "uniqueItems": True, "minItems": 2},
            [[True, False], [True], [True, True], [False, True, False]])
    with pytest.raises(UnsupportedSchemaError, match="accepts no JSON value"):
        json_schema({"type": "array", "items": {"type": "boolean"}, "uniqueItems": True, "minItems": 3})


def test_unique_items_of_objects_is_refused_with_path():
    with pytest.raises(UnsupportedSchemaError, match="#/properties/rows/uniqueItems"):
        json_schema({"type": "object", "properties": {"rows": {"type": "array", "uniqueItems": True}}})


def test_contains_with_bounds():
    schema = {"type": "array", "contains": {"type": "integer", "minimum": 5}, "minContains": 2, "maxContains": 3}
    exactly(schema, [[5, 6], [5], [5, 6, 7, 8], [1, 5, 2, 6], [], ["a", 9, 9]])


def test_recursive_refs():
    tree = {"$defs": {"node": {"type": "object", "properties": {"value": {"type": "integer"},
                                                                  "children": {"type": "array",
                                                                               "items": {"$ref": "#/$defs/node"}}},
                               "required": ["value"], "additionalProperties": False}},
            "$ref": "#/$defs/node"}
    grammar = json_schema(tree)
    assert grammar.accepts(dumps({"value": 1, "children": [{"value": 2, "children": []}, {"value": 3}]}))
    assert not grammar.accepts(dumps({"value": 1, "children": [{"children": []}]}))


def test_a_schema_that_needs_an_infinite_value_is_refused():
    with pytest.raises(UnsupportedSchemaError, match="accepts no JSON value"):
        json_schema({"type": "object", "properties": {"next": {"$ref": "#"}}, "required": ["next"]})


# ------------------------------------------------------------------ combinators, checked against jsonschema
COMBINATOR_SCHEMAS = [
    {"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 2}, {"type": "null"}]},
    {"oneOf": [{"type": "integer"}, {"minimum": 2}]},
    {"oneOf": [{"const": "a"}, {"type": "string", "maxLength": 1}]},
    {"anyOf": [{"type": "object", "properties": {"kind": {"const": "a"}, "x": {"type": "integer"}},
                "required": ["kind"]},
               {"type": "object", "properties": {"kind": {"const": "b"}, "c": {"type": "string"}},
                "required": ["kind", "c"]}]},
    {"oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
    {"not": {"type": ["string", "null"]}},
    {"not": {"required": ["a", "b"]}},
    {"not": {"properties": {"kind": {"const": "x"}}, "required": ["kind"]}},
    {"not": {"items": {"type": "integer"}}},
    {"if": {"properties": {"kind": {"const": "a"}}, "required": ["kind"]},
     "then": {"required": ["x"]}, "else": {"properties": {"x": False}}},
    {"if": {"maxLength": 3}, "then": {"const": "abc"}, "else": {"type": "string"}},
    {"dependentSchemas": {"a": {"required": ["b"], "properties": {"b": {"type": "integer"}}}}},
    {"allOf": [{"type": "string", "pattern": "^a"}, {"type": "string", "pattern": "c$"}, {"maxLength": 4}]},
    {"allOf": [{"properties": {"a": {"type": "integer"}}}, {"properties": {"a": {"minimum": 3}, "b": {}}}],
     "additionalProperties": False},
    {"type": "object", "properties": {"a": {"type": "integer"}}, "allOf": [{"required": ["a"]}]},
    {"enum": ["a", 1, None, [1, 2], {"x": 1}], "not": {"const": 1}},
]


@pytest.mark.parametrize("index", range(len(COMBINATOR_SCHEMAS)))
def test_combinators_are_exact(index):
    schema = COMBINATOR_SCHEMAS[index]
    grammar = json_schema(schema, strict=False)
    validator = jsonschema.Draft202012Validator(schema)

    @settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(value=VALUES)
    def check(value):
        assert grammar.accepts(dumps(value)) == validator.is_valid(value), value

    check()


def test_enum_and_const_are_filtered_by_the_whole_schema():
    grammar = json_schema({"type": "string", "enum": ["a", "bb", 3, None], "maxLength": 1})
    assert grammar.accepts('"a"') and not grammar.accepts('"bb"') and not grammar.accepts("3")
    grammar = json_schema({"const": {"x": [1, 2.5], "y": None}})
    assert grammar.accepts('{"y":null,"x":[1.0,2.50]}') and not grammar.accepts('{"x":[1,2.5]}')


def test_whitespace_option_is_bounded():
    assert not json_schema(PERSON).accepts('{"name": "x"}')
    grammar = json_schema(PERSON, whitespace=2)
    assert grammar.accepts(json.dumps({"name": "x", "age": 2}))
    assert grammar.accepts(json.dumps({"name": "x"}, indent=1))
    assert not grammar.accepts('{"name":     "x"}')


# ------------------------------------------------------------------ errors and API
def test_unsupported_keyword_names_keyword_and_path():
    schema = {"type": "object", "properties": {"tags": {"not": {"type": "array", "uniqueItems": True}}}}
    with pytest.raises(UnsupportedSchemaError) as info:
        json_schema(schema)
    assert "#/properties/tags/not" in str(info.value)
    assert info.value.keyword == "not" and info.value.path.startswith("#/properties/tags")
    assert isinstance(info.value, GrammarError)


def test_lenient_drops_and_warns_once_per_keyword():
    schema = {"type": "array", "items": {"type": "array"}, "uniqueItems": True}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grammar = json_schema(schema, lenient=True)
    messages = [str(w.message) for w in caught]
    assert sum("#/uniqueItems" in m for m in messages) == 1, messages
    assert grammar.accepts("[[1],[1]]")


@pytest.mark.parametrize("schema,error", [
    ({"type": "strin"}, InvalidSchemaError),
    ({"$ref": "#/$defs/missing"}, InvalidSchemaError),
    ({"type": "array", "items": [{}], "prefixItems": [{}]}, InvalidSchemaError),  # ambiguous legacy items
    (False, UnsupportedSchemaError),
    ([1, 2], InvalidSchemaError),
    ({"type": "string", "minLength": -1}, InvalidSchemaError),
])
def test_bad_schemas_raise_typed_errors(schema, error):
    with pytest.raises(error):
        json_schema(schema)


def test_pydantic_models():
    pydantic = pytest.importorskip("pydantic")

    class Item(pydantic.BaseModel):
        sku: str
        quantity: int = pydantic.Field(ge=1, le=99)

    class Order(pydantic.BaseModel):
        id: int
        items: list[Item]
        note: str | None = None

    grammar = json_schema(Order)
    order = Order(id=1, items=[Item(sku="a", quantity=2)])
    assert grammar.accepts(order.model_dump_json())
    assert not grammar.accepts('{"id":1,"items":[{"sku":"a","quantity":0}],"note":null}')
    assert not grammar.accepts('{"id":1}')


def test_errors_are_json_schema_errors():
    assert issubclass(SchemaTooLargeError, JsonSchemaError) and issubclass(JsonSchemaError, GrammarError)


# -- the document index: crawled only when the document declares identifiers or anchors -----------
CRAWL_CASES = [  # (schema, an instance it accepts, one it refuses)
    ({"$ref": "#item", "$defs": {"i": {"$anchor": "item", "type": "integer"}}}, 3, "x"),
    ({"$ref": "inner.json", "$defs": {"i": {"$id": "inner.json", "type": "string"}}}, "x", 3),
    ({"$schema": "http://json-schema.org/draft-04/schema#", "$ref": "#/definitions/d",
      "definitions": {"d": {"id": "#d", "type": "boolean"}}}, True, 1),
    ({"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}, {"id": 1}, {"id": "1"}),
]


@pytest.mark.parametrize("schema, good, bad", CRAWL_CASES)
def test_references_resolve_with_or_without_the_crawl(schema, good, bad):
    from constrain.grammars.json_schema.node_compiler import may_declare_identifiers

    text = json.dumps(schema, sort_keys=True, separators=COMPACT)
    assert may_declare_identifiers(text) == any(k in json.dumps(schema) for k in ('"$anchor"', '"$id"', '"id": "'))
    grammar = json_schema(schema, strict=False)
    assert grammar.accepts(json.dumps(good, separators=COMPACT))
    assert not grammar.accepts(json.dumps(bad, separators=COMPACT))
