"""Intersection, union and complement of nodes, exactly, or a refusal naming the keyword.

Scalars are terms, so their algebra is the term algebra (a complement is taken within the
spelling discipline of its operand, see json_terms.py). Shapes intersect by merging: a listed key
takes the intersection of both sides' schemas for it, other keys must be admitted by both sides.
A shape's complement is the union of the complements of its constraints, each of them again a
shape ("key k absent", "key k present with a value outside its schema", "fewer than n items"):
that covers what `not`, `if` and overlapping `oneOf` branches meet in practice, and what it does
not cover is refused rather than approximated.
"""

from __future__ import annotations

import json
from dataclasses import replace

from constrain.grammars.json_schema.errors import SchemaTooLargeError, UnsupportedSchemaError
from constrain.grammars.json_schema.shapes import ArrayShape, Node, ObjectShape

ABSENT = -1  # a listed key's value node when the key may not appear
MAX_SHAPE_PRODUCT = 1024
MAX_DISJOINT_DEPTH = 8


def _ids():
    from constrain.grammars.json_schema import node_compiler

    return node_compiler.ANY, node_compiler.NOTHING, node_compiler.ANY_OBJECT, node_compiler.ANY_ARRAY


# ------------------------------------------------------------------ union / intersection
def union(comp, nodes: list[Node], path: str) -> Node:
    s = comp.store
    objects, arrays = [], []
    for n in nodes:
        objects += [o for o in n.objects if o not in objects]
        arrays += [a for a in n.arrays if a not in arrays]
    _, _, any_object, any_array = _ids()
    if any_object in objects:
        objects = [any_object]
    if any_array in arrays:
        arrays = [any_array]
    values = None
    if all(n.values is not None for n in nodes):
        values = tuple(v for n in nodes for v in n.values)
    return Node(path, s.union([n.string for n in nodes]), s.union([n.number for n in nodes]),
                s.union([n.literal for n in nodes]), tuple(objects), tuple(arrays),
                all(n.number_complete or n.number == s.empty for n in nodes), values)


def intersect_all(comp, nodes: list[Node]) -> Node:
    out = nodes[0]
    for n in nodes[1:]:
        out = intersect(comp, out, n)
    return out


def intersect(comp, a: Node, b: Node) -> Node:
    s = comp.store
    _, _, any_object, any_array = _ids()
    objects = _product(a.objects, b.objects, any_object, lambda x, y: merge_objects(comp, x, y), a.path)
    arrays = _product(a.arrays, b.arrays, any_array, lambda x, y: _maybe(merge_arrays(comp, x, y)), a.path)
    values = None
    if a.values is not None or b.values is not None:
        first, other = (a, b) if a.values is not None else (b, a)
        values = tuple(v for v in first.values if accepts_value(comp, other, v))
    return Node(a.path, s.both(a.string, b.string), s.both(a.number, b.number), s.both(a.literal, b.literal),
                objects, arrays, a.number_complete and b.number_complete, values)


def _product(xs: tuple, ys: tuple, free: int, merge, path: str) -> tuple:
    if not xs or not ys:
        return ()
    if xs == (free,):
        return ys
    if ys == (free,):
        return xs
    if len(xs) * len(ys) > MAX_SHAPE_PRODUCT:
        raise SchemaTooLargeError(f"intersecting {len(xs)} by {len(ys)} alternative shapes", path=path)
    out = []
    for x in xs:
        for y in ys:
            if x == free:
                out.append(y)
            elif y == free:
                out.append(x)
            else:
                out.extend(merge(x, y))
    return tuple(dict.fromkeys(out))


def _maybe(shape_id: int | None) -> tuple:
    return () if shape_id is None else (shape_id,)


def accepts_value(comp, node: Node, value) -> bool:
    """Whether a scalar value is in the node (structured values are assumed to be)."""
    s = comp.store
    if isinstance(value, (dict, list)):
        return bool(node.objects if isinstance(value, dict) else node.arrays)
    text = json.dumps(value, ensure_ascii=False).encode("utf-8")
    term = node.string if isinstance(value, str) else node.literal if value is None or isinstance(value, bool) \
        else node.number
    return s.nullable[s.deriv_bytes(term, text)]


