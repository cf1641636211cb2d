"""Regular languages over bytes as hash-consed terms, stepped by Brzozowski derivatives.

A term is an int. Equal terms (after the simplifications in the constructors) get the same int,
so a term *is* a DFA state: stepping a byte is `deriv(term, byte)`, and the automaton is built
only where generation goes. Besides union and concatenation the algebra has intersection,
complement and counted repetition, which is what JSON Schema needs and a DFA built ahead of
time cannot afford: `pattern` together with `maxLength` is AND(pattern, REP(char, 0, n)); a
string that must differ from the items already written is AND(string, NOT(ALT(items))); and
REP(char, 0, 100000) takes no room until text is generated.

Character sets stay symbolic until stepped: UTF8(code points) is one UTF-8 encoded character of
the set, CONT(offsets, n) the n continuation bytes still to come, HEX(values, n) n hex digits (either
case) spelling a value of the set. Their derivatives narrow the set by interval arithmetic, so \\w
(700 ranges) or "any character but these" cost one term, not a union of thousands.

MOD(m, r, fraction) is the decimal spellings whose integer value is a multiple of m, read so far
with remainder r: a digit d makes it (10r + d) mod m, digits after "." leave it (the number's own
term allows only zeros there), and it ends when r is 0. Intersected with a number term, it makes
`multipleOf` exact for any integer divisor without listing multiples.

FAR stands, in a term clamped to a horizon (see clamp), for "the text goes on past the horizon":
it is live, never accepts and has no derivative, so only a walk that stops within the horizon
may meet it.

TAG(t) is an empty string that marks which lexeme accepted: a lexer state for several lexemes is
ALT(CAT(r1, TAG(1)), CAT(r2, TAG(2)), ...), and `tags(state)` tells which of them end here.

Bytes that no part of a term tells apart form one class (`classes`), so a state's transitions are
computed once per class, not per byte.
"""

from __future__ import annotations

import bisect
import hashlib

from constrain.grammars.charsets import CharSet
from constrain.grammars.lexemes.satisfiable import find_accepting
from constrain.grammars.lexemes.term_kinds import (
    ALT,
    AND,
    BYTES,
    CAT,
    CONT,
    EMPTY,
    EPS,
    FAR,
    FULL,
    HEX,
    INFINITE,
    MOD,
    NOT,
    REP,
    TAG,
    UTF8,
    TermBudgetError,
)
from constrain.grammars.utf8_ranges import SURROGATES


class FilterTag(tuple):
    """A tag a parser configuration may switch off: its lexeme is then not offered, although the
    term (and so the lexer states and their walks) stays the same for every configuration. `bit`
    numbers it in the per-configuration allowed mask."""

    __slots__ = ()

    def __new__(cls, bit: int):
        return super().__new__(cls, ("filter", bit))

    @property
    def bit(self) -> int:
        return self[1]


