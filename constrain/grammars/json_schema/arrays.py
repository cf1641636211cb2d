"""Array schemas -> rules counting elements: prefixItems by position, then items, within
minItems..maxItems. States are unrolled up to the last position that differs; an open-ended
tail is one left-to-right loop.
"""

from __future__ import annotations

from constrain.grammars.json_schema.errors import InvalidSchemaError, SchemaTooLargeError

MAX_UNROLLED_ITEMS = 1000


def _count(eff, keyword, ctx, default):
    value = eff.get(keyword, default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise InvalidSchemaError(f"must be a non-negative integer, not {value!r}", keyword=keyword, path=ctx.path)
    return value


def array_rule(comp, eff: dict, ctx) -> str | None:
    prefix = eff.get("prefixItems", [])
    if not isinstance(prefix, list):
        raise InvalidSchemaError("must be a list of schemas", keyword="prefixItems", path=ctx.path)
    min_items = _count(eff, "minItems", ctx, 0)
    max_items = _count(eff, "maxItems", ctx, None)
    items = eff.get("items", True)
    if isinstance(items, list):
        raise InvalidSchemaError("draft 2020-12 spells positional items as prefixItems", keyword="items",
                                 path=ctx.path)
    elements = [comp.compile_symbol(s, ctx.child("prefixItems", i)) for i, s in enumerate(prefix)]
    tail = comp.compile_symbol(items, ctx.child("items"))
    # The longest possible array: stop at the first position that admits no value.
    longest = max_items
    for i, symbol in enumerate(elements):
        if symbol is None:
            longest = i if longest is None else min(longest, i)
            break
    if tail is None:
        longest = len(elements) if longest is None else min(longest, len(elements))
    if longest is not None and longest < min_items:
        return None
    unrolled = max(len(elements), min_items, 1) if longest is None else longest
    if unrolled > MAX_UNROLLED_ITEMS:
        keyword = "maxItems" if longest is not None and longest == max_items else "minItems"
        raise SchemaTooLargeError(f"arrays are unrolled up to {MAX_UNROLLED_ITEMS} positions", keyword=keyword,
                                  path=ctx.path)
    b = comp.builder
    ls, rs, comma = b.punct("["), b.punct("]"), b.punct(",")
    base = b.new_rule_name("a", ctx.path)

    def state(j: int) -> str:
        return f"{base}_{j}"

    def element(j: int) -> str:
        return elements[j] if j < len(elements) else tail

    for j in range(unrolled + 1):
        alternatives = [[rs]] if j >= min_items else []
        sep = [comma] if j else []
        if longest is None and j == unrolled:
            alternatives.append(sep + [element(j), state(j)])  # the open-ended tail loops here
        elif longest is None or j < longest:
            alternatives.append(sep + [element(j), state(j + 1)])
        b.add_rule(state(j), alternatives)
        b.rule_paths[state(j)] = ctx.path
    b.add_rule(base, [[ls, state(0)]])
    return base
