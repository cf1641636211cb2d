"""Schema -> Alt (per-kind pieces) -> lark rules. The dispatcher; objects and arrays live apart.

Every schema position compiles to an `Alt`: one regex per scalar kind and rule names for objects
and arrays. Unions (`anyOf`, type lists) merge Alts kind by kind, which keeps one terminal per kind
at every value position; intersections (`allOf`, `$ref` with siblings) merge schemas keyword by
keyword when only one branch constrains a kind, or when the branches merge exactly. `enum` and
`const` are exact whatever they are combined with: candidate values are filtered by validating
them against the whole schema with `jsonschema`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from urllib.parse import urljoin

import jsonschema
import referencing
import referencing.jsonschema
from jsonschema_specifications import REGISTRY as SPECIFICATIONS

from constrain.grammars.json_schema import arrays, literals, objects, rewrites, strings
from constrain.grammars.json_schema.builder import ALL_KINDS, Alt, GrammarBuilder, any_alt
from constrain.grammars.json_schema.errors import (
    InvalidSchemaError,
    SchemaTooLargeError,
    UnsupportedSchemaError,
)
from constrain.grammars.json_schema.keywords import (
    ANNOTATIONS,
    ARRAY_KEYWORDS,
    JSON_TYPES,
    NUMBER_KEYWORDS,
    OBJECT_KEYWORDS,
    REFERENCES,
    STRING_KEYWORDS,
)
from constrain.grammars.json_schema.merge import MergeError, merge_schemas
from constrain.grammars.json_schema.numbers import NumberRangeError, number_regex

MAX_NESTING = 64
STANDARD_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_VOCABULARY = "https://json-schema.org/draft/2020-12/vocab/"
ASSERTING_VOCABULARIES = {_VOCABULARY + v for v in ("core", "validation")}
STANDARD_VOCABULARIES = ASSERTING_VOCABULARIES | {_VOCABULARY + v for v in (
    "applicator", "unevaluated", "meta-data", "format-annotation", "format-assertion", "content")}
APPLICATOR_KEYWORDS = frozenset({
    "prefixItems", "items", "contains", "additionalProperties", "properties", "patternProperties",
    "dependentSchemas", "propertyNames", "if", "then", "else", "allOf", "anyOf", "oneOf", "not",
    "unevaluatedItems", "unevaluatedProperties"})


def pointer_token(key) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True)
class Ctx:
    """Where a subschema sits: the `referencing` resolver (its base URI) and its JSON path."""

    resolver: object
    path: str
    entered: int | None = None  # id() of a schema whose $id this resolver already applies

    def child(self, *parts) -> "Ctx":
        return Ctx(self.resolver, "/".join([self.path] + [pointer_token(p) for p in parts]))

    @property
    def base(self) -> str:
        return self.resolver._base_uri


class SchemaCompiler:
    def __init__(self, root, *, whitespace, strict: bool, lenient: bool, registry=None):
        self.builder = GrammarBuilder(whitespace)
        self.strict = strict
        self.lenient = lenient
        self._warned: set = set()
        registry = SPECIFICATIONS if registry is None else SPECIFICATIONS.combine(registry)
        self._check_dialect(root, registry)
        resource = referencing.jsonschema.DRAFT202012.create_resource(root) if not isinstance(root, bool) \
            else referencing.jsonschema.DRAFT202012.create_resource({})
        base = resource.id() or ""
        self.registry = registry.with_resource(base, resource).crawl()
        self.root = root
        self.root_ctx = Ctx(self.registry.resolver(base), "#")
        self._validator = jsonschema.Draft202012Validator(
            root if not isinstance(root, bool) else {}, registry=self.registry,
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        self._alts: dict = {}      # (id, base) -> (schema, Alt)
        self._active: dict = {}    # (id, base) -> rule name requested by a recursive reference
        self._symbols: dict = {}   # (id, base) -> (schema, rule name)
        self._depth = 0

    @staticmethod
    def _check_dialect(root, registry) -> None:
        """Accept the 2020-12 dialect, or a meta-schema whose vocabularies include every standard
        one that asserts (others must be optional); other dialects may switch assertions off."""
        dialect = root.get("$schema") if isinstance(root, dict) else None
        if dialect is None or dialect.rstrip("#") == STANDARD_DIALECT:
            return
        try:
            meta = registry.resolver().lookup(dialect).contents
        except referencing.exceptions.Unresolvable:
            meta = None
        vocabularies = meta.get("$vocabulary") if isinstance(meta, dict) else None
        if isinstance(vocabularies, dict) and ASSERTING_VOCABULARIES <= set(vocabularies) and all(
                required is False for uri, required in vocabularies.items() if uri not in STANDARD_VOCABULARIES):
            applicators = APPLICATOR_KEYWORDS & set(root)
            if _VOCABULARY + "applicator" in vocabularies or not applicators:
                return  # without the applicator vocabulary only the root's own assertions count
        raise UnsupportedSchemaError(f"dialect {dialect!r} is not 2020-12 with its standard vocabularies",
                                     keyword="$schema", path="#")

    # ------------------------------------------------------------------ entry points
    def compile(self) -> str:
        try:
            symbol = self.compile_symbol(self.root, self.root_ctx)
        except RecursionError:
            raise SchemaTooLargeError("schema nests too deeply", path="#") from None
        if symbol is None:
            raise UnsupportedSchemaError("the schema accepts no JSON value at all", path="#")
        return self.builder.render(symbol)

    def compile_symbol(self, schema, ctx: Ctx) -> str | None:
        """A rule name deriving exactly the values valid under `schema`; None if there are none."""
        key = self._key(schema, ctx)
        if key in self._symbols:
            return self._symbols[key][1]
        alt = self.compile_alt(schema, ctx)
        name = self.builder.alt_rule(alt, ctx.path)
        self._symbols[key] = (schema, name)
        return name

    def compile_alt(self, schema, ctx: Ctx) -> Alt:
        key = self._key(schema, ctx)
        if key in self._alts:
            return self._alts[key][1]
        if key in self._active:  # a recursive reference: refer to the rule being built
            name = self._active[key] or self.builder.new_rule_name("r", ctx.path)
            self._active[key] = name
            return Alt(opaque=[name])
        self._depth += 1
        if self._depth > MAX_NESTING:
            raise SchemaTooLargeError(f"schema nests deeper than {MAX_NESTING} levels", path=ctx.path)
        self._active[key] = None
        try:
            alt = self._compile_alt(schema, ctx)
        finally:
            self._depth -= 1
            name = self._active.pop(key)
        if name is not None:
            if alt.is_empty():
                raise UnsupportedSchemaError("recursive schema accepts no value", path=ctx.path)
            self.builder.add_rule(name, self.builder.alt_alternatives(alt))
        self._alts[key] = (schema, alt)
        return alt

    @staticmethod
    def _key(schema, ctx: Ctx):
        """Memo key: the schema object, its base URI and its dynamic scope ($dynamicRef targets
        depend on the resources entered on the way, outermost first; repeats do not matter)."""
        scope = tuple(dict.fromkeys(reversed([uri for uri, _ in ctx.resolver.dynamic_scope()])))
        return (id(schema), ctx.base, scope)

    # ------------------------------------------------------------------ refusals
    def unsupported(self, keyword: str, ctx: Ctx, message: str) -> None:
        """Refuse, or with lenient=True warn once per keyword and path and let the caller drop it."""
        if not self.lenient:
            raise UnsupportedSchemaError(message, keyword=keyword, path=ctx.path)
        where = f"{ctx.path}/{keyword}"
        if where not in self._warned:
            self._warned.add(where)
            warnings.warn(f"json_schema(lenient=True) dropped {where}: {message}", stacklevel=4)

    # ------------------------------------------------------------------ the dispatcher
    def _compile_alt(self, schema, ctx: Ctx) -> Alt:
        if schema is True:
            return any_alt()
        if schema is False:
            return Alt()
        if not isinstance(schema, dict):
            raise InvalidSchemaError(f"a schema must be an object or a boolean, not {type(schema).__name__}",
                                     path=ctx.path)
        ctx = self._enter(schema, ctx)
        eff = self.effective(schema, ctx)
        if "enum" in eff or "const" in eff:
            return self._literal_alt(schema, eff, ctx)
        refs = [k for k in REFERENCES if k in eff]
        if refs:
            # $dynamicRef resolves through `referencing`, which walks the resolver's dynamic scope
            # exactly as the jsonschema validator does.
            rest = {k: v for k, v in eff.items() if k not in REFERENCES}
            targets = [self.resolve(eff[k], ctx, k) for k in refs]
            if not rest and len(targets) == 1:
                return self.compile_alt(*targets[0])
            return self._all_of(targets + ([(rest, ctx)] if rest else []), ctx, refs[0])
        if "allOf" in eff:
            rest = {k: v for k, v in eff.items() if k != "allOf"}
            if not isinstance(eff["allOf"], list):
                raise InvalidSchemaError("allOf must be a list", keyword="allOf", path=ctx.path)
            branches = [(b, ctx.child("allOf", i)) for i, b in enumerate(eff["allOf"])]
            if rest:
                branches.append((rest, ctx))
            return self._all_of(branches, ctx, "allOf")
        for keyword in ("anyOf", "oneOf"):
            if keyword in eff:
                return self._any_of(eff, keyword, ctx)
        return self._plain_alt(eff, ctx)

    def _enter(self, schema: dict, ctx: Ctx) -> Ctx:
        if "$id" in schema and schema is not self.root and isinstance(schema["$id"], str):
            if ctx.entered == id(schema) or urljoin(ctx.base, schema["$id"]).rstrip("#") == ctx.base.rstrip("#"):
                return ctx  # already inside it (a $ref lookup lands in the resource's own scope)
            resource = referencing.jsonschema.DRAFT202012.create_resource(schema)
            return Ctx(ctx.resolver.in_subresource(resource), ctx.path, id(schema))
        return ctx

    def resolve(self, ref, ctx: Ctx, keyword: str = "$ref"):
        if not isinstance(ref, str):
            raise InvalidSchemaError(f"{keyword} must be a string", keyword=keyword, path=ctx.path)
        try:
            resolved = ctx.resolver.lookup(ref)
        except referencing.exceptions.Unresolvable as exc:
            raise InvalidSchemaError(f"cannot resolve {ref!r}: {exc}", keyword=keyword, path=ctx.path) from None
        return resolved.contents, Ctx(resolved.resolver, f"{ctx.path}/{keyword}", id(resolved.contents))

    def effective(self, schema: dict, ctx: Ctx) -> dict:
        return rewrites.effective(self, schema, ctx)

    def is_valid(self, value, schema, ctx: Ctx) -> bool:
        validator = self._validator.evolve(schema=schema, _resolver=ctx.resolver)
        if not validator.is_valid(value):
            return False
        return strings.format_accepts(schema, value)

    def literal_values(self, schema: dict, eff: dict, ctx: Ctx) -> list:
        if "enum" in eff:
            if not isinstance(eff["enum"], list):
                raise InvalidSchemaError("enum must be a list", keyword="enum", path=ctx.path)
            candidates = eff["enum"]
        else:
            candidates = [eff["const"]]
        # A bare enum/const needs no validation of its own values.
        bare = set(eff) <= {"enum", "const"} and "const" not in eff
        values, seen = [], set()
        for value in candidates:
            key = literals.canonical_key(value)
            if key in seen:
                continue
            seen.add(key)
            if bare or self.is_valid(value, schema, ctx):
                values.append(value)
        return values

    def _literal_alt(self, schema: dict, eff: dict, ctx: Ctx) -> Alt:
        keyword = "enum" if "enum" in eff else "const"
        values = self.literal_values(schema, eff, ctx)
        if len(values) > literals.MAX_LITERALS:
            raise SchemaTooLargeError(f"more than {literals.MAX_LITERALS} values", keyword=keyword, path=ctx.path)
        return literals.literals_alt(self, values, ctx.child(keyword))

    # ------------------------------------------------------------------ combinators
    def _any_of(self, eff: dict, keyword: str, ctx: Ctx) -> Alt:
        branches = eff[keyword]
        if not isinstance(branches, list) or not branches:
            raise InvalidSchemaError(f"{keyword} must be a non-empty list", keyword=keyword, path=ctx.path)
        rest = {k: v for k, v in eff.items() if k != keyword}
        alts, literal_sets, schemas = [], [], []
        for i, branch in enumerate(branches):
            branch_ctx = ctx.child(keyword, i)
            combined = branch if not rest else {"allOf": [rest, branch]}
            schemas.append((combined, branch_ctx))
            alts.append(self.compile_alt(combined, branch_ctx))
            literal_sets.append(self._literal_set(combined, branch_ctx))
        if keyword == "oneOf":
            self._check_disjoint(alts, literal_sets, schemas, ctx)
        result = Alt()
        for alt in alts:
            result = result.union(alt)
        return result

    def _literal_set(self, schema, ctx: Ctx):
        """The finite value list of an enum/const branch, else None."""
        if isinstance(schema, dict):
            eff = {k: v for k, v in schema.items() if k not in ANNOTATIONS}
            if "enum" in eff or "const" in eff:
                return self.literal_values(schema, eff, self._enter(schema, ctx))
        return None

    def _check_disjoint(self, alts, literal_sets, schemas, ctx: Ctx) -> None:
        """oneOf equals anyOf only when no value satisfies two branches; prove it or refuse."""
        for i in range(len(alts)):
            for j in range(i + 1, len(alts)):
                kinds_i = ALL_KINDS if alts[i].opaque else alts[i].kinds()
                kinds_j = ALL_KINDS if alts[j].opaque else alts[j].kinds()
                if not kinds_i & kinds_j:
                    continue
                if self._discriminated(schemas[i], schemas[j]):
                    continue
                if literal_sets[i] is not None or literal_sets[j] is not None:
                    values, (other, other_ctx) = (literal_sets[i], schemas[j]) if literal_sets[i] is not None \
                        else (literal_sets[j], schemas[i])
                    if not any(self.is_valid(v, other, other_ctx) for v in values):
                        continue
                self.unsupported("oneOf", ctx, f"alternatives {i} and {j} may both match a value "
                                 "(oneOf is exact only for disjoint alternatives)")

    def _discriminated(self, first, second) -> bool:
        """Both branches require a property whose const/enum values do not overlap (a tag)."""
        shapes = []
        for schema, ctx in (first, second):
            schema, ctx = self._follow_refs(schema, ctx)
            if isinstance(schema, dict) and "allOf" in schema and len(schema) == 1:
                schema, ctx = self._follow_refs(schema["allOf"][-1], ctx)  # an anyOf branch merged with siblings
            if not isinstance(schema, dict):
                return False
            shapes.append(schema)
        (a, b) = shapes
        for key in set(a.get("required", [])) & set(b.get("required", [])):
            values = []
            for shape in (a, b):
                sub = shape.get("properties", {}).get(key)
                if not isinstance(sub, dict) or not ("const" in sub or "enum" in sub):
                    break
                values.append([sub["const"]] if "const" in sub else list(sub["enum"]))
            else:
                if not any(literals.json_equal(x, y) for x in values[0] for y in values[1]):
                    return True
        return False

    def _all_of(self, branches: list, ctx: Ctx, keyword: str) -> Alt:
        prepared = []
        for schema, branch_ctx in branches:
            schema, branch_ctx = self._follow_refs(schema, branch_ctx)
            if schema is True or schema == {}:
                continue
            if schema is False:
                return Alt()
            if not isinstance(schema, dict):
                raise InvalidSchemaError("allOf branches must be schemas", keyword=keyword, path=branch_ctx.path)
            branch_ctx = self._enter(schema, branch_ctx)
            eff = self.effective(schema, branch_ctx)
            if "enum" in eff or "const" in eff:
                # A finite branch: keep the values that satisfy every branch.
                values = [v for v in self.literal_values(schema, eff, branch_ctx)
                          if all(self.is_valid(v, b, c) for b, c in branches)]
                return literals.literals_alt(self, values, branch_ctx)
            prepared.append((eff, branch_ctx))
        if not prepared:
            return any_alt()
        if len(prepared) == 1:
            return self.compile_alt(prepared[0][0], prepared[0][1])
        kinds = set(ALL_KINDS)
        profiles = []
        for eff, branch_ctx in prepared:
            allowed, constrained = self._profile(eff)
            kinds &= allowed
            profiles.append(constrained)
        result = Alt()
        merged_cache: dict = {}
        for kind in sorted(kinds):
            involved = tuple(i for i, constrained in enumerate(profiles) if kind in constrained)
            if not involved:
                result = result.union(any_alt({kind}))
                continue
            if involved not in merged_cache:
                merged_cache[involved] = self._intersect([prepared[i] for i in involved], ctx, keyword)
            schema, schema_ctx = merged_cache[involved]
            alt = self.compile_alt(schema, schema_ctx)
            if alt.opaque:
                self.unsupported(keyword, ctx, "a recursive $ref cannot be intersected with sibling keywords")
                continue
            result = result.union(alt.only({kind}))
        return result

    def _follow_refs(self, schema, ctx: Ctx):
        for _ in range(32):
            keys = set(schema) - ANNOTATIONS if isinstance(schema, dict) else set()
            if len(keys) == 1 and keys <= set(REFERENCES):
                ctx = self._enter(schema, ctx)
                (keyword,) = keys
                schema, ctx = self.resolve(schema[keyword], ctx, keyword)
            else:
                return schema, ctx
        raise InvalidSchemaError("$ref chain longer than 32 hops", keyword="$ref", path=ctx.path)

    def _intersect(self, parts: list, ctx: Ctx, keyword: str):
        if len(parts) == 1:
            return parts[0]
        bases = {c.base for _, c in parts}
        if len(bases) > 1:
            self.unsupported(keyword, ctx, "cannot merge schemas from different documents")
            return parts[0]
        try:
            merged = merge_schemas([eff for eff, _ in parts], ANNOTATIONS)
        except MergeError as exc:
            self.unsupported(exc.keyword, ctx, f"{keyword}: {exc}")
            return parts[0]
        return merged, Ctx(parts[0][1].resolver, ctx.path)

    def _profile(self, eff: dict):
        """(kinds a branch allows, kinds it constrains beyond its type)."""
        allowed, number_mode = self.type_kinds(eff, Ctx(None, "#"))
        if any(k in eff for k in ("anyOf", "oneOf", "allOf", "not") + REFERENCES):
            return allowed, set(allowed)
        constrained = set()
        if number_mode != "any" or any(k in eff for k in NUMBER_KEYWORDS):
            constrained.add("number")
        for kind, keywords in (("object", OBJECT_KEYWORDS), ("array", ARRAY_KEYWORDS), ("string", STRING_KEYWORDS)):
            if any(k in eff for k in keywords):
                constrained.add(kind)
        return allowed, constrained & allowed

    # ------------------------------------------------------------------ plain schemas
    def type_kinds(self, eff: dict, ctx: Ctx):
        """Kinds allowed by `type` and a type-only `not`, and which numbers: any, integer or fraction."""
        types = eff.get("type")
        if types is None:
            types = list(JSON_TYPES)
        elif isinstance(types, str):
            types = [types]
        if not isinstance(types, list) or any(t not in JSON_TYPES for t in types):
            raise InvalidSchemaError(f"unknown type {eff.get('type')!r}", keyword="type", path=ctx.path)
        kinds = {"number" if t == "integer" else t for t in types}
        mode = "integer" if "integer" in types and "number" not in types else "any"
        negated = eff.get("not")
        if negated is True or negated == {}:
            return set(), mode
        if isinstance(negated, dict) and "type" in negated:
            excluded = negated["type"]
            excluded = [excluded] if isinstance(excluded, str) else list(excluded)
            if not isinstance(excluded, list) or any(t not in JSON_TYPES for t in excluded):
                raise InvalidSchemaError(f"unknown type {negated['type']!r}", keyword="not", path=ctx.path)
            if "integer" in excluded and "number" not in excluded and "number" in kinds:
                if mode == "integer":
                    kinds.discard("number")
                mode = "fraction"
            elif "number" in excluded:
                kinds.discard("number")
            kinds -= set(excluded)
        return kinds, mode

    def _plain_alt(self, eff: dict, ctx: Ctx) -> Alt:
        kinds, number_mode = self.type_kinds(eff, ctx)
        alt = Alt()
        for kind in sorted(kinds):
            if kind == "number":
                try:
                    regex = number_regex(eff, number_mode)
                except NumberRangeError as exc:
                    keyword = "multipleOf" if "multipleOf" in eff else "minimum"
                    self.unsupported(keyword, ctx, str(exc))
                    regex = number_regex({}, number_mode)
                if regex is not None:
                    piece = any_alt({"number"}) if regex == any_alt({"number"}).scalars["number"] \
                        else Alt({"number": regex})
                    alt = alt.union(piece)
            elif kind == "string":
                if any(k in eff for k in STRING_KEYWORDS):
                    regex = strings.string_regex(self, eff, ctx)
                    if regex is not None:
                        alt = alt.union(Alt({"string": regex}))
                else:
                    alt = alt.union(any_alt({"string"}))
            elif kind == "object":
                if any(k in eff for k in OBJECT_KEYWORDS):
                    symbol = objects.object_rule(self, eff, ctx)
                    if symbol is not None:
                        alt = alt.union(Alt(objects=[symbol]))
                else:
                    alt = alt.union(any_alt({"object"}))
            elif kind == "array":
                if any(k in eff for k in ARRAY_KEYWORDS):
                    symbol = arrays.array_rule(self, eff, ctx)
                    if symbol is not None:
                        alt = alt.union(Alt(arrays=[symbol]))
                else:
                    alt = alt.union(any_alt({"array"}))
            else:
                alt = alt.union(any_alt({kind}))
        return alt
