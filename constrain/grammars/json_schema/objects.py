"""Object schemas -> rules over member sequences.

Listed keys ("tracked": properties, required, dependentRequired) get one literal key terminal each.
With at most ANY_ORDER_LIMIT tracked keys the members may come in any order: the rule states are
the subsets of keys already written, which also makes required, min/maxProperties and
dependentRequired exact. With more keys, members follow the schema's order (each optional one
may be skipped). Other keys ("generic") match one regex that excludes every tracked key, so a
tracked key is never validated against additionalProperties by accident.
"""

from __future__ import annotations

import re

from constrain.grammars.json_schema.charset import ANY_CHAR, CharSet, json_literal_regex
from constrain.grammars.json_schema.errors import InvalidSchemaError, SchemaTooLargeError
from constrain.grammars.json_schema.regex_translate import PatternError, ir_to_json_regex, parse_pattern

ANY_ORDER_LIMIT = 6
MAX_ORDERED_PROPERTIES = 1000
# Each optional property lets every later key follow, so LALR item sets grow quadratically and
# lark's table construction roughly cubically (100 optional keys: ~6 s). Required keys are cheap.
MAX_OPTIONAL_ORDERED = 48
MAX_COUNTED_PROPERTIES = 64
_END = object()


def complement_of_words(words) -> tuple:
    """IR of every string except the given ones (a trie walked branch by branch)."""
    trie: dict = {}
    for word in words:
        node = trie
        for c in word:
            node = node.setdefault(c, {})
        node[_END] = True

    def build(node) -> tuple:
        alternatives = []
        children = [c for c in node if c is not _END]
        others = ANY_CHAR.minus(CharSet.of("".join(children)))
        if others:
            alternatives.append(("seq", [("set", others), ("rep", ("set", ANY_CHAR), 0, None)]))
        for c in children:
            alternatives.append(("seq", [("set", CharSet.of(c)), build(node[c])]))
        if _END not in node:
            alternatives.append(("seq", []))
        return ("alt", alternatives)

    return build(trie)


def _search(pattern: str, key: str, ctx) -> bool:
    try:  # the validator's own semantics for patternProperties
        return re.search(pattern, key) is not None
    except re.error as exc:
        raise InvalidSchemaError(f"invalid pattern {pattern!r}: {exc}", keyword="patternProperties",
                                 path=ctx.path) from None


def object_rule(comp, eff: dict, ctx) -> str | None:
    props = eff.get("properties", {})
    required = eff.get("required", [])
    patterns = eff.get("patternProperties", {})
    deps = eff.get("dependentRequired", {})
    for keyword, value, kind in (("properties", props, dict), ("required", required, list),
                                 ("patternProperties", patterns, dict), ("dependentRequired", deps, dict)):
        if not isinstance(value, kind):
            raise InvalidSchemaError(f"must be a{'n object' if kind is dict else ' list'}", keyword=keyword,
                                     path=ctx.path)
    listed = "properties" in eff or "patternProperties" in eff
    additional = eff.get("additionalProperties", False if comp.strict and listed else True)
    names = eff.get("propertyNames")
    tracked = list(dict.fromkeys(list(props) + list(required) + list(deps)
                                 + [k for values in deps.values() for k in values]))
    members = []
    for key in tracked:
        parts = []
        if key in props:
            parts.append((props[key], ctx.child("properties", key)))
        parts += [(patterns[p], ctx.child("patternProperties", p)) for p in patterns if _search(p, key, ctx)]
        if not parts:
            parts = [(additional, ctx.child("additionalProperties"))]
        symbol = None
        if names is None or comp.is_valid(key, names, ctx):
            schema = parts[0][0] if len(parts) == 1 else {"allOf": [p for p, _ in parts]}
            symbol = comp.compile_symbol(schema, parts[0][1])
        if symbol is None:
            if key in required:
                return None
            continue
        members.append((key, symbol))
    generic = _generic_member(comp, eff, ctx, tracked, patterns, additional, names)
    return shape_rule(comp, ctx, members, set(required), generic,
                      eff.get("minProperties", 0), eff.get("maxProperties"), deps)


