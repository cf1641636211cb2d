"""JSON Schema dialects: which draft a schema speaks (its `$schema`), and its keywords in 2020-12 terms.

The compiler works in draft 2020-12. A schema written for draft-04, -06, -07 or 2019-09 is read
through its `Dialect`, one row of facts per draft (as ggml keeps one row per quant type):

    dialect = dialect_of(root)              # a Dialect, or CustomMetaSchema for a URI no draft owns
    local = as_2020_12(schema, dialect)     # one schema object's keywords, 2020-12 meaning
    document = translate_document(root, dialect)   # the whole document, for tools and tests

`as_2020_12` never descends: the compiler translates each subschema when it visits it (with
`dialect_at` for a subschema that has its own `$schema`) and keeps the original document for `$ref`
resolution (`dialect.resource(root)`), so pointers such as `#/definitions/x` or `#/items/0` still
resolve. `translate_document` (its walk lives in dialect_document.py) translates every subschema
and rewrites the pointers whose positions moved. See docs/json_schema_dialects.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import jsonschema
import referencing
import referencing.jsonschema

from constrain.grammars.json_schema.dialect_referencing import (
    ANCHOR_NAME,
    UNDECLARED_SPECIFICATION,
    legacy_identity,
    pointer_token,
    tolerant,
)
from constrain.grammars.json_schema.errors import InvalidSchemaError, SchemaTooLargeError, UnsupportedSchemaError

# ------------------------------------------------------------------ vocabularies
# Every keyword each draft defines (core, applicators, assertions, annotations). A keyword that
# 2020-12 defines but the schema's draft does not is ignored by that draft's validators, so the
# translation drops it (`const` in draft-04, `if` in draft-06, `prefixItems` in 2019-09, ...).
DRAFT4_KEYWORDS = frozenset({
    "$schema", "id", "$ref", "definitions", "title", "description", "default", "format",
    "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength",
    "pattern", "additionalItems", "items", "maxItems", "minItems", "uniqueItems", "maxProperties",
    "minProperties", "required", "additionalProperties", "properties", "patternProperties",
    "dependencies", "enum", "type", "allOf", "anyOf", "oneOf", "not"})
DRAFT6_KEYWORDS = (DRAFT4_KEYWORDS - {"id"}) | {"$id", "const", "contains", "propertyNames", "examples"}
DRAFT7_KEYWORDS = DRAFT6_KEYWORDS | {
    "$comment", "if", "then", "else", "readOnly", "writeOnly", "contentMediaType", "contentEncoding"}
DRAFT201909_KEYWORDS = (DRAFT7_KEYWORDS - {"dependencies", "definitions"}) | {
    "$anchor", "$defs", "$recursiveRef", "$recursiveAnchor", "$vocabulary", "dependentRequired",
    "dependentSchemas", "unevaluatedItems", "unevaluatedProperties", "maxContains", "minContains",
    "deprecated", "contentSchema"}
DRAFT202012_KEYWORDS = (DRAFT201909_KEYWORDS - {"$recursiveRef", "$recursiveAnchor", "additionalItems"}) | {
    "$dynamicRef", "$dynamicAnchor", "prefixItems"}
ALL_KEYWORDS = DRAFT4_KEYWORDS | DRAFT6_KEYWORDS | DRAFT7_KEYWORDS | DRAFT201909_KEYWORDS | DRAFT202012_KEYWORDS
# Kept whatever the draft: they assert nothing in 2020-12, and pointers into them must resolve.
CONTAINERS = frozenset({"definitions", "$defs"})

# The `format` names each draft defines (others are unknown there: annotations only).
DRAFT4_FORMATS = frozenset({"date-time", "email", "hostname", "ipv4", "ipv6", "uri"})
DRAFT6_FORMATS = DRAFT4_FORMATS | {"uri-reference", "uri-template", "json-pointer"}
DRAFT7_FORMATS = DRAFT6_FORMATS | {
    "date", "time", "idn-email", "idn-hostname", "iri", "iri-reference", "relative-json-pointer", "regex"}
DRAFT201909_FORMATS = DRAFT7_FORMATS | {"duration", "uuid"}

DRAFT202012_URI = "https://json-schema.org/draft/2020-12/schema"
# Name of the dynamic anchor that stands for 2019-09's `$recursiveAnchor: true` in translated documents.
RECURSIVE_ANCHOR = "_recursiveAnchor"


def _spellings(*paths: str) -> frozenset[str]:
    """A meta-schema's URI as written in the wild: http and https, with and without the empty fragment."""
    return frozenset(f"{scheme}://json-schema.org/{path}{end}"
                     for path in paths for scheme in ("http", "https") for end in ("", "#"))


