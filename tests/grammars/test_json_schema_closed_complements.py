"""Complements of closed objects ("some key it does not list") and their intersections, against
jsonschema on every small object over the keys involved."""

import itertools
import json

import jsonschema
import pytest

from constrain.grammars.json_schema import json_schema

A = {"type": "object", "additionalProperties": False,
     "properties": {"a.x": {"type": "string"}, "a.y": {"type": "string"}}}
B = {"type": "object", "additionalProperties": False, "properties": {"b": {"type": "string"}}}
C = {"type": "object", "required": ["b"]}

SCHEMAS = {
    "not closed": {"not": B},
    "oneOf disjoint optional keys": {"oneOf": [A, B]},
    "allOf with a complement": {"allOf": [A, {"not": B}]},
    "oneOf three": {"oneOf": [A, B, C]},
}


def small_objects():
    keys, values = ["a.x", "a.y", "b", "c"], ['"s"', "1"]
    for n in range(3):
        for chosen in itertools.combinations(keys, n):
            for vals in itertools.product(values, repeat=n):
                yield "{" + ",".join(f'"{k}":{v}' for k, v in zip(chosen, vals)) + "}"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
@pytest.mark.parametrize("strict", [False, True])
def test_agrees_with_jsonschema(name, strict):
    schema = SCHEMAS[name]
    grammar = json_schema(schema, strict=strict)
    validator = jsonschema.Draft202012Validator(schema)
    wrong = [t for t in small_objects() if grammar.accepts(t) != validator.is_valid(json.loads(t))]
    assert not wrong, wrong
