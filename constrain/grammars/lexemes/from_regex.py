"""Python regular expressions and code point sets -> byte terms (the language `re.fullmatch` accepts).

Classes keep Python's meaning (\\d, \\w, \\s over all of Unicode, IGNORECASE folding), computed by
`constrain.grammars.charsets` from `re` itself. Characters become their UTF-8 byte sequences, and
surrogates are never encodable, so every accepted text is valid UTF-8. Constructs that are not
regular (lookaround, backreferences) and anchors are refused with a GrammarError naming the pattern.
"""

from __future__ import annotations

import re

from constrain.grammars import charsets
from constrain.grammars.errors import GrammarError
from constrain.grammars.lexemes.terms import INFINITE, TermStore

try:  # Python >= 3.11
    import re._constants as sre
    import re._parser as sre_parse
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as sre
    import sre_parse

_CATEGORY = {
    sre.CATEGORY_DIGIT: (r"\d", False),
    sre.CATEGORY_NOT_DIGIT: (r"\d", True),
    sre.CATEGORY_SPACE: (r"\s", False),
    sre.CATEGORY_NOT_SPACE: (r"\s", True),
    sre.CATEGORY_WORD: (r"\w", False),
    sre.CATEGORY_NOT_WORD: (r"\w", True),
}
MAX_REGEX_DEPTH = 200


def codepoints_term(store: TermStore, intervals) -> int:
    """One UTF-8 encoded character whose code point lies in `intervals` (surrogates excluded)."""
    return store.utf8(intervals)


def regex_term(store: TermStore, pattern: str, flags: int = 0, what: str = "regular expression") -> int:
    """The byte term of `pattern` (Python syntax); `what` names it in errors."""
    try:
        parsed = sre_parse.parse(pattern, flags)
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
            return self.chars([(av, av)], flags)
        if op is sre.NOT_LITERAL:
            return self.chars(self._negate([(av, av)], flags), 0)
        if op is sre.ANY:
            allowed = [(0, 0x10FFFF)] if flags & re.DOTALL else charsets.complement([(10, 10)])
            return self.chars(allowed, 0)
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
        if op is getattr(sre, "POSSESSIVE_REPEAT", None) or op is getattr(sre, "ATOMIC_GROUP", None):
            self.refuse("a possessive quantifier or atomic group")
        if op in (sre.ASSERT, sre.ASSERT_NOT):
            self.refuse("a lookaround assertion")
        if op in (sre.GROUPREF, sre.GROUPREF_EXISTS):
            self.refuse("a backreference")
        if op is sre.AT:
            self.refuse("an anchor or word boundary")
        self.refuse(f"the unsupported construct {op}")

    def char_class(self, items, flags: int) -> int:
        negate = False
        intervals = []
        for op, av in items:
            if op is sre.NEGATE:
                negate = True
            elif op is sre.LITERAL:
                intervals.append((av, av))
            elif op is sre.RANGE:
                intervals.append(av)
            elif op is sre.CATEGORY:
                if av not in _CATEGORY:
                    self.refuse(f"the unsupported class {av}")
                pattern, negated = _CATEGORY[av]
                found = list(charsets.category(pattern, bool(flags & re.ASCII)))
                intervals.extend(charsets.complement(found) if negated else found)
            else:
                self.refuse(f"the unsupported class item {op}")
        intervals = charsets.normalize(intervals)
        if negate:
            return self.chars(self._negate(intervals, flags), 0)
        return self.chars(intervals, flags)

    def _negate(self, intervals, flags: int):
        if flags & re.IGNORECASE:
            intervals = charsets.ignore_case(intervals, bool(flags & re.ASCII))
        return charsets.complement(intervals)

    def chars(self, intervals, flags: int) -> int:
        if flags & re.IGNORECASE:
            intervals = charsets.ignore_case(charsets.normalize(intervals), bool(flags & re.ASCII))
        term = codepoints_term(self.s, intervals)
        if term == self.s.empty:
            self.refuse("a character class that matches nothing")
        return term
