"""Equality of JSON values as JSON Schema defines it (enum/const membership, uniqueItems)."""

from __future__ import annotations

import json


def json_equal(a, b) -> bool:
    """Equality as JSON Schema defines it: 1 == 1.0, but true != 1 and key order is irrelevant."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def canonical_key(value):
    """A hashable key under which JSON-Schema-equal values collide (1 and 1.0, not true and 1)."""
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, (int, float)):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    return ("json", json.dumps(value, sort_keys=True))