class TermStore:
    """All terms of one compiled grammar, their properties and memoized derivatives.

    Owned by the grammar that built it and dropped with it, so nothing here grows across grammars.
    """

    def __init__(self, max_terms: int = 2_000_000):
        self.max_terms = max_terms
        self.kind: list[int] = []
        self.arg: list = []  # payload per kind: mask | (a, b) | tuple(children) | a | (a, lo, hi) | tag
        self.nullable: list[bool] = []
        self.boolean: list[bool] = []  # contains AND/NOT: emptiness is not syntactic
        self._ids: dict = {}
        self._deriv: dict[int, int] = {}
        self._classes: dict[int, tuple[int, ...]] = {}
        self._tags: dict[int, frozenset] = {}
        self._live: dict[int, bool] = {}
        self._min_len: dict[int, int] = {}
        self._reach: dict[int, tuple[int, bool]] = {}
        self._infinite: dict[int, bool] = {}
        self._clamped: dict[tuple, int] = {}
        self._max_min: dict[int, int | None] = {}
        self.normal_forms: dict[tuple[int, bool], int] = {}  # lexemes/satisfiable.py
        self.length_unit: int | None = None  # the unit REPs of length bounds count (one encoded character)
        self.verdicts = None  # a lexemes.verdicts.VerdictBook: verdicts of emptiness, shared with later processes
        self.digests: dict[int, bytes] = {}  # term -> its structure's digest (lexemes/verdicts.py)
        self.empty = self._add(EMPTY, None, False, False)
        self.eps = self._add(EPS, None, True, False)
        self.anything = self.neg(self.empty)  # every byte string
        self.far = self._add(FAR, None, False, False)

    # -- interning -----------------------------------------------------------------------
    def _add(self, kind: int, arg, nullable: bool, boolean: bool) -> int:
        key = (kind, arg)
        tid = self._ids.get(key)
        if tid is None:
            tid = len(self.kind)
            if tid >= self.max_terms:
                raise TermBudgetError(f"more than {self.max_terms} regular-expression terms")
            self._ids[key] = tid
            self.kind.append(kind)
            self.arg.append(arg)
            self.nullable.append(nullable)
            self.boolean.append(boolean)
        return tid

    def __len__(self) -> int:
        return len(self.kind)

    # -- constructors (they simplify, so equal languages often share one term) -------------
    def byteset(self, mask: int) -> int:
        if mask == 0:
            return self.empty
        return self._add(BYTES, mask, False, False)

    def byte(self, value: int) -> int:
        return self.byteset(1 << value)

    def literal(self, data: bytes) -> int:
        out = self.eps
        for value in reversed(data):
            out = self.cat(self.byte(value), out)
        return out

    def utf8(self, intervals) -> int:
        """One UTF-8 encoded character whose code point is in `intervals` (surrogates never)."""
        ranges = normalize_ranges(intervals, remove_surrogates=True)
        if not ranges:
            return self.empty
        return self._add(UTF8, ranges, False, False)

    def cont(self, offsets: tuple, n: int) -> int:
        """n UTF-8 continuation bytes whose 6-bit payloads, read as one number, lie in `offsets`."""
        if not offsets:
            return self.empty
        if n == 0:
            return self.eps
        return self._add(CONT, (offsets, n), False, False)

    def hex_digits(self, values, n: int) -> int:
        """n hex digits (0-9, a-f, A-F) spelling a number in `values` (intervals within 0..16**n-1)."""
        values = normalize_ranges(values)
        if not values:
            return self.empty
        if n == 0:
            return self.eps
        return self._add(HEX, (values, n), False, False)

    def multiple_of(self, m: int, remainder: int = 0, fraction: bool = False) -> int:
        """Spellings `-?digits(.digits)?` whose integer part is a multiple of m (see MOD)."""
        return self._add(MOD, (m, remainder % m, fraction), remainder % m == 0, False)

    def tag(self, value) -> int:
        return self._add(TAG, value, True, False)

    def cat(self, a: int, b: int) -> int:
        if a == self.empty or b == self.empty:
            return self.empty
        if a == self.eps:
            return b
        if b == self.eps:
            return a
        kind = self.kind
        if kind[a] == CAT:  # keep concatenations right-nested: one shape per language
            first, rest = self.arg[a]
            return self.cat(first, self.cat(rest, b))
        return self._add(CAT, (a, b), self.nullable[a] and self.nullable[b], self.boolean[a] or self.boolean[b])

    def seq(self, *parts: int) -> int:
        out = self.eps
        for part in reversed(parts):
            out = self.cat(part, out)
        return out

    def alt(self, *parts: int) -> int:
        return self.union(parts)

    def union(self, parts) -> int:
        kind, arg = self.kind, self.arg
        flat: set[int] = set()
        mask = 0
        for p in parts:
            k = kind[p]
            if k == ALT:
                for q in arg[p]:
                    if kind[q] == BYTES:
                        mask |= arg[q]
                    else:
                        flat.add(q)
            elif k == BYTES:
                mask |= arg[p]
            elif k != EMPTY:
                flat.add(p)
        if mask:
            flat.add(self.byteset(mask))
        if self.anything in flat:
            return self.anything
        if not flat:
            return self.empty
        if len(flat) == 1:
            return next(iter(flat))
        children = tuple(sorted(flat))
        nullable = any(self.nullable[c] for c in children)
        boolean = any(self.boolean[c] for c in children)
        return self._add(ALT, children, nullable, boolean)

    def both(self, *parts: int) -> int:
        return self.intersection(parts)

    def intersection(self, parts) -> int:
        kind, arg = self.kind, self.arg
        flat: set[int] = set()
        for p in parts:
            if p == self.empty:
                return self.empty
            if kind[p] == AND:
                flat.update(arg[p])
            elif p != self.anything:
                flat.add(p)
        if not flat:
            return self.anything
        if len(flat) == 1:
            return next(iter(flat))
        masks = [arg[p] for p in flat if kind[p] == BYTES]
        if len(masks) == len(flat):  # one byte from several sets
            common = FULL
            for m in masks:
                common &= m
            return self.byteset(common)
        for p in flat:  # x and not (x or ...): what a derivative of "x minus a union with x" comes to
            if kind[p] == NOT:
                q = arg[p]
                if q in flat or (kind[q] == ALT and not flat.isdisjoint(arg[q])):
                    return self.empty
        children = tuple(sorted(flat))
        nullable = all(self.nullable[c] for c in children)
        return self._add(AND, children, nullable, True)

    def neg(self, a: int) -> int:
        if self.kind[a] == NOT:
            return self.arg[a]
        return self._add(NOT, a, not self.nullable[a], True)

    def minus(self, a: int, b: int) -> int:
        """Strings of `a` that are not strings of `b`."""
        if b == self.empty:
            return a
        return self.intersection((a, self.neg(b)))

    def rep(self, a: int, lo: int, hi: int = INFINITE) -> int:
        """`a` repeated lo..hi times (hi = INFINITE: no upper bound)."""
        if hi != INFINITE and hi < lo:
            return self.empty
        if a == self.empty:
            return self.eps if lo == 0 else self.empty
        if a == self.eps or hi == 0:
            return self.eps
        if self.nullable[a]:
            lo = 0  # with the empty string in `a`, fewer rounds are covered by more
        if lo == 1 and hi == 1:
            return a
        return self._add(REP, (a, lo, hi), lo == 0 or self.nullable[a], self.boolean[a])

    def star(self, a: int) -> int:
        return self.rep(a, 0, INFINITE)

    def opt(self, a: int) -> int:
        return self.union((a, self.eps))

    # -- derivatives -----------------------------------------------------------------------
    def deriv(self, t: int, byte: int) -> int:
        key = t * 256 + byte
        out = self._deriv.get(key)
        if out is not None:
            return out
        k = self.kind[t]
        arg = self.arg[t]
        if k == BYTES:
            out = self.eps if (arg >> byte) & 1 else self.empty
        elif k == CAT:
            a, b = arg
            out = self.cat(self.deriv(a, byte), b)
            if self.nullable[a]:
                out = self.union((out, self.deriv(b, byte)))
        elif k == ALT:
            out = self.union([self.deriv(c, byte) for c in arg])
        elif k == AND:
            parts = []
            for c in arg:
                d = self.deriv(c, byte)
                if d == self.empty:
                    out = self.empty
                    break
                parts.append(d)
            else:
                out = self.intersection(parts)
        elif k == NOT:
            out = self.neg(self.deriv(arg, byte))
        elif k == REP:
            a, lo, hi = arg
            out = self.cat(self.deriv(a, byte), self.rep(a, max(lo - 1, 0), INFINITE if hi == INFINITE else hi - 1))
        elif k == UTF8:
            out = self._utf8_deriv(arg, byte)
        elif k == CONT:
            offsets, n = arg
            out = self.empty
            if 0x80 <= byte <= 0xBF:
                size = 64 ** (n - 1)
                out = self.cont(_sub_block(offsets, byte - 0x80, size), n - 1)
        elif k == HEX:
            values, n = arg
            digit = _HEX_VALUE.get(byte)
            out = self.empty
            if digit is not None:
                out = self.hex_digits(_sub_block(values, digit, 16 ** (n - 1)), n - 1)
        elif k == MOD:
            m, r, fraction = arg
            if 0x30 <= byte <= 0x39:
                out = t if fraction else self.multiple_of(m, 10 * r + byte - 0x30, False)
            elif byte == 0x2D:  # the sign does not change divisibility
                out = t
            elif byte == 0x2E:
                out = self.multiple_of(m, r, True)
            else:
                out = self.empty
        else:  # EMPTY, EPS, TAG, FAR
            out = self.empty
        self._deriv[key] = out
        return out

    def deriv_bytes(self, t: int, data: bytes) -> int:
        for value in data:
            if t == self.empty:
                break
            t = self.deriv(t, value)
        return t

    def classes(self, t: int) -> tuple[int, ...]:
        """Byte masks partitioning 0..255: bytes of one class have the same derivative of `t`."""
        out = self._classes.get(t)
        if out is not None:
            return out
        k = self.kind[t]
        arg = self.arg[t]
        if k == BYTES:
            rest = FULL & ~arg
            out = (arg, rest) if rest else (arg,)
        elif k == CAT:
            a, b = arg
            out = self.classes(a)
            if self.nullable[a]:
                out = _refine(out, self.classes(b))
        elif k in (ALT, AND):
            out = (FULL,)
            for c in arg:
                out = _refine(out, self.classes(c))
        elif k == NOT:
            out = self.classes(arg)
        elif k == REP:
            out = self.classes(arg[0])
        elif k in (UTF8, CONT, HEX):
            out = self._symbolic_classes(t)
        elif k == MOD:
            digits = sum(1 << b for b in range(0x30, 0x3A))
            if arg[2]:
                out = (digits | 1 << 0x2D, 1 << 0x2E, FULL & ~(digits | 1 << 0x2D | 1 << 0x2E))
            else:
                out = tuple(1 << b for b in range(0x30, 0x3A)) + (1 << 0x2D, 1 << 0x2E,
                                                                  FULL & ~(digits | 1 << 0x2D | 1 << 0x2E))
        else:
            out = (FULL,)
        self._classes[t] = out
        return out

    def _utf8_deriv(self, ranges: tuple, byte: int) -> int:
        if byte < 0x80:
            return self.eps if _contains(ranges, byte) else self.empty
        lead = _LEADS.get(byte)
        if lead is None:
            return self.empty
        base, n = lead  # the code points starting with this byte: base .. base + 64**n - 1
        low, high = _UTF8_WIDTH_RANGE[n]  # no overlong forms, nothing past U+10FFFF
        start, stop = max(base, low), min(base + 64 ** n - 1, high)
        return self.cont(_sub_block(ranges, 0, stop - start + 1, start, shift=start - base), n)

    def _symbolic_classes(self, t: int) -> tuple[int, ...]:
        """Group bytes by derivative (each derivative is cheap here; there are at most 256)."""
        groups: dict[int, int] = {}
        k = self.kind[t]
        if k == UTF8:  # ASCII members step to the empty string without asking
            ascii_mask = 0
            for lo, hi in self.arg[t]:
                if lo >= 0x80:
                    break
                ascii_mask |= ((1 << (min(hi, 0x7F) + 1)) - 1) ^ ((1 << lo) - 1)
            if ascii_mask:
                groups[self.eps] = ascii_mask
            candidates = _LEADS
        else:  # continuation bytes / hex digits narrow the set to one block each: group by block
            values, n = self.arg[t]
            if k == CONT:
                size, count, byte_masks = 64 ** (n - 1), 64, _CONT_MASKS
            else:
                size, count, byte_masks = 16 ** (n - 1), 16, _HEX_MASKS
            for i, block in _blocks(values, size, count).items():
                groups[block] = groups.get(block, 0) | byte_masks[i]
            candidates = ()
        for b in candidates:
            d = self.deriv(t, b)
            groups[d] = groups.get(d, 0) | (1 << b)
        rest = FULL
        for m in groups.values():
            rest &= ~m
        out = [m for d, m in groups.items() if d != self.empty]
        dead = groups.get(self.empty, 0) | rest
        if dead:
            out.append(dead)
        return tuple(out)

    # -- acceptance and emptiness ----------------------------------------------------------
    def tags(self, t: int) -> frozenset:
        """Tags of the lexemes that accept the empty string here (see TAG)."""
        out = self._tags.get(t)
        if out is not None:
            return out
        k = self.kind[t]
        if k == TAG:
            out = frozenset((self.arg[t],))
        elif not self.nullable[t]:
            out = frozenset()
        elif k == CAT:
            a, b = self.arg[t]
            out = self.tags(a) | self.tags(b)
        elif k == ALT:
            out = frozenset().union(*(self.tags(c) for c in self.arg[t] if self.nullable[c]))
        else:
            out = frozenset()
        self._tags[t] = out
        return out

    def reach(self, t: int) -> tuple[int, bool]:
        """(mask of the FilterTag bits whose lexemes can still end, some other tag can): tags sit
        at the ends of lexemes, so a tag is reachable when what precedes it is live."""
        out = self._reach.get(t)
        if out is not None:
            return out
        k, arg = self.kind[t], self.arg[t]
        if k == TAG:
            out = (1 << arg.bit, False) if isinstance(arg, FilterTag) else (0, True)
        elif k == ALT:
            bits, other = 0, False
            for c in arg:
                b, o = self.reach(c)
                bits |= b
                other = other or o
            out = (bits, other)
        elif k == CAT:
            a, b = arg
            out = self.reach(b) if self.is_live(a) else (0, False)
            if self.nullable[a]:
                ra = self.reach(a)
                out = (out[0] | ra[0], out[1] or ra[1])
        else:
            out = (0, False)
        self._reach[t] = out
        return out

    def reachable(self, t: int, allowed: int | None) -> bool:
        """Some lexeme of `t` that the configuration allows can still end."""
        if allowed is None:
            return True
        bits, other = self.reach(t)
        return other or bool(bits & allowed)

    def is_live(self, t: int, budget: int = 200_000) -> bool:
        """The language of `t` is not empty. Syntactic unless `t` holds AND/NOT, where a search
        for an accepting derivative decides (lexemes/satisfiable.py).

        With a VerdictBook (lexemes/verdicts.py) a verdict saved by an earlier process is used
        instead of deciding again, and while a grammar compiles every verdict asked for is logged
        (a cheap one here may be a long search there: which children an `any` tries first, and
        where a search meets earlier verdicts, follow term ids, which differ between processes)."""
        if t == self.empty:
            return False
        if not self.boolean[t]:
            return True
        book = self.verdicts
        known = self._live.get(t)
        if known is None and book is not None and book.known:
            known = book.known.get(self.digest(t))
            if known is not None:
                self._live[t] = known
        if known is None:
            known = self._decide_live(t, budget)
            self._live[t] = known
        if book is not None and book.windows:
            book.record(t)
        return known

    def _decide_live(self, t: int, budget: int) -> bool:
        k = self.kind[t]
        if k == ALT:  # structure first: only AND/NOT nodes themselves need a search
            children = sorted(self.arg[t], key=self.boolean.__getitem__)  # syntactic ones first
            return any(self.is_live(c, budget) for c in children)
        if k == CAT:
            return self.is_live(self.arg[t][0], budget) and self.is_live(self.arg[t][1], budget)
        if k == REP:
            return self.arg[t][1] == 0 or self.is_live(self.arg[t][0], budget)
        result = self._minus_finite_is_live(t) if k == AND else None
        if result is None and k == AND:
            result = self._short_enough_is_live(t)
        if result is None:
            if self.verdicts is not None:
                self.verdicts.searches += 1
            result = self._search(t, budget)
        return result

    def known_live(self, t: int) -> bool | None:
        """is_live's verdict on `t` if already decided, else None (never searches)."""
        return self._live.get(t)

    def _search(self, start: int, budget: int) -> bool:
        verdict, settled = find_accepting(self, start, budget)
        for t in settled:
            self._live[t] = verdict
        return verdict

    def _short_enough_is_live(self, t: int) -> bool | None:
        """AND(P, REP(unit, 0, n)) is live when P's shortest completion has at most n bytes: it
        is a sequence of units, at most one per byte. None when undecided this way."""
        parts = self.arg[t]
        if self.length_unit is None or len(parts) != 2:
            return None
        for bound, pattern in (parts, parts[::-1]):
            if self.kind[bound] == REP and not self.boolean[pattern]:
                unit, lo, hi = self.arg[bound]
                if unit == self.length_unit and lo == 0 and self.is_live(pattern) and \
                        (hi == INFINITE or self.min_length(pattern) <= hi):
                    return True
        return None

    def _minus_finite_is_live(self, t: int) -> bool | None:
        """AND(x, NOT(y1), ...) with x free of AND/NOT and infinite and every y finite (a string
        that must differ from a few literals, a key that is none of the listed keys) is live:
        infinitely many strings minus finitely many. None when the term is not of that shape."""
        if self.kind[t] != AND:
            return None
        positive = [c for c in self.arg[t] if self.kind[c] != NOT]
        negative = [self.arg[c] for c in self.arg[t] if self.kind[c] == NOT]
        if len(positive) != 1 or self.boolean[positive[0]] or not self.is_infinite(positive[0]):
            return None
        if all(not self.boolean[n] and not self.is_infinite(n) for n in negative):
            return True
        return None

    def is_infinite(self, t: int) -> bool:
        """The language of `t` (free of AND/NOT) has infinitely many strings."""
        out = self._infinite.get(t)
        if out is None:
            k, arg = self.kind[t], self.arg[t]
            if k == CAT:
                out = (self.is_infinite(arg[0]) and self.is_live(arg[1])) or \
                    (self.is_infinite(arg[1]) and self.is_live(arg[0]))
            elif k == ALT:
                out = any(self.is_infinite(c) for c in arg)
            elif k == REP:
                a, lo, hi = arg
                out = self.is_infinite(a) or (hi == INFINITE and a != self.eps and self.is_live(a))
            else:
                out = False
            self._infinite[t] = out
        return out

    def min_length(self, t: int) -> int:
        """A lower bound of the length of the strings of `t` (exact without AND/NOT)."""
        out = self._min_len.get(t)
        if out is not None:
            return out
        k, arg = self.kind[t], self.arg[t]
        if self.nullable[t]:
            out = 0
        elif k == BYTES:
            out = 1
        elif k == UTF8:  # the narrowest encoding in the set
            first = arg[0][0]
            out = 1 if first < 0x80 else 2 if first < 0x800 else 3 if first < 0x10000 else 4
        elif k == HEX:
            out = arg[1]
        elif k == MOD:
            out = 1  # a lower bound: one more digit
        elif k == CONT:
            out = arg[1]
        elif k == CAT:
            out = self.min_length(arg[0]) + self.min_length(arg[1])
        elif k == ALT:
            out = min(self.min_length(c) for c in arg)
        elif k == AND:
            out = max(self.min_length(c) for c in arg)
        elif k == REP:
            out = arg[1] * self.min_length(arg[0])
        else:  # NOT of a language with the empty string: at least one byte; EMPTY: never reached
            out = 1
        self._min_len[t] = out
        return out

    # -- horizon ---------------------------------------------------------------------------
    def clamp(self, t: int, horizon: int) -> int:
        """A term that behaves like `t` on every string of up to `horizon` bytes and is live
        where `t` is, for the mask walks: lets the masks of "character 17 of at most 255" and
        "character 18 of at most 255" be one computation.

        Counted repetitions outside AND/NOT whose bounds lie beyond the horizon lose them (each
        round takes at least one byte). A length bound on a pattern, AND(P, REP(unit, 0, n)),
        is dropped when n exceeds the horizon plus the longest shortest-completion of any state
        of P: within the horizon the bound can neither be reached nor make a state dead."""
        key = (t, horizon)
        out = self._clamped.get(key)
        if out is None:
            out = self._clamped[key] = self._clamp(t, horizon) if self._has_far_rep(t, horizon) else t
        return out

    def _has_far_rep(self, t: int, horizon: int) -> bool:
        k = self.kind[t]
        if k == REP:
            a, lo, hi = self.arg[t]
            return lo > horizon + 1 or (hi != INFINITE and hi > horizon) or self._has_far_rep(a, horizon)
        if k == CAT:
            return self._has_far_rep(self.arg[t][0], horizon) or self._has_far_rep(self.arg[t][1], horizon)
        if k == ALT:
            return any(self._has_far_rep(c, horizon) for c in self.arg[t])
        if k == AND:
            return self._droppable_length(t, horizon) is not None or self._far_complement(t, horizon) is not None
        return False  # NOT keeps exact bounds: a complement turns "fewer" into "more"

    def _clamp(self, t: int, horizon: int) -> int:
        k = self.kind[t]
        if k == REP:
            a, lo, hi = self.arg[t]
            a = self._clamp(a, horizon)
            lo = min(lo, horizon + 1)
            if hi != INFINITE and hi > horizon:
                hi = INFINITE
            return self.rep(a, lo, hi)
        if k == CAT:
            return self.cat(self._clamp(self.arg[t][0], horizon), self._clamp(self.arg[t][1], horizon))
        if k == ALT:
            return self.union([self._clamp(c, horizon) for c in self.arg[t]])
        if k == AND:
            kept = self._droppable_length(t, horizon)
            if kept is not None:
                return self.clamp(kept, horizon)
            far = self._far_complement(t, horizon)
            return far if far is not None else t
        return t

    def _far_complement(self, t: int, horizon: int) -> int | None:
        """For AND(U, NOT(R)), U every sequence of length units and R free of AND/NOT with bounded
        lengths and far bounds (the keys `^.{1,255}$` leaves to additionalProperties):
        AND(U, NOT(clamped R)) | U·FAR. Up to the horizon both hold the same strings (R and its
        clamp agree there); every walk state is live in both, because the original can always
        outgrow R and the clamp has U·FAR. Without it, every character a walk reads is a new
        count inside the complement, so a new lexer state."""
        parts = self.arg[t]
        if len(parts) != 2 or self.length_unit is None:
            return None
        universe = self.rep(self.length_unit, 0, INFINITE)
        if universe not in parts:
            return None
        other = parts[1] if parts[0] == universe else parts[0]
        if self.kind[other] != NOT:
            return None
        bounded = self.arg[other]
        if self.boolean[bounded] or self.is_infinite(bounded):
            return None
        clamped = self.clamp(bounded, horizon)
        if clamped == bounded:
            return None
        return self.union((self.minus(universe, clamped), self.cat(universe, self.far)))

    def _droppable_length(self, t: int, horizon: int) -> int | None:
        """For AND(P, REP(unit, lo, n)) whose upper bound cannot matter within the horizon: P, or
        AND(P, REP(unit, lo, INFINITE)) when lo > 0 (a minLength stays exact, while the count of
        characters no longer makes every state of a string body a new one).

        Why that is exact: a walk state is a text w of at most `horizon` bytes (so fewer than n
        units). If the clamped state is live, some completion reaches lo units; cut it where it
        does, and the shortest completion from there has at most `worst` bytes, so some
        completion has at most max(horizon, lo) + worst < n units: the original is live too."""
        parts = self.arg[t]
        if len(parts) != 2 or self.length_unit is None:
            return None
        for bound, pattern in (parts, parts[::-1]):
            if self.kind[bound] != REP or self.boolean[pattern]:
                continue
            unit, lo, hi = self.arg[bound]
            if unit != self.length_unit or lo > horizon + 1 or hi == INFINITE or hi <= horizon + 1:
                continue
            worst = self.max_min_length(pattern)
            if worst is not None and hi > horizon + 1 + worst:
                return pattern if lo == 0 else self.intersection((pattern, self.rep(unit, lo, INFINITE)))
        return None

    def max_min_length(self, t: int) -> int | None:
        """An upper bound of the shortest completion (bytes) over every state reachable from `t`
        (free of AND/NOT): how far from done a walk through `t` can get. None when unknown.

        Compositional, so it costs one visit per subterm: a derivative state is a union of
        suffixes a'·rest, whose shortest completion is at most that of each suffix, and a'
        is a state of the first factor. (Exploring the states themselves met thousands of UTF-8
        states in a pattern like `^(?:\\S+\\s+){0,29}\\S+$` on every new mask.)"""
        known = self._max_min.get(t, -1)
        if known != -1:
            return known
        kind, arg = self.kind, self.arg
        if kind[t] == CAT:  # right-nested chains can be long (a literal key): walk them from the end
            chain = [t]
            while kind[chain[-1]] == CAT and arg[chain[-1]][1] not in self._max_min:
                chain.append(arg[chain[-1]][1])
            tail = chain.pop() if kind[chain[-1]] != CAT else arg[chain[-1]][1]
            bound = self.max_min_length(tail)
            for link in reversed(chain):
                first, rest = arg[link]
                head = self.max_min_length(first)
                if bound is not None and head is not None:
                    bound = max(head + self.min_length(rest), bound)
                else:
                    bound = None
                self._max_min[link] = bound
            return bound
        k, a = kind[t], arg[t]
        if k in (EMPTY, EPS, TAG):
            out = 0
        elif k == BYTES:
            out = 1
        elif k in (CONT, HEX):
            out = a[1]
        elif k == UTF8:  # after a lead byte, its continuation bytes
            top = a[-1][1]
            out = max(self.min_length(t), 1 if top < 0x80 else 2 if top < 0x800 else 3)
        elif k == ALT:
            bounds = [self.max_min_length(c) for c in a]
            out = None if None in bounds else max(bounds)
        elif k == REP:
            inner, lo, _ = a
            head = self.max_min_length(inner)
            unit = self.min_length(inner)
            out = None if head is None else max(lo * unit, head + max(lo - 1, 0) * unit)
        else:  # MOD (its min_length is only a lower bound), AND, NOT
            out = None
        self._max_min[t] = out
        return out

    # -- structure digests (verdicts.py) -----------------------------------------------------
    def digest(self, t: int) -> bytes:
        """16 bytes naming the structure of term `t` in any store (memoized): children by their
        digests, ALT and AND children as a sorted set. Equal digests, equal languages."""
        memo = self.digests
        if t in memo:
            return memo[t]
        kind, arg = self.kind, self.arg
        stack = [t]
        while stack:  # post-order without recursion: concatenation chains can be thousands long
            u = stack[-1]
            if u in memo:
                stack.pop()
                continue
            missing = [c for c in _children(kind[u], arg[u]) if c not in memo]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            memo[u] = _digest(kind[u], arg[u], memo)
        return memo[t]

    # -- debugging -------------------------------------------------------------------------
    def describe(self, t: int, depth: int = 6) -> str:
        k, arg = self.kind[t], self.arg[t]
        if depth == 0:
            return "…"
        if k == EMPTY:
            return "∅"
        if k == EPS:
            return "ε"
        if k == BYTES:
            return _describe_mask(arg)
        if k == TAG:
            return f"<{arg}>"
        if k == CAT:
            return self.describe(arg[0], depth - 1) + self.describe(arg[1], depth - 1)
        if k == ALT:
            return "(" + "|".join(self.describe(c, depth - 1) for c in arg) + ")"
        if k == AND:
            return "(" + "&".join(self.describe(c, depth - 1) for c in arg) + ")"
        if k == NOT:
            return "~(" + self.describe(arg, depth - 1) + ")"
        if k == UTF8:
            return "<utf8 %s>" % _describe_ranges(arg)
        if k == CONT:
            return "<cont%d %s>" % (arg[1], _describe_ranges(arg[0]))
        if k == HEX:
            return "<hex%d %s>" % (arg[1], _describe_ranges(arg[0]))
        if k == MOD:
            return "<mod%d r%d%s>" % (arg[0], arg[1], " frac" if arg[2] else "")
        if k == FAR:
            return "<far>"
        a, lo, hi = arg
        return "(" + self.describe(a, depth - 1) + "){%d,%s}" % (lo, "" if hi == INFINITE else hi)


