"""Which nodes accept some value, and whether an object or array in progress can still be completed.

The parser asks before it offers anything: a key whose schema accepts nothing, an item past what
maxItems allows, "}" while a required key is missing, an array that can no longer reach minItems.
Recursive schemas make emptiness a fixpoint: a node is non-empty if some finite value fits, found by
iterating from "everything empty" until nothing changes (the least fixpoint), so `{"required":
["child"], "properties": {"child": {"$ref": "#"}}}` is correctly empty.
"""

from __future__ import annotations

from constrain.grammars.json_schema.node_compiler import ANY, NOTHING
from constrain.grammars.json_schema.shapes import key_indices

ABSENT = -1


class Emptiness:
    def __init__(self, parser):
        self.comp = parser.comp
        self.store = parser.store
        self._known: dict[int, bool] = {}
        self._guess: dict[int, bool] | None = None
        self._visiting: set[int] = set()
        self._changed = False
        self._object_memo: dict[tuple, bool] = {}
        self._array_memo: dict[tuple, bool] = {}
        self._remembered: dict[bytes, bool] = {}

    def remember(self, verdicts: dict[bytes, bool]) -> None:
        """Verdicts of positions by name, as a previous process decided them (compiled_cache.py)."""
        self._remembered = verdicts

    def decided(self) -> dict[bytes, bool]:
        """The verdicts decided so far, by position name; none if the names clashed."""
        names = self.comp.names
        if names.conflict:
            return {}
        out = {}
        for nid, verdict in self._known.items():
            name = names.name(nid)
            if name is not None:
                out[name] = verdict
        return out

    # -- nodes -------------------------------------------------------------------------------
    def nonempty(self, nid: int) -> bool:
        if nid < 0 or nid == NOTHING:
            return False
        if nid == ANY:
            return True
        known = self._known.get(nid)
        if known is not None:
            return known
        if self._remembered:
            name = self.comp.names.name(nid)
            known = None if name is None else self._remembered.get(name)
            if known is not None:  # a least fixpoint's verdict: final inside any round of this one
                self._known[nid] = known
                return known
        if self._guess is not None:  # inside a fixpoint evaluation
            if nid in self._visiting:
                return self._guess.get(nid, False)
            self._visiting.add(nid)
            value = self._compute(nid)
            if value and not self._guess.get(nid, False):
                self._guess[nid] = True
                self._changed = True
            return value
        self._guess = {}
        try:
            while True:
                self._changed = False
                self._visiting = set()
                value = self.nonempty(nid)
                if not self._changed:
                    break
            for n in self._visiting:
                self._known[n] = self._guess.get(n, False)
            self._known[nid] = value
        finally:
            self._guess = None
            self._visiting = set()
        return value

    def _compute(self, nid: int) -> bool:
        node = self.comp.node(nid)
        s = self.store
        if s.is_live(s.union((node.string, node.number, node.literal))):
            return True
        return any(self.object_can_finish(o, 0, 0) for o in node.objects) or \
            any(self.array_can_finish(a, 0, 0, 0) for a in node.arrays)

    def usable(self, nid: int) -> bool:
        return nid >= 0 and self.nonempty(nid)

    def _memo(self, table: dict, key: tuple, compute) -> bool:
        if self._guess is not None:  # intermediate answers of a fixpoint round are not final
            return compute()
        value = table.get(key)
        if value is None:
            value = table[key] = compute()
        return value

    # -- objects -----------------------------------------------------------------------------
    def _closure(self, shape, mask: int) -> int:
        """`mask` plus every key that dependentRequired makes necessary."""
        while True:
            grown = mask
            for i in key_indices(mask):
                if i < len(shape.dependent):
                    grown |= shape.dependent[i]
            if grown == mask:
                return mask
            mask = grown

    def object_can_close(self, sid: int, seen: int, count: int) -> bool:
        shape = self.comp.objects[sid]
        if shape.required & ~seen or count < shape.min_properties:
            return False
        if count - bin(seen).count("1") < shape.min_others:
            return False
        return self._closure(shape, seen) == seen

    def object_can_finish(self, sid: int, seen: int, count: int) -> bool:
        return self._memo(self._object_memo, (sid, seen, count), lambda: self._object_can_finish(sid, seen, count))

    def _object_can_finish(self, sid: int, seen: int, count: int) -> bool:
        shape = self.comp.objects[sid]
        mandatory = self._closure(shape, seen | shape.required)
        for i in key_indices(mandatory & ~seen):
            if not self.usable(shape.key_values[i]):
                return False
        n = count + bin(mandatory & ~seen).count("1")
        others_ok = any(self.nonempty(node) for _, node, _ in shape.others)
        need_others = max(0, shape.min_others - (count - bin(seen).count("1")))
        if need_others and not others_ok:
            return False
        n += need_others
        limit = shape.max_properties
        if limit is not None and n > limit:
            return False
        need = shape.min_properties - n
        if need <= 0:
            return True
        if others_ok:  # other keys come in any number
            return limit is None or n + need <= limit
        extra = []
        for i in range(len(shape.keys)):
            if mandatory >> i & 1 or not self.usable(shape.key_values[i]):
                continue
            added = self._closure(shape, mandatory | (1 << i)) & ~mandatory
            if all(self.usable(shape.key_values[j]) for j in key_indices(added)):
                extra.append(bin(added).count("1"))
        total = 0
        for size in sorted(extra):
            total += size
            if total >= need:
                return limit is None or n + total <= limit
        return False

    def key_addable(self, sid: int, index: int, seen: int, count: int) -> bool:
        shape = self.comp.objects[sid]
        return self.usable(shape.key_values[index]) and self.object_can_finish(sid, seen | (1 << index), count + 1)

    def other_addable(self, sid: int, seen: int, count: int) -> bool:
        shape = self.comp.objects[sid]
        return any(self.nonempty(n) for _, n, _ in shape.others) and self.object_can_finish(sid, seen, count + 1)


    # -- arrays ------------------------------------------------------------------------------
    def array_can_close(self, aid: int, index: int, matched: int) -> bool:
        shape = self.comp.arrays[aid]
        return index >= shape.min_items and matched >= shape.min_contains

    def array_can_finish(self, aid: int, index: int, matched: int, n_seen: int) -> bool:
        return self._memo(self._array_memo, (aid, index, matched, n_seen),
                          lambda: self._array_can_finish(aid, index, matched, n_seen))

    def _array_can_finish(self, aid: int, index: int, matched: int, n_seen: int) -> bool:
        shape = self.comp.arrays[aid]
        need_matched = max(0, shape.min_contains - matched)
        need = max(shape.min_items - index, need_matched, 0)
        if shape.max_items is not None and index + need > shape.max_items:
            return False
        if need == 0:
            return True
        last = min(index + need, len(shape.prefix) + 1)
        for position in range(index, last):
            if not self.usable(shape.item(position)):
                return False
        if need_matched:
            matching = self.comp.intersect_ids([shape.item(max(index, len(shape.prefix))), shape.contains]) \
                if shape.item(max(index, len(shape.prefix))) >= 0 else NOTHING
            if not self.usable(matching) and not any(
                    self.usable(self.comp.intersect_ids([shape.item(p), shape.contains]))
                    for p in range(index, len(shape.prefix)) if shape.item(p) >= 0):
                return False
        if shape.unique:
            return self.domain_size(shape.item(max(index, len(shape.prefix)))) >= n_seen + need
        return True

    def item_variants(self, aid: int, index: int, matched: int, n_seen: int) -> list[tuple[int, int]]:
        """(node, items matching `contains` after it) for each way item `index` may go."""
        shape = self.comp.arrays[aid]
        if shape.max_items is not None and index >= shape.max_items:
            return []
        base = shape.item(index)
        if base < 0:
            return []
        if shape.contains < 0 or (shape.max_contains is None and matched >= shape.min_contains):
            variants = [(base, matched)]
        else:
            variants = []
            if shape.max_contains is None or matched + 1 <= shape.max_contains:
                variants.append((self.comp.intersect_ids([base, shape.contains]), matched + 1))
            if shape.max_contains is None:
                variants.append((base, matched))
            else:
                negated = self.comp.negate_id(shape.contains, shape.path)
                variants.append((self.comp.intersect_ids([base, negated]), matched))
        return [(node, m) for node, m in variants
                if self.usable(node) and self.array_can_finish(aid, index + 1, m, n_seen + 1)]

    def domain_size(self, nid: int) -> float:
        """How many distinct values a node holds (infinity when unbounded or unknown)."""
        if nid < 0:
            return 0
        node = self.comp.node(nid)
        if node.values is not None:
            return len(node.values)
        s, t = self.store, self.terms_literals()
        if node.string != s.empty or node.number != s.empty or node.objects or node.arrays:
            return float("inf")
        return sum(1 for lit in t if s.is_live(s.both(node.literal, lit)))

    def terms_literals(self):
        t = self.comp.terms
        return (t.true, t.false, t.null)
