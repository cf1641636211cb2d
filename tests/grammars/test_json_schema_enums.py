"""Enums and consts beside other keywords: each member is kept exactly when the rest of its schema
accepts it, in every dialect, and the check does work linear in the enum's size (counted, not
timed: the comparisons `jsonschema` makes while the grammar compiles)."""

from __future__ import annotations

import json

import jsonschema
import jsonschema._keywords
import pytest

from constrain.grammars.compiled_cache import ENGINES
from constrain.grammars.json_schema import json_schema
from constrain.grammars.json_schema.dialects import UNDECLARED, translate_document
from tests.grammars.compile_work import counted

COMPACT = (",", ":")
DIALECTS = {
    "http://json-schema.org/draft-04/schema#": jsonschema.Draft4Validator,
    "http://json-schema.org/draft-06/schema#": jsonschema.Draft6Validator,
    "http://json-schema.org/draft-07/schema#": jsonschema.Draft7Validator,
    "https://json-schema.org/draft/2019-09/schema": jsonschema.Draft201909Validator,
    "https://json-schema.org/draft/2020-12/schema": jsonschema.Draft202012Validator,
    None: jsonschema.Draft202012Validator,
}
# strings of every length 0..3 over a small alphabet: the siblings below reject some of each
MEMBERS = [""] + [a + b + c for a in "ab_" for b in ["", *"ab_"] for c in ["", *"ab_"]]
MEMBERS = sorted(set(MEMBERS)) + [f"name-{i}" for i in range(300)]


def agrees(schema, validator, instances):
    """The grammar accepts each instance's compact JSON exactly when `validator` says it is valid;
    some are valid and some not, so this can fail."""
    grammar = json_schema(schema, strict=False)
    verdicts = [validator.is_valid(v) for v in instances]
    assert True in verdicts and False in verdicts, verdicts
    got = [grammar.accepts(json.dumps(v, separators=COMPACT)) for v in instances]
    assert got == verdicts, [(v, g, want) for v, g, want in zip(instances, got, verdicts) if g != want]


@pytest.mark.parametrize("uri", list(DIALECTS), ids=lambda u: str(u).split("/")[-2] if u else "undeclared")
@pytest.mark.parametrize("siblings", [
    {"type": "string", "maxLength": 2},
    {"pattern": "^[ab]*$", "minLength": 1},
    {"not": {"enum": ["a", "b_", "name-7"]}, "type": "string"},
    {"allOf": [{"enum": ["a", "ab", "name-3", "zz"]}]},
    {"anyOf": [{"maxLength": 1}, {"pattern": "-1"}]},
])
def test_a_large_enum_keeps_exactly_the_members_its_siblings_accept(uri, siblings):
    schema = {"enum": MEMBERS, **siblings}
    if uri is not None:
        schema["$schema"] = uri
    agrees(schema, DIALECTS[uri](schema), MEMBERS + ["zz", "abc_", 1, None])


@pytest.mark.parametrize("uri", list(DIALECTS), ids=lambda u: str(u).split("/")[-2] if u else "undeclared")
def test_integral_members_keep_their_dialect_spellings(uri):
    schema = {"type": "integer", "maximum": 250, "enum": [*range(0, 300, 3), 4.0, 5.5, "6"]}
    if uri is not None:
        schema["$schema"] = uri
    instances = [*range(0, 300, 3), 4, 4.0, 5.5, 6, "6", 1]
    agrees(schema, DIALECTS[uri](schema), instances)


def test_a_reference_back_to_the_schema_still_sees_its_enum():
    """Only the schema's own enum is known to hold for its members: a nested position reached
    through `$ref` must still be one of them."""
    schema = {"type": "array", "items": {"$ref": "#"}, "enum": [[], [[]], [1], [[1]], [[], [[]]]]}
    agrees(schema, jsonschema.Draft202012Validator(schema), [[], [[]], [1], [[1]], [[], [[]]], [[[]]], [2]])