# -- code point intervals ------------------------------------------------------------------
_SURROGATES = CharSet([SURROGATES])
_HEX_VALUE = {**{0x30 + d: d for d in range(10)}, **{0x61 + d: 10 + d for d in range(6)},
              **{0x41 + d: 10 + d for d in range(6)}}
_CONT_MASKS = tuple(1 << (0x80 + i) for i in range(64))  # continuation byte of each 6-bit payload
_HEX_MASKS = tuple(sum(1 << b for b, v in _HEX_VALUE.items() if v == i) for i in range(16))  # digit bytes of a value


def _leads() -> dict[int, tuple[int, int]]:
    """Lead byte -> (first code point it starts, number of continuation bytes)."""
    out = {}
    for b in range(0xC2, 0xE0):
        out[b] = ((b - 0xC0) << 6, 1)
    for b in range(0xE0, 0xF0):
        out[b] = ((b - 0xE0) << 12, 2)
    for b in range(0xF0, 0xF5):
        out[b] = ((b - 0xF0) << 18, 3)
    return out


_LEADS = _leads()
_UTF8_WIDTH_RANGE = {1: (0x80, 0x7FF), 2: (0x800, 0xFFFF), 3: (0x10000, 0x10FFFF)}


def normalize_ranges(intervals, remove_surrogates: bool = False) -> tuple:
    """Sorted, disjoint, non-adjacent ranges (a CharSet's), without surrogates if asked."""
    chars = CharSet(intervals)
    return (chars.minus(_SURROGATES) if remove_surrogates else chars).ranges