# ------------------------------------------------------------------ objects
def key_value(comp, shape: ObjectShape, key: str) -> int:
    """The value node a shape gives `key` (ABSENT if the key may not appear)."""
    if key in shape.keys:
        return shape.key_values[shape.keys.index(key)]
    s = comp.store
    spelled = json.dumps(key, ensure_ascii=False).encode("utf-8")
    matching = [n for t, n, _ in shape.others if s.nullable[s.deriv_bytes(t, spelled)]]
    return comp.intersect_ids(matching) if matching else ABSENT


def merge_objects(comp, a_id: int, b_id: int) -> tuple[int, ...]:
    a, b = comp.objects[a_id], comp.objects[b_id]
    s, terms = comp.store, comp.terms
    keys = list(dict.fromkeys(a.keys + b.keys))
    values, key_terms = [], []
    for k in keys:
        va, vb = key_value(comp, a, k), key_value(comp, b, k)
        values.append(ABSENT if ABSENT in (va, vb) else comp.intersect_ids([va, vb]))
        key_terms.append(terms.string_literal(k))
    index = {k: i for i, k in enumerate(keys)}

    def remap(shape: ObjectShape, mask: int) -> int:
        out = 0
        for i, k in enumerate(shape.keys):
            if mask >> i & 1:
                out |= 1 << index[k]
        return out

    required = remap(a, a.required) | remap(b, b.required)
    dependent = [0] * len(keys)
    for shape in (a, b):
        for i, k in enumerate(shape.keys):
            if i < len(shape.dependent):
                dependent[index[k]] |= remap(shape, shape.dependent[i])
    dom_a = s.union([t for t, _, _ in a.others])
    dom_b = s.union([t for t, _, _ in b.others])
    others = []
    for entries, other_domain in ((a.others, dom_b), (b.others, dom_a)):
        for t, n, d in entries:
            t2 = s.both(t, other_domain)
            if s.is_live(t2):
                others.append((t2, n, d))
    max_props = [m for m in (a.max_properties, b.max_properties) if m is not None]
    merged = ObjectShape(
        path=a.path, keys=tuple(keys), key_terms=tuple(key_terms), key_values=tuple(values), required=required,
        dependent=tuple(dependent), others=tuple(others),
        min_properties=max(a.min_properties, b.min_properties), max_properties=min(max_props) if max_props else None,
        min_others=0)
    return tuple(comp.add_object(replace(merged, required=req, min_others=least))
                 for req, least in _other_member_variants(a, b, keys, values, required))


def _other_member_variants(a: ObjectShape, b: ObjectShape, keys: list, values: list, required: int) -> list:
    """(required keys, min_others) of the shapes whose union keeps each side's "at least one member
    outside my listed keys" (min_others, from a complement): once merged, that member may be one
    the other side lists, now a listed key, or one still unlisted."""
    variants = [(required, 0)]
    for x in (a, b):
        if not x.min_others:
            continue
        if x.min_others > 1:
            raise UnsupportedSchemaError("the complement of a count of other keys is not supported", keyword="not",
                                         path=x.path)
        counted = [i for i, k in enumerate(keys) if k not in x.keys and values[i] != ABSENT]
        variants = list(dict.fromkeys(
            [(req, 1) for req, _ in variants]
            + [(req | 1 << i, least) for req, least in variants for i in counted]))
    return variants


def close_objects(comp, node: Node) -> Node:
    """Strict mode at a value position: objects that list properties admit no other keys but the
    ones an explicit patternProperties / additionalProperties admits."""
    out = []
    for o in node.objects:
        shape = comp.objects[o]
        if any(d for _, _, d in shape.others) and (shape.keys or any(not d for _, _, d in shape.others)):
            shape = replace(shape, others=tuple(e for e in shape.others if not e[2]))
            o = comp.add_object(shape)
        out.append(o)
    return replace(node, objects=tuple(out))


def _free_object(comp, keys=(), values=(), required=0, **bounds) -> int:
    terms = comp.terms
    key_terms = tuple(terms.string_literal(k) for k in keys)
    any_id = _ids()[0]
    shape = ObjectShape(path="(complement)", keys=tuple(keys), key_terms=key_terms, key_values=tuple(values),
                        required=required, dependent=(0,) * len(keys),
                        others=((terms.any_string, any_id, False),), **bounds)
    return comp.add_object(shape)


