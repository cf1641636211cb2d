"""Python regular expressions and code point sets -> byte terms (the language `re.fullmatch` accepts).

Classes keep Python's meaning (\\d, \\w, \\s over all of Unicode, IGNORECASE folding), read from
`re`'s parse tree by python_regex.py. Characters become their UTF-8 byte sequences, and
surrogates are never encodable, so every accepted text is valid UTF-8. Constructs that are not
regular (lookaround, backreferences) and anchors are refused with a GrammarError naming the pattern.
"""

from __future__ import annotations

import re

from constrain.grammars import python_regex
from constrain.grammars.charsets import CharSet
from constrain.grammars.errors import GrammarError
from constrain.grammars.lexemes.terms import INFINITE, TermStore
from constrain.grammars.python_regex import sre

MAX_REGEX_DEPTH = 200


def codepoints_term(store: TermStore, intervals) -> int:
    """One UTF-8 encoded character whose code point lies in `intervals` (surrogates excluded)."""
    return store.utf8(intervals)


def regex_term(store: TermStore, pattern: str, flags: int = 0, what: str = "regular expression") -> int:
    """The byte term of `pattern` (Python syntax); `what` names it in errors."""
    try:
        parsed = python_regex.parse(pattern, flags)
    except (re.error, OverflowError) as exc:
        raise GrammarError(f"{what}: invalid regular expression {pattern!r}: {exc}") from None
    except RecursionError:
        raise GrammarError(f"{what}: regular expression {pattern!r} nests too deeply") from None
    return _Converter(store, what, pattern).sequence(list(parsed.data), parsed.state.flags, 0)


class _Converter:
    def __init__(self, store: TermStore, what: str, pattern: str):
        self.s = store
        self.what = what
        self.pattern = pattern

    def refuse(self, why: str):
        raise GrammarError(f"{self.what}: {why} in {self.pattern!r}; only regular constructs are supported "
                           "(no lookaround, backreferences, anchors or word boundaries)")

    def sequence(self, items, flags: int, depth: int) -> int:
        if depth > MAX_REGEX_DEPTH:
            self.refuse("groups nested too deeply")
        return self.s.seq(*(self.node(op, av, flags, depth) for op, av in items))

    def node(self, op, av, flags: int, depth: int) -> int:
        if op is sre.LITERAL:
            return self.chars(CharSet([(av, av)]), flags)
        if op is sre.NOT_LITERAL:
            return self.chars(python_regex.negated(CharSet([(av, av)]), flags), 0)
        if op is sre.ANY:
            return self.chars(python_regex.any_char(flags), 0)
        if op is sre.IN:
            return self.char_class(av, flags)
        if op is sre.BRANCH:
            return self.s.union([self.sequence(list(alt.data), flags, depth + 1) for alt in av[1]])
        if op is sre.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            return self.sequence(list(sub.data), (flags | add_flags) & ~del_flags, depth + 1)
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            low, high, sub = av
            body = self.sequence(list(sub.data), flags, depth + 1)
            return self.s.rep(body, low, INFINITE if high is sre.MAXREPEAT else high)
        self.refuse(python_regex.refusal(op))

    def char_class(self, items, flags: int) -> int:
        try:
            chars, negate = python_regex.class_items(items, flags)
        except python_regex.UnsupportedClass as exc:
            self.refuse(str(exc))
        if negate:
            return self.chars(python_regex.negated(chars, flags), 0)
        return self.chars(chars, flags)

    def chars(self, chars: CharSet, flags: int) -> int:
        term = codepoints_term(self.s, python_regex.case_folded(chars, flags).ranges)
        if term == self.s.empty:
            self.refuse("a character class that matches nothing")
        return term
