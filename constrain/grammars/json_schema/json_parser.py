"""The parser of JSON under a compiled schema: configurations, the lexemes each allows, and moves.

A configuration is (parent configuration, frame), interned to an int; the frames are the
NamedTuples below (Done, Value, InObject, InArray, EmptyArray).

Members may come in any order: `seen` makes `required`, `dependentRequired` and min/maxProperties
exact. The parser only ever offers a lexeme after which the value can still be completed (every
node is checked for emptiness, every object and array for whether its bounds can still be met),
so a generation can always finish.
"""

from __future__ import annotations

import json
from typing import NamedTuple

from constrain.grammars.json_schema.emptiness import Emptiness
from constrain.grammars.json_schema.literals import canonical_key
from constrain.grammars.json_schema.node_compiler import NOTHING, SchemaCompiler
from constrain.grammars.json_schema.scalar_terms import scalar_literal_term
from constrain.grammars.json_schema.shapes import key_indices
from constrain.grammars.lexemes.terms import FilterTag

OPEN, AFTER_VALUE, AFTER_COMMA = 0, 1, 2
ABSENT = -1
SCALAR, CLOSE, COMMA = "S", "}", ","
NO_VALUES = frozenset()
CLOSE_BIT, COMMA_BIT = 0, 1  # FilterTag bits inside objects; keys and other-key entries interleave


class Done(NamedTuple):
    """The value is complete (end of text allowed)."""


class Value(NamedTuple):
    """A value of `node` comes next."""

    node: int
    excluded: frozenset  # values a unique array already holds (canonical keys), not to be repeated


class InObject(NamedTuple):
    """Inside an object. Members may come in any order: `seen` makes `required`,
    `dependentRequired` and min/maxProperties exact."""

    shape: int
    phase: int  # OPEN (after "{"), AFTER_VALUE or AFTER_COMMA
    seen: int  # bitmask of the listed keys written
    count: int  # members written
    others: frozenset  # other keys written (kept only when minProperties must not count a repeated key)


class InArray(NamedTuple):
    """Inside an array after `index` items."""

    shape: int
    index: int
    matched: int  # items so far that match `contains`
    seen: frozenset  # the values so far (uniqueItems): (canonical key, value)


class EmptyArray(NamedTuple):
    """Just after "[" of an array that may stay empty: only "]"."""

    shape: int


Frame = Done | Value | InObject | InArray | EmptyArray


def key_bit(i: int) -> int:
    return 3 + 2 * i


def other_bit(j: int) -> int:
    return 2 + 2 * j