@dataclass(frozen=True)
class Dialect:
    """Every fact about one JSON Schema draft that reading its schemas depends on."""

    name: str
    meta_schema_uris: frozenset[str]   # `$schema` values that select it (hyper-schema included: its
                                       # extra keywords are link annotations, validation is the draft's)
    specification: referencing.Specification   # base URIs, anchors, subresources, `$ref` resolution
    validator: type                    # the jsonschema class that validates with this draft's rules
    keywords: frozenset[str]           # what it defines; other 2020-12 keywords are ignored in it
    formats: frozenset[str]            # the `format` names it defines
    id_keyword: str                    # "id" (draft-04) or "$id"
    ref_overrides_siblings: bool       # an object with `$ref` is only that `$ref` (draft-04/06/07)
    tuple_items: bool                  # `items` may be an array of positional schemas, `additionalItems`
                                       # then governs the rest (2020-12: `prefixItems` and `items`)
    boolean_exclusive_bounds: bool     # draft-04: `exclusiveMinimum: true` makes `minimum` exclusive
    dependencies: bool                 # `dependencies` (split into dependentRequired/dependentSchemas in 2019-09)
    dynamic_reference: str | None      # "$recursiveRef" (2019-09), "$dynamicRef" (2020-12) or None
    integer_zero_fraction: bool        # is 1.0 an integer? not in draft-04 ("no fraction or exponent part")
    boolean_schemas: bool              # are `true`/`false` schemas? not in draft-04
    legacy_spellings: bool = False     # no `$schema`: 2020-12, reading legacy spellings that have no
                                       # 2020-12 meaning the way the old drafts did

    def resource(self, contents) -> referencing.Resource:
        """A `referencing` resource of `contents` under this draft's rules (`specification`, made
        tolerant of boolean and array subschema positions: see dialect_referencing.tolerant)."""
        return tolerant(self.specification).create_resource(contents)


DRAFT_04 = Dialect(
    name="draft-04", meta_schema_uris=_spellings("draft-04/schema", "draft-04/hyper-schema"),
    specification=referencing.jsonschema.DRAFT4, validator=jsonschema.Draft4Validator,
    keywords=DRAFT4_KEYWORDS, formats=DRAFT4_FORMATS, id_keyword="id", ref_overrides_siblings=True,
    tuple_items=True, boolean_exclusive_bounds=True, dependencies=True, dynamic_reference=None,
    integer_zero_fraction=False, boolean_schemas=False)
DRAFT_06 = Dialect(
    name="draft-06", meta_schema_uris=_spellings("draft-06/schema", "draft-06/hyper-schema"),
    specification=referencing.jsonschema.DRAFT6, validator=jsonschema.Draft6Validator,
    keywords=DRAFT6_KEYWORDS, formats=DRAFT6_FORMATS, id_keyword="$id", ref_overrides_siblings=True,
    tuple_items=True, boolean_exclusive_bounds=False, dependencies=True, dynamic_reference=None,
    integer_zero_fraction=True, boolean_schemas=True)
DRAFT_07 = Dialect(
    name="draft-07", meta_schema_uris=_spellings("draft-07/schema", "draft-07/hyper-schema"),
    specification=referencing.jsonschema.DRAFT7, validator=jsonschema.Draft7Validator,
    keywords=DRAFT7_KEYWORDS, formats=DRAFT7_FORMATS, id_keyword="$id", ref_overrides_siblings=True,
    tuple_items=True, boolean_exclusive_bounds=False, dependencies=True, dynamic_reference=None,
    integer_zero_fraction=True, boolean_schemas=True)
