"""JSON Schemas built from edge-case keyword values: each compiles or raises a JsonSchemaError
within its budget, and every instance the grammar accepts is valid under jsonschema."""

from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constrain.grammars import json_schema
from constrain.grammars.json_schema import JsonSchemaError
from tests.fuzz.bounded import time_budget

BUDGET = 15.0
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

NUMBERS = st.sampled_from([0, 1, -1, 2.5, -0.5, 1e300, -1e-300, 10**20, 3, 255, 1000, True, "5", None, float("nan")])
COUNTS = st.sampled_from([0, 1, 2, 5, 255, 1000, 10**6, -1, 1.5, "3", True])
PATTERNS = st.sampled_from(["^a+$", "[0-9]{2,4}", r"\w{1,20}", "(?i)x", "^(a|b)*c$", "(", "a{0,1000}", "", ".*",
                           r"\p{L}"])
FORMATS = st.sampled_from(["date", "email", "uuid", "nope"])
NAMES = st.sampled_from(["a", "b", "c d", "é"])
TYPES = st.sampled_from(["string", "integer", "number", "boolean", "null", "object", "array", "nonsense", 5])


def scalar_schemas():
    return st.one_of(
        st.fixed_dictionaries({"type": TYPES}, optional={"minimum": NUMBERS, "maximum": NUMBERS,
                                                         "exclusiveMinimum": NUMBERS, "multipleOf": NUMBERS}),
        st.fixed_dictionaries({"type": st.just("string")}, optional={"minLength": COUNTS, "maxLength": COUNTS,
                                                                     "pattern": PATTERNS,
                                                                     "format": FORMATS}),
        st.fixed_dictionaries({"enum": st.lists(st.one_of(st.integers(-3, 3), st.text(max_size=3), st.none()),
                                                max_size=5)}),
        st.fixed_dictionaries({"const": st.one_of(st.integers(), st.text(max_size=4), st.booleans())}),
        st.booleans(),
    )


def schemas():
    return st.recursive(scalar_schemas(), lambda inner: st.one_of(
        st.fixed_dictionaries({"type": st.just("array"), "items": inner},
                              optional={"minItems": COUNTS, "maxItems": COUNTS, "uniqueItems": st.booleans()}),
        st.fixed_dictionaries({"type": st.just("object"),
                               "properties": st.dictionaries(NAMES, inner, max_size=3)},
                              optional={"required": st.lists(st.sampled_from(["a", "b", "zz"]), max_size=2),
                                        "additionalProperties": st.one_of(st.booleans(), inner)}),
        st.fixed_dictionaries({"anyOf": st.lists(inner, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"oneOf": st.lists(inner, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"allOf": st.lists(inner, min_size=1, max_size=2)}),
        st.fixed_dictionaries({"not": inner}),
    ), max_leaves=6)


INSTANCES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-300, 300), st.sampled_from([2.5, -0.5, 1.0, 1e20]),
              st.text(alphabet="abcé 0", max_size=4)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["a", "b", "c d", "é", "zz"]), inner, max_size=3)),
    max_leaves=5)


@FUZZ
@given(schemas(), st.lists(INSTANCES, min_size=1, max_size=6))
def test_schemas_compile_or_refuse_and_accept_only_valid_instances(schema, instances):
    with time_budget(BUDGET):
        try:
            grammar = json_schema(schema)
        except JsonSchemaError as exc:
            assert str(exc) and len(str(exc)) < 3000
            return
        validator = jsonschema.Draft202012Validator(schema)
        for instance in instances:
            text = json.dumps(instance, separators=(",", ":"), ensure_ascii=False)
            if grammar.accepts(text):
                assert validator.is_valid(instance), (schema, text)


@pytest.mark.parametrize("schema", [
    {"type": "string", "maxLength": 1000},
    {"enum": [f"value-{i}" for i in range(20000)]},
    {"type": "integer", "minimum": -(10**300), "maximum": 10**300},
    {"type": "string", "pattern": "(" * 500 + "a" + ")" * 500},
    {"type": "array", "items": {"type": "string", "pattern": "^[a-z]{1,255}$"}, "maxItems": 100000},
    {"allOf": [{"type": "string", "pattern": f"{c}"} for c in "abcdefghij"]},
])
def test_large_documented_shapes_end_in_time(schema):
    with time_budget(BUDGET * 2):
        try:
            json_schema(schema)
        except JsonSchemaError as exc:
            assert len(str(exc)) < 3000