class JsonParser:
    def __init__(self, comp: SchemaCompiler, remembered: dict[bytes, bool] | None = None):
        """`remembered`: which positions accept some value, by position name, from a previous
        process (Emptiness.remember)."""
        self.comp = comp
        self.store = comp.store
        self.terms = comp.terms
        self.empty = Emptiness(self)
        if remembered:
            self.empty.remember(remembered)
        self._configs: list[tuple[int, Frame]] = []
        self._config_ids: dict[tuple, int] = {}
        self._lexemes: dict[int, int] = {}
        self._value_lexemes: dict[tuple, int] = {}
        self._after: dict[tuple, tuple] = {}
        self._admissible: dict[int, list] = {}
        self._allowed: dict[int, int] = {}
        self._usable: dict[int, int] = {}
        self._object_terms: dict[tuple, int] = {}
        self.done = self._intern(-1, Done())
        if not self.empty.nonempty(comp.root_id):
            from constrain.grammars.json_schema.errors import UnsupportedSchemaError

            raise UnsupportedSchemaError("the schema accepts no JSON value at all", path="#")
        self.root = self._intern(self.done, Value(comp.root_id, NO_VALUES))

    # -- configurations ----------------------------------------------------------------------
    def _intern(self, parent: int, frame: Frame) -> int:
        key = (parent, type(frame), frame)  # NamedTuples of different types may compare equal
        cid = self._config_ids.get(key)
        if cid is None:
            cid = len(self._configs)
            self._config_ids[key] = cid
            self._configs.append((parent, frame))
        return cid

    def nesting(self, cid: int) -> int:
        """Frames open above the document: what is left to close."""
        depth = 0
        while cid >= 0 and cid != self.done:
            cid = self._configs[cid][0]
            depth += 1
        return depth

    def start_configs(self) -> tuple[int, ...]:
        return (self.root,)

    def accepting(self, cid: int) -> bool:
        return cid == self.done

    def needs_text(self, cid: int) -> bool:
        parent, frame = self._configs[cid]
        if isinstance(frame, Value):
            return self._records_values(parent)
        if isinstance(frame, InObject):
            return frame.phase != AFTER_VALUE and self._tracks_others(frame.shape)
        return False

    def _records_values(self, parent: int) -> bool:
        if parent < 0:
            return False
        frame = self._configs[parent][1]
        return isinstance(frame, InArray) and self.comp.arrays[frame.shape].unique

    def _tracks_others(self, sid: int) -> bool:
        shape = self.comp.objects[sid]
        return shape.min_properties > 0 and bool(shape.others)

    # -- lexemes -----------------------------------------------------------------------------
    def lexemes(self, cid: int) -> int:
        term = self._lexemes.get(cid)
        if term is None:
            term = self._lexemes[cid] = self._build_lexemes(cid)
        return term

    def _build_lexemes(self, cid: int) -> int:
        _, frame = self._configs[cid]
        s, t = self.store, self.terms
        match frame:
            case Done():
                return s.empty
            case Value(node, excluded):
                return self.value_lexemes(node, excluded)
            case EmptyArray():
                return s.cat(t.close_array, s.tag(CLOSE))
            case InArray(aid, index, matched, seen):
                parts = []
                if self.empty.array_can_close(aid, index, matched):
                    parts.append(s.cat(t.close_array, s.tag(CLOSE)))
                if self._item_variants(aid, index, matched, seen):
                    parts.append(s.cat(t.comma, s.tag(COMMA)))
                return s.union(parts)
            case InObject(sid, _, _, _, others):
                return self._object_lexemes(sid, others)
        raise AssertionError(f"unknown frame {frame!r}")

    def allowed(self, cid: int) -> int | None:
        """Inside an object every configuration shares the shape's one term (all keys, "," and
        "}"); this mask picks what the configuration offers."""
        frame = self._configs[cid][1]
        if not isinstance(frame, InObject):
            return None
        out = self._allowed.get(cid)
        if out is None:
            out = self._allowed[cid] = self._object_allowed(*frame)
        return out

    def _object_allowed(self, sid: int, phase: int, seen: int, count: int, others: frozenset) -> int:
        keys = self._addable_keys(sid, seen, count)
        other = self.comp.objects[sid].others and self.empty.other_addable(sid, seen, count)
        out = 0
        if phase != AFTER_COMMA and self.empty.object_can_close(sid, seen, count):
            out |= 1 << CLOSE_BIT
        if phase == AFTER_VALUE:
            if keys or other:
                out |= 1 << COMMA_BIT
            return out
        for i in key_indices(keys):
            out |= 1 << key_bit(i)
        if other:
            for j, _ in self._admissible_others(sid):
                out |= 1 << other_bit(j)
        return out

    def _addable_keys(self, sid: int, seen: int, count: int) -> int:
        shape = self.comp.objects[sid]
        usable = self._usable_keys(sid)
        if shape.max_properties is None and not any(shape.dependent) and shape.min_others == 0:
            return usable & ~seen  # nothing a key adds can make the object impossible to close
        out = 0
        for i in key_indices(usable & ~seen):
            if self.empty.key_addable(sid, i, seen, count):
                out |= 1 << i
        return out

    def _usable_keys(self, sid: int) -> int:
        out = self._usable.get(sid)
        if out is None:
            out = 0
            for i, value in enumerate(self.comp.objects[sid].key_values):
                if self.empty.usable(value):
                    out |= 1 << i
            self._usable[sid] = out
        return out

    def _object_lexemes(self, sid: int, others: frozenset) -> int:
        """Every lexeme an object of the shape may meet: each key with its colon, each other-key
        entry, "," and "}" (the written other keys excluded when minProperties must count them)."""
        key = (sid, others)
        term = self._object_terms.get(key)
        if term is None:
            s, t = self.store, self.terms
            shape = self.comp.objects[sid]
            parts = [s.cat(t.close_object, s.tag(FilterTag(CLOSE_BIT))), s.cat(t.comma, s.tag(FilterTag(COMMA_BIT)))]
            for i, key_term in enumerate(shape.key_terms):
                parts.append(s.seq(key_term, t.colon, s.tag(FilterTag(key_bit(i)))))
            written = t.string_literals(others)
            for j, key_term in self._admissible_others(sid):
                parts.append(s.seq(s.minus(key_term, written), t.colon, s.tag(FilterTag(other_bit(j)))))
            term = self._object_terms[key] = s.union(parts)
        return term

    def value_lexemes(self, nid: int, excluded: frozenset) -> int:
        key = (nid, excluded)
        term = self._value_lexemes.get(key)
        if term is None:
            term = self._value_lexemes[key] = self._build_value_lexemes(nid, excluded)
        return term

    def _build_value_lexemes(self, nid: int, excluded: frozenset) -> int:
        s, t = self.store, self.terms
        node = self.comp.node(nid)
        scalar = s.union((node.string, node.number, node.literal))
        if excluded:
            # Values a unique array already holds. A finite set of values (an enum, booleans, a
            # short bounded pattern) loses them here, so no prefix leads only to repeats; an
            # infinite one keeps its term (shared by every item) and a repeat is refused where it
            # ends (_complete), which is exact as long as every prefix has a fresh completion.
            finite = [part for part in (node.string, node.literal) if part != s.empty and not s.is_infinite(part)]
            if node.values is not None or finite:
                spelled = [scalar_literal_term(t, value)[1] for _, value in excluded]
                scalar = s.minus(scalar, s.union(spelled))
        parts = []
        if s.is_live(scalar):
            parts.append(s.cat(scalar, s.tag(SCALAR)))
        for sid in node.objects:
            if self.empty.object_can_finish(sid, 0, 0):
                parts.append(s.cat(t.open_object, s.tag(("o", sid))))
        for aid in node.arrays:
            if self.empty.array_can_finish(aid, 0, 0, 0):
                parts.append(s.cat(t.open_array, s.tag(("a", aid))))
        return s.union(parts)

    def _admissible_others(self, sid: int) -> list[tuple[int, int]]:
        """(entry, key term) for the other-key entries, each term narrowed to the keys whose
        value schemas (the intersection over every entry the key matches) accept something:
        a key matching a `false` pattern, or two patterns with contradicting schemas, is never
        offered. Intersections of three or more overlapping entries are not examined."""
        cached = self._admissible.get(sid)
        if cached is not None:
            return cached
        s = self.store
        shape = self.comp.objects[sid]
        entries, exclusive = shape.others, shape.exclusive_others
        terms = [t if self.empty.nonempty(n) else s.empty for t, n, _ in entries]
        for j, (t, _n, _) in enumerate(entries):
            if terms[j] == s.empty:  # its keys take an empty value whatever else they match
                terms = [s.minus(x, t) if i != j else x for i, x in enumerate(terms)]
        for i in range(len(entries)):
            if entries[i][0] in exclusive:
                continue
            for j in range(i + 1, len(entries)):
                if entries[j][0] in exclusive:
                    continue
                overlap = s.both(terms[i], terms[j])
                if overlap != s.empty and s.is_live(overlap) and not self.empty.nonempty(
                        self.comp.intersect_ids([entries[i][1], entries[j][1]])):
                    terms[i], terms[j] = s.minus(terms[i], overlap), s.minus(terms[j], overlap)
        out = [(j, t) for j, t in enumerate(terms) if t != s.empty and s.is_live(t)]
        self._admissible[sid] = out
        return out

    # -- moves -------------------------------------------------------------------------------
    def after(self, cid: int, tags: frozenset, text) -> tuple[int, ...]:
        key = (cid, tags, text)
        out = self._after.get(key)
        if out is None:
            out = self._after[key] = tuple(dict.fromkeys(self._after_lexeme(cid, tags, text)))
        return out

    def _after_lexeme(self, cid: int, tags: frozenset, text) -> list[int]:
        parent, frame = self._configs[cid]
        out: list[int] = []
        if isinstance(frame, Value):
            for tag in tags:
                if tag == SCALAR:
                    value = json.loads(text) if text is not None else None
                    completed = self._complete(parent, value, text is not None)
                    if completed is not None:
                        out.append(completed)
                elif tag[0] == "o":
                    out.append(self._intern(parent, InObject(tag[1], OPEN, 0, 0, NO_VALUES)))
                else:
                    aid = tag[1]
                    if self.empty.array_can_close(aid, 0, 0):
                        out.append(self._intern(parent, EmptyArray(aid)))
                    out += self._item_configs(parent, aid, 0, 0, NO_VALUES)
            return out
        if isinstance(frame, (InArray, EmptyArray)):
            if CLOSE in tags:
                out.append(self._complete(parent, None, False))
            if COMMA in tags and isinstance(frame, InArray):
                out += self._item_configs(parent, *frame)
            return out
        assert isinstance(frame, InObject), frame
        sid, _, seen, count, others = frame
        allowed = self.allowed(cid)
        bits = [tag.bit for tag in tags if isinstance(tag, FilterTag)]
        if any(b >= 3 and b % 2 for b in bits):  # a listed key, whatever other entries also match it
            bits = [b for b in bits if b < 2 or b % 2]
        bits = [b for b in bits if allowed >> b & 1]
        if CLOSE_BIT in bits:
            out.append(self._complete(parent, None, False))
        if COMMA_BIT in bits:
            out.append(self._intern(parent, InObject(sid, AFTER_COMMA, seen, count, others)))
        shape = self.comp.objects[sid]
        listed = [(b - 3) // 2 for b in bits if b >= 3 and b % 2]
        matched = [(b - 2) // 2 for b in bits if b >= 2 and b % 2 == 0]
        for i in listed:
            here = self._intern(parent, InObject(sid, AFTER_VALUE, seen | (1 << i), count + 1, others))
            out.append(self._intern(here, Value(shape.key_values[i], NO_VALUES)))
        if matched:
            value = self.comp.intersect_ids([shape.others[j][1] for j in matched])
            if self._tracks_others(sid):
                name, _ = json.JSONDecoder().raw_decode(text.decode("utf-8"))
                others = others | {name}
            here = self._intern(parent, InObject(sid, AFTER_VALUE, seen, count + 1, others))
            out.append(self._intern(here, Value(value, NO_VALUES)))
        return out

    def _complete(self, parent: int, value, has_value: bool) -> int | None:
        """The parent once a value is complete; a unique array records the value."""
        if not has_value:
            return parent
        grand, frame = self._configs[parent]
        assert isinstance(frame, InArray), frame
        key = canonical_key(value)
        if any(k == key for k, _ in frame.seen):
            return None  # a repeat (only numbers spelled differently get here: 1 and 1.0)
        return self._intern(grand, frame._replace(seen=frame.seen | {(key, value)}))

    def _item_variants(self, aid: int, index: int, matched: int, seen: frozenset) -> list[tuple[int, int]]:
        """(node, matched after it) for each way the next item may go; empty if none may come."""
        return self.empty.item_variants(aid, index, matched, len(seen))

    def _item_configs(self, parent: int, aid: int, index: int, matched: int, seen: frozenset) -> list[int]:
        out = []
        for node, now_matched in self._item_variants(aid, index, matched, seen):
            if node == NOTHING:
                continue
            here = self._intern(parent, InArray(aid, index + 1, now_matched, seen))
            out.append(self._intern(here, Value(node, seen)))
        return out