DRAFT_2019_09 = Dialect(
    name="2019-09", meta_schema_uris=_spellings("draft/2019-09/schema", "draft/2019-09/hyper-schema"),
    specification=referencing.jsonschema.DRAFT201909, validator=jsonschema.Draft201909Validator,
    keywords=DRAFT201909_KEYWORDS, formats=DRAFT201909_FORMATS, id_keyword="$id", ref_overrides_siblings=False,
    tuple_items=True, boolean_exclusive_bounds=False, dependencies=False, dynamic_reference="$recursiveRef",
    integer_zero_fraction=True, boolean_schemas=True)
DRAFT_2020_12 = Dialect(
    name="2020-12", meta_schema_uris=_spellings("draft/2020-12/schema", "draft/2020-12/hyper-schema"),
    specification=referencing.jsonschema.DRAFT202012, validator=jsonschema.Draft202012Validator,
    keywords=DRAFT202012_KEYWORDS, formats=DRAFT201909_FORMATS, id_keyword="$id", ref_overrides_siblings=False,
    tuple_items=False, boolean_exclusive_bounds=False, dependencies=False, dynamic_reference="$dynamicRef",
    integer_zero_fraction=True, boolean_schemas=True)
# No `$schema`, or the retired "latest" alias (which named whatever draft was current when the
# schema was written): 2020-12, plus `definitions`, `dependencies`, array-form `items` with
# `additionalItems`, boolean `exclusiveMinimum`/`exclusiveMaximum`, absolute `id` and fragment ids,
# wherever 2020-12 gives the spelling no meaning. `validator` validates the translated document.
UNDECLARED = Dialect(
    name="2020-12+legacy", meta_schema_uris=_spellings("schema"),
    specification=UNDECLARED_SPECIFICATION, validator=jsonschema.Draft202012Validator,
    keywords=DRAFT202012_KEYWORDS | {"id", "dependencies", "additionalItems"}, formats=DRAFT201909_FORMATS,
    id_keyword="$id", ref_overrides_siblings=False, tuple_items=True, boolean_exclusive_bounds=True,
    dependencies=True, dynamic_reference="$dynamicRef", integer_zero_fraction=True, boolean_schemas=True,
    legacy_spellings=True)

DIALECTS = (DRAFT_04, DRAFT_06, DRAFT_07, DRAFT_2019_09, DRAFT_2020_12, UNDECLARED)
_BY_URI = {uri: dialect for dialect in DIALECTS for uri in dialect.meta_schema_uris}
_RETIRED = {uri: name for name in ("draft-03", "draft-02", "draft-01", "draft-00")
            for uri in _spellings(f"{name}/schema", f"{name}/hyper-schema")} | {
    uri: "draft/next" for uri in _spellings("draft/next/schema")}
SUPPORTED = "draft-04, draft-06, draft-07, 2019-09 and 2020-12"


@dataclass(frozen=True)
class CustomMetaSchema:
    """A `$schema` naming no draft: a custom meta-schema. Its meaning comes from the meta-schema
    document itself (its own `$schema` and `$vocabulary`), which only a registry can supply, so
    `dialect_of` reports it instead of guessing a draft."""

    uri: str


def dialect_of(root) -> Dialect | CustomMetaSchema:
    """The dialect the document `root` declares with its `$schema` (UNDECLARED without one).

    Raises InvalidSchemaError for a `$schema` that is not a string, UnsupportedSchemaError for
    json-schema.org meta-schemas other than the supported drafts (draft-03 and older, draft/next,
    unknown paths there); any other URI is a CustomMetaSchema."""
    if not isinstance(root, Mapping) or "$schema" not in root:
        return UNDECLARED
    uri = root["$schema"]
    if not isinstance(uri, str):
        raise InvalidSchemaError(f"'$schema' must be a URI string, not {type(uri).__name__}",
                                 keyword="$schema", path="#")
    if uri in _BY_URI:
        return _BY_URI[uri]
    if uri in _RETIRED:
        raise UnsupportedSchemaError(f"{uri!r} is {_RETIRED[uri]}, which is not supported (supported: {SUPPORTED})",
                                     keyword="$schema", path="#")
    if urlsplit(uri).hostname == "json-schema.org":
        raise UnsupportedSchemaError(f"{uri!r} is not a JSON Schema draft meta-schema (supported: {SUPPORTED})",
                                     keyword="$schema", path="#")
    return CustomMetaSchema(uri)


