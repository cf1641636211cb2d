"""Complements of the simple schemas that `not` and `if` meet in practice.

A schema with one bound (minimum, maxLength, minItems, ...) and maybe a `type` has a complement
that is again a plain schema: the other kinds, plus the same kind with the flipped bound. That
makes `not` of such schemas and `if`/`then`/`else` (as (if and then) or (not-if and else), two
disjoint alternatives) exact. Anything richer returns None and stays unsupported.
"""

from __future__ import annotations

# bound -> (its complement's keyword, shift of the value), for integer counts and for numbers
_FLIP = {
    "minimum": ("exclusiveMaximum", 0), "exclusiveMinimum": ("maximum", 0),
    "maximum": ("exclusiveMinimum", 0), "exclusiveMaximum": ("minimum", 0),
    "minLength": ("maxLength", -1), "maxLength": ("minLength", 1),
    "minItems": ("maxItems", -1), "maxItems": ("minItems", 1),
    "minProperties": ("maxProperties", -1), "maxProperties": ("minProperties", 1),
}
_KIND = {"minimum": "number", "exclusiveMinimum": "number", "maximum": "number", "exclusiveMaximum": "number",
         "minLength": "string", "maxLength": "string", "minItems": "array", "maxItems": "array",
         "minProperties": "object", "maxProperties": "object"}


def _type_list(types) -> list:
    return [types] if isinstance(types, str) else list(types)


def complement(schema, annotations: frozenset):
    """A schema accepting exactly the values `schema` rejects, or None when we cannot say."""
    if schema is True:
        return False
    if schema is False:
        return True
    if not isinstance(schema, dict):
        return None
    eff = {k: v for k, v in schema.items() if k not in annotations}
    types = eff.pop("type", None)
    if not eff:
        return False if types is None else {"not": {"type": types}}
    if len(eff) > 1:
        return None
    ((keyword, value),) = eff.items()
    if keyword not in _FLIP or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    flipped, shift = _FLIP[keyword]
    kind = _KIND[keyword]
    if shift:
        if isinstance(value, float):
            if not value.is_integer():
                return None
            value = int(value)
        if value + shift < 0:
            failing = False  # e.g. minLength 0: no string fails it
        else:
            failing = {"type": kind, flipped: value + shift}
    else:
        failing = {"type": kind, flipped: value}
    if types is None:
        return failing
    type_list = _type_list(types)
    in_kind = [t for t in type_list if t == kind or (kind == "number" and t == "integer")]
    if not in_kind:
        return {"not": {"type": types}}  # the bound never applies
    if failing is not False:
        failing = dict(failing, type=in_kind if len(in_kind) > 1 else in_kind[0])
    return {"anyOf": [{"not": {"type": types}}, failing]}
