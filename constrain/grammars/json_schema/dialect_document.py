"""A whole JSON Schema document in 2020-12: the walk behind dialects.translate_document.

Pass 1 translates every subschema the document's drafts reach (each with `as_2020_12`), remembering
where each original object went; pass 2 resolves each `$ref` in the original document, with the
original draft's rules, and points it at the same place in the new one. Schemas that a `$ref`
reaches inside keywords no draft defines are translated where they sit.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from urllib.parse import unquote, urldefrag

import referencing
import referencing.exceptions

from constrain.grammars.json_schema.dialect_referencing import (
    ANCHOR_NAME,
    SCHEMA_ARRAYS,
    SCHEMA_MAPS,
    SCHEMA_VALUED,
    pointer_token,
)
from constrain.grammars.json_schema.dialects import (
    DRAFT202012_URI,
    RECURSIVE_ANCHOR,
    Dialect,
    as_2020_12,
    dialect_at,
    identity_2020_12,
)
from constrain.grammars.json_schema.errors import InvalidSchemaError, UnsupportedSchemaError


class DocumentTranslator:
    """Translates one document; `run()` returns the new one (see the module docstring)."""

    def __init__(self, root, dialect: Dialect):
        self.root = root
        self.dialect = dialect_at(root, dialect)
        resource = self.dialect.resource(root)
        self.base = resource.id() or ""
        self.registry = referencing.Registry().with_resource(self.base, resource)
        try:
            self.registry = self.registry.crawl()
            self.crawled = True
        except (AttributeError, TypeError):
            # referencing's own rules for a subschema that switches to draft-04 with `$schema` fail
            # on its boolean subschemas (SchemaStore's config.json). Pointers from the root still
            # resolve; _retarget refuses the references that would need the crawl.
            self.crawled = False
        self.placed: dict[int, tuple] = {}   # id(original object) -> (its output path, its dialect)
        self.copied: set[tuple] = set()      # output paths of verbatim (untranslated) values
        self.references: list = []           # (output object, keyword, resolver, dialect)
        self.out = None

    def run(self):
        self.out = self._visit(self.root, self.dialect, (), "#", self.registry.resolver(self.base))
        self.out["$schema"] = DRAFT202012_URI
        index = 0
        while index < len(self.references):  # translating a target in place may add references
            self._retarget(*self.references[index])
            index += 1
        return self.out

    def _visit(self, schema, enclosing: Dialect, out_path: tuple, path: str, resolver):
        if isinstance(schema, bool):
            return schema
        if not isinstance(schema, Mapping):
            raise InvalidSchemaError(f"a schema must be an object or a boolean, not {type(schema).__name__}",
                                     path=path)
        dialect = dialect_at(schema, enclosing)
        out = as_2020_12(schema, dialect, path=path)  # first: it refuses malformed ids
        if dialect is not enclosing:  # its keywords are its own draft's, its identity is not
            for keyword in ("$id", "$anchor"):
                out.pop(keyword, None)
            out.update(identity_2020_12(schema, enclosing, path=path))
        resolver = resolver.in_subresource(enclosing.resource(schema))
        self.placed[id(schema)] = (out_path, dialect)
        if dialect.dynamic_reference == "$recursiveRef":
            self._recursive_to_dynamic(schema, out, resolver)
        for keyword, value in list(out.items()):
            where = out_path + (keyword,)
            if keyword in SCHEMA_VALUED:
                out[keyword] = self._visit(value, dialect, where, _origin(schema, value, path, keyword), resolver)
            elif keyword in SCHEMA_ARRAYS and isinstance(value, list):
                out[keyword] = [self._visit(each, dialect, where + (i,), _origin(schema, each, path, keyword, i),
                                            resolver) for i, each in enumerate(value)]
            elif keyword in SCHEMA_MAPS and isinstance(value, Mapping):
                out[keyword] = {name: self._visit(each, dialect, where + (name,),
                                                  _origin(schema, each, path, keyword, name), resolver)
                                for name, each in value.items()}
            elif keyword in SCHEMA_ARRAYS or keyword in SCHEMA_MAPS:
                shape = "an array" if keyword in SCHEMA_ARRAYS else "an object"
                raise InvalidSchemaError(f"{keyword!r} must be {shape} of schemas", keyword=keyword, path=path)
            else:
                out[keyword] = copy.deepcopy(value)
                self.copied.add(where)
        for keyword in ("$ref", "$dynamicRef"):
            if keyword in schema and isinstance(out.get(keyword), str):
                self.references.append((out, keyword, resolver, dialect))
        return out

    def _recursive_to_dynamic(self, schema: Mapping, out: dict, resolver) -> None:
        """2019-09 -> 2020-12: a resource root with `$recursiveAnchor: true` gets a dynamic anchor;
        `$recursiveRef` (whatever its value, "#": the current resource) becomes a `$dynamicRef` to
        that anchor, or a plain reference to the resource when its root has no recursive anchor."""
        if out.pop("$recursiveAnchor", None) is True and (schema is self.root or "$id" in out):
            out["$dynamicAnchor"] = RECURSIVE_ANCHOR
        if "$recursiveRef" in out:
            del out["$recursiveRef"]
            resource_root = resolver.lookup("#").contents
            anchored = isinstance(resource_root, Mapping) and resource_root.get("$recursiveAnchor") is True
            out["$dynamicRef"] = "#" + RECURSIVE_ANCHOR if anchored else "#"

    def _retarget(self, out: dict, keyword: str, resolver, dialect: Dialect) -> None:
        """Point a JSON-pointer `$ref` at the output position of what it reached in the original."""
        reference = out[keyword]
        uri, fragment = urldefrag(reference)
        if fragment and not fragment.startswith("/") and not ANCHOR_NAME.fullmatch(fragment):
            raise UnsupportedSchemaError(f"{reference!r} names an anchor that 2020-12 cannot spell", keyword=keyword)
        if not fragment.startswith("/"):
            return  # ids and anchors travel with their schemas
        try:
            resolved = resolver.lookup(reference)
            base = resolver.lookup(uri + "#").contents
        except (referencing.exceptions.Unresolvable, LookupError, ValueError):
            return  # another document (translated on its own) or a dangling reference: left as written
        except (AttributeError, TypeError):  # the lookup needed the crawl that failed
            if self.crawled:
                raise
            raise UnsupportedSchemaError(f"{reference!r} cannot be followed: the document holds a subschema that "
                                         "referencing cannot index", keyword=keyword) from None
        if id(base) not in self.placed:
            return
        segments = _pointer_segments(base, fragment)
        nodes = [base]
        for segment in segments:
            nodes.append(nodes[-1][segment])
        deepest = max(i for i, node in enumerate(nodes) if isinstance(node, Mapping) and id(node) in self.placed)
        new_path, node_dialect = self.placed[id(nodes[deepest])]
        rest = segments[deepest:]
        moved = _moved_position(nodes[deepest], node_dialect, rest) if rest else None
        if moved is not None:
            consumed, renamed = moved
            new_path, rest = new_path + renamed, rest[consumed:]
        new_path += tuple(rest)
        if rest and not (isinstance(resolved.contents, Mapping) and id(resolved.contents) in self.placed):
            self._translate_in_place(new_path, resolved, dialect, reference)
        base_path = self.placed[id(base)][0]
        out[keyword] = uri + "#" + "".join(f"/{pointer_token(segment)}" for segment in new_path[len(base_path):])

    def _translate_in_place(self, new_path: tuple, resolved, dialect: Dialect, reference: str) -> None:
        """A `$ref` reaches a place the walk did not visit. Inside a keyword no draft defines (where
        validators still follow pointers) the schema there is translated where it sits; a place that
        the translation dropped has no counterpart."""
        parent = self.out
        try:
            for segment in new_path[:-1]:
                parent = parent[segment]
            parent[new_path[-1]]
        except (LookupError, TypeError):
            raise UnsupportedSchemaError(f"{reference!r} points to a place with no 2020-12 counterpart (a keyword "
                                         f"that {dialect.name} ignores there, or one that 2020-12 splits)",
                                         keyword="$ref") from None
        if any(new_path[:n] in self.copied for n in range(1, len(new_path) + 1)):
            parent[new_path[-1]] = self._visit(resolved.contents, dialect, new_path, "#" + urldefrag(reference)[1],
                                               resolved.resolver)


def _pointer_segments(document, fragment: str) -> list:
    """The segments of a JSON pointer, array indexes as ints (as referencing reads them)."""
    segments, node = [], document
    for raw in unquote(fragment[1:]).split("/"):
        segment = int(raw) if isinstance(node, list) else raw.replace("~1", "/").replace("~0", "~")
        segments.append(segment)
        node = node[segment]
    return segments


def _moved_position(schema: Mapping, dialect: Dialect, segments: list):
    """Where as_2020_12 moved the subschema at `segments` below `schema`: (segments consumed,
    new segments), or None where nothing moved. Mirrors _tuple_items and _split_dependencies."""
    if dialect.ref_overrides_siblings and "$ref" in schema:
        return None
    head = segments[0]
    if dialect.tuple_items and isinstance(schema.get("items"), list):
        if head == "items" and len(segments) > 1:
            return 2, ("prefixItems", segments[1])
        if head == "additionalItems":
            return 1, ("items",)
    if dialect.dependencies and isinstance(schema.get("dependencies"), Mapping) and len(segments) > 1:
        name = segments[1]
        merged = dialect.legacy_spellings and name in (schema.get("dependentSchemas") or {})
        if head == "dependencies" and not isinstance(schema["dependencies"].get(name), list):
            return 2, ("dependentSchemas", name) + (("allOf", 1) if merged else ())
        if head == "dependentSchemas" and merged:
            return 2, ("dependentSchemas", name, "allOf", 0)
    return None


def _origin(schema: Mapping, value, path: str, keyword: str, member=None) -> str:
    """The JSON path of subschema `value` in the original document, for error messages (the output
    position may have another name, as `prefixItems` for `items`)."""
    held = schema.get(keyword)
    if member is None and held is value:
        return f"{path}/{pointer_token(keyword)}"
    if member is not None and isinstance(held, (list, Mapping)) and _member(held, member) is value:
        return f"{path}/{pointer_token(keyword)}/{pointer_token(member)}"
    for key, held in schema.items():  # moved: find where it came from
        if held is value:
            return f"{path}/{pointer_token(key)}"
        members = enumerate(held) if isinstance(held, list) else held.items() if isinstance(held, Mapping) else ()
        for name, each in members:
            if each is value:
                return f"{path}/{pointer_token(key)}/{pointer_token(name)}"
    suffix = "" if member is None else f"/{pointer_token(member)}"
    return f"{path}/{pointer_token(keyword)}{suffix}"


def _member(container, member):
    if isinstance(container, list):
        return container[member] if isinstance(member, int) and 0 <= member < len(container) else None
    return container.get(member)
