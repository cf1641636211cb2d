"""Realistic schemas, both directions, by hypothesis:

- completeness: instances drawn by hypothesis-jsonschema (compact json.dumps, either ASCII mode)
  are accepted by the compiled grammar;
- soundness: sentences drawn from the grammar itself (random walks over the bytes the engine
  allows) parse as JSON and validate with `jsonschema`, formats included.
Plus bounded compile work (terms and lexer states) for pathological schemas.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from constrain.grammars.json_schema import JsonSchemaError, json_schema
from constrain.testing import sentences
from tests.grammars.compile_work import counted
from tests.grammars.realistic_schemas import BOUNDED_NUMBER_WITH_EXPONENT, FORMAT_CHECKER, SCHEMAS, SPEC_MODE

ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8)


def instances(schema, root):
    """Valid instances of the schemas above. Objects and arrays are built here (the installed
    hypothesis-jsonschema cannot draw objects with this hypothesis version); scalar leaves come
    from hypothesis-jsonschema. Object keys come in shuffled order."""
    if isinstance(schema, dict) and "$ref" in schema:
        return st.deferred(lambda: instances(root["$defs"][schema["$ref"].split("/")[-1]], root))
    if schema is True or schema == {}:
        return ANY_JSON
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            return st.one_of([instances(branch, root) for branch in schema[keyword]])
    if schema.get("type") == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        base = st.fixed_dictionaries({k: instances(v, root) for k, v in properties.items() if k in required},
                                     optional={k: instances(v, root) for k, v in properties.items()
                                               if k not in required})
        additional = schema.get("additionalProperties", True)
        if additional is not False:
            extra_values = ANY_JSON if additional is True else instances(additional, root)
            extras = st.dictionaries(st.text(max_size=6).filter(lambda k: k not in properties), extra_values,
                                     max_size=schema.get("maxProperties", 3) - len(required))
            base = st.tuples(base, extras).map(lambda pair: {**pair[1], **pair[0]}).filter(
                lambda d: len(d) <= schema.get("maxProperties", 99))
        return base.flatmap(lambda d: st.permutations(list(d.items())).map(dict))
    if schema.get("type") == "array":
        prefix = [instances(s, root) for s in schema.get("prefixItems", [])]
        items = schema.get("items", True)
        low, high = schema.get("minItems", 0), schema.get("maxItems", 5)
        head = st.tuples(*prefix).map(list) if prefix else st.just([])
        if items is False:
            return head
        tail = st.lists(instances(items, root), min_size=max(0, low - len(prefix)), max_size=high - len(prefix))
        return st.tuples(head, tail).map(lambda pair: pair[0] + pair[1])
    return from_schema(schema)


def compile_schema(name: str):
    return json_schema(SCHEMAS[name], strict=name not in SPEC_MODE)


@pytest.fixture(scope="module")
def grammars():
    return {name: compile_schema(name) for name in SCHEMAS}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_realistic_schemas_compile_in_bounded_work(name):
    _, work = counted(lambda: compile_schema(name))
    assert work.terms <= 2_000  # all eleven take 1,194 terms in a fresh process, the largest 299


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_generated_instances_are_accepted(name, grammars):
    schema = SCHEMAS[name]
    grammar = grammars[name]
    validator = jsonschema.Draft202012Validator(schema, format_checker=FORMAT_CHECKER)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(instance=instances(schema, schema), ascii_only=st.booleans())
    def check(instance, ascii_only):
        if not validator.is_valid(instance):
            return  # hypothesis-jsonschema's format strategies are looser than the checker
        text = json.dumps(instance, separators=(",", ":"), ensure_ascii=ascii_only)
        if BOUNDED_NUMBER_WITH_EXPONENT.search(text):
            return  # documented: numbers under bounds are spelled without an exponent
        assert grammar.accepts(text), text

    check()


# Byte walks head for an end by finishing lexemes and closing brackets; an open object whose
# required key is missing ("labels_open") can only end by spelling that key, which they do not
# search for. Its soundness is checked by the token walks in test_json_schema_token_level.py.
WALKABLE = sorted(set(SCHEMAS) - {"labels_open"})


@pytest.mark.parametrize("name", WALKABLE)
def test_grammar_sentences_validate(name, grammars):
    validator = jsonschema.Draft202012Validator(SCHEMAS[name], format_checker=FORMAT_CHECKER)

    @settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(text=sentences(grammars[name], max_bytes=400))
    def check(text):
        instance = json.loads(text)
        errors = [e.message for e in validator.iter_errors(instance)]
        assert not errors, (text, errors)

    check()


def _nested(depth: int) -> dict:
    schema: dict = {"type": "integer"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"child": schema}, "required": ["child"],
                  "additionalProperties": False}
    return schema


PATHOLOGICAL = {
    "maxLength 100000": {"type": "string", "maxLength": 100000},
    "nesting 50 deep": _nested(50),
    "array nesting 50 deep": json.loads('{"type":"array","items":' * 50 + '{"type":"integer"}' + "}" * 50),
    "500 optional properties": {"type": "object", "properties": {f"p{i}": {"type": "integer"} for i in range(500)}},
    "500 required properties": {"type": "object", "properties": {f"p{i}": {"type": "integer"} for i in range(500)},
                                "required": [f"p{i}" for i in range(500)]},
    "enum of 5000 strings": {"enum": [f"value-{i}" for i in range(5000)]},
    "nesting 100 deep": _nested(100),
    "maxItems 100000": {"type": "array", "maxItems": 100000, "minItems": 99999},
    "200 anyOf branches": {"anyOf": [{"type": "object", "properties": {"k": {"const": i}}, "required": ["k"]}
                                     for i in range(200)]},
}


# Terms the shared store may gain while such a schema compiles and gives its first mask: about
# four times what a fresh process needs. A size keyword unrolled (maxLength or maxItems 100000),
# or a blow-up in nesting, costs a term per step and goes far past these.
PATHOLOGICAL_TERM_BUDGET = {
    "maxLength 100000": 2_000, "nesting 50 deep": 2_000, "array nesting 50 deep": 2_000,
    "500 optional properties": 30_000, "500 required properties": 30_000, "enum of 5000 strings": 300_000,
    "nesting 100 deep": 2_000, "maxItems 100000": 2_000, "200 anyOf branches": 5_000,
}
PATHOLOGICAL_DFA_STATES = 2_000  # lexer states built for the first mask, at most (409 for 200 anyOf branches)


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_pathological_schemas_compile_in_bounded_work(name, smollm2_tokenizer):
    matcher, work = counted(lambda: json_schema(PATHOLOGICAL[name]).matcher(smollm2_tokenizer))
    assert matcher.mask().any()
    assert work.terms <= PATHOLOGICAL_TERM_BUDGET[name]
    assert work.states <= PATHOLOGICAL_DFA_STATES


def test_refusals_are_json_schema_errors_with_a_path():
    with pytest.raises(JsonSchemaError) as info:
        json_schema({"type": "object", "properties": {"a": {"not": {"uniqueItems": True}}}})
    assert str(info.value).startswith("#/properties/a")
