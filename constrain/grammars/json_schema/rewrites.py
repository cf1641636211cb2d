"""`unevaluatedProperties` / `unevaluatedItems` rewritten as one more allOf branch, when the
members that other keywords evaluate do not depend on the instance."""

from __future__ import annotations

from constrain.grammars.json_schema.keywords import REFERENCES


def unevaluated_as_all_of(compiler, schema: dict, eff: dict, keyword: str, ctx) -> bool:
    """Rewrite unevaluated* as one more allOf branch when the evaluated members are static.

    Through allOf, $ref and $dynamicRef (and `not`, which keeps no annotations) the evaluated
    property names / item positions do not depend on the instance; anyOf, oneOf, if and
    dependentSchemas make them depend on it, and those stay unsupported.
    """
    try:
        evaluated = evaluated_members(compiler, schema, ctx, keyword, set(), top=True)
    except _DynamicEvaluation:
        return False
    if evaluated is ALL:
        del eff[keyword]
        return True
    if keyword == "unevaluatedProperties":
        names, patterns = evaluated
        if patterns:
            return False
        branch = {"properties": {name: True for name in names}, "additionalProperties": eff.pop(keyword)}
    else:
        branch = {"prefixItems": [True] * evaluated, "items": eff.pop(keyword)}
    compiler.native(branch, "unevaluated")  # already 2020-12: not translated again under the schema's draft
    eff["allOf"] = list(eff.get("allOf", [])) + [branch]
    return True

ALL = "all"


class _DynamicEvaluation(Exception):
    """The evaluated members depend on the instance (anyOf, oneOf, if, dependentSchemas, contains)."""


def evaluated_members(compiler, schema, ctx, keyword: str, seen: set, top: bool = False):
    """Statically evaluated members for unevaluated*: ALL, (names, patterns) or an item count."""
    properties = keyword == "unevaluatedProperties"
    empty = (set(), []) if properties else 0
    if not isinstance(schema, dict):
        return empty
    if id(schema) in seen:
        return empty
    seen = seen | {id(schema)}
    schema, ctx = compiler.enter(schema, ctx)  # its keywords in 2020-12 terms
    dynamic = ("anyOf", "oneOf", "if", "dependentSchemas") if properties else ("anyOf", "oneOf", "if", "contains")
    if any(k in schema for k in dynamic):
        raise _DynamicEvaluation
    if properties:
        if "additionalProperties" in schema or (not top and "unevaluatedProperties" in schema):
            return ALL
        result = (set(schema.get("properties", {})), list(schema.get("patternProperties", {})))
    else:
        if "items" in schema or (not top and "unevaluatedItems" in schema):
            return ALL
        result = len(schema.get("prefixItems", []))
    parts = [(b, ctx) for b in schema.get("allOf", [])]
    parts += [compiler.resolve(schema[k], ctx, k) for k in REFERENCES if k in schema]
    for sub, sub_ctx in parts:
        inner = evaluated_members(compiler, sub, sub_ctx, keyword, seen)
        if inner is ALL:
            return ALL
        if properties:
            result = (result[0] | inner[0], result[1] + inner[1])
        else:
            result = max(result, inner)
    return result
