"""Object keywords -> an ObjectShape.

Listed keys (properties, required, dependentRequired) get one key term each, with their value
node: the property's schema, intersected with every patternProperties schema whose pattern the key
matches (or additionalProperties when nothing lists or matches it). Other keys are "entries": one
per pattern, plus additionalProperties for keys that match no pattern. A key that
matches several entries gets the intersection of their value schemas. propertyNames narrows every
key term.
"""

from __future__ import annotations

import json

from constrain.grammars.charsets import ANY_CHAR, CharSet
from constrain.grammars.json_schema.errors import InvalidSchemaError
from constrain.grammars.json_schema.regex_translate import PatternError, contained_class, parse_pattern
from constrain.grammars.json_schema.scalar_terms import count_keyword
from constrain.grammars.json_schema.shapes import ObjectShape

ABSENT = -1  # value node of a key that can never appear


def object_shape(comp, eff: dict, ctx) -> ObjectShape:
    props = eff.get("properties", {})
    required = eff.get("required", [])
    patterns = eff.get("patternProperties", {})
    deps = eff.get("dependentRequired", {})
    for keyword, value, kind in (("properties", props, dict), ("required", required, list),
                                 ("patternProperties", patterns, dict), ("dependentRequired", deps, dict)):
        if not isinstance(value, kind):
            raise InvalidSchemaError(f"must be a{'n object' if kind is dict else ' list'}", keyword=keyword,
                                     path=ctx.path)
    if not all(isinstance(k, str) for k in required):
        raise InvalidSchemaError("must list strings", keyword="required", path=ctx.path)
    for values in deps.values():
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InvalidSchemaError("must map keys to lists of strings", keyword="dependentRequired", path=ctx.path)
    listed = "properties" in eff or "patternProperties" in eff
    default_additional = "additionalProperties" not in eff
    closed = default_additional and listed and comp.strict and ctx.strict
    additional = False if closed else eff.get("additionalProperties", True)
    names = eff.get("propertyNames")
    terms = comp.terms
    s = terms.s
    names_term = None
    allowed_name = None  # the propertyNames test of a listed key, set up once for them all
    if names is not None and names is not True:
        names_node = comp.node(comp.node_id(names, ctx.child("propertyNames")))
        names_term = names_node.string  # keys are strings: only the string part matters

    keys = list(dict.fromkeys(list(props) + list(required) + list(deps) + [k for v in deps.values() for k in v]))
    # (pattern, body of the keys it surely matches, body of the keys it might match): ECMA-262 and
    # Python's `re` (the validators') disagree on \\w, \\d, \\s and `.`, so a key in between gets
    # neither the pattern's schema nor additionalProperties: it is refused, never mis-validated
    pattern_list = [(p, *_pattern_key_bodies(comp, p, ctx)) for p in patterns]
    wide_classes = [c for p, body, _, c in pattern_list if body is not None]
    key_terms, key_values = [], []
    for key in keys:
        key_term = terms.string_literal(key)
        parts = []
        if key in props:
            parts.append(comp.node_id(props[key], ctx.child("properties", key)))
        for p, _, wide, _ in pattern_list:
            if wide is not None and _matches(s, wide, key):
                parts.append(comp.node_id(patterns[p], ctx.child("patternProperties", p)))
        if not parts and additional is not False:
            parts.append(comp.node_id(additional, ctx.child("additionalProperties")))
        if names is not None and names is not True and allowed_name is None:
            allowed_name = comp.validity_check(names, ctx)
        if not parts or (allowed_name is not None and not allowed_name(key)):
            key_values.append(ABSENT)
        else:
            key_values.append(comp.intersect_ids(parts))
        key_terms.append(key_term)

    # Other-key terms do not exclude the listed keys: a listed key's own tag then accepts too, and
    # the parser reads the key as listed (json_parser.py), which keeps these terms plain loops.
    # A pattern's entry drops the keys other patterns may or may not match; not its own doubtful
    # keys, which its body excludes already (so a single pattern's entry stays a plain term).
    doubtful = [s.minus(wide, body) if body is not None and body != wide else s.empty
                for _, body, wide, _ in pattern_list]
    others = []
    exclusive = []
    pattern_bodies = []
    for i, (p, body, wide, _) in enumerate(pattern_list):
        if body is None:
            continue
        pattern_bodies.append(wide)
        ambiguous = s.union([d for j, d in enumerate(doubtful) if j != i])
        others.append((terms.quoted(s.minus(body, ambiguous)),
                       comp.node_id(patterns[p], ctx.child("patternProperties", p)), False))
    if additional is not False:
        # the keys no pattern may match (each entry above keeps only keys its pattern surely matches);
        # when every pattern is "contains a character of C", that is a loop over the other characters
        if not pattern_bodies:
            body = terms.any_body
        elif None not in wide_classes:
            covered = CharSet()
            for charset in wide_classes:
                covered = covered.union(charset)
            body = s.star(terms.char(ANY_CHAR.minus(covered)))
        else:
            body = s.minus(terms.any_body, s.union(pattern_bodies))
        others.append((terms.quoted(body), comp.node_id(additional, ctx.child("additionalProperties")),
                       default_additional and listed))
        exclusive.append(len(others) - 1)
    if names_term is not None:
        others = [(s.both(t, names_term), n, d) for t, n, d in others]
    exclusive_terms = frozenset(others[i][0] for i in exclusive)
    others = [(t, n, d) for t, n, d in others if s.is_live(t)]

    index = {k: i for i, k in enumerate(keys)}
    required_mask = 0
    for k in required:
        required_mask |= 1 << index[k]
    dependent = [0] * len(keys)
    for k, values in deps.items():
        for v in values:
            dependent[index[k]] |= 1 << index[v]
    return ObjectShape(
        path=ctx.path, keys=tuple(keys), key_terms=tuple(key_terms), key_values=tuple(key_values),
        required=required_mask, dependent=tuple(dependent), others=tuple(others),
        exclusive_others=exclusive_terms & {t for t, _, _ in others},
        min_properties=count_keyword(eff, "minProperties", ctx, 0),
        max_properties=count_keyword(eff, "maxProperties", ctx, None),
    )


def _pattern_key_bodies(comp, pattern, ctx):
    if not isinstance(pattern, str):
        raise InvalidSchemaError("patternProperties keys must be strings", keyword="patternProperties", path=ctx.path)
    try:
        terms = comp.terms
        wide = parse_pattern(pattern, wide=True)
        return terms.pattern_body(parse_pattern(pattern)), terms.pattern_body(wide), contained_class(wide)
    except PatternError as exc:
        comp.unsupported("patternProperties", ctx, f"pattern {pattern!r}: {exc}")
        return None, None, None


def _matches(store, body: int, key: str) -> bool:
    encoded = json.dumps(key, ensure_ascii=False)[1:-1].encode("utf-8")
    return store.nullable[store.deriv_bytes(body, encoded)]
