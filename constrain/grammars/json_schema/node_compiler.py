"""Schema -> nodes: the dispatcher, `$ref` resolution and the lazy node table.

`node_id(schema, ctx)` names a schema position without compiling it; `node(id)` compiles it the
first time the parser (or an intersection, a complement, an emptiness check) needs its content.
A schema's parts combine as node operations: `$ref`, `allOf` and sibling keywords intersect,
`anyOf` unites, `oneOf` is the union of each branch minus the others, `not` complements, `if`
becomes (if AND then) OR (NOT if AND else), `dependentSchemas` becomes "key absent OR key present
AND schema" per key. `enum`/`const` are exact whatever they are combined with: each candidate
value is validated with `jsonschema` against the schema less its own `enum`/`const` (which the
candidate satisfies by being one of its values).

Strict mode closes an object that lists properties and says nothing about other keys. It applies
to a schema at a value position (and to anyOf/oneOf branches, which are alternative values), not
to the partial schemas that allOf, `not`, `if` or `contains` combine: those close, if at all, once
combined at their position.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import urljoin

import referencing
import referencing.jsonschema
from jsonschema_specifications import REGISTRY as SPECIFICATIONS

from constrain.grammars.json_schema import node_algebra as algebra
from constrain.grammars.json_schema.array_shapes import array_shape
from constrain.grammars.json_schema.dialects import DRAFT_2020_12, Dialect, as_2020_12, dialect_at
from constrain.grammars.json_schema.errors import InvalidSchemaError, SchemaTooLargeError, UnsupportedSchemaError
from constrain.grammars.json_schema.json_terms import JsonTerms
from constrain.grammars.json_schema.keywords import ANNOTATIONS, JSON_TYPES, REFERENCES
from constrain.grammars.json_schema.literals import canonical_key
from constrain.grammars.json_schema.object_shapes import object_shape
from constrain.grammars.json_schema.position_names import PositionNames
from constrain.grammars.json_schema.rewrites import unevaluated_as_all_of
from constrain.grammars.json_schema.scalar_terms import (
    format_accepts,
    number_term,
    scalar_literal_term,
    string_term,
)
from constrain.grammars.json_schema.schema_dialect import (
    DRAFT4_INTEGER,
    UndeclaredView,
    declared_dialect,
    draft4_spellings,
    integral_number,
    resource_dialect,
)
from constrain.grammars.json_schema.shapes import ArrayShape, Node, ObjectShape
from constrain.grammars.lexemes.terms import TermStore

ANY, NOTHING = 0, 1  # reserved node ids
ANY_OBJECT, ANY_ARRAY = 0, 0  # reserved shape ids
MAX_LITERALS = 100_000
MAX_EAGER_NODES = 5000
_OBJECT_ONLY = ("properties", "required", "additionalProperties", "patternProperties", "propertyNames",
                "minProperties", "maxProperties", "dependentRequired")
_ARRAY_ONLY = ("items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains", "minContains",
               "maxContains")
_STRING_ONLY = ("minLength", "maxLength", "pattern", "format")
_NUMBER_ONLY = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


# how every keyword that names a resource or an anchor starts in compact JSON (separators ",", ":")
_IDENTIFIER_KEYS = ('"$id":"', '"id":"', '"$anchor":"', '"$dynamicAnchor":"', '"$recursiveAnchor":')


def may_declare_identifiers(text: str) -> bool:
    """Whether a schema's compact JSON text may declare an identifier or anchor (`$id`, draft-04's
    `id`, `$anchor`, `$dynamicAnchor`, `$recursiveAnchor`). A false positive (a property named
    "id" with a string default) only costs the crawl."""
    return any(key in text for key in _IDENTIFIER_KEYS)


def pointer_token(key) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True)
class Ctx:
    """Where a subschema sits: the `referencing` resolver (its base URI), its JSON path, whether
    strict mode may close its objects (a value position, not a partial schema), and the dialect of
    the schema around it (a subschema's own `$schema` may switch its keywords' dialect)."""

    resolver: object
    path: str
    strict: bool = True
    entered: int | None = None  # id() of a schema whose $id this resolver already applies
    dialect: Dialect = DRAFT_2020_12

    def child(self, *parts, strict: bool = True) -> Ctx:
        return Ctx(self.resolver, "/".join([self.path] + [pointer_token(p) for p in parts]), strict,
                   dialect=self.dialect)

    def partial(self, *parts) -> Ctx:
        """A subschema that constrains its position together with others (allOf, not, if, ...)."""
        return self.child(*parts, strict=False)

    @property
    def base(self) -> str:
        return self.resolver._base_uri


# a format jsonschema's checkers test that constrain has no exact-or-narrower regex for (IDNA 2008
# rules need Unicode tables): refused, not guessed. Every format in formats.FORMATS is enforced
# whatever the draft (who writes `uuid` under draft-04 wants one); other names are annotations
# that validators ignore too.
CHECKED_NOT_ENFORCED = frozenset({"idn-hostname"})


class SchemaCompiler:
    def __init__(self, root, *, store: TermStore, whitespace: int | None, strict: bool, lenient: bool,
                 registry=None, text: str | None = None):
        """`text`: the schema as compact JSON, if the caller has it: a document that declares no
        identifier or anchor (may_declare_identifiers) is not crawled for them."""
        crawl = registry is not None or text is None or may_declare_identifiers(text)
        self.terms = JsonTerms.of(store, whitespace)
        self.store = store
        self.strict = strict
        self.lenient = lenient
        self._warned: set = set()
        registry = SPECIFICATIONS if registry is None else SPECIFICATIONS.combine(registry)
        self._undeclared = UndeclaredView(root, registry)
        self.dialect = declared_dialect(root, registry)
        try:
            resource = self.dialect.resource(root if not isinstance(root, bool) else {})
            base = resource.id() or ""
            registry = registry.with_resource(base, resource)
        except (AttributeError, TypeError, ValueError) as exc:  # a subschema that is not a schema
            raise InvalidSchemaError(f"the schema's structure is invalid: {exc}") from None
        try:
            # without identifiers, referencing's index would hold only the root, which is in already
            self.registry = registry.crawl() if crawl else registry
        except (AttributeError, TypeError):
            # referencing's own rules for a subschema that switches draft with `$schema` can fail on
            # its contents (draft-04 rules on boolean subschemas); references that need the index
            # are refused in resolve(), the others still resolve.
            self.registry = registry
        self.root = root
        self.root_ctx = Ctx(self.registry.resolver(base), "#", strict, dialect=self.dialect)
        self._validators: dict[str, object] = {}
        self._local: dict[tuple, tuple] = {}   # (id(schema), dialect) -> (schema, its 2020-12 keywords)
        # id -> (a schema the compiler wrote, already in 2020-12; the tag naming its recipe)
        self._native: dict[int, tuple[dict, object]] = {}
        self.names = PositionNames()
        self.nodes: list[Node | None] = []
        self._sources: list = []
        self._ids: dict = {}
        self._compiling: set[int] = set()
        self.objects: list[ObjectShape] = []
        self.arrays: list[ArrayShape] = []
        any_object = ObjectShape(path="(any object)", others=((self.terms.any_string, ANY, False),))
        any_array = ArrayShape(path="(any array)", items=ANY)
        self.add_object(any_object)
        self.add_array(any_array)
        t = self.terms
        self._add_node(("any",), None, Node("(any value)", t.any_string, t.any_number, t.any_literal,
                                            (ANY_OBJECT,), (ANY_ARRAY,)))
        self._add_node(("nothing",), None, Node("(no value)"))
        self.names.add_unnamed()
        self.names.add_unnamed()
        self.root_id = self.node_id(root, self.root_ctx)

    def size_token(self) -> tuple:
        """Changes when the compiler may own more (compiled_cache.GrowsRarely): its tables only
        grow, and a position compiles in place of its None."""
        return (len(self.nodes), self.nodes.count(None), len(self.objects), len(self.arrays), len(self._local),
                len(self._ids), len(self._validators), len(self._native), self._undeclared.built)

    # ------------------------------------------------------------------ the node table
    def _add_node(self, key, source, node: Node | None = None) -> int:
        nid = len(self.nodes)
        self._ids[key] = nid
        self.nodes.append(node)
        self._sources.append(source)
        return nid

    def node_id(self, schema, ctx: Ctx) -> int:
        """The id of a schema position; compiled when first needed."""
        if schema is True or (isinstance(schema, dict) and not (set(schema) - ANNOTATIONS) and "$ref" not in schema):
            return ANY
        if schema is False:
            return NOTHING
        key = self._key(schema, ctx)
        nid = self._ids.get(key)
        if nid is None:
            nid = self._add_node(key, ("schema", schema, ctx))
            tag = self._native[id(schema)][1] if self.is_native(schema) else None
            self.names.add_position(nid, tag, ctx.path, key[1:], schema)
        return nid

    def derived_id(self, key: tuple, build) -> int:
        """The id of a node computed from others (an intersection, a complement, ...)."""
        nid = self._ids.get(key)
        if nid is None:
            nid = self._add_node(key, ("derived", build))
            self.names.add_derived(nid, key)
        return nid

    def node(self, nid: int) -> Node:
        node = self.nodes[nid]
        if node is not None:
            return node
        if nid in self._compiling:
            source = self._sources[nid]
            path = source[2].path if source[0] == "schema" else "#"
            raise UnsupportedSchemaError("a recursive reference is combined with other keywords (its value "
                                         "would be needed to compile itself)", keyword="$ref", path=path)
        if len(self._compiling) > 500:
            raise SchemaTooLargeError("schema nests deeper than 500 levels")
        self._compiling.add(nid)
        try:
            source = self._sources[nid]
            node = self._compile(source[1], source[2]) if source[0] == "schema" else source[1]()
        finally:
            self._compiling.discard(nid)
        self.nodes[nid] = node
        return node

    def compile_reachable(self, limit: int = MAX_EAGER_NODES) -> None:
        """Compile every position reachable from the root (up to `limit` nodes; past that, the
        rest compiles when generation reaches it), so that refusals come now, not mid-generation."""
        queue, seen = [self.root_id], {self.root_id}
        objects_done, arrays_done = set(), set()
        while queue and len(seen) <= limit:
            node = self.node(queue.pop())
            children = []
            for o in node.objects:
                if o not in objects_done:
                    objects_done.add(o)
                    shape = self.objects[o]
                    children += [v for v in shape.key_values if v >= 0] + [n for _, n, _ in shape.others]
            for a in node.arrays:
                if a not in arrays_done:
                    arrays_done.add(a)
                    shape = self.arrays[a]
                    children += [v for v in shape.prefix + (shape.items, shape.contains) if v >= 0]
                    self._check_array(a)
            for child in children:
                if child not in seen:
                    seen.add(child)
                    queue.append(child)

    def _check_array(self, aid: int) -> None:
        shape = self.arrays[aid]
        if shape.unique:
            items = [v for v in shape.prefix + (shape.items,) if v >= 0]
            if any(self.node(v).objects or self.node(v).arrays for v in items):
                ctx = Ctx(None, shape.path)
                self.unsupported("uniqueItems", ctx, "uniqueItems is enforced for scalar items (strings, numbers, "
                                 "booleans, null); these items may be objects or arrays")
                self.arrays[aid] = replace(shape, unique=False)
        if shape.contains >= 0 and shape.max_contains is not None:
            self.node(self.negate_id(shape.contains, shape.path + "/contains"))

    def add_object(self, shape: ObjectShape) -> int:
        self.objects.append(shape)
        return len(self.objects) - 1

    def add_array(self, shape: ArrayShape) -> int:
        self.arrays.append(shape)
        return len(self.arrays) - 1

    def intersect_ids(self, ids) -> int:
        ids = sorted(set(ids) - {ANY})
        if not ids:
            return ANY
        if NOTHING in ids:
            return NOTHING
        if len(ids) == 1:
            return ids[0]
        return self.derived_id(("and", tuple(ids)), lambda: algebra.intersect_all(self, [self.node(i) for i in ids]))

    def union_ids(self, ids, path: str) -> int:
        ids = sorted(set(ids) - {NOTHING})
        if ANY in ids:
            return ANY
        if not ids:
            return NOTHING
        if len(ids) == 1:
            return ids[0]
        return self.derived_id(("or", tuple(ids)), lambda: algebra.union(self, [self.node(i) for i in ids], path))

    def negate_id(self, nid: int, path: str) -> int:
        if nid == ANY:
            return NOTHING
        if nid == NOTHING:
            return ANY
        return self.derived_id(("not", nid), lambda: algebra.negate(self, self.node(nid), path))

    @staticmethod
    def _key(schema, ctx: Ctx):
        """Memo key: the schema object, its base URI, its dynamic scope ($dynamicRef targets depend
        on the resources entered on the way, outermost first; repeats do not matter), strictness."""
        scope = tuple(dict.fromkeys(reversed([uri for uri, _ in ctx.resolver.dynamic_scope()])))
        return (id(schema), ctx.base, scope, ctx.strict, ctx.dialect.name)

    # ------------------------------------------------------------------ refusals
    def unsupported(self, keyword: str, ctx: Ctx, message: str) -> None:
        """Refuse, or with lenient=True warn once per keyword and path and let the caller drop it."""
        if not self.lenient:
            raise UnsupportedSchemaError(message, keyword=keyword, path=ctx.path)
        where = f"{ctx.path}/{keyword}"
        if where not in self._warned:
            self._warned.add(where)
            warnings.warn(f"json_schema(lenient=True) dropped {where}: {message}", stacklevel=4)

    # ------------------------------------------------------------------ references
    def _enter(self, schema: dict, ctx: Ctx) -> Ctx:
        """Enter the resource `schema` starts, if any: its base URI read with the enclosing
        dialect's rules (draft-04's `id`, an ignored `$id` beside a draft-07 `$ref`, ...)."""
        if schema is self.root or self.is_native(schema) or ctx.entered == id(schema):
            return ctx
        if not any(isinstance(schema.get(k), str) for k in ("$id", "id")):
            return ctx
        try:
            resource = ctx.dialect.resource(schema)
            uri = resource.id()
        except (AttributeError, TypeError, ValueError):
            return ctx
        if not uri or urljoin(ctx.base, uri).rstrip("#") == ctx.base.rstrip("#"):
            return ctx  # no identifier, or already inside it (a $ref lookup lands in its own scope)
        return Ctx(ctx.resolver.in_subresource(resource), ctx.path, ctx.strict, id(schema), ctx.dialect)

    def enter(self, schema, ctx: Ctx) -> tuple[dict, Ctx]:
        """(the keywords of `schema` in 2020-12 terms, its context): the resource it starts entered,
        the dialect switched by its own `$schema`, its draft's keywords translated (dialects.py)."""
        ctx = self._enter(schema, ctx)
        if self.is_native(schema):
            return schema, ctx
        dialect = dialect_at(schema, ctx.dialect)
        if dialect is not ctx.dialect:
            ctx = replace(ctx, dialect=dialect)
        key = (id(schema), dialect.name)
        cached = self._local.get(key)
        if cached is None:
            local = as_2020_12(schema, dialect, path=ctx.path)
            if local.get("format") in CHECKED_NOT_ENFORCED:
                self.unsupported("format", ctx, f"format {local['format']!r} is checked by validators and "
                                                "constrain has no regular expression for it")
                del local["format"]
            cached = self._local[key] = (schema, self.native(local, "translated"))
        return cached[1], ctx

    def native(self, schema: dict, tag) -> dict:
        """Mark a schema the compiler wrote (in 2020-12 terms) so that it is not translated again.
        `tag` names the recipe (with what it depends on beyond the position): a position name
        (position_names.py) tells it from the document's schema at the same path."""
        self._native[id(schema)] = (schema, tag)
        return schema

    def is_native(self, schema) -> bool:
        written = self._native.get(id(schema))
        return written is not None and written[0] is schema

    def resolve(self, ref, ctx: Ctx, keyword: str = "$ref"):
        if not isinstance(ref, str):
            raise InvalidSchemaError(f"{keyword} must be a string", keyword=keyword, path=ctx.path)
        try:
            if keyword == "$recursiveRef":  # 2019-09: "#", or the outermost recursive anchor in scope
                if ref != "#":
                    raise InvalidSchemaError("$recursiveRef must be '#'", keyword=keyword, path=ctx.path)
                resolved = referencing.jsonschema.lookup_recursive_ref(ctx.resolver)
            else:
                resolved = ctx.resolver.lookup(ref)
        except referencing.exceptions.Unresolvable as exc:
            raise InvalidSchemaError(f"cannot resolve {ref!r}: {exc}", keyword=keyword, path=ctx.path) from None
        except (AttributeError, TypeError):  # the lookup needed an index that could not be built
            raise UnsupportedSchemaError(f"{ref!r} cannot be followed: the document holds a subschema that "
                                         "referencing cannot index", keyword=keyword, path=ctx.path) from None
        dialect = resource_dialect(self.registry, resolved.resolver, ctx.dialect)
        return resolved.contents, Ctx(resolved.resolver, f"{ctx.path}/{keyword}", ctx.strict, id(resolved.contents),
                                      dialect)

    def is_valid(self, value, schema, ctx: Ctx) -> bool:
        """Whether `value` is valid under `schema` (at `ctx`) by the `jsonschema` class of its
        dialect, and in the enforced `format`."""
        return self.validity_check(schema, ctx)(value)

    def validity_check(self, schema, ctx: Ctx, *, known: str | None = None) -> Callable[[object], bool]:
        """A test of values against `schema` (at `ctx`) by the `jsonschema` class of its dialect,
        and in the enforced `format`, set up once for many values. Without `$schema` the legacy
        spellings of `schema` itself are read (its keywords in 2020-12 terms; deeper ones as
        2020-12 reads them). `known` names a keyword of `schema` itself (`enum` or `const`) that
        every value to test is already known to satisfy: it is left out of the test, since a
        keyword's verdict depends only on the value and that keyword's own content (neither
        keyword reads or makes annotations), and checking each of an enum's n members against
        the whole enum again would cost n * n comparisons. Subschemas keep theirs: a `$ref` back
        to this schema still sees the whole of it."""
        if not isinstance(schema, dict):
            return lambda value: schema is not False
        local, ctx = self.enter(schema, ctx)
        dialect = DRAFT_2020_12 if self.is_native(schema) else ctx.dialect
        resolver = ctx.resolver
        if dialect.legacy_spellings:
            dialect, (schema, resolver) = DRAFT_2020_12, self._undeclared.counterpart(schema, ctx.resolver, ctx.path)
        if known is not None and known in schema:
            schema = {k: v for k, v in schema.items() if k != known}
        validator = self._validators.get(dialect.name)
        if validator is None:
            validator = self._validators[dialect.name] = dialect.validator(
                {}, registry=self.registry, format_checker=dialect.validator.FORMAT_CHECKER)
        bound = validator.evolve(schema=schema, _resolver=resolver)
        path = ctx.path

        def check(value) -> bool:
            try:
                valid = bound.is_valid(value)
            except (referencing.exceptions.Unresolvable, AttributeError, TypeError, LookupError) as exc:
                raise UnsupportedSchemaError(f"the value {value!r} cannot be checked against this schema: {exc}",
                                             keyword="enum", path=path) from None
            return valid and format_accepts(local, value)

        return check

    # ------------------------------------------------------------------ the dispatcher
    def _compile(self, schema, ctx: Ctx) -> Node:
        if not isinstance(schema, dict):
            raise InvalidSchemaError(f"a schema must be an object or a boolean, not {type(schema).__name__}",
                                     path=ctx.path)
        local, ctx = self.enter(schema, ctx)
        eff = self.effective(local, ctx)
        if "enum" in eff or "const" in eff:
            return self._literal_node(schema, eff, ctx)
        combined = [k for k in ("allOf", "anyOf", "oneOf", "not", "if", "dependentSchemas") + REFERENCES if k in eff]
        rest = {k: v for k, v in eff.items() if k not in combined and k not in ("then", "else")}
        if not combined:
            return self._plain_node(rest, ctx)
        refs = [k for k in REFERENCES if k in eff]
        if len(combined) == 1 and refs and not rest:
            target, target_ctx = self.resolve(eff[refs[0]], ctx, refs[0])
            return self.node(self.node_id(target, replace(target_ctx, strict=ctx.strict)))
        parts = []
        for k in refs:
            target, target_ctx = self.resolve(eff[k], ctx, k)
            parts.append(self.node_id(target, replace(target_ctx, strict=False)))
        if "allOf" in eff:
            branches = _schema_list(eff, "allOf", ctx)
            parts += [self.node_id(b, ctx.partial("allOf", i)) for i, b in enumerate(branches)]
        if "anyOf" in eff:
            branches = _schema_list(eff, "anyOf", ctx)
            parts.append(self.union_ids([self.node_id(b, ctx.child("anyOf", i, strict=ctx.strict and not rest))
                                         for i, b in enumerate(branches)], ctx.path))
        if "oneOf" in eff:
            branches = _schema_list(eff, "oneOf", ctx)
            ids = [self.node_id(b, ctx.child("oneOf", i, strict=ctx.strict and not rest))
                   for i, b in enumerate(branches)]
            parts.append(self.derived_id(("oneOf", tuple(ids)),
                                         lambda: algebra.one_of(self, ids, ctx.child("oneOf"))))
        if "not" in eff:
            parts.append(self.negate_id(self.node_id(eff["not"], ctx.partial("not")), ctx.path + "/not"))
        if "if" in eff:
            parts.append(self._conditional(eff, ctx))
        if "dependentSchemas" in eff:
            parts += self._dependent_schemas(eff["dependentSchemas"], ctx)
        if rest:
            parts.append(self.node_id(self.native(rest, "rest"), ctx.partial()) if set(rest) - ANNOTATIONS else ANY)
        node = self.node(self.intersect_ids(parts))
        if ctx.strict and self.strict and node.objects:
            node = algebra.close_objects(self, node)
        return node

    def _conditional(self, eff: dict, ctx: Ctx) -> int:
        condition = self.node_id(eff["if"], ctx.partial("if"))
        then = self.node_id(eff.get("then", True), ctx.partial("then"))
        otherwise = self.node_id(eff.get("else", True), ctx.partial("else"))
        negated = self.negate_id(condition, ctx.path + "/if")
        return self.union_ids([self.intersect_ids([condition, then]), self.intersect_ids([negated, otherwise])],
                              ctx.path)

    def _dependent_schemas(self, entries, ctx: Ctx) -> list[int]:
        if not isinstance(entries, dict):
            raise InvalidSchemaError("must be an object", keyword="dependentSchemas", path=ctx.path)
        out = []
        for key, sub in entries.items():
            sub_id = self.node_id(sub, ctx.partial("dependentSchemas", key))
            if sub_id == ANY:
                continue
            place = ctx.partial("dependentSchemas", key)
            absent = self.node_id(self.native({"not": self.native({"type": "object"}, "object")}, "absent"), place)
            without = self.node_id(self.native({"properties": {key: False}}, "without"), place)
            present = self.node_id(self.native({"required": [key]}, "present"), place)
            out.append(self.union_ids([absent, without, self.intersect_ids([present, sub_id])], ctx.path))
        return out

    # ------------------------------------------------------------------ keywords
    def effective(self, schema: dict, ctx: Ctx) -> dict:
        """The assertions of `schema`: annotations and no-op keywords removed, unevaluated*
        rewritten where the evaluated members are static."""
        eff = {k: v for k, v in schema.items() if k not in ANNOTATIONS}
        if eff.get("uniqueItems") is False:
            del eff["uniqueItems"]
        unevaluated = "unevaluatedProperties" in eff or "unevaluatedItems" in eff
        if "if" not in eff:  # then/else without if do nothing
            eff.pop("then", None)
            eff.pop("else", None)
        elif "then" not in eff and "else" not in eff and not unevaluated:
            del eff["if"]  # (an `if` alone still evaluates members for unevaluated*)
        if "contains" not in eff:
            eff.pop("minContains", None)
            eff.pop("maxContains", None)
        for keyword, covered_by in (("unevaluatedProperties", "additionalProperties"), ("unevaluatedItems", "items")):
            if keyword not in eff:
                continue
            applicators = any(k in eff
                              for k in ("allOf", "anyOf", "oneOf", "if", "dependentSchemas", "not") + REFERENCES)
            if eff[keyword] is True:
                del eff[keyword]
            elif covered_by in eff and (keyword == "unevaluatedProperties" or "contains" not in eff):
                del eff[keyword]  # every member is already evaluated by the sibling keyword
            elif not applicators and "contains" not in eff:
                eff[covered_by] = eff.pop(keyword)
            elif not unevaluated_as_all_of(self, schema, eff, keyword, ctx):
                self.unsupported(keyword, ctx, f"{keyword!r} through anyOf/oneOf/if/dependentSchemas depends on "
                                 "which branch matched; only statically evaluated members are supported")
                eff.pop(keyword, None)
        return eff

    def type_kinds(self, eff: dict, ctx: Ctx) -> tuple[set, str]:
        """Kinds allowed by `type`, and which numbers: "any" or "integer"."""
        types = eff.get("type")
        if types is None:
            types = list(JSON_TYPES)
        elif isinstance(types, str):
            types = [types]
        if not isinstance(types, list) or any(t not in JSON_TYPES for t in types):
            raise InvalidSchemaError(f"unknown type {eff.get('type')!r}", keyword="type", path=ctx.path)
        kinds = {"number" if t == "integer" else t for t in types}
        mode = "integer" if "integer" in types and "number" not in types else "any"
        return kinds, mode

    def _plain_node(self, eff: dict, ctx: Ctx) -> Node:
        kinds, mode = self.type_kinds(eff, ctx)
        t = self.terms
        node = Node(ctx.path)
        if "string" in kinds:
            node.string = string_term(self, eff, ctx)
        if "number" in kinds:
            node.number, node.number_complete = number_term(self, eff, mode, ctx)
            if mode == "integer" and not ctx.dialect.integer_zero_fraction:
                node.number = self.store.both(node.number, t.number(DRAFT4_INTEGER))
                node.number_complete = False
        if "boolean" in kinds:
            node.literal = self.store.union((node.literal, t.true, t.false))
        if "null" in kinds:
            node.literal = self.store.union((node.literal, t.null))
        if "object" in kinds:
            if any(k in eff for k in _OBJECT_ONLY):
                node.objects = (self.add_object(object_shape(self, eff, ctx)),)
            else:
                node.objects = (ANY_OBJECT,)
        if "array" in kinds:
            if any(k in eff for k in _ARRAY_ONLY):
                node.arrays = (self.add_array(array_shape(self, eff, ctx)),)
            else:
                node.arrays = (ANY_ARRAY,)
        return node

    # ------------------------------------------------------------------ enum / const
    def _literal_node(self, schema: dict, eff: dict, ctx: Ctx) -> Node:
        keyword = "enum" if "enum" in eff else "const"
        if keyword == "enum":
            if not isinstance(eff["enum"], list):
                raise InvalidSchemaError("enum must be a list", keyword="enum", path=ctx.path)
            candidates = eff["enum"]
        else:
            candidates = [eff["const"]]
        if len(candidates) > MAX_LITERALS:
            raise SchemaTooLargeError(f"more than {MAX_LITERALS} values", keyword=keyword, path=ctx.path)
        bare = set(eff) <= {"enum", "const"} and "const" not in eff
        is_valid = None if bare or not candidates else self.validity_check(schema, ctx, known=keyword)
        values, seen, narrowed = [], set(), []
        for value in candidates:
            key = canonical_key(value)
            if key in seen:
                continue
            seen.add(key)
            if is_valid is not None and not ctx.dialect.integer_zero_fraction and integral_number(value):
                # both spellings of an integral member equal it, so `enum` holds for either
                spellings = draft4_spellings(value, is_valid)
                if spellings is not None:
                    if spellings:
                        narrowed.append((value, spellings))
                    continue
            if is_valid is None or is_valid(value):
                values.append(value)
        node = self.literal_values_node(values, ctx.child(keyword))
        if narrowed:
            terms = [self.terms.number(regex) for _, regex in narrowed]
            node = replace(node, number=self.store.union([node.number, *terms]),
                           values=None if node.values is None else node.values + tuple(v for v, _ in narrowed))
        return node

    def literal_values_node(self, values: list, ctx: Ctx) -> Node:
        s, t = self.store, self.terms
        parts: dict[str, list[int]] = {"number": [], "literal": []}
        strings, structured = [], []
        for value in values:
            if isinstance(value, str):
                strings.append(value)
                continue
            scalar = scalar_literal_term(t, value)
            if scalar is None:
                structured.append(self.node_id_for_value(value, ctx))
            else:
                parts[scalar[0]].append(scalar[1])
        node = Node(ctx.path, t.string_literals(strings), s.union(parts["number"]), s.union(parts["literal"]),
                    number_complete=False, values=tuple(values))
        if structured:
            other = algebra.union(self, [self.node(i) for i in structured], ctx.path)
            node = replace(node, objects=other.objects, arrays=other.arrays)
        return node

    def node_id_for_value(self, value, ctx: Ctx) -> int:
        """A node accepting exactly one object or array value (members in any order)."""
        if isinstance(value, dict):
            schema = {"type": "object", "properties": {k: self._const(v) for k, v in value.items()},
                      "required": list(value), "additionalProperties": False}
        else:
            schema = {"type": "array", "prefixItems": [self._const(v) for v in value], "items": False,
                      "minItems": len(value)}
        key = ("value", canonical_key(value))
        return self.derived_id(key, lambda: self._compile(self.native(schema, key), replace(ctx, strict=False)))

    def _const(self, value) -> dict:
        # the tag holds the value: two object members of one enum put theirs at the same path
        return self.native({"const": value}, ("const", canonical_key(value)))


def _schema_list(eff: dict, keyword: str, ctx: Ctx) -> list:
    value = eff[keyword]
    if not isinstance(value, list) or not value:
        raise InvalidSchemaError(f"{keyword} must be a non-empty list", keyword=keyword, path=ctx.path)
    return value