def _contains(ranges: tuple, value: int) -> bool:
    for lo, hi in ranges:
        if value < lo:
            return False
        if value <= hi:
            return True
    return False


def _sub_block(ranges: tuple, index: int, size: int, base: int = 0, shift: int = 0) -> tuple:
    """The part of `ranges` inside block `index` of `size` values starting at `base`, as offsets
    from the block's start (plus `shift`)."""
    start = base + index * size
    stop = start + size - 1
    out = []
    i = bisect.bisect_left(ranges, (start, -1))
    if i > 0 and ranges[i - 1][1] >= start:
        i -= 1
    for lo, hi in ranges[i:]:
        if lo > stop:
            break
        out.append((max(lo, start) - start + shift, min(hi, stop) - start + shift))
    return tuple(out)


def _blocks(ranges: tuple, size: int, count: int) -> dict[int, tuple]:
    """{block index: the part of `ranges` inside it (as in _sub_block)} for the blocks of `size`
    values (0 .. count-1) that `ranges` touches: blocks a range covers whole are not cut."""
    out: dict[int, tuple | None] = {}
    whole = ((0, size - 1),)
    for lo, hi in ranges:
        for i in range(lo // size, min(hi // size, count - 1) + 1):
            start = i * size
            if lo <= start and start + size - 1 <= hi:
                out[i] = whole
            elif i not in out:
                out[i] = None  # cut by a range's end: its part is computed once below
    for i, block in out.items():
        if block is None:
            out[i] = _sub_block(ranges, i, size)
    return out


def _describe_ranges(ranges: tuple) -> str:
    shown = ",".join(f"{lo:x}-{hi:x}" if lo != hi else f"{lo:x}" for lo, hi in ranges[:4])
    return shown + (",…" if len(ranges) > 4 else "")


def _refine(p: tuple[int, ...], q: tuple[int, ...]) -> tuple[int, ...]:
    if len(p) == 1:
        return q
    if len(q) == 1:
        return p
    out = []
    for a in p:
        for b in q:
            c = a & b
            if c:
                out.append(c)
    return tuple(out)


def mask_bytes(mask: int) -> list[int]:
    """The bytes in a 256-bit mask, ascending."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


def _describe_mask(mask: int) -> str:
    values = mask_bytes(mask)
    if len(values) == 1:
        return _show(values[0])
    if len(values) == 256:
        return "."
    runs, start, prev = [], values[0], values[0]
    for v in values[1:] + [None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        runs.append(_show(start) if start == prev else f"{_show(start)}-{_show(prev)}")
        if v is not None:
            start = prev = v
    return "[" + "".join(runs) + "]"


def _show(value: int) -> str:
    c = chr(value)
    return c if 0x21 <= value < 0x7F and c not in "[]-\\" else f"\\x{value:02x}"


def _children(k: int, a) -> tuple:
    if k in (CAT, ALT, AND):
        return a
    if k == NOT:
        return (a,)
    if k == REP:
        return (a[0],)
    return ()


def _digest(k: int, a, memo: dict[int, bytes]) -> bytes:
    if k == CAT:
        payload = memo[a[0]] + memo[a[1]]
    elif k in (ALT, AND):
        payload = b"".join(sorted(memo[c] for c in a))
    elif k == NOT:
        payload = memo[a]
    elif k == REP:
        payload = memo[a[0]] + repr(a[1:]).encode()
    else:  # leaves: byte sets, code point sets, tags, counters; their payloads are plain data
        payload = repr((type(a).__name__, a)).encode()
    return hashlib.blake2b(bytes((k,)) + payload, digest_size=16).digest()
