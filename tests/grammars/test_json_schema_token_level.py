"""Completeness at the token level: hypothesis-jsonschema instances of realistic schemas,
serialized compactly and tokenized by SmolLM2, are accepted token by token by the matcher.

Keys are put in the schema's `properties` order first: objects with more than six listed
properties are generated in that order (docs/json_schema.md), and any order is accepted
below that, so the reorder only matters for the larger objects.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from constrain.grammars.json_schema import json_schema
from tests.grammars.realistic_schemas import BOUNDED_NUMBER_WITH_EXPONENT, FORMAT_CHECKER, SCHEMAS, SPEC_MODE

# hypothesis-jsonschema cannot draw from these: recursive $refs ("tree") and prefixItems with
# items: false ("matrix"); the lark-level completeness test in test_json_schema_realistic.py
# covers them with hand-built strategies.
NOT_DRAWABLE = {"tree", "matrix"}
# uuid: hypothesis-jsonschema does not know it and would draw arbitrary strings. email: the
# grammar enforces the documented subset (dot-atom local part, host names of at most four
# labels, docs/json_schema.md), so addresses are drawn from that subset.
_LABEL = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?", fullmatch=True)
_EMAIL = st.builds(lambda local, labels: local + "@" + ".".join(labels),
                   st.from_regex(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,12}", fullmatch=True),
                   st.lists(_LABEL, min_size=1, max_size=4))
CUSTOM_FORMATS = {"uuid": st.uuids().map(str), "email": _EMAIL}


def _extraction_eval():
    import importlib.util
    import os
    import sys

    path = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "extraction_eval.py")
    spec = importlib.util.spec_from_file_location("extraction_eval", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["extraction_eval"] = module
    spec.loader.exec_module(module)
    return module


EXTRACTION_SCHEMAS = _extraction_eval().SCHEMAS
# extraction schemas are compiled in strict mode (unlisted keys forbidden): say so in the schema
# hypothesis draws from
CASES = {**{n: s for n, s in SCHEMAS.items() if n not in NOT_DRAWABLE},
         **{f"extraction:{name}": {**schema, "additionalProperties": False}
            for name, (schema, _texts) in EXTRACTION_SCHEMAS.items()}}


def in_schema_order(value, schema, root):
    """The instance with each object's listed properties first, in schema order."""
    if isinstance(schema, dict) and "$ref" in schema:
        schema = root["$defs"][schema["$ref"].split("/")[-1]]
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        branches = [schema] + list(schema.get("anyOf", [])) + list(schema.get("oneOf", []))
        listed = next((b.get("properties") for b in branches if isinstance(b, dict) and b.get("properties")
                       and set(value) & set(b["properties"])), {})
        ordered = {k: in_schema_order(value[k], listed[k], root) for k in listed if k in value}
        ordered.update({k: v for k, v in value.items() if k not in listed})
        return ordered
    if isinstance(value, list):
        prefix = schema.get("prefixItems", [])
        items = schema.get("items", {})
        return [in_schema_order(v, prefix[i] if i < len(prefix) else items, root) for i, v in enumerate(value)]
    return value


def test_cases_are_every_drawable_realistic_and_extraction_schema():
    """A renamed schema, a stale exclusion or an emptied benchmark would drop cases silently."""
    assert NOT_DRAWABLE <= set(SCHEMAS)
    assert EXTRACTION_SCHEMAS
    assert len(CASES) == len(SCHEMAS) - len(NOT_DRAWABLE) + len(EXTRACTION_SCHEMAS)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Overriding standard format")
@pytest.mark.parametrize("name", sorted(CASES))
def test_hypothesis_jsonschema_instances_accepted_token_by_token(name, smollm2_tokenizer):
    schema = CASES[name]
    matcher = json_schema(schema, strict=name not in SPEC_MODE).matcher(smollm2_tokenizer)
    validator = jsonschema.Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
    checked = []

    @settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(instance=from_schema(schema, custom_formats=CUSTOM_FORMATS), ascii_only=st.booleans())
    def check(instance, ascii_only):
        if not validator.is_valid(instance):
            return  # hypothesis-jsonschema's format strategies are looser than the checker
        text = json.dumps(in_schema_order(instance, schema, schema), separators=(",", ":"), ensure_ascii=ascii_only)
        if BOUNDED_NUMBER_WITH_EXPONENT.search(text):
            return  # documented: numbers under bounds are spelled without an exponent
        ids = smollm2_tokenizer.encode(text, add_bos=False)
        if smollm2_tokenizer.decode(ids) != text.encode("utf-8"):
            return  # bytes the vocabulary has no token for (e.g. 0xF1): the model cannot write them
        matcher.reset()
        for token in ids:
            assert matcher.mask()[token], (text, token)
            matcher.advance(token)
        assert matcher.is_accepting(), text
        checked.append(text)

    check()
    assert checked, f"no instance of {name} reached the matcher"


@pytest.mark.slow
def test_random_token_walks_end_as_valid_instances(smollm2_tokenizer):
    """Soundness: a random walk over the tokens the mask allows, once it ends, is valid JSON
    that jsonschema accepts (formats included). Walks are derandomized so the number that end
    within 60 tokens is stable; at least ten schemas must see ended walks."""
    from constrain.testing import token_walks

    schemas_with_ended_walks = []
    for name in sorted(CASES):
        schema = CASES[name]
        grammar = json_schema(schema, strict=name not in SPEC_MODE)
        validator = jsonschema.Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
        ended = []

        @settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        @given(walk=token_walks(grammar, smollm2_tokenizer, max_tokens=60, stop_bias=0.9))
        def check(walk):  # runs at once, in this iteration: the loop's names are the current ones
            if walk.ended:
                errors = [e.message for e in validator.iter_errors(json.loads(walk.text))]  # noqa: B023
                assert not errors, (name, walk.text, errors)  # noqa: B023
                ended.append(walk.text)  # noqa: B023

        check()
        if ended:
            schemas_with_ended_walks.append(name)
    assert len(schemas_with_ended_walks) >= 10, schemas_with_ended_walks
