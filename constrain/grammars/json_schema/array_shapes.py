"""Array keywords -> an ArrayShape: positions by prefixItems, then items, within
minItems..maxItems (counted by the parser, never unrolled), uniqueItems, contains."""

from __future__ import annotations

from constrain.grammars.json_schema.errors import InvalidSchemaError
from constrain.grammars.json_schema.scalar_terms import count_keyword
from constrain.grammars.json_schema.shapes import ArrayShape

NOTHING = -1  # no item may come at these positions


def array_shape(comp, eff: dict, ctx) -> ArrayShape:
    prefix = eff.get("prefixItems", [])
    if not isinstance(prefix, list):
        raise InvalidSchemaError("must be a list of schemas", keyword="prefixItems", path=ctx.path)
    items = eff.get("items", True)
    if isinstance(items, list):
        raise InvalidSchemaError("draft 2020-12 spells positional items as prefixItems", keyword="items",
                                 path=ctx.path)
    prefix_ids = tuple(comp.node_id(s, ctx.child("prefixItems", i)) for i, s in enumerate(prefix))
    items_id = NOTHING if items is False else comp.node_id(items, ctx.child("items"))
    unique = eff.get("uniqueItems", False)
    if not isinstance(unique, bool):
        raise InvalidSchemaError("must be a boolean", keyword="uniqueItems", path=ctx.path)
    contains = eff.get("contains")
    contains_id = NOTHING
    min_contains = count_keyword(eff, "minContains", ctx, 1)
    max_contains = count_keyword(eff, "maxContains", ctx, None)
    if contains is not None:
        contains_id = comp.node_id(contains, ctx.child("contains"))
    return ArrayShape(
        path=ctx.path, prefix=prefix_ids, items=items_id,
        min_items=count_keyword(eff, "minItems", ctx, 0), max_items=count_keyword(eff, "maxItems", ctx, None),
        unique=unique, contains=contains_id, min_contains=min_contains if contains is not None else 0,
        max_contains=max_contains if contains is not None else None,
    )