def test_const_beside_a_sibling_that_rejects_it_accepts_nothing_of_it():
    schema = {"anyOf": [{"const": "abc", "maxLength": 2}, {"type": "integer"}]}
    agrees(schema, jsonschema.Draft202012Validator(schema), ["abc", "ab", 1])
    schema = {"const": "ab", "enum": ["ab", "cd"], "maxLength": 2}
    agrees(schema, jsonschema.Draft202012Validator(schema), ["ab", "cd", "abc"])


def test_undeclared_legacy_documents_check_a_large_enum_in_their_translation():
    pairs = [[i] for i in range(200)] + [["a"], [1, 2], [300, "x"]]
    schema = {"definitions": {"pair": {"type": "array", "items": [{"type": "integer", "maximum": 150}],
                                       "additionalItems": False}},
              "properties": {"p": {"$ref": "#/definitions/pair", "enum": pairs}}}
    oracle = jsonschema.Draft202012Validator(translate_document(schema, UNDECLARED))
    agrees(schema, oracle, [{"p": p} for p in pairs] + [{"p": [1.5]}])


def test_checking_enum_members_compares_each_member_a_bounded_number_of_times(monkeypatch):
    """Validating each of n members against a schema that holds the whole enum compares n * n / 2
    pairs; members are already known to be in their own enum."""
    compared = 0
    equal = jsonschema._keywords.equal

    def counting_equal(one, two):
        nonlocal compared
        compared += 1
        return equal(one, two)

    monkeypatch.setattr(jsonschema._keywords, "equal", counting_equal)
    members = [f"member-{i}" for i in range(1500)]
    ENGINES.clear()
    grammar = json_schema({"$schema": "http://json-schema.org/draft-07/schema#", "type": "string",
                           "enum": members, "not": {"enum": ["member-3"]}}, strict=False)
    assert compared <= 4 * len(members), compared
    assert grammar.accepts('"member-1499"') and not grammar.accepts('"member-3"')


# ------------------------------------------------------------------ unions of many strings
PREFIXED = ["", "a", "ab", "abc", "abd", "b", "\u00e9", "\u00e9t\u00e9", "\U0001f600", "\U0001f600!", 'a"b', "a\\",
            "\n", "a/b", "x" * 40 + "1", "x" * 40 + "2", "x" * 41]
NESTED = ["a" * k for k in range(1, 260)]  # each a prefix of the next: more branch points than the tree nests


@pytest.mark.parametrize("members", [PREFIXED, NESTED], ids=["prefixes", "deep"])
def test_strings_that_share_prefixes_are_each_accepted_in_every_spelling(members):
    grammar = json_schema({"enum": members}, strict=False)
    for member in members:
        for ascii_only in (False, True):
            assert grammar.accepts(json.dumps(member, ensure_ascii=ascii_only)), member
    for other in ["ac", "abcd", "\u00e9t", "x" * 40, "x" * 42, "a" * 260, "aab", " a", "\U0001f600!!"]:
        assert not grammar.accepts(json.dumps(other)), other
    assert not grammar.accepts("1") and not grammar.accepts('"a" ')


def test_an_enum_of_many_strings_adds_fewer_terms_than_it_has_members():
    """Its strings share their prefixes: a lexer step derives the strings going on with that
    character, not every member (a flat union made a term per member and derived all of them)."""
    members = [f"member-{i}" for i in range(2000)]
    accepted, work = counted(lambda: json_schema({"type": "string", "enum": members}, strict=False)
                             .accepts('"member-1999"'))
    assert accepted
    assert work.terms < len(members), work


def test_property_names_enum_removes_the_listed_keys_it_rejects():
    keys = [f"k{i}" for i in range(300)]
    schema = {"type": "object", "properties": {k: {"type": "integer"} for k in keys},
              "propertyNames": {"enum": keys[::2] + ["other"]}, "additionalProperties": False}
    agrees(schema, jsonschema.Draft202012Validator(schema),
           [{}, {"k0": 1}, {"k1": 1}, {"k298": 2, "k4": 0}, {"k299": 1}, {"other": 1}, {"k0": "x"}])
