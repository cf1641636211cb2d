"""`referencing` Specifications for the dialects: how `$ref`s, ids and anchors resolve.

`tolerant(specification)` wraps one of referencing's drafts so that crawling never hands a
non-object to the draft's id and anchor functions: referencing's draft-04/06/07 rules yield every
value of a `dependencies` whose first value is a schema, array values included (SchemaStore's
tmlanguage.json mixes them), and its draft-04 rules fail on boolean subschemas. Booleans and arrays
have no ids or anchors to find. (A subschema with its own `$schema` is crawled with referencing's
own rules for that draft, which a wrapper cannot reach: see dialect_document.DocumentTranslator.)

`UNDECLARED_SPECIFICATION` is for schemas with no `$schema`: draft 2020-12's rules plus the legacy
identifiers and subschema positions that undeclared real-world schemas still write. On top of
2020-12 it knows:

- array-form `items` (each element a subschema), `additionalItems` beside it, and the schema
  values of `dependencies`, so subresources and JSON pointers through them work;
- draft-06/07's plain-name `$id: "#foo"` and draft-04's `id: "#foo"` as anchors, when the schema
  has no `$anchor` of its own and the name is one 2020-12 allows (`#/definitions/x` is a pointer);
- draft-04's `id` as the base URI only when it is an absolute URI and `$id` is absent. Relative
  `id`s in undeclared schemas are labels, not identifiers: generators wrote `"id": "schemata/app"`
  or `"id": "/properties/name"` above `$ref`s written from the document root
  (`"#/definitions/app/..."`); honouring them would break every such `$ref`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import referencing
import referencing.jsonschema

# draft 2020-12's subschema positions, by the shape of the keyword's value
SCHEMA_VALUED = frozenset({
    "additionalProperties", "contains", "contentSchema", "else", "if", "items", "not", "propertyNames",
    "then", "unevaluatedItems", "unevaluatedProperties"})
SCHEMA_ARRAYS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
SCHEMA_MAPS = frozenset({"$defs", "definitions", "dependentSchemas", "patternProperties", "properties"})
ANCHOR_NAME = re.compile(r"[A-Za-z_][-A-Za-z0-9._]*")  # what 2020-12's meta-schema allows in `$anchor`


def pointer_token(key) -> str:
    """One JSON pointer segment (RFC 6901 escapes)."""
    return str(key).replace("~", "~0").replace("/", "~1")


@functools.cache
def tolerant(specification: referencing.Specification) -> referencing.Specification:
    """`specification`, except that only JSON objects reach its id and anchor functions."""
    def subresources_of(contents):
        if isinstance(contents, Mapping):
            yield from (each for each in specification.subresources_of(contents) if isinstance(each, Mapping))

    return referencing.Specification(
        name=specification.name,
        id_of=lambda contents: specification.id_of(contents) if isinstance(contents, Mapping) else None,
        subresources_of=subresources_of,
        anchors_in=lambda _, contents: specification.anchors_in(contents) if isinstance(contents, Mapping) else [],
        maybe_in_subresource=specification.maybe_in_subresource,
    )


def legacy_identity(schema) -> tuple[str | None, str | None]:
    """(base URI, plain-name anchor) that an undeclared schema object declares, 2020-12 first.

    `$id` wins over `id`; a fragment (`"#foo"`, `"http://x/y.json#foo"`) is an anchor, kept only
    when it is a 2020-12 anchor name and the object has no `$anchor` (it holds one in 2020-12)."""
    if not isinstance(schema, Mapping):
        return None, None
    if isinstance(schema.get("$id"), str):
        uri, _, fragment = schema["$id"].partition("#")
    elif isinstance(schema.get("id"), str):
        uri, _, fragment = schema["id"].partition("#")
        if uri and not urlsplit(uri).scheme:
            return None, None  # a relative legacy id is a label (see the module docstring)
    else:
        return None, None
    anchor = fragment if ANCHOR_NAME.fullmatch(fragment) and "$anchor" not in schema else None
    return uri or None, anchor


def _id_of(schema) -> str | None:
    return legacy_identity(schema)[0]


def _anchors_in(specification, schema):
    if not isinstance(schema, Mapping):
        return []
    resource = specification.create_resource(schema)
    anchors = []
    if isinstance(schema.get("$anchor"), str):
        anchors.append(referencing.Anchor(name=schema["$anchor"], resource=resource))
    if isinstance(schema.get("$dynamicAnchor"), str):
        anchors.append(referencing.jsonschema.DynamicAnchor(name=schema["$dynamicAnchor"], resource=resource))
    legacy_anchor = legacy_identity(schema)[1]
    if legacy_anchor is not None:
        anchors.append(referencing.Anchor(name=legacy_anchor, resource=resource))
    return anchors


def _subresources_of(schema):
    if not isinstance(schema, Mapping):
        return
    for keyword, value in schema.items():
        if keyword == "items" and isinstance(value, list):
            yield from value
        elif keyword == "additionalItems":
            if isinstance(schema.get("items"), list):
                yield value
        elif keyword == "dependencies" and isinstance(value, Mapping):
            yield from (each for each in value.values() if isinstance(each, (Mapping, bool)))
        elif keyword in SCHEMA_VALUED:
            yield value
        elif keyword in SCHEMA_ARRAYS and isinstance(value, list):
            yield from value
        elif keyword in SCHEMA_MAPS and isinstance(value, Mapping):
            yield from value.values()


def _maybe_in_subresource(segments, resolver, subresource):
    """Enter `subresource` (taking its base URI) only if the pointer walked schema positions only."""
    index = 0
    while index < len(segments):
        segment = segments[index]
        takes_member = segment in SCHEMA_ARRAYS or segment in SCHEMA_MAPS or segment == "dependencies" or (
            segment == "items" and index + 1 < len(segments) and isinstance(segments[index + 1], int))
        if takes_member:
            index += 2
        elif segment in SCHEMA_VALUED or segment == "additionalItems":
            index += 1
        else:
            return resolver
        if index > len(segments):
            return resolver  # the pointer stopped at a container, not at a schema
    return resolver.in_subresource(subresource)


UNDECLARED_SPECIFICATION = referencing.Specification(
    name="draft2020-12+legacy",
    id_of=_id_of,
    subresources_of=_subresources_of,
    anchors_in=_anchors_in,
    maybe_in_subresource=_maybe_in_subresource,
)