def _generic_member(comp, eff, ctx, tracked, patterns, additional, names):
    """(key regex, value rule) for keys outside `tracked`, or None when there are none."""
    if patterns:
        if additional is not False:
            comp.unsupported("patternProperties", ctx, "keys outside the patterns would need the regex "
                             "complement of the patterns")
        elif len(patterns) > 1:
            comp.unsupported("patternProperties", ctx, "several patterns would need regex intersections")
        elif any(_search(p, key, ctx) for p in patterns for key in tracked):
            # Listed keys matching no pattern need no exclusion: the pattern language already lacks them.
            comp.unsupported("patternProperties", ctx, "pattern keys would need a regex difference with the "
                             "listed properties that match the pattern")
        elif names is not None:
            comp.unsupported("propertyNames", ctx, "propertyNames with patternProperties needs an intersection")
        else:
            (pattern, schema), = patterns.items()
            try:
                key_regex = '"' + ir_to_json_regex(parse_pattern(pattern)) + '"'
            except PatternError as exc:
                comp.unsupported("patternProperties", ctx, f"pattern {pattern!r}: {exc}")
                return None
            symbol = comp.compile_symbol(schema, ctx.child("patternProperties", pattern))
            return (key_regex, symbol) if symbol is not None else None
        return None
    if additional is False:
        return None
    symbol = comp.compile_symbol(additional, ctx.child("additionalProperties"))
    if symbol is None:
        return None
    if names is not None:
        names_alt = comp.compile_alt(names, ctx.child("propertyNames"))
        if names_alt.opaque:
            comp.unsupported("propertyNames", ctx, "a recursive propertyNames schema is not supported")
            return None
        if "string" not in names_alt.scalars:
            return None
        if "string" not in names_alt.free:
            if tracked:
                comp.unsupported("propertyNames", ctx, "propertyNames together with listed properties would "
                                 "need a regex difference")
                return None
            return names_alt.scalars["string"], symbol
    return '"' + ir_to_json_regex(complement_of_words(tracked)) + '"', symbol


def _count(value, keyword, ctx, default):
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidSchemaError(f"must be a non-negative integer, not {value!r}", keyword=keyword, path=ctx.path)
    return value


def shape_rule(comp, ctx, members, required, generic, min_props=0, max_props=None, deps=None) -> str | None:
    """The rule for objects whose tracked members are `members` [(key, value rule)]."""
    min_props = _count(min_props, "minProperties", ctx, 0)
    max_props = _count(max_props, "maxProperties", ctx, None)
    deps = deps or {}
    if generic is not None and min_props > 0:
        # json.loads keeps the last of repeated keys, so counting written members could
        # accept an object that has fewer distinct properties than required.
        comp.unsupported("minProperties", ctx, "counting members needs every key listed in properties "
                         "(a repeated unlisted key would be counted twice)")
        min_props = 0
    if len(members) <= ANY_ORDER_LIMIT:
        return _any_order(comp, ctx, members, required, generic, min_props, max_props, deps)
    if len(members) > MAX_ORDERED_PROPERTIES:
        raise SchemaTooLargeError(f"more than {MAX_ORDERED_PROPERTIES} properties", keyword="properties",
                                  path=ctx.path)
    optional = sum(key not in required for key, _ in members)
    if optional > MAX_OPTIONAL_ORDERED:
        raise SchemaTooLargeError(f"{optional} optional properties in one object; at most {MAX_OPTIONAL_ORDERED} "
                                  "are supported (make some required or nest them)", keyword="properties",
                                  path=ctx.path)
    if generic is not None and max_props is not None:
        comp.unsupported("maxProperties", ctx, f"only enforced for at most {ANY_ORDER_LIMIT} listed keys")
        max_props = None
    if deps:
        comp.unsupported("dependentRequired", ctx, f"only enforced for at most {ANY_ORDER_LIMIT} listed keys")
    if min_props > len(required & {k for k, _ in members}) or (max_props is not None and max_props < len(members)):
        keyword = "minProperties" if min_props > len(required) else "maxProperties"
        comp.unsupported(keyword, ctx, f"only enforced for at most {ANY_ORDER_LIMIT} listed keys")
    return _ordered(comp, ctx, members, required, generic)


