"""Schema keywords normalised before compilation: annotations and no-op keywords dropped, and
keywords that have an exact plain equivalent rewritten into it (`not` and `if` over simple schemas,
static `unevaluated*`, simple `dependentSchemas`). What remains unsupported is refused here.
"""

from __future__ import annotations

from constrain.grammars.json_schema.keywords import (
    ANNOTATIONS,
    IN_PLACE_APPLICATORS,
    KNOWN_UNSUPPORTED,
    REFERENCES,
)
from constrain.grammars.json_schema.negation import complement


def effective(compiler, schema: dict, ctx) -> dict:
    """The assertions of `schema`: annotations and no-op keywords removed, unevaluated* rewritten."""
    eff = {k: v for k, v in schema.items() if k not in ANNOTATIONS}
    # `if` alone asserts nothing but still evaluates members for unevaluated*.
    applicators = any(k in eff for k in IN_PLACE_APPLICATORS)
    if eff.get("uniqueItems") is False:
        del eff["uniqueItems"]
    if "if" not in eff:  # then/else without if do nothing
        eff.pop("then", None)
        eff.pop("else", None)
    elif "then" not in eff and "else" not in eff:
        del eff["if"]
    if "contains" not in eff:
        eff.pop("minContains", None)
        eff.pop("maxContains", None)
    if "not" in eff and eff["not"] is False:
        del eff["not"]
    for keyword, covered_by in (("unevaluatedProperties", "additionalProperties"),
                                ("unevaluatedItems", "items")):
        if keyword not in eff:
            continue
        if eff[keyword] is True:
            del eff[keyword]
        elif covered_by in eff and (keyword == "unevaluatedProperties" or "contains" not in eff):
            del eff[keyword]  # every member is already evaluated by the sibling keyword
        elif not applicators and "contains" not in eff:
            eff[covered_by] = eff.pop(keyword)  # same meaning without in-place applicators
        else:
            _unevaluated_as_all_of(compiler, schema, eff, keyword, ctx)
    _rewrite_negations(eff)
    if "dependentSchemas" in eff:
        _rewrite_dependent_schemas(eff)
    for keyword in KNOWN_UNSUPPORTED:
        if keyword in eff and not (keyword == "not" and simple_not(eff["not"])):
            compiler.unsupported(keyword, ctx, f"{keyword!r} is not enforceable by a context-free grammar "
                             "in this combination")
            eff.pop(keyword, None)
            if keyword == "if":
                eff.pop("then", None)
                eff.pop("else", None)
    return eff

def _unevaluated_as_all_of(compiler, schema: dict, eff: dict, keyword: str, ctx) -> None:
    """Rewrite unevaluated* as one more allOf branch when the evaluated members are static.

    Through allOf, $ref and $dynamicRef (and `not`, which keeps no annotations) the evaluated
    property names / item positions do not depend on the instance; anyOf, oneOf, if and
    dependentSchemas make them depend on it, and those stay unsupported.
    """
    try:
        evaluated = evaluated_members(compiler, schema, ctx, keyword, set(), top=True)
    except _DynamicEvaluation:
        return
    if evaluated is ALL:
        del eff[keyword]
        return
    if keyword == "unevaluatedProperties":
        names, patterns = evaluated
        if patterns:
            return
        branch = {"properties": {name: True for name in names}, "additionalProperties": eff.pop(keyword)}
    else:
        branch = {"prefixItems": [True] * evaluated, "items": eff.pop(keyword)}
    eff["allOf"] = list(eff.get("allOf", [])) + [branch]

def _rewrite_negations(eff: dict) -> None:
    """`not` and `if`/`then`/`else` over simple schemas become allOf/anyOf branches."""
    extra = []
    if "not" in eff and not simple_not(eff["not"]):
        negated = complement(eff["not"], ANNOTATIONS)
        if negated is not None:
            extra.append(negated)
            del eff["not"]
    if "if" in eff:
        negated = complement(eff["if"], ANNOTATIONS)
        if negated is not None:
            # (if and then) or (not-if and else): disjoint, so the union is exact.
            extra.append({"anyOf": [{"allOf": [eff["if"], eff.get("then", True)]},
                                    {"allOf": [negated, eff.get("else", True)]}]})
            for keyword in ("if", "then", "else"):
                eff.pop(keyword, None)
    if extra:
        eff["allOf"] = list(eff.get("allOf", [])) + extra

def _rewrite_dependent_schemas(eff: dict) -> None:
    """dependentSchemas entries that are exact in other words: true (nothing), false (the key
    may not appear: properties[key] = false) and {"required": [...]} (dependentRequired)."""
    entries = eff["dependentSchemas"]
    if not isinstance(entries, dict):
        return
    remaining = {}
    properties = dict(eff.get("properties", {}))
    dependent_required = {k: list(v) for k, v in eff.get("dependentRequired", {}).items()}
    for key, sub in entries.items():
        body = {k: v for k, v in sub.items() if k not in ANNOTATIONS} if isinstance(sub, dict) else sub
        vacuous_properties = isinstance(body, dict) and all(
            v is True or v == {} for v in body.get("properties", {}).values())
        if body is True or (isinstance(body, dict) and set(body) <= {"properties"} and vacuous_properties):
            continue
        if body is False:
            properties[key] = False
        elif isinstance(body, dict) and set(body) <= {"required", "properties"} and vacuous_properties \
                and isinstance(body.get("required"), list):
            dependent_required[key] = list(dict.fromkeys(dependent_required.get(key, []) + body["required"]))
        else:
            remaining[key] = sub
    if properties != eff.get("properties", {}):
        eff["properties"] = properties
    if dependent_required:
        eff["dependentRequired"] = dependent_required
    if remaining:
        eff["dependentSchemas"] = remaining
    else:
        del eff["dependentSchemas"]

def simple_not(sub) -> bool:
    return sub is True or (isinstance(sub, dict) and set(sub) - ANNOTATIONS <= {"type"})

# ------------------------------------------------------------------ literals


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
    ctx = compiler._enter(schema, ctx)
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
