"""Grammar pieces for single JSON values (enum / const members), in every common spelling.

Strings accept every escape spelling of their characters; integer-valued numbers accept `n` and
`n.0...`; other numbers their shortest repr with optional trailing zeros. Objects accept their
members in any order when they have at most objects.ANY_ORDER_LIMIT keys, else in the given order.
"""

from __future__ import annotations

import json
import math
import re

from constrain.grammars.json_schema import objects
from constrain.grammars.json_schema.builder import Alt
from constrain.grammars.json_schema.charset import json_literal_regex
from constrain.grammars.json_schema.numbers import ZERO_FRACTION

MAX_LITERALS = 20000


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


def number_literal_regex(value) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # NaN and infinities have no JSON spelling
    spellings = []
    if isinstance(value, int) or value.is_integer():
        n = int(value)
        spellings.append(("-?0" if n == 0 else ("-" if n < 0 else "") + str(abs(n))) + ZERO_FRACTION)
        dumped = json.dumps(value)
        if "e" in dumped:
            spellings.append(re.escape(dumped))
    else:
        text = repr(value)
        spellings.append(re.escape(text) + ("" if "e" in text else "0*"))
    if len(spellings) == 1:
        return spellings[0]
    return "(?:" + "|".join(sorted(spellings, key=len, reverse=True)) + ")"


def _scalar(value) -> tuple[str, str] | None:
    if value is None:
        return "null", "null"
    if isinstance(value, bool):
        return "boolean", "true" if value else "false"
    if isinstance(value, (int, float)):
        regex = number_literal_regex(value)
        return ("number", regex) if regex is not None else None
    if isinstance(value, str):
        return "string", json_literal_regex(value)
    return None


def literals_alt(compiler, values: list, ctx) -> Alt:
    """The union of many literal values, with one flat alternation per scalar kind."""
    scalars: dict[str, list[str]] = {}
    alt = Alt()
    for value in values:
        scalar = _scalar(value)
        if scalar is not None:
            kind, regex = scalar
            if regex not in scalars.setdefault(kind, []):
                scalars[kind].append(regex)
        elif isinstance(value, (list, dict)):
            alt = alt.union(literal_alt(compiler, value, ctx))
    for kind, regexes in scalars.items():
        if kind == "number":
            regexes = sorted(regexes, key=len, reverse=True)
        regex = regexes[0] if len(regexes) == 1 else "(?:" + "|".join(regexes) + ")"
        alt = alt.union(Alt({kind: regex}))
    return alt


def literal_alt(compiler, value, ctx) -> Alt:
    if not isinstance(value, (list, dict)):
        return literals_alt(compiler, [value], ctx)
    cache = compiler.builder.literal_rules
    key = json.dumps(value, sort_keys=True)
    if key not in cache:
        cache[key] = _array_literal(compiler, value, ctx) if isinstance(value, list) \
            else _object_literal(compiler, value, ctx)
    symbol = cache[key]
    return Alt(arrays=[symbol]) if isinstance(value, list) else Alt(objects=[symbol])


def _symbol(compiler, value, ctx) -> str:
    return compiler.builder.alt_rule(literal_alt(compiler, value, ctx), ctx.path)


def _array_literal(compiler, value: list, ctx) -> str:
    b = compiler.builder
    body = [b.punct("[")]
    for i, item in enumerate(value):
        if i:
            body.append(b.punct(","))
        body.append(_symbol(compiler, item, ctx))
    body.append(b.punct("]"))
    name = b.new_rule_name("la", ctx.path)
    b.add_rule(name, [body])
    return name


def _object_literal(compiler, value: dict, ctx) -> str:
    members = [(key, _symbol(compiler, item, ctx)) for key, item in value.items()]
    return objects.shape_rule(compiler, ctx, members, required=set(value), generic=None)
