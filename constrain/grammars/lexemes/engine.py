"""Exact byte-level recognition for grammars made of lexemes and a parser above them.

A hypothesis is (parser configuration, lexer term, text): the configuration says what the parser
expects, the term is the lexer state of the lexeme in progress (a union of the lexemes that
configuration allows, each ending in its TAG), and text is that lexeme's bytes so far when the
parser asked for them (None otherwise). A set of hypotheses is the whole truth about a prefix: it
is valid iff the set is not empty. Stepping a byte tries, for every hypothesis, both "the lexeme
goes on" and "the lexeme ends here (some tag accepts) and this byte starts the next one".

The parser is anything with the `LexemeParser` methods; it must only offer configurations from
which a complete text can still be reached, and no lexeme may accept the empty string.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from constrain.grammars.lexemes.terms import FilterTag, TermStore
from constrain.grammars.recognizer import DEAD, step_through


class LexemeParser(Protocol):
    """The grammar above the lexemes, as configurations (ints) and their moves."""

    store: TermStore

    def start_configs(self) -> tuple[int, ...]:
        """Configurations before any text."""

    def lexemes(self, config: int) -> int:
        """Term of the lexemes allowed next: ALT of CAT(lexeme, TAG(t)); the empty term if none."""

    def after(self, config: int, tags: frozenset, text: bytes | None) -> tuple[int, ...]:
        """Configurations once a lexeme accepted by exactly `tags` ends (`text` is its bytes when
        `needs_text(config)`, else None). `tags` may hold FilterTags the configuration does not
        allow (they tell what the text also spells); the parser must not follow them."""

    def accepting(self, config: int) -> bool:
        """The text may end in this configuration."""

    def nesting(self, config: int) -> int:
        """How much is open in this configuration (0 when complete): a search guide only."""

    def needs_text(self, config: int) -> bool:
        """`after` needs the bytes of the lexemes that start in this configuration."""

    def allowed(self, config: int) -> int | None:
        """Mask of the FilterTag bits whose lexemes this configuration offers (None: all its
        lexemes). Lets configurations share one term and still offer different lexemes."""


class LexemeEngine:
    """Hypothesis sets of one grammar, interned to ints; every step memoized."""

    def __init__(self, parser: LexemeParser):
        self.parser = parser
        self.store = parser.store
        self._sets: list[tuple] = [()]
        self._set_ids: dict[frozenset, int] = {frozenset(): DEAD}
        self._step: dict[int, int] = {}
        self._accepting: dict[int, bool] = {}
        self.mask_builders: dict = {}  # per vocabulary fingerprint, filled by the grammar
        self.after_first_mask: Callable[[], None] | None = None  # run once the first mask is built
        hyps = []
        for config in parser.start_configs():
            term = parser.lexemes(config)
            if term != self.store.empty and self.store.reachable(term, parser.allowed(config)):
                hyps.append((config, term, b"" if parser.needs_text(config) else None))
        self.start = self.intern(hyps)
        self._start_accepts = any(parser.accepting(c) for c in parser.start_configs())

    def intern(self, hypotheses) -> int:
        key = frozenset(hypotheses)
        hid = self._set_ids.get(key)
        if hid is None:
            hid = len(self._sets)
            self._set_ids[key] = hid
            self._sets.append(tuple(sorted(key, key=_order)))
        return hid

    def hypotheses(self, hid: int) -> tuple:
        return self._sets[hid]

    def step(self, hid: int, byte: int) -> int:
        key = hid * 256 + byte
        out = self._step.get(key)
        if out is None:
            out = self.intern(self._step_set(self._sets[hid], byte))
            self._step[key] = out
        return out

    def _step_set(self, hyps, byte: int) -> set:
        store, parser = self.store, self.parser
        out = set()
        one = bytes((byte,))
        for config, term, text in hyps:
            allowed = parser.allowed(config)
            d = store.deriv(term, byte)
            if d != store.empty and store.is_live(d) and store.reachable(d, allowed):
                out.add((config, d, None if text is None else text + one))
            tags = allowed_tags(store.tags(term), allowed)
            if tags:
                for nxt in parser.after(config, tags, text):
                    d = store.deriv(parser.lexemes(nxt), byte)
                    if d != store.empty and store.is_live(d) and store.reachable(d, parser.allowed(nxt)):
                        out.add((nxt, d, one if parser.needs_text(nxt) else None))
        return out

    def step_bytes(self, hid: int, data: bytes) -> int:
        return step_through(self, hid, data)

    def nesting(self, hid: int) -> int:
        return min((self.parser.nesting(config) for config, _, _ in self._sets[hid]), default=0)

    def is_accepting(self, hid: int) -> bool:
        """The text so far is complete (end of generation allowed)."""
        result = self._accepting.get(hid)
        if result is None:
            result = self._accepts(hid)
            self._accepting[hid] = result
        return result

    def _accepts(self, hid: int) -> bool:
        if hid == self.start and self._start_accepts:
            return True
        store, parser = self.store, self.parser
        for config, term, text in self._sets[hid]:
            tags = allowed_tags(store.tags(term), parser.allowed(config))
            if tags and any(parser.accepting(c) for c in parser.after(config, tags, text)):
                return True
        return False


def allowed_tags(tags: frozenset, allowed: int | None) -> frozenset:
    """The accepting tags, if the configuration lets at least one of them through (else none)."""
    if allowed is None or not tags:
        return tags
    if any(not isinstance(t, FilterTag) or allowed >> t.bit & 1 for t in tags):
        return tags
    return frozenset()


def _order(hyp):
    config, term, text = hyp
    return (config, term, b"" if text is None else text)