def negate_object(comp, shape: ObjectShape, path: str) -> list[int]:
    """Object shapes whose union is every object the shape rejects."""
    terms = comp.terms
    any_id = _ids()[0]
    out = []
    for i, k in enumerate(shape.keys):
        v = shape.key_values[i]
        if shape.required >> i & 1:
            out.append(_free_object(comp, (k,), (ABSENT,)))
        if v == ABSENT:
            out.append(_free_object(comp, (k,), (any_id,), 1))
        elif v != any_id:
            out.append(_free_object(comp, (k,), (comp.negate_id(v, path),), 1))
        deps = shape.dependent[i] if i < len(shape.dependent) else 0
        for j, other in enumerate(shape.keys):
            if deps >> j & 1 and other != k:
                out.append(_free_object(comp, (k, other), (any_id, ABSENT), 1))
    free_others = terms.any_string
    if not shape.others:  # closed: some key it does not list (listed here so they do not count)
        out.append(_free_object(comp, shape.keys, (any_id,) * len(shape.keys), min_others=1))
    elif not (len(shape.others) == 1 and shape.others[0][0] == free_others and shape.others[0][1] == any_id):
        raise UnsupportedSchemaError("the complement of patternProperties / additionalProperties / "
                                     "propertyNames schemas is not supported", keyword="not", path=path)
    if shape.min_properties > 0:
        out.append(_free_object(comp, max_properties=shape.min_properties - 1))
    if shape.max_properties is not None:
        out.append(_free_object(comp, min_properties=shape.max_properties + 1))
    if shape.min_others == 1:  # the complement of "some other key": no other key
        free = comp.objects[_free_object(comp, shape.keys, (any_id,) * len(shape.keys))]
        out.append(comp.add_object(replace(free, others=())))
    elif shape.min_others > 1:
        raise UnsupportedSchemaError("the complement of a count of other keys is not supported", keyword="not",
                                     path=path)
    return out


# ------------------------------------------------------------------ arrays
def merge_arrays(comp, a_id: int, b_id: int) -> int | None:
    a, b = comp.arrays[a_id], comp.arrays[b_id]
    if a.contains >= 0 and b.contains >= 0 and a.contains != b.contains:
        raise UnsupportedSchemaError("two different `contains` on one array", keyword="contains", path=a.path)
    length = max(len(a.prefix), len(b.prefix))
    nothing = -1

    def both(x: int, y: int) -> int:
        return nothing if nothing in (x, y) else comp.intersect_ids([x, y])

    prefix = tuple(both(a.item(i), b.item(i)) for i in range(length))
    max_items = [m for m in (a.max_items, b.max_items) if m is not None]
    contains, lo, hi = (a.contains, a.min_contains, a.max_contains) if a.contains >= 0 else \
        (b.contains, b.min_contains, b.max_contains)
    if a.contains >= 0 and b.contains >= 0:
        lo = max(a.min_contains, b.min_contains)
        his = [m for m in (a.max_contains, b.max_contains) if m is not None]
        hi = min(his) if his else None
    merged = ArrayShape(path=a.path, prefix=prefix, items=both(a.items, b.items),
                        min_items=max(a.min_items, b.min_items), max_items=min(max_items) if max_items else None,
                        unique=a.unique or b.unique, contains=contains, min_contains=lo, max_contains=hi)
    return comp.add_array(merged)


def negate_array(comp, shape: ArrayShape, path: str) -> list[int]:
    any_id = _ids()[0]
    out = []
    if shape.min_items > 0:
        out.append(ArrayShape("(complement)", items=any_id, max_items=shape.min_items - 1))
    if shape.max_items is not None:
        out.append(ArrayShape("(complement)", items=any_id, min_items=shape.max_items + 1))
    for i, v in enumerate(shape.prefix):
        if v != any_id:
            negated = any_id if v == -1 else comp.negate_id(v, path)
            out.append(ArrayShape("(complement)", prefix=(any_id,) * i + (negated,), items=any_id, min_items=i + 1))
    if shape.items == -1:
        out.append(ArrayShape("(complement)", items=any_id, min_items=len(shape.prefix) + 1))
    elif shape.items != any_id:
        if shape.prefix:
            raise UnsupportedSchemaError("the complement of `items` after `prefixItems` is not supported",
                                         keyword="not", path=path)
        out.append(ArrayShape("(complement)", items=any_id, contains=comp.negate_id(shape.items, path),
                              min_contains=1))
    if shape.unique:
        raise UnsupportedSchemaError("the complement of uniqueItems (an array with duplicates) is not supported",
                                     keyword="not", path=path)
    if shape.contains >= 0:
        if shape.min_contains > 0:
            out.append(ArrayShape("(complement)", items=any_id, contains=shape.contains, min_contains=0,
                                  max_contains=shape.min_contains - 1))
        if shape.max_contains is not None:
            out.append(ArrayShape("(complement)", items=any_id, contains=shape.contains,
                                  min_contains=shape.max_contains + 1))
    return [comp.add_array(a) for a in out]