def dialect_at(schema, enclosing: Dialect) -> Dialect:
    """The dialect of a subschema: its own `$schema` when that names a draft, else the enclosing one
    (as jsonschema and referencing both switch drafts on any subschema's `$schema`)."""
    if isinstance(schema, Mapping) and isinstance(schema.get("$schema"), str):
        return _BY_URI.get(schema["$schema"], enclosing)
    return enclosing


# ------------------------------------------------------------------ one schema object
def as_2020_12(schema, dialect: Dialect, *, path: str = "#"):
    """The keywords of one schema object with their 2020-12 meaning; subschemas are left as they are.

    Returns a new dict (booleans as they are); never mutates `schema`. Keywords the dialect does not
    define are dropped when 2020-12 (or another draft) would give them a meaning; keywords no draft
    defines are kept. In 2019-09, `$recursiveRef` and `$recursiveAnchor` stay: the target of a
    `$recursiveRef` depends on the dynamic scope, which `referencing.jsonschema.lookup_recursive_ref`
    computes from the compiler's resolver (translate_document maps them to `$dynamicRef`).
    `path` (the object's JSON path) is used in error messages.
    """
    if isinstance(schema, bool):
        return schema
    if not isinstance(schema, Mapping):
        raise InvalidSchemaError(f"a schema must be an object or a boolean, not {type(schema).__name__}", path=path)
    if dialect.legacy_spellings:
        out = _undeclared_as_2020_12(schema, path)
    elif dialect.ref_overrides_siblings and "$ref" in schema:
        # Beside `$ref` every keyword is ignored. Kept: containers that pointers may traverse and
        # keywords no draft defines (they assert nothing).
        out = {key: value for key, value in schema.items()
               if key in ("$ref", "$schema") or key in CONTAINERS or key not in ALL_KEYWORDS}
    else:
        out = {key: value for key, value in schema.items()
               if key in dialect.keywords or key in CONTAINERS or key not in ALL_KEYWORDS}
        if dialect.boolean_exclusive_bounds:
            for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
                if exclusive in out and not isinstance(out[exclusive], bool):
                    raise InvalidSchemaError(f"in {dialect.name} {exclusive!r} is a boolean modifying {bound!r}, "
                                             f"not {out[exclusive]!r}", keyword=exclusive, path=path)
                _boolean_bound(out, exclusive, bound)
        if dialect.dependencies and "dependencies" in out:
            _split_dependencies(out, path)
        if dialect.tuple_items:
            _tuple_items(out)
    if isinstance(out.get("$schema"), str) and out["$schema"] in _BY_URI:
        out["$schema"] = DRAFT202012_URI
    for keyword in ("id", "$id", "$anchor"):
        out.pop(keyword, None)
    out.update(identity_2020_12(schema, dialect, path=path))
    return out


def identity_2020_12(schema, dialect: Dialect, *, path: str = "#") -> dict:
    """The `$id` and `$anchor` that `schema` declares under `dialect`'s rules, spelled as in 2020-12.

    Draft-04's `id` and draft-06/07's `$id` may carry a fragment, a plain-name anchor (`"#foo"`,
    `"y.json#foo"`); beside `$ref` the id is ignored but the anchor still counts. A fragment that is
    no 2020-12 anchor name (`#/definitions/x`: pointers never name anchors; `#a!b`) is dropped, and
    translate_document refuses a `$ref` to one. For a subschema whose own `$schema` switches the
    dialect, the enclosing dialect decides its identity (the spec identifies embedded resources by the
    embedding dialect's `$id`; jsonschema takes the base URI the same way when it descends)."""
    if not isinstance(schema, Mapping):
        return {}
    keyword = dialect.id_keyword
    if keyword in schema and not isinstance(schema[keyword], str):
        raise InvalidSchemaError(f"{keyword!r} must be a URI string", keyword=keyword, path=path)
    if dialect.legacy_spellings:
        uri, anchor = legacy_identity(schema)
        anchor = schema.get("$anchor", anchor)
    elif dialect.ref_overrides_siblings:
        uri, _, fragment = schema.get(keyword, "").partition("#")
        uri = None if "$ref" in schema else uri
        anchor = fragment if ANCHOR_NAME.fullmatch(fragment) else None
    else:
        uri, anchor = schema.get("$id"), schema.get("$anchor")
    return {key: value for key, value in (("$id", uri), ("$anchor", anchor)) if value}


