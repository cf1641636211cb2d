"""JSON Schema dialects: `$schema` selection, the 2020-12 translation of each legacy keyword, and
agreement with the `jsonschema` library on the JSON-Schema-Test-Suite.

The oracle: for every instance of every suite file of draft-04, -06, -07, 2019-09 and 2020-12,
`DraftNValidator(schema)` and `Draft202012Validator(translate_document(schema))` must agree on
validity (each with the suite's remotes, translated for the second). The 2020-12 files run a second
time with `$schema` removed, through the undeclared dialect: honouring legacy spellings must not
change what a valid 2020-12 schema means. The instances that cannot agree are listed in CANNOT_AGREE
with the reason, which also appears in the test id; they must keep disagreeing, and every other
instance must agree. `python tests/grammars/test_json_schema_dialects.py` prints the agreement table.

The last section compiles schemas of each draft (the dialect picked by `$schema`) and checks the
grammar against the draft's jsonschema class; the whole suite per draft runs through the compiler
in test_json_schema_suite.py.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

import jsonschema
import pytest
import referencing
import referencing.jsonschema

from constrain.grammars.json_schema.dialects import (
    DRAFT202012_URI,
    DRAFT_04,
    DRAFT_06,
    DRAFT_07,
    DRAFT_2019_09,
    DRAFT_2020_12,
    RECURSIVE_ANCHOR,
    UNDECLARED,
    CustomMetaSchema,
    as_2020_12,
    dialect_at,
    dialect_of,
    translate_document,
)
from constrain.grammars.json_schema.errors import InvalidSchemaError, SchemaTooLargeError, UnsupportedSchemaError

SUITE = Path(__file__).resolve().parents[1] / "data" / "jsonschema_suite"
REMOTE_BASE = "http://localhost:1234/"
# run -> (suite folder, the original's dialect, the dialect its translation is read with); the
# undeclared run removes the root's `$schema` before translating
RUNS = {
    "draft4": ("draft4", DRAFT_04, DRAFT_04),
    "draft6": ("draft6", DRAFT_06, DRAFT_06),
    "draft7": ("draft7", DRAFT_07, DRAFT_07),
    "draft2019-09": ("draft2019-09", DRAFT_2019_09, DRAFT_2019_09),
    "draft2020-12": ("draft2020-12", DRAFT_2020_12, DRAFT_2020_12),
    "undeclared2020-12": ("draft2020-12", DRAFT_2020_12, UNDECLARED),
}

# Instances where the two validators cannot agree, by (run, file, group description, test description)
# -> why. Each is a difference between the drafts that 2020-12 has no keyword for.
CANNOT_AGREE: dict[tuple, str] = {
    ("draft4", "optional/zeroTerminatedFloats.json", "some languages do not distinguish between different types "
     "of numeric value", "a float is not an integer even without fractional part"):
        "draft-04's integer has no fraction part, so 1.0 is not one; from draft-06 on 1.0 is the integer 1 and "
        "no 2020-12 keyword tells them apart (Dialect.integer_zero_fraction is False for draft-04: the grammar "
        "must leave out the fraction)",
}


# ------------------------------------------------------------------ the suite
def _remotes(folder: str) -> list[tuple[str, object]]:
    """The suite's remotes for one draft folder, chosen as jsonschema's own suite runner does."""
    out = []
    for path in sorted((SUITE / "remotes").rglob("*.json")):
        relative = path.relative_to(SUITE / "remotes").as_posix()
        contents = json.loads(path.read_text(encoding="utf-8"))
        if folder == "draft4" and path.stem == "tree":
            continue  # boolean subschemas: not a draft-04 schema
        if "$schema" not in contents and relative.startswith("draft") and not relative.startswith(folder + "/"):
            continue  # another draft's remote without `$schema`
        out.append((REMOTE_BASE + relative, contents))
    return out


@functools.cache
def _registries(run: str):
    folder, dialect, reading = RUNS[run]
    remotes = _remotes(folder)
    original = referencing.Registry().with_contents(remotes, default_specification=dialect.specification)
    translated = referencing.Registry().with_contents(
        [(uri, translate_document(contents, reading)) for uri, contents in remotes],
        default_specification=referencing.jsonschema.DRAFT202012)
    return original.crawl(), translated.crawl()


def _suite_files(folder: str) -> list[Path]:
    root = SUITE / "tests" / folder
    files = sorted(root.glob("*.json"))
    if folder != "draft2020-12":  # the 2020-12 optional files are format assertions, not dialect matters
        files += sorted((root / "optional").glob("*.json"))
    return files


def _groups():
    """(run, file name, path, group index, group) for every group of every suite file of every run."""
    for run, (folder, _, _) in RUNS.items():
        for path in _suite_files(folder):
            name = path.relative_to(SUITE / "tests" / folder).as_posix()
            for g, group in enumerate(json.loads(path.read_text(encoding="utf-8"))):
                yield run, name, str(path), g, group


def _expected_disagreements(run: str, name: str, group) -> dict[str, str]:
    return {test["description"]: CANNOT_AGREE[(run, name, group["description"], test["description"])]
            for test in group["tests"] if (run, name, group["description"], test["description"]) in CANNOT_AGREE}


def _params():
    for run, name, path, g, group in _groups():
        expected = _expected_disagreements(run, name, group)
        reason = "".join(f" [cannot agree on {test!r}: {why}]" for test, why in expected.items())
        yield pytest.param(run, name, path, g, id=f"{run}/{name}/{group['description']}{reason}")


def disagreements(run: str, path: str, g: int) -> list[str]:
    """Descriptions of the group's instances on which the two validators disagree."""
    original, translated, group = _group(run, path, g)
    return [test["description"] for test in group["tests"]
            if translated.is_valid(test["data"]) != original.is_valid(test["data"])]


@functools.cache
def _meta_schema_validator():
    return jsonschema.Draft202012Validator(jsonschema.Draft202012Validator.META_SCHEMA)


@functools.cache  # the drafts' files share many schemas: each distinct translation is checked once
def _check_2020_12(text: str) -> None:
    error = jsonschema.exceptions.best_match(_meta_schema_validator().iter_errors(json.loads(text)))
    assert error is None, f"not a valid 2020-12 schema: {error}"


@functools.cache
def _group(run: str, path: str, g: int):
    """(original validator, translated validator, group) for one suite group, built once."""
    folder, dialect, reading = RUNS[run]
    group = json.loads(Path(path).read_text(encoding="utf-8"))[g]
    original_registry, translated_registry = _registries(run)
    schema = group["schema"]
    original = dialect.validator(schema, registry=original_registry)
    if reading is UNDECLARED and isinstance(schema, dict):
        schema = {key: value for key, value in schema.items() if key != "$schema"}
    before = copy.deepcopy(schema)
    translated_schema = translate_document(schema, reading)
    assert schema == before, "translate_document mutated its input"
    _check_2020_12(json.dumps(translated_schema, sort_keys=True))
    translated = jsonschema.Draft202012Validator(translated_schema, registry=translated_registry)
    return original, translated, group