def _any_order(comp, ctx, members, required, generic, min_props, max_props, deps) -> str | None:
    """States are (tracked keys written, other members written); the latter is only counted
    (up to maxProperties) when maxProperties applies to unlisted keys, else it loops."""
    b = comp.builder
    keys = [k for k, _ in members]
    bit = {k: 1 << i for i, k in enumerate(keys)}
    if any(k not in bit for k in required):
        return None
    required_mask = sum(bit[k] for k in required)
    dep_masks = []
    for key, needed in deps.items():
        if key in bit:
            needed_mask = None if any(n not in bit for n in needed) else sum(bit[n] for n in needed)
            dep_masks.append((bit[key], needed_mask))  # None: the key may not appear at all
    counting = generic is not None and max_props is not None
    if counting and max_props > MAX_COUNTED_PROPERTIES:
        raise SchemaTooLargeError(f"maxProperties above {MAX_COUNTED_PROPERTIES} with unlisted keys",
                                  keyword="maxProperties", path=ctx.path)

    def total(mask: int, others: int) -> int:
        return bin(mask).count("1") + others

    def can_close(mask: int, others: int) -> bool:
        count = total(mask, others)
        if mask & required_mask != required_mask or count < min_props or (max_props is not None and count > max_props):
            return False
        return all(not mask & k or (need is not None and mask & need == need) for k, need in dep_masks)

    full = (1 << len(keys)) - 1
    states = [(m, g) for m in range(full + 1) for g in (range(max_props + 1) if counting else (0,))]
    productive: dict = {}
    for mask, others in sorted(states, key=lambda st: -total(*st)):
        room = max_props is None or total(mask, others) < max_props
        productive[mask, others] = can_close(mask, others) or room and (
            any(productive.get((mask | bit[k], others), False) for k in keys if not mask & bit[k])
            or (counting and productive.get((mask, others + 1), False)))
    if not productive[0, 0]:
        return None
    lb, rb, comma, colon = b.punct("{"), b.punct("}"), b.punct(","), b.punct(":")
    key_terms = {k: b.terminal(json_literal_regex(k)) for k in keys}
    generic_parts = [b.terminal(generic[0]), colon, generic[1]] if generic is not None else None
    base = b.new_rule_name("o", ctx.path)

    def name(mask: int, others: int, first: bool) -> str:
        return f"{base}_{mask}_{others}{'f' if first else ''}"

    wanted = [(0, 0, True)]
    done = set()
    while wanted:
        mask, others, first = state = wanted.pop()
        if state in done:
            continue
        done.add(state)
        sep = [] if first else [comma]
        room = max_props is None or total(mask, others) < max_props
        alternatives = [[rb]] if can_close(mask, others) else []
        for key, value in members:
            nxt = (mask | bit[key], others)
            if room and not mask & bit[key] and productive.get(nxt):
                alternatives.append(sep + [key_terms[key], colon, value, name(*nxt, False)])
                wanted.append((*nxt, False))
        if generic_parts is not None and room:
            nxt = (mask, others + 1 if counting else others)
            if productive.get(nxt):
                alternatives.append(sep + generic_parts + [name(*nxt, False)])
                wanted.append((*nxt, False))
        b.add_rule(name(mask, others, first), alternatives)
        b.rule_paths[name(mask, others, first)] = ctx.path
    b.add_rule(base, [[lb, name(0, 0, True)]])
    return base


def _ordered(comp, ctx, members, required, generic) -> str:
    b = comp.builder
    lb, rb, comma, colon = b.punct("{"), b.punct("}"), b.punct(","), b.punct(":")
    base = b.new_rule_name("o", ctx.path)
    n = len(members)
    generic_parts = [b.terminal(generic[0]), colon, generic[1]] if generic is not None else None

    def name(kind: str, i, first: bool) -> str:
        return f"{base}_{kind}{i}{'f' if first else ''}"

    for first in (True, False):
        sep = [] if first else [comma]
        for i, (key, value) in enumerate(members):
            choices = [[name("t", i, first)]]
            if key not in required:
                choices.append([name("s", i + 1, first)])
            b.add_rule(name("s", i, first), choices)
            emits = [sep + [b.terminal(json_literal_regex(key)), colon, value, name("s", i + 1, False)]]
            if generic_parts:
                emits.append(sep + generic_parts + [name("t", i, False)])
            b.add_rule(name("t", i, first), emits)
        end = [[rb]]
        if generic_parts:
            end.append(sep + generic_parts + [name("s", n, False)])
        b.add_rule(name("s", n, first), end)
    for rule in list(b.rules):
        if rule.startswith(base + "_"):
            b.rule_paths[rule] = ctx.path
    b.add_rule(base, [[lb, name("s", 0, True)]])
    return base