def _boolean_bound(out: dict, exclusive: str, bound: str) -> None:
    """Draft-04 `{minimum: m, exclusiveMinimum: true}` is 2020-12 `{exclusiveMinimum: m}`."""
    if not isinstance(out.get(exclusive), bool):
        return
    if out.pop(exclusive) and bound in out:
        out[exclusive] = out.pop(bound)


def _split_dependencies(out: dict, path: str) -> None:
    """`dependencies`: array values -> `dependentRequired`, schema values -> `dependentSchemas`,
    merged with what those keywords already say (both apply)."""
    dependencies = out.pop("dependencies")
    if not isinstance(dependencies, Mapping):
        raise InvalidSchemaError("'dependencies' must be an object", keyword="dependencies", path=path)
    required = dict(out.get("dependentRequired") or {})
    schemas = dict(out.get("dependentSchemas") or {})
    for name, dependency in dependencies.items():
        if isinstance(dependency, list):
            required[name] = list(dict.fromkeys([*required.get(name, []), *dependency]))
        elif isinstance(dependency, (Mapping, bool)):
            schemas[name] = {"allOf": [schemas[name], dependency]} if name in schemas else dependency
        else:
            raise InvalidSchemaError(f"a dependency must be an array of names or a schema, not {dependency!r}",
                                     keyword="dependencies", path=f"{path}/dependencies/{pointer_token(name)}")
    if required:
        out["dependentRequired"] = required
    if schemas:
        out["dependentSchemas"] = schemas


def _tuple_items(out: dict) -> None:
    """Array-form `items` -> `prefixItems`, and `additionalItems` -> `items`. Beside a schema-form (or
    no) `items`, `additionalItems` is ignored, as every draft that has it says."""
    additional = out.pop("additionalItems", None)
    if isinstance(out.get("items"), list):
        out["prefixItems"] = out.pop("items")
        if additional is not None:
            out["items"] = additional


def _undeclared_as_2020_12(schema: Mapping, path: str) -> dict:
    """No `$schema`: 2020-12, reading a legacy spelling only where 2020-12 gives it no meaning."""
    out = {key: value for key, value in schema.items() if key not in ("$recursiveRef", "$recursiveAnchor")}
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        _boolean_bound(out, exclusive, bound)   # a 2020-12 exclusive bound is a number
    if "dependencies" in out:                   # not a 2020-12 keyword
        _split_dependencies(out, path)
    if isinstance(out.get("items"), list):      # a 2020-12 `items` is a schema
        if "prefixItems" in out:
            raise InvalidSchemaError("both 'prefixItems' and an array-form 'items': which one lists the "
                                     "positions is ambiguous", keyword="items", path=path)
        _tuple_items(out)
    else:
        out.pop("additionalItems", None)
    return out


# ------------------------------------------------------------------ whole documents
def translate_document(root, dialect: Dialect):
    """`root` with every subschema translated to 2020-12 (a new document; `root` is not mutated).

    Walks the subschema positions of each object's dialect (switching on a subschema's own
    `$schema`), declares 2020-12 at the root, rewrites `$ref` pointers whose positions moved
    (`#/items/0` -> `#/prefixItems/0`, `#/dependencies/a` -> `#/dependentSchemas/a`, ...), translates
    schemas that `$ref`s reach inside unknown keywords, and maps 2019-09 `$recursiveAnchor: true`
    to a `$dynamicAnchor` and `$recursiveRef` to `$dynamicRef` (see docs/json_schema_dialects.md for
    the one dynamic-scope case this cannot reproduce). Raises UnsupportedSchemaError for a `$ref`
    whose target lies inside a keyword the dialect ignores.
    """
    if not isinstance(dialect, Dialect):
        raise TypeError(f"translate_document needs a Dialect, not {dialect!r} (a CustomMetaSchema has no "
                        "fixed translation)")
    if isinstance(root, bool):
        return root
    from constrain.grammars.json_schema.dialect_document import DocumentTranslator  # it builds on this module

    try:
        return DocumentTranslator(root, dialect).run()
    except RecursionError:
        raise SchemaTooLargeError("schema nests too deeply to be translated", path="#") from None