# ------------------------------------------------------------------ complement
def negate(comp, node: Node, path: str) -> Node:
    s, t = comp.store, comp.terms
    _, _, any_object, any_array = _ids()
    string = s.minus(t.any_string, node.string)
    number_domain = t.any_number if node.number_complete else t.plain_number
    number = s.minus(number_domain, node.number) if node.number != t.any_number else s.empty
    literal = s.minus(t.any_literal, node.literal)
    objects = _negate_shapes(comp, node.objects, any_object, negate_object, merge_objects, comp.objects, path)
    arrays = _negate_shapes(comp, node.arrays, any_array, negate_array,
                            lambda c, x, y: _maybe(merge_arrays(c, x, y)), comp.arrays, path)
    return Node(path, string, number, literal, objects, arrays, node.number_complete)


def _negate_shapes(comp, ids: tuple, free: int, negate_one, merge, table, path: str) -> tuple:
    if not ids:
        return (free,)
    if free in ids:
        return ()
    result = None
    for i in ids:
        alternatives = tuple(negate_one(comp, table[i], path))
        result = alternatives if result is None else \
            _product(result, alternatives, free, lambda x, y: merge(comp, x, y), path)
    return result


# ------------------------------------------------------------------ oneOf
def one_of(comp, ids: list[int], ctx) -> Node:
    """Values valid under exactly one branch: each branch minus the branches it may overlap."""
    nodes = [comp.node(i) for i in ids]
    parts = []
    for i, n in enumerate(nodes):
        overlapping = [ids[j] for j in range(len(nodes)) if j != i and not disjoint(comp, n, nodes[j], 0)]
        if not overlapping:
            parts.append(ids[i])
            continue
        try:
            others = comp.negate_id(comp.union_ids(overlapping, ctx.path), ctx.path)
            comp.node(others)
        except UnsupportedSchemaError as exc:
            comp.unsupported("oneOf", ctx, f"branch {i} may overlap another branch and its complement is not "
                             f"supported ({exc.reason})")
            parts.append(ids[i])
            continue
        parts.append(comp.intersect_ids([ids[i], others]))
    return union(comp, [comp.node(p) for p in parts], ctx.path)


def disjoint(comp, a: Node, b: Node, depth: int) -> bool:
    """True only if no value is in both (False when unsure)."""
    if depth > MAX_DISJOINT_DEPTH:
        return False
    s = comp.store
    for x, y in ((a.string, b.string), (a.number, b.number), (a.literal, b.literal)):
        if x != s.empty and y != s.empty and s.is_live(s.both(x, y)):
            return False
    for x in a.objects:
        for y in b.objects:
            if not _objects_disjoint(comp, comp.objects[x], comp.objects[y], depth):
                return False
    for x in a.arrays:
        for y in b.arrays:
            if not _arrays_disjoint(comp, comp.arrays[x], comp.arrays[y], depth):
                return False
    return True


def _objects_disjoint(comp, a: ObjectShape, b: ObjectShape, depth: int) -> bool:
    for first, second in ((a, b), (b, a)):
        for i, k in enumerate(first.keys):
            if not first.required >> i & 1:
                continue
            other = key_value(comp, second, k)
            if other == ABSENT:
                return True
            if k in second.keys and second.required >> second.keys.index(k) & 1:
                mine = first.key_values[i]
                if mine == ABSENT or disjoint(comp, comp.node(mine), comp.node(other), depth + 1):
                    return True
    lo = max(a.min_properties, b.min_properties)
    his = [m for m in (a.max_properties, b.max_properties) if m is not None]
    return bool(his) and lo > min(his)


def _arrays_disjoint(comp, a: ArrayShape, b: ArrayShape, depth: int) -> bool:
    lo = max(a.min_items, b.min_items)
    his = [m for m in (a.max_items, b.max_items) if m is not None]
    if his and lo > min(his):
        return True
    for i in range(min(a.min_items, b.min_items)):
        x, y = a.item(i), b.item(i)
        if x == -1 or y == -1 or disjoint(comp, comp.node(x), comp.node(y), depth + 1):
            return True
    return False
