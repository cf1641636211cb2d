"""`allOf` by merging keyword by keyword, when the intersection is again a plain schema.

The merge is exact: each rule below states an equivalence of JSON Schema semantics (bounds take the
tighter value, `required` unites, a property's schema intersects with the other branch's
`properties` entry or `additionalProperties`). Anything else raises MergeError with the keyword.
"""

from __future__ import annotations

import math

NUMERIC_LOWER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties", "minContains")
NUMERIC_UPPER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "maxContains")
_OBJECT_SCHEMA_KEYS = ("properties", "additionalProperties", "patternProperties")
_ARRAY_SCHEMA_KEYS = ("prefixItems", "items")
_TYPES = ("null", "boolean", "object", "array", "string", "number", "integer")
MAX_DISTRIBUTED_BRANCHES = 64


class MergeError(ValueError):
    def __init__(self, keyword: str, message: str):
        super().__init__(message)
        self.keyword = keyword


def _all_of(schemas: list):
    schemas = [s for s in schemas if s is not True and s != {}]
    if not schemas:
        return True
    if any(s is False for s in schemas):
        return False
    return schemas[0] if len(schemas) == 1 else {"allOf": schemas}


def _type_set(value) -> set:
    return {value} if isinstance(value, str) else set(value)


def intersect_types(a, b) -> list:
    a, b = _type_set(a), _type_set(b)
    out = []
    for t in _TYPES:
        in_a = t in a or (t == "integer" and "number" in a)
        in_b = t in b or (t == "integer" and "number" in b)
        if in_a and in_b and not (t == "integer" and "number" in a and "number" in b):
            out.append(t)
    return out


def _merge_object_keywords(schemas: list[dict], out: dict) -> None:
    with_patterns = [s for s in schemas if "patternProperties" in s]
    object_schemas = [s for s in schemas if any(k in s for k in _OBJECT_SCHEMA_KEYS)]
    if with_patterns and len(object_schemas) > 1:
        raise MergeError("patternProperties", "allOf branches combine patternProperties with other property schemas")
    if len(object_schemas) <= 1:
        for s in object_schemas:
            for k in _OBJECT_SCHEMA_KEYS:
                if k in s:
                    out[k] = s[k]
        return
    keys = []
    for s in object_schemas:
        for k in s.get("properties", {}):
            if k not in keys:
                keys.append(k)
    properties = {}
    for k in keys:
        parts = []
        for s in object_schemas:
            if k in s.get("properties", {}):
                parts.append(s["properties"][k])
            elif "additionalProperties" in s:
                parts.append(s["additionalProperties"])
        properties[k] = _all_of(parts)
    out["properties"] = properties
    additional = [s["additionalProperties"] for s in object_schemas if "additionalProperties" in s]
    if additional:
        out["additionalProperties"] = _all_of(additional)


def _merge_array_keywords(schemas: list[dict], out: dict) -> None:
    """Position i must satisfy every branch's prefixItems[i], or its items past its prefix."""
    shaped = [s for s in schemas if any(k in s for k in _ARRAY_SCHEMA_KEYS)]
    if not shaped:
        return
    length = max(len(s.get("prefixItems", [])) for s in shaped)
    prefix = []
    for i in range(length):
        parts = []
        for s in shaped:
            own = s.get("prefixItems", [])
            if i < len(own):
                parts.append(own[i])
            elif "items" in s:
                parts.append(s["items"])
        prefix.append(_all_of(parts))
    if prefix:
        out["prefixItems"] = prefix
    items = [s["items"] for s in shaped if "items" in s]
    if items:
        out["items"] = _all_of(items)


def merge_schemas(schemas: list[dict], annotations: frozenset) -> dict:
    """One schema equivalent to allOf(schemas), or MergeError naming the keyword that blocks it."""
    out: dict = {}
    _merge_object_keywords(schemas, out)
    _merge_array_keywords(schemas, out)
    for schema in schemas:
        for key, value in schema.items():
            if key in annotations or key in _OBJECT_SCHEMA_KEYS or key in _ARRAY_SCHEMA_KEYS:
                continue
            if key not in out:
                out[key] = value
                continue
            current = out[key]
            if current == value:
                continue
            if key == "type":
                out[key] = intersect_types(current, value)
            elif key == "required":
                out[key] = list(dict.fromkeys(list(current) + list(value)))
            elif key in NUMERIC_LOWER:
                out[key] = max(current, value)
            elif key in NUMERIC_UPPER:
                out[key] = min(current, value)
            elif key == "multipleOf":
                if isinstance(current, int) and isinstance(value, int):
                    out[key] = current * value // math.gcd(current, value)
                else:
                    raise MergeError(key, "allOf branches have different non-integer multipleOf")
            elif key == "dependentRequired":
                merged = {k: list(v) for k, v in current.items()}
                for k, v in value.items():
                    merged[k] = list(dict.fromkeys(merged.get(k, []) + list(v)))
                out[key] = merged
            elif key == "propertyNames":
                out[key] = _all_of([current, value])
            elif key == "anyOf":
                product = [_all_of([a, b]) for a in current for b in value]
                if len(product) > MAX_DISTRIBUTED_BRANCHES:
                    raise MergeError(key, "allOf of several anyOf would need too many alternatives")
                out[key] = product
            else:
                raise MergeError(key, f"allOf branches both constrain {key!r} differently")
    return out