@pytest.mark.parametrize("run,name,path,g", list(_params()))
def test_suite_group_agrees_with_the_drafts_validator(run, name, path, g):
    group = _group(run, path, g)[2]
    expected = _expected_disagreements(run, name, group)
    assert disagreements(run, path, g) == list(expected), json.dumps(_group(run, path, g)[1].schema)[:2000]


def agreement_table() -> str:
    """Instances on which both validators agree, per run.

    python tests/grammars/test_json_schema_dialects.py [MASKBENCH_DATA_DIR]
    """
    rows = ["| run | files | groups | instances | agree | cannot agree |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for run in RUNS:
        files, groups, instances, disagree = set(), 0, 0, 0
        for _, name, path, g, group in (each for each in _groups() if each[0] == run):
            files.add(name)
            groups += 1
            instances += len(group["tests"])
            disagree += len(disagreements(run, path, g))
        rows.append(f"| {run} | {len(files)} | {groups} | {instances} | {instances - disagree} | {disagree} |")
    return "\n".join(rows)


def maskbench_table(data_dir: str) -> str:
    """The same comparison over JSONSchemaBench's MaskBench schemas and instances (a checkout of its
    `maskbench/data` folder; it has no licence to vendor): per dialect, schemas translated, refused,
    valid 2020-12, and whose instances both validators decide alike."""
    from collections import Counter

    counts: dict[str, Counter] = {}
    refusals = []
    for path in sorted(Path(data_dir).glob("*.json")):
        entry = json.loads(path.read_text(encoding="utf-8"))
        try:
            dialect = dialect_of(entry["schema"])
        except (InvalidSchemaError, UnsupportedSchemaError) as exc:
            counts.setdefault("refused $schema", Counter())["schemas"] += 1
            refusals.append(f"{path.name}: {exc}")
            continue
        if isinstance(dialect, CustomMetaSchema):
            counts.setdefault("custom meta-schema", Counter())["schemas"] += 1
            continue
        row = counts.setdefault(dialect.name, Counter())
        row["schemas"] += 1
        try:
            translated = translate_document(entry["schema"], dialect)
        except (InvalidSchemaError, UnsupportedSchemaError) as exc:
            row["refused"] += 1
            refusals.append(f"{path.name}: {exc}")
            continue
        row["valid 2020-12"] += _meta_schema_validator().is_valid(translated)
        original, new = dialect.validator(entry["schema"]), jsonschema.Draft202012Validator(translated)
        verdicts = [(original.is_valid(test["data"]), new.is_valid(test["data"])) for test in entry["tests"]]
        row["instances"] += len(verdicts)
        row["instances agree"] += sum(a == b for a, b in verdicts)
        row["schemas agree"] += all(a == b for a, b in verdicts)
    columns = ["schemas", "refused", "valid 2020-12", "schemas agree", "instances", "instances agree"]
    rows = ["| dialect | " + " | ".join(columns) + " |", "| --- |" + " ---: |" * len(columns)]
    rows += [f"| {name} | " + " | ".join(str(row[c]) for c in columns) + " |" for name, row in counts.items()]
    return "\n".join(rows + refusals)


if __name__ == "__main__":
    import sys

    print(agreement_table())
    if len(sys.argv) > 1:
        print(maskbench_table(sys.argv[1]))


# ------------------------------------------------------------------ helpers for the unit tests
def same_meaning(schema, dialect, instances, registry=None) -> dict:
    """Translate `schema`, check that the draft's validator and the 2020-12 one agree on every
    instance (some valid, some not, so the check can fail), and return the translation."""
    translated = translate_document(schema, dialect)
    error = jsonschema.exceptions.best_match(_meta_schema_validator().iter_errors(translated))
    assert error is None, f"not a valid 2020-12 schema: {error}"
    extra = {} if registry is None else {"registry": registry}
    original = dialect.validator(schema, **extra)
    new = jsonschema.Draft202012Validator(translated, **extra)
    verdicts = [original.is_valid(instance) for instance in instances]
    assert True in verdicts and False in verdicts, verdicts
    assert [new.is_valid(instance) for instance in instances] == verdicts
    return translated


# ------------------------------------------------------------------ dialect_of
@pytest.mark.parametrize("dialect", [DRAFT_04, DRAFT_06, DRAFT_07, DRAFT_2019_09, DRAFT_2020_12])
def test_every_spelling_of_a_drafts_meta_schema_selects_it(dialect):
    assert len(dialect.meta_schema_uris) == 8  # http/https x with/without '#' x schema/hyper-schema
    for uri in dialect.meta_schema_uris:
        assert dialect_of({"$schema": uri}) is dialect


@pytest.mark.parametrize("dialect", [DRAFT_04, DRAFT_06, DRAFT_07, DRAFT_2019_09, DRAFT_2020_12])
def test_each_row_agrees_with_jsonschema_and_referencing(dialect):
    meta_schema_id = dialect.validator.ID_OF(dialect.validator.META_SCHEMA)
    assert meta_schema_id in dialect.meta_schema_uris
    assert jsonschema.validators.validator_for({"$schema": meta_schema_id}) is dialect.validator
    assert referencing.jsonschema.specification_with(meta_schema_id) is dialect.specification
    assert dialect.keywords >= set(dialect.validator.VALIDATORS)  # every keyword its validator checks
    assert dialect.id_keyword in dialect.keywords


@pytest.mark.parametrize("uri,name", [
    # every `$schema` value in JSONSchemaBench's MaskBench data (11,305 schemas; 6,264 have none)
    ("http://json-schema.org/draft-04/schema#", "draft-04"),      # 3,765 schemas
    ("http://json-schema.org/draft-07/schema#", "draft-07"),      # 636
    ("http://json-schema.org/draft-04/schema", "draft-04"),       # 322
    ("http://json-schema.org/draft-06/schema#", "draft-06"),      # 188
    ("http://json-schema.org/draft-07/schema", "draft-07"),       # 69
    ("https://json-schema.org/draft/2020-12/schema", "2020-12"),  # 52
    ("http://json-schema.org/draft-06/schema", "draft-06"),       # 4
    ("https://json-schema.org/draft/2019-09/schema", "2019-09"),  # 4
    ("https://json-schema.org/draft/2019-09/schema#", "2019-09"),  # 1
    # other spellings seen in the wild
    ("https://json-schema.org/draft-07/schema#", "draft-07"),
    ("http://json-schema.org/draft-04/hyper-schema#", "draft-04"),
    ("http://json-schema.org/draft/2020-12/schema", "2020-12"),
    ("http://json-schema.org/schema#", "2020-12+legacy"),         # the retired "latest" alias
    ("https://json-schema.org/schema", "2020-12+legacy"),
])
def test_dialect_of_real_schema_uris(uri, name):
    assert dialect_of({"$schema": uri, "type": "object"}).name == name


def test_no_schema_is_2020_12_with_legacy_spellings():
    assert dialect_of({"type": "string"}) is UNDECLARED
    assert dialect_of(True) is UNDECLARED
    assert UNDECLARED.validator is jsonschema.Draft202012Validator and UNDECLARED.legacy_spellings


@pytest.mark.parametrize("uri,names", [
    ("http://json-schema.org/draft-03/schema#", "draft-03"),
    ("http://json-schema.org/draft-03/schema", "draft-03"),
    ("http://json-schema.org/draft-00/hyper-schema#", "draft-00"),
    ("https://json-schema.org/draft/next/schema", "draft/next"),
    ("http://json-schema.org/draft-08/schema#", "not a JSON Schema draft"),
    ("https://json-schema.org/draft-07/schema#/definitions", "not a JSON Schema draft"),
])
def test_other_json_schema_org_uris_are_refused_with_the_keyword_and_path(uri, names):
    with pytest.raises(UnsupportedSchemaError) as caught:
        dialect_of({"$schema": uri})
    assert caught.value.keyword == "$schema" and caught.value.path == "#"
    assert names in str(caught.value) and str(caught.value).startswith("#/$schema: ")


@pytest.mark.parametrize("value", [7, None, ["http://json-schema.org/draft-07/schema#"], {"$id": "x"}])
def test_a_schema_uri_that_is_not_a_string_is_invalid(value):
    with pytest.raises(InvalidSchemaError) as caught:
        dialect_of({"$schema": value})
    assert caught.value.keyword == "$schema" and caught.value.path == "#"


def test_custom_meta_schemas_are_reported_not_guessed():
    uri = "http://localhost:1234/draft2020-12/metaschema-no-validation.json"
    assert dialect_of({"$schema": uri}) == CustomMetaSchema(uri)
    with pytest.raises(TypeError):
        translate_document({"$schema": uri}, dialect_of({"$schema": uri}))


def test_a_subschemas_own_schema_uri_switches_the_dialect():
    assert dialect_at({"$schema": "http://json-schema.org/draft-04/schema#"}, DRAFT_2020_12) is DRAFT_04
    assert dialect_at({"$schema": "http://example.com/custom"}, DRAFT_07) is DRAFT_07
    assert dialect_at({"type": "string"}, DRAFT_06) is DRAFT_06
    assert dialect_at(False, DRAFT_06) is DRAFT_06


def test_the_rows_record_how_the_drafts_differ():
    assert [d.ref_overrides_siblings for d in (DRAFT_04, DRAFT_06, DRAFT_07, DRAFT_2019_09, DRAFT_2020_12)] == \
        [True, True, True, False, False]
    assert [d.id_keyword for d in (DRAFT_04, DRAFT_06)] == ["id", "$id"]
    assert not DRAFT_04.integer_zero_fraction and DRAFT_06.integer_zero_fraction
    assert not DRAFT_04.validator({"type": "integer"}).is_valid(1.0)  # the fact the flag records
    assert not DRAFT_04.boolean_schemas and DRAFT_06.boolean_schemas
    assert "date" not in DRAFT_06.formats and "date" in DRAFT_07.formats and "uuid" in DRAFT_2019_09.formats
    assert DRAFT_2019_09.dynamic_reference == "$recursiveRef" and DRAFT_2020_12.dynamic_reference == "$dynamicRef"


# ------------------------------------------------------------------ as_2020_12, rule by rule
def test_ref_siblings_are_dropped_in_draft_4_6_7_but_containers_stay():
    schema = {"$ref": "#/definitions/short", "maxLength": 2, "title": "t", "$id": "http://x/y",
              "definitions": {"short": {"maxLength": 4}}, "x-extra": {"a": 1}}
    for dialect in (DRAFT_04, DRAFT_06, DRAFT_07):
        assert as_2020_12(schema, dialect) == {"$ref": "#/definitions/short", "definitions": schema["definitions"],
                                               "x-extra": {"a": 1}}
    assert as_2020_12(schema, DRAFT_2019_09)["maxLength"] == 2  # siblings apply from 2019-09 on
    same_meaning(schema, DRAFT_07, ["abc", "abcde", 7])


def test_plain_name_id_beside_ref_stays_an_anchor():
    assert as_2020_12({"$ref": "#/definitions/a", "id": "#here"}, DRAFT_04) == {"$ref": "#/definitions/a",
                                                                              "$anchor": "here"}
    same_meaning({"definitions": {"a": {"type": "integer"}, "b": {"$ref": "#/definitions/a", "$id": "#b"}},
                  "items": {"$ref": "#b"}}, DRAFT_07, [[1, 2], [1, "x"]])


def test_dependencies_split_into_dependent_required_and_dependent_schemas():
    schema = {"dependencies": {"a": ["b", "c"], "d": {"required": ["e"]}, "f": True, "g": False}}
    for dialect in (DRAFT_04, DRAFT_06, DRAFT_07):
        assert as_2020_12(schema, dialect) == {"dependentRequired": {"a": ["b", "c"]},
                                               "dependentSchemas": {"d": {"required": ["e"]}, "f": True, "g": False}}
    same_meaning(schema, DRAFT_07, [{"a": 1}, {"a": 1, "b": 1, "c": 1}, {"d": 1}, {"d": 1, "e": 1}, {"g": 1}, {}])


def test_dependencies_is_not_a_keyword_from_2019_09_on():
    schema = {"dependencies": {"a": ["b"]}}
    assert as_2020_12(schema, DRAFT_2019_09) == {} == as_2020_12(schema, DRAFT_2020_12)
    assert DRAFT_2019_09.validator(schema).is_valid({"a": 1})  # ignored there too


def test_undeclared_dependencies_are_honoured_and_merged():
    schema = {"dependencies": {"a": ["b"], "c": {"required": ["d"]}},
              "dependentRequired": {"a": ["x", "b"]}, "dependentSchemas": {"c": {"required": ["e"]}}}
    assert as_2020_12(schema, UNDECLARED) == {
        "dependentRequired": {"a": ["x", "b"]},
        "dependentSchemas": {"c": {"allOf": [{"required": ["e"]}, {"required": ["d"]}]}}}


def test_a_dependency_that_is_neither_names_nor_schema_is_invalid():
    with pytest.raises(InvalidSchemaError) as caught:
        as_2020_12({"dependencies": {"a": "b"}}, DRAFT_04, path="#/properties/p")
    assert caught.value.path == "#/properties/p/dependencies/a"


def test_array_items_become_prefix_items_and_additional_items_becomes_items():
    schema = {"items": [{"type": "integer"}, {"type": "string"}], "additionalItems": {"type": "boolean"}}
    for dialect in (DRAFT_04, DRAFT_06, DRAFT_07, DRAFT_2019_09, UNDECLARED):
        assert as_2020_12(schema, dialect) == {"prefixItems": schema["items"], "items": {"type": "boolean"}}
    same_meaning(schema, DRAFT_2019_09, [[1, "a", True], [1, "a", 2], ["a"], []])
    same_meaning({"items": [{"type": "integer"}]}, DRAFT_04, [[1, "extra"], ["x"]])


def test_additional_items_is_ignored_without_array_items():
    for items in ({"items": {"type": "integer"}}, {}):
        schema = {**items, "additionalItems": False}
        for dialect in (DRAFT_04, DRAFT_07, DRAFT_2019_09, DRAFT_2020_12, UNDECLARED):
            assert as_2020_12(schema, dialect) == items
    same_meaning({"items": {"type": "integer"}, "additionalItems": False}, DRAFT_06, [[1, 2, 3], [1, "x"]])


def test_undeclared_array_items_beside_prefix_items_is_ambiguous():
    with pytest.raises(InvalidSchemaError) as caught:
        as_2020_12({"items": [{}], "prefixItems": [{}]}, UNDECLARED, path="#/items")
    assert caught.value.keyword == "items" and caught.value.path == "#/items"


def test_prefix_items_means_nothing_before_2020_12():
    schema = {"prefixItems": [{"type": "integer"}], "items": {"type": "string"}}
    assert as_2020_12(schema, DRAFT_2019_09) == {"items": {"type": "string"}}
    same_meaning(schema, DRAFT_2019_09, [[1], ["a"]])


def test_draft_4_boolean_exclusive_bounds():
    assert as_2020_12({"minimum": 1, "exclusiveMinimum": True}, DRAFT_04) == {"exclusiveMinimum": 1}
    assert as_2020_12({"maximum": 9, "exclusiveMaximum": False}, DRAFT_04) == {"maximum": 9}
    assert as_2020_12({"exclusiveMaximum": True}, DRAFT_04) == {}  # modifies nothing
    same_meaning({"minimum": 1, "exclusiveMinimum": True, "maximum": 3, "exclusiveMaximum": True}, DRAFT_04,
                 [0, 1, 1.5, 2, 3, "x"])
    same_meaning({"minimum": 1, "exclusiveMinimum": False}, DRAFT_04, [0.5, 1])


def test_a_numeric_exclusive_bound_in_draft_4_is_refused():
    # Draft4Validator would read 0 as "false" and 5 as "true": neither is what the author meant
    with pytest.raises(InvalidSchemaError) as caught:
        as_2020_12({"minimum": 1, "exclusiveMinimum": 5}, DRAFT_04, path="#/properties/n")
    assert caught.value.keyword == "exclusiveMinimum" and caught.value.path == "#/properties/n"


def test_exclusive_bounds_are_numbers_from_draft_6_on():
    schema = {"minimum": 1, "exclusiveMinimum": 3}
    assert as_2020_12(schema, DRAFT_06) == schema == as_2020_12(schema, UNDECLARED)
    assert as_2020_12({"minimum": 1, "exclusiveMinimum": True}, UNDECLARED) == {"exclusiveMinimum": 1}


@pytest.mark.parametrize("dialect,schema,expected", [
    (DRAFT_04, {"id": "http://x/y.json"}, {"$id": "http://x/y.json"}),
    (DRAFT_04, {"id": "#foo"}, {"$anchor": "foo"}),
    (DRAFT_04, {"id": "http://x/y.json#foo"}, {"$id": "http://x/y.json", "$anchor": "foo"}),
    (DRAFT_04, {"$id": "http://x/y.json"}, {}),            # not a draft-04 keyword
    (DRAFT_06, {"$id": "#foo"}, {"$anchor": "foo"}),
    (DRAFT_07, {"$id": "y.json#"}, {"$id": "y.json"}),    # the same URI for referencing
    (DRAFT_07, {"$id": "http://x/y.json", "$ref": "#/a"}, {"$ref": "#/a"}),  # beside `$ref`: ignored
    (DRAFT_04, {"id": "#/definitions/x"}, {}),             # a pointer never names an anchor
    (DRAFT_04, {"id": "#a!b"}, {}),                        # no 2020-12 anchor name
    (DRAFT_07, {"id": "http://x/y.json"}, {}),             # draft-04's spelling means nothing here
    (DRAFT_2019_09, {"$id": "http://x/y.json", "$anchor": "a"}, {"$id": "http://x/y.json", "$anchor": "a"}),
    (UNDECLARED, {"id": "http://x/y.json"}, {"$id": "http://x/y.json"}),
    (UNDECLARED, {"id": "#foo"}, {"$anchor": "foo"}),
    (UNDECLARED, {"$id": "#foo"}, {"$anchor": "foo"}),
    (UNDECLARED, {"id": "schemata/app"}, {}),              # a relative legacy id is a label
    (UNDECLARED, {"$id": "schemata/app", "id": "http://x"}, {"$id": "schemata/app"}),
    (UNDECLARED, {"$id": "#foo", "$anchor": "bar"}, {"$anchor": "bar"}),
])
def test_ids_and_anchors(dialect, schema, expected):
    assert as_2020_12(schema, dialect) == expected


@pytest.mark.parametrize("dialect,dropped", [
    (DRAFT_04, {"const": 1, "contains": {}, "propertyNames": {"maxLength": 1}, "if": {}, "then": False,
                "examples": [1], "$comment": "c"}),
    (DRAFT_06, {"if": {"type": "string"}, "then": False, "else": False}),
    (DRAFT_07, {"dependentRequired": {"a": ["b"]}, "unevaluatedProperties": False, "minContains": 2,
                "$anchor": "a", "$recursiveRef": "#"}),
    (DRAFT_2019_09, {"prefixItems": [False], "$dynamicRef": "#x", "$dynamicAnchor": "x"}),
    (DRAFT_2020_12, {"additionalItems": False, "$recursiveRef": "#", "$recursiveAnchor": True, "id": "x",
                     "dependencies": {"a": ["b"]}}),
])
def test_keywords_a_draft_does_not_define_are_dropped(dialect, dropped):
    kept = {"type": "object", "title": "t", "x-vendor": {"if": 1}, "definitions": {"a": {}}}
    assert as_2020_12({**kept, **dropped}, dialect) == kept


def test_ignored_keywords_have_no_effect_on_validation():
    same_meaning({"const": 1, "type": "integer"}, DRAFT_04, [1, 2, "x"])
    same_meaning({"if": {"type": "string"}, "then": False, "type": ["string", "integer"]}, DRAFT_06, ["a", 1, None])
    same_meaning({"dependentRequired": {"a": ["b"]}, "required": ["c"]}, DRAFT_07, [{"a": 1, "c": 1}, {"a": 1}])
    same_meaning({"prefixItems": [False], "items": {"type": "integer"}}, DRAFT_2019_09, [[1], ["a"]])


def test_schema_uri_becomes_2020_12_and_custom_ones_stay():
    assert as_2020_12({"$schema": "http://json-schema.org/draft-07/schema#"}, DRAFT_07) == {"$schema": DRAFT202012_URI}
    assert as_2020_12({"$schema": "http://example.com/meta"}, DRAFT_07) == {"$schema": "http://example.com/meta"}


def test_recursive_ref_stays_for_the_resolver_in_as_2020_12():
    schema = {"$recursiveAnchor": True, "$recursiveRef": "#", "type": "object"}
    assert as_2020_12(schema, DRAFT_2019_09) == schema


def test_as_2020_12_returns_a_new_dict_and_never_descends():
    schema = {"id": "#a", "items": [{"id": "#b", "minimum": 1, "exclusiveMinimum": True}], "additionalItems": False}
    before = copy.deepcopy(schema)
    out = as_2020_12(schema, DRAFT_04)
    assert schema == before and out is not schema
    assert out["prefixItems"][0] is schema["items"][0]  # the subschema is the compiler's next visit
    assert as_2020_12(True, DRAFT_04) is True and as_2020_12(False, DRAFT_2019_09) is False
    with pytest.raises(InvalidSchemaError):
        as_2020_12("string", DRAFT_07, path="#/items")


# ------------------------------------------------------------------ translate_document
def test_properties_named_like_keywords_are_not_keywords():
    schema = {"type": "object", "required": ["id", "items"],
              "properties": {"id": {"type": "string"}, "items": {"type": "array", "items": [{"type": "integer"}]},
                             "dependencies": {"type": "object"}, "$ref": {"type": "number"}}}
    out = translate_document(schema, DRAFT_04)
    assert list(out["properties"]) == ["id", "items", "dependencies", "$ref"]
    assert out["properties"]["id"] == {"type": "string"} and out["required"] == ["id", "items"]
    assert out["properties"]["items"] == {"type": "array", "prefixItems": [{"type": "integer"}]}
    same_meaning(schema, DRAFT_04, [{"id": "a", "items": [1], "$ref": 1}, {"id": 1, "items": []},
                                    {"id": "a", "items": ["x"]}])


def test_pointers_into_moved_positions_are_rewritten():
    schema = {"items": [{"type": "integer"}, {"$ref": "#/items/0"}], "additionalItems": {"$ref": "#/dependencies/a"},
              "dependencies": {"a": {"type": "string"}},
              "definitions": {"tail": {"$ref": "#/additionalItems"}},
              "properties": {"t": {"$ref": "#/definitions/tail"}}}
    out = same_meaning(schema, DRAFT_07, [[1, 2, "x"], [1, "2"], [1, 2, 3], {"t": "x"}, {"t": 1}])
    assert out["prefixItems"][1] == {"$ref": "#/prefixItems/0"}
    assert out["items"] == {"$ref": "#/dependentSchemas/a"}
    assert out["definitions"]["tail"] == {"$ref": "#/items"}


def test_pointers_are_relative_to_the_enclosing_resource():
    schema = {"definitions": {"inner": {"$id": "http://example.com/inner.json",
                                        "items": [{"type": "integer"}, {"$ref": "#/items/0"}]}},
              "$ref": "http://example.com/inner.json"}
    out = same_meaning(schema, DRAFT_06, [[1, 2], [1, "x"]])
    assert out["definitions"]["inner"]["prefixItems"][1] == {"$ref": "#/prefixItems/0"}


def test_undeclared_merged_dependencies_keep_their_pointers():
    schema = {"dependencies": {"a": {"minProperties": 3}}, "dependentSchemas": {"a": {"minProperties": 2}},
              "properties": {"x": {"$ref": "#/dependencies/a"}, "y": {"$ref": "#/dependentSchemas/a"}}}
    out = translate_document(schema, UNDECLARED)
    assert out["properties"] == {"x": {"$ref": "#/dependentSchemas/a/allOf/1"},
                                 "y": {"$ref": "#/dependentSchemas/a/allOf/0"}}


def test_schemas_reached_inside_unknown_keywords_are_translated_in_place():
    schema = {"components": {"positive": {"minimum": 0, "exclusiveMinimum": True}, "note": "not a schema"},
              "properties": {"n": {"$ref": "#/components/positive"}}}
    out = same_meaning(schema, DRAFT_04, [{"n": 1}, {"n": 0}, {"n": -1}])
    assert out["components"] == {"positive": {"exclusiveMinimum": 0}, "note": "not a schema"}


def test_a_pointer_into_an_ignored_keyword_is_refused():
    schema = {"allOf": [{"$ref": "#/allOf/1/properties/a"},
                        {"$ref": "#/definitions/x", "properties": {"a": {"type": "string"}}}],
              "definitions": {"x": {}}}
    with pytest.raises(UnsupportedSchemaError) as caught:
        translate_document(schema, DRAFT_07)
    assert caught.value.keyword == "$ref" and "draft-07 ignores" in str(caught.value)


def test_translate_document_returns_a_fresh_document():
    schema = {"$schema": "http://json-schema.org/draft-04/schema#", "enum": [[1]], "definitions": {"a": {"id": "#a"}},
              "properties": {"p": {"default": {"k": []}}}}
    before = copy.deepcopy(schema)
    out = translate_document(schema, dialect_of(schema))
    out["enum"][0].append(2)
    out["properties"]["p"]["default"]["k"].append(1)
    assert schema == before
    assert out["$schema"] == DRAFT202012_URI and out["definitions"]["a"] == {"$anchor": "a"}
    assert translate_document(False, DRAFT_07) is False


def test_malformed_documents_get_typed_errors():
    with pytest.raises(InvalidSchemaError) as caught:
        translate_document({"properties": {"a": {"items": "string"}}}, DRAFT_07)
    assert caught.value.path == "#/properties/a/items"
    with pytest.raises(InvalidSchemaError) as caught:
        translate_document({"allOf": {"type": "string"}}, DRAFT_07)
    assert caught.value.keyword == "allOf"
    with pytest.raises(InvalidSchemaError) as caught:  # draft-04 ids are strings
        translate_document({"items": {"id": {"type": "string"}}}, DRAFT_04)
    assert (caught.value.keyword, caught.value.path) == ("id", "#/items")
    deep = {"type": "string"}
    for _ in range(1200):  # past Python's recursion limit
        deep = {"items": deep}
    with pytest.raises(SchemaTooLargeError):
        translate_document(deep, DRAFT_07)


def test_an_embedded_resource_is_identified_by_the_embedding_dialect():
    schema = {"$schema": DRAFT202012_URI, "$ref": "http://example.com/old",
              "$defs": {"old": {"$schema": "http://json-schema.org/draft-04/schema#", "$id": "http://example.com/old",
                                "minimum": 2, "exclusiveMinimum": True, "$comment": "not draft-04's"}}}
    out = translate_document(schema, DRAFT_2020_12)
    assert out["$defs"]["old"] == {"$schema": DRAFT202012_URI, "$id": "http://example.com/old", "exclusiveMinimum": 2}
    assert [jsonschema.Draft202012Validator(out).is_valid(i) for i in (3, 2, 1)] == [True, False, False]


def test_a_nested_schema_uri_does_not_make_a_label_id_a_base_uri():
    # the shape of Heroku's generated hyper-schemas: draft-04 definitions with relative `id` labels
    # and pointers written from the document root
    schema = {"definitions": {"app": {"$schema": "http://json-schema.org/draft-04/hyper-schema", "id": "schemata/app",
                                      "definitions": {"name": {"type": "string", "maxLength": 3}},
                                      "properties": {"name": {"$ref": "#/definitions/app/definitions/name"}}}},
              "properties": {"app": {"$ref": "#/definitions/app"}}}
    out = translate_document(schema, UNDECLARED)
    assert "$id" not in out["definitions"]["app"]
    original = jsonschema.Draft202012Validator(schema)  # jsonschema takes the base URI the same way
    instances = [{"app": {"name": "abc"}}, {"app": {"name": "abcd"}}, {"app": {"name": 1}}]
    assert [jsonschema.Draft202012Validator(out).is_valid(i) for i in instances] == \
        [original.is_valid(i) for i in instances] == [True, False, False]


def test_recursive_ref_maps_to_dynamic_ref():
    tree = {"$schema": "https://json-schema.org/draft/2019-09/schema", "$id": "http://example.com/tree",
            "$recursiveAnchor": True, "type": "object",
            "properties": {"children": {"type": "array", "items": {"$recursiveRef": "#"}}}}
    strict_tree = {"$schema": "https://json-schema.org/draft/2019-09/schema", "$id": "http://example.com/strict",
                   "$recursiveAnchor": True, "$ref": "tree", "unevaluatedProperties": False}
    registry = referencing.Registry().with_resources([
        (tree["$id"], referencing.jsonschema.DRAFT201909.create_resource(tree)),
        ("http://example.com/tree-2020", referencing.jsonschema.DRAFT202012.create_resource(
            translate_document(tree, DRAFT_2019_09)))])
    out = translate_document(strict_tree, DRAFT_2019_09)
    assert out["$dynamicAnchor"] == RECURSIVE_ANCHOR and "$recursiveAnchor" not in out
    assert translate_document(tree, DRAFT_2019_09)["properties"]["children"]["items"] == \
        {"$dynamicRef": "#" + RECURSIVE_ANCHOR}
    instances = [{"children": [{"children": []}]}, {"children": [{"extra": 1}]}, {"extra": 1}]
    original = DRAFT_2019_09.validator(strict_tree, registry=registry)
    # the translated root refers to the translated tree, registered under the same URI
    translated_registry = referencing.Registry().with_resource(
        tree["$id"], referencing.jsonschema.DRAFT202012.create_resource(translate_document(tree, DRAFT_2019_09)))
    translated = jsonschema.Draft202012Validator(out, registry=translated_registry)
    assert [original.is_valid(i) for i in instances] == [True, False, False]
    assert [translated.is_valid(i) for i in instances] == [True, False, False]


def test_recursive_ref_without_recursive_anchor_is_a_plain_ref():
    schema = {"$schema": "https://json-schema.org/draft/2019-09/schema",
              "type": ["integer", "array"], "items": {"$recursiveRef": "#"}}
    out = same_meaning(schema, DRAFT_2019_09, [[1, [2]], [1, ["x"]], "x"])
    assert out["items"] == {"$dynamicRef": "#"}


def test_recursive_ref_across_a_resource_without_recursive_anchor_cannot_be_mapped():
    """2019-09 stops its dynamic search at the first resource without `$recursiveAnchor: true`;
    2020-12's `$dynamicRef` skips such resources and takes the outermost anchor. Pinned here: the
    one difference translate_document documents rather than reproduces."""
    outer = {"$schema": "https://json-schema.org/draft/2019-09/schema", "$id": "http://example.com/a",
             "$recursiveAnchor": True, "not": {"type": "integer"}, "$ref": "b"}
    middle = {"$schema": "https://json-schema.org/draft/2019-09/schema", "$id": "http://example.com/b", "$ref": "c"}
    inner = {"$schema": "https://json-schema.org/draft/2019-09/schema", "$id": "http://example.com/c",
             "$recursiveAnchor": True,
             "anyOf": [{"type": "integer"}, {"type": "array", "items": {"$recursiveRef": "#"}}]}
    originals = referencing.Registry().with_resources(
        [(s["$id"], referencing.jsonschema.DRAFT201909.create_resource(s)) for s in (middle, inner)])
    translations = referencing.Registry().with_resources(
        [(s["$id"], referencing.jsonschema.DRAFT202012.create_resource(translate_document(s, DRAFT_2019_09)))
         for s in (middle, inner)])
    assert DRAFT_2019_09.validator(outer, registry=originals).is_valid([1])       # inner's anyOf applies to 1
    assert not jsonschema.Draft202012Validator(translate_document(outer, DRAFT_2019_09),
                                               registry=translations).is_valid([1])  # outer's `not` does


# ------------------------------------------------------------------ the undeclared dialect's references
def test_undeclared_legacy_identifiers_resolve():
    schema = {"id": "http://example.com/root.json",
              "definitions": {"a": {"id": "#alpha", "type": "integer"},
                              "label": {"id": "schemata/app", "properties": {"n": {"$ref": "#/definitions/a"}}}},
              "properties": {"x": {"$ref": "#alpha"}, "y": {"$ref": "#/definitions/label"}}}
    resolver = referencing.Registry().with_resource(
        "", UNDECLARED.specification.create_resource(schema)).crawl().resolver("http://example.com/root.json")
    assert resolver.lookup("#alpha").contents == {"id": "#alpha", "type": "integer"}
    assert resolver.lookup("http://example.com/root.json#/definitions/a").contents["type"] == "integer"
    out = translate_document(schema, UNDECLARED)
    validator = jsonschema.Draft202012Validator(out)
    assert validator.is_valid({"x": 1, "y": {"n": 2}})
    assert not validator.is_valid({"x": "1"}) and not validator.is_valid({"y": {"n": "2"}})


def test_undeclared_legacy_positions_are_subresources():
    schema = {"items": [{"$id": "http://example.com/first", "type": "integer"}],
              "additionalItems": {"$id": "http://example.com/rest", "type": "string"},
              "dependencies": {"a": {"$id": "http://example.com/dep", "required": ["b"]}, "c": ["d"]}}
    registry = referencing.Registry().with_resource("", UNDECLARED.specification.create_resource(schema)).crawl()
    for uri in ("http://example.com/first", "http://example.com/rest", "http://example.com/dep"):
        assert registry.resolver().lookup(uri).contents["$id"] == uri
    resolved = registry.resolver().lookup("#/items/0")
    assert resolved.resolver.lookup("#").contents["$id"] == "http://example.com/first"  # entered its base


def test_contains_marks_items_evaluated_in_2019_09_as_jsonschema_reads_it():
    # 2019-09's text lets only items/additionalItems (and in-place applicators) mark items evaluated;
    # jsonschema's Draft201909Validator also counts `contains`, as 2020-12 does. The translation
    # follows jsonschema, the oracle (docs/json_schema_dialects.md).
    schema = {"contains": {"type": "string"}, "unevaluatedItems": False}
    assert as_2020_12(schema, DRAFT_2019_09) == schema
    same_meaning(schema, DRAFT_2019_09, [["a"], ["a", 1], [1]])


# ------------------------------------------------------------------ shapes referencing's own rules trip on
def test_mixed_dependencies_are_indexed():
    # referencing's draft-04/06/07 rules yield every `dependencies` value once the first is a schema
    # (SchemaStore's tmlanguage.json), arrays included
    schema = {"dependencies": {"a": {"required": ["b"]}, "c": ["d"]},
              "properties": {"e": {"$id": "http://example.com/e", "type": "string"}},
              "items": {"$ref": "http://example.com/e"}}
    registry = referencing.Registry().with_resource("", DRAFT_07.resource(schema)).crawl()
    assert registry.resolver().lookup("http://example.com/e").contents["type"] == "string"
    with pytest.raises(AttributeError):  # jsonschema indexes with referencing's own rules
        DRAFT_07.validator(schema).is_valid(["x"])
    out = translate_document(schema, DRAFT_07)
    assert out["dependentRequired"] == {"c": ["d"]} and out["dependentSchemas"] == {"a": {"required": ["b"]}}
    validator = jsonschema.Draft202012Validator(out)
    instances = [{"a": 1, "b": 2, "c": 3, "d": 4}, {"c": 3}, {"a": 1}, ["x"], [1]]
    assert [validator.is_valid(i) for i in instances] == [True, False, False, True, False]


def test_an_embedded_draft_4_subschema_with_boolean_subschemas_translates():
    # referencing's draft-04 rules fail on booleans while indexing (SchemaStore's config.json)
    schema = {"$schema": "http://json-schema.org/draft-07/schema#",
              "definitions": {"crawler": {"$schema": "http://json-schema.org/draft-04/schema",
                                          "properties": {"on": True, "off": False}, "maximum": 3,
                                          "exclusiveMaximum": True}},
              "properties": {"crawler": {"$ref": "#/definitions/crawler"}}}
    out = translate_document(schema, DRAFT_07)
    assert out["definitions"]["crawler"]["exclusiveMaximum"] == 3
    validator = jsonschema.Draft202012Validator(out)
    assert validator.is_valid({"crawler": {"on": 1}}) and not validator.is_valid({"crawler": {"off": 1}})


# ------------------------------------------------------------------ through the compiler
# The compiler picks the dialect from `$schema` and reads each subschema with dialects.as_2020_12;
# its grammar must decide instances as the draft's jsonschema class does.
D4, D6, D7 = (f"http://json-schema.org/draft-0{n}/schema#" for n in (4, 6, 7))
D2019 = "https://json-schema.org/draft/2019-09/schema"


def compiled_agrees(schema, instances, validator, registry=None):
    """The grammar of `schema` accepts each instance (compact JSON) exactly when `validator` (a
    jsonschema validator instance) says it is valid; some are valid and some not, so this can fail."""
    from constrain.grammars.json_schema import json_schema

    grammar = json_schema(schema, strict=False, registry=registry)
    verdicts = [validator.is_valid(json.loads(text) if isinstance(text, str) else text) for text in instances]
    assert True in verdicts and False in verdicts, verdicts
    got = [grammar.accepts(text if isinstance(text, str) else json.dumps(text, separators=(",", ":")))
           for text in instances]
    assert got == verdicts, list(zip(instances, got, verdicts))


def test_draft_4_integers_have_no_fraction_part():
    schema = {"$schema": D4, "type": "object", "properties": {"n": {"type": "integer"}}}
    compiled_agrees(schema, ['{"n":1}', '{"n":-12}', '{"n":1.0}', '{"n":1.5}', '{"n":"1"}'],
                    jsonschema.Draft4Validator(schema))
    later = {**schema, "$schema": D6}
    compiled_agrees(later, ['{"n":1}', '{"n":1.0}', '{"n":1.5}'], jsonschema.Draft6Validator(later))


def test_draft_4_enum_values_keep_only_their_valid_spellings():
    schema = {"$schema": D4, "type": "integer", "enum": [1, 2.0, "a"]}
    compiled_agrees(schema, ["1", "1.0", "2", "2.0", '"a"', "3"], jsonschema.Draft4Validator(schema))
    schema = {"$schema": D4, "not": {"type": "integer"}, "enum": [0, 3]}
    compiled_agrees(schema, ["0", "0.0", "-0.0", "3", "3.00", "4.0"], jsonschema.Draft4Validator(schema))


def test_draft_4_boolean_exclusive_bounds_compile():
    schema = {"$schema": D4, "minimum": 3, "exclusiveMinimum": True, "maximum": 5, "exclusiveMaximum": False}
    compiled_agrees(schema, ["3", "3.01", "5", "5.01", "4"], jsonschema.Draft4Validator(schema))


def test_ref_siblings_are_ignored_in_draft_7_and_apply_in_2019_09():
    for uri, validator in ((D7, jsonschema.Draft7Validator), (D2019, jsonschema.Draft201909Validator)):
        schema = {"$schema": uri, "definitions": {"a": {"type": "array"}},
                  "properties": {"p": {"$ref": "#/definitions/a", "maxItems": 1}}}
        compiled_agrees(schema, ['{"p":[]}', '{"p":[1,2]}', '{"p":3}'], validator(schema))


def test_keywords_of_later_drafts_mean_nothing_in_earlier_ones():
    schema = {"$schema": D6, "if": {"type": "string"}, "then": {"maxLength": 1}, "const": 3}
    compiled_agrees(schema, ["3", '"abc"', "4"], jsonschema.Draft6Validator(schema))
    schema = {**schema, "$schema": D7}
    compiled_agrees(schema, ["3", '"abc"', "4"], jsonschema.Draft7Validator(schema))
    schema = {"$schema": D2019, "prefixItems": [{"type": "string"}], "items": [{"type": "integer"}],
              "additionalItems": False}
    compiled_agrees(schema, ["[1]", '["a"]', "[1,2]", "[]"], jsonschema.Draft201909Validator(schema))


def test_known_formats_are_enforced_whatever_the_draft():
    schema = {"$schema": D4, "type": "string", "format": "uuid"}
    from constrain.grammars.json_schema import json_schema

    # draft-04 defines no `uuid`, but whoever writes it wants one (MaskBench labels agree)
    assert not json_schema(schema).accepts('"not a uuid"')
    assert json_schema(schema).accepts('"123e4567-e89b-12d3-a456-426655440000"')
    assert not json_schema({**schema, "$schema": D7, "format": "date"}).accepts('"not a date"')
    assert json_schema({**schema, "format": "no-such-format"}).accepts('"anything"')


def test_dependencies_compile_in_each_draft_that_has_them():
    for uri, validator in ((D4, jsonschema.Draft4Validator), (D7, jsonschema.Draft7Validator)):
        schema = {"$schema": uri, "dependencies": {"a": ["b"], "c": {"required": ["d"]}}}
        compiled_agrees(schema, ['{}', '{"a":1,"b":2}', '{"a":1}', '{"c":1,"d":2}', '{"c":1}'], validator(schema))


def test_recursive_ref_follows_the_outermost_recursive_anchor():
    tree = {"$schema": D2019, "$id": "http://example.com/tree", "$recursiveAnchor": True, "type": "object",
            "properties": {"children": {"type": "array", "items": {"$recursiveRef": "#"}}}}
    strict_tree = {"$schema": D2019, "$id": "http://example.com/strict-tree", "$recursiveAnchor": True,
                   "$ref": "tree", "unevaluatedProperties": False}
    resource = referencing.jsonschema.DRAFT201909.create_resource(tree)
    registry = referencing.Registry().with_resource(tree["$id"], resource)
    validator = jsonschema.Draft201909Validator(strict_tree, registry=registry)
    compiled_agrees(strict_tree, ['{"children":[{"children":[]}]}', '{"children":[{"x":1}]}', '{"x":1}',
                                  '{"children":[{"children":[{"y":2}]}]}'], validator, registry)


def test_no_schema_honours_the_legacy_spellings():
    schema = {"id": "http://example.com/root.json", "definitions": {"n": {"type": "integer"}},
              "type": "object",
              "properties": {"pair": {"type": "array", "items": [{"$ref": "#/definitions/n"}, {"type": "string"}],
                                      "additionalItems": False},
                             "low": {"maximum": 3, "exclusiveMaximum": True}},
              "dependencies": {"low": ["pair"]}}
    oracle = jsonschema.Draft202012Validator(translate_document(schema, UNDECLARED))
    compiled_agrees(schema, ['{"pair":[1,"a"]}', '{"pair":[1,"a",2]}', '{"pair":["a"]}', '{"low":2,"pair":[]}',
                             '{"low":3,"pair":[]}', '{"low":2}', '{"pair":[1.0]}'], oracle)


def test_a_subschemas_own_schema_switches_the_compilers_dialect():
    schema = {"$schema": DRAFT202012_URI, "properties": {"old": {"$schema": D4, "type": "integer"}}}
    from constrain.grammars.json_schema import json_schema

    grammar = json_schema(schema, strict=False)
    assert grammar.accepts('{"old":1}') and not grammar.accepts('{"old":1.0}')
    assert json_schema({"properties": {"new": {"type": "integer"}}}).accepts('{"new":1.0}')


def test_a_remote_document_is_read_in_its_own_draft():
    remote = {"$schema": D4, "id": "http://example.com/old.json", "minimum": 1, "exclusiveMinimum": True}
    registry = referencing.Registry().with_resource(remote["id"], referencing.jsonschema.DRAFT4.create_resource(remote))
    schema = {"$schema": DRAFT202012_URI, "$ref": "http://example.com/old.json"}
    compiled_agrees(schema, ["1", "2", "1.5", "0"], jsonschema.Draft202012Validator(schema, registry=registry),
                    registry)


def test_a_custom_meta_schema_extending_draft_7_reads_as_draft_7():
    meta = {"$schema": D7, "$id": "http://example.com/meta", "allOf": [{"$ref": D7}],
            "properties": {"x-unit": {"type": "string"}}}
    registry = referencing.Registry().with_resource(meta["$id"], referencing.jsonschema.DRAFT7.create_resource(meta))
    schema = {"$schema": "http://example.com/meta", "x-unit": "m", "$ref": "#/definitions/n",
              "definitions": {"n": {"type": "integer"}}, "maximum": 3}
    compiled_agrees(schema, ["1", "7", "1.5"], jsonschema.Draft7Validator(schema, registry=registry), registry)


@pytest.mark.parametrize("schema,error,keyword,path", [
    ({"$schema": "http://json-schema.org/draft-03/schema#"}, UnsupportedSchemaError, "$schema", "#"),
    ({"$schema": "https://json-schema.org/draft/next/schema"}, UnsupportedSchemaError, "$schema", "#"),
    ({"$schema": 7}, InvalidSchemaError, "$schema", "#"),
    ({"$schema": "http://example.com/unknown-meta"}, UnsupportedSchemaError, "$schema", "#"),
    ({"$schema": D4, "properties": {"n": {"minimum": 1, "exclusiveMinimum": 0}}}, InvalidSchemaError,
     "exclusiveMinimum", "#/properties/n"),
    ({"properties": {"t": {"items": [{}], "prefixItems": [{}]}}}, InvalidSchemaError, "items", "#/properties/t"),
    ({"$schema": D7, "dependencies": {"a": 3}}, InvalidSchemaError, "dependencies", "#/dependencies/a"),
    ({"$schema": D2019, "properties": {"r": {"$recursiveRef": "#/x"}}}, InvalidSchemaError, "$recursiveRef",
     "#/properties/r"),
])
def test_the_compiler_refuses_bad_dialect_input_with_keyword_and_path(schema, error, keyword, path):
    from constrain.grammars.json_schema import json_schema

    with pytest.raises(error) as raised:
        json_schema(schema)
    assert (raised.value.keyword, raised.value.path) == (keyword, path), str(raised.value)


def test_undeclared_enums_are_checked_in_the_translated_document():
    """jsonschema's 2020-12 class cannot read array-form `items` (it fails on them); enum candidates
    of an undeclared document with legacy spellings are checked in its 2020-12 translation."""
    schema = {"definitions": {"pair": {"type": "array", "items": [{"type": "integer"}], "additionalItems": False}},
              "properties": {"p": {"$ref": "#/definitions/pair", "enum": [[1], [1, 2], ["a"], [2]]}}}
    oracle = jsonschema.Draft202012Validator(translate_document(schema, UNDECLARED))
    compiled_agrees(schema, ['{"p":[1]}', '{"p":[2]}', '{"p":[1,2]}', '{"p":["a"]}', '{"p":[3]}'], oracle)
