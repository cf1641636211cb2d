"""Python regex -> a byte-level program (Pike VM style) that keeps the priorities of `re`.

Alternatives and greedy/lazy repetitions become ordered splits; the DFA built from the program
(regex_dfa.py) cuts lower-priority threads when a match is found, so the longest match of that
DFA is exactly the match Python's `re.match` returns (the leftmost-first rule, as in RE2).
Character classes are sets of code points, each compiled to UTF-8 byte ranges.
"""

from __future__ import annotations

import re

try:  # Python >= 3.11
    import re._constants as sre
    import re._parser as sre_parse
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as sre
    import sre_parse

from constrain.grammars import charsets
from constrain.grammars.errors import GrammarError
from constrain.grammars.utf8_ranges import remove_surrogates, utf8_sequences

MAX_PROGRAM_SIZE = 200_000

_CATEGORY_PATTERN = {
    sre.CATEGORY_DIGIT: (r"\d", False),
    sre.CATEGORY_NOT_DIGIT: (r"\d", True),
    sre.CATEGORY_SPACE: (r"\s", False),
    sre.CATEGORY_NOT_SPACE: (r"\s", True),
    sre.CATEGORY_WORD: (r"\w", False),
    sre.CATEGORY_NOT_WORD: (r"\w", True),
}


class Program:
    """Instructions: ("byte", lo, hi, next) | ("split", first, second) | ("jmp", to) | ("match",)."""

    def __init__(self):
        self.code: list[list] = [["match"]]
        self.start = 0

    def emit(self, *instr) -> int:
        if len(self.code) >= MAX_PROGRAM_SIZE:
            raise OverflowError
        self.code.append(list(instr))
        return len(self.code) - 1


def compile_regex(pattern: str, what: str) -> Program:
    """Compile `pattern` (Python syntax, lark's to_regexp() form). `what` names it in errors."""
    try:
        parsed = sre_parse.parse(pattern, 0)
    except re.error as exc:
        raise GrammarError(f"{what}: invalid regular expression {pattern!r}: {exc}") from None
    program = Program()
    builder = _Builder(program, what, pattern)
    try:
        program.start = builder.sequence(list(parsed.data), parsed.state.flags, 0)
    except OverflowError:
        raise GrammarError(
            f"{what}: regular expression {pattern!r} is too large once repetitions are expanded "
            f"(more than {MAX_PROGRAM_SIZE} instructions); use smaller {{m,n}} bounds"
        ) from None
    return program


class _Builder:
    """Compiles the sre parse tree right to left: every node gets the pc of what follows it."""

    def __init__(self, program: Program, what: str, pattern: str):
        self.p = program
        self.what = what
        self.pattern = pattern
        self._tails: dict = {}

    def refuse(self, why: str):
        raise GrammarError(
            f"{self.what}: {why} in {self.pattern!r}; terminals must be regular "
            "(no lookaround, backreferences, anchors or word boundaries)"
        )

    def sequence(self, items, flags, nxt) -> int:
        for op, av in reversed(items):
            nxt = self.node(op, av, flags, nxt)
        return nxt

    def node(self, op, av, flags, nxt) -> int:
        if op is sre.LITERAL:
            return self.charset([(av, av)], flags, nxt)
        if op is sre.NOT_LITERAL:
            return self.charset(self._negate([(av, av)], flags), 0, nxt)
        if op is sre.ANY:
            allowed = [(0, 0x10FFFF)] if flags & re.DOTALL else charsets.complement([(10, 10)])
            return self.charset(allowed, 0, nxt)
        if op is sre.IN:
            return self.char_class(av, flags, nxt)
        if op is sre.BRANCH:
            return self.alternation([self.sequence(list(alt.data), flags, nxt) for alt in av[1]])
        if op is sre.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            return self.sequence(list(sub.data), (flags | add_flags) & ~del_flags, nxt)
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            low, high, sub = av
            return self.repeat(list(sub.data), flags, low, high, op is sre.MAX_REPEAT, nxt)
        if op is getattr(sre, "POSSESSIVE_REPEAT", None) or op is getattr(sre, "ATOMIC_GROUP", None):
            self.refuse("a possessive quantifier or atomic group")
        if op in (sre.ASSERT, sre.ASSERT_NOT):
            self.refuse("a lookaround assertion")
        if op in (sre.GROUPREF, sre.GROUPREF_EXISTS):
            self.refuse("a backreference")
        if op is sre.AT:
            self.refuse("an anchor or word boundary")
        self.refuse(f"the unsupported construct {op}")

    def alternation(self, entries: list[int]) -> int:
        entry = entries[-1]
        for alt in reversed(entries[:-1]):
            entry = self.p.emit("split", alt, entry)
        return entry

    def repeat(self, items, flags, low, high, greedy, nxt) -> int:
        unbounded = high is sre.MAXREPEAT
        if unbounded:
            loop = self.p.emit("split", 0, 0)
            body = self.sequence(items, flags, loop)
            self.p.code[loop][1:] = [body, nxt] if greedy else [nxt, body]
            nxt = loop
        else:
            for _ in range(high - low):
                body = self.sequence(items, flags, nxt)
                nxt = self.p.emit("split", *((body, nxt) if greedy else (nxt, body)))
        for _ in range(low):
            nxt = self.sequence(items, flags, nxt)
        return nxt

    def char_class(self, items, flags, nxt) -> int:
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
                intervals.extend(self.category(av, flags))
            else:
                self.refuse(f"the unsupported class item {op}")
        intervals = charsets.normalize(intervals)
        if negate:
            return self.charset(self._negate(intervals, flags), 0, nxt)
        return self.charset(intervals, flags, nxt)

    def category(self, code, flags):
        if code not in _CATEGORY_PATTERN:
            self.refuse(f"the unsupported class {code}")
        pattern, negated = _CATEGORY_PATTERN[code]
        intervals = list(charsets.category(pattern, bool(flags & re.ASCII)))
        return charsets.complement(intervals) if negated else intervals

    def _negate(self, intervals, flags):
        if flags & re.IGNORECASE:
            intervals = charsets.ignore_case(intervals, bool(flags & re.ASCII))
        return charsets.complement(intervals)

    def charset(self, intervals, flags, nxt) -> int:
        if flags & re.IGNORECASE:
            intervals = charsets.ignore_case(charsets.normalize(intervals), bool(flags & re.ASCII))
        sequences = []
        for lo, hi in remove_surrogates(charsets.normalize(intervals)):
            sequences.extend(utf8_sequences(lo, hi))
        if not sequences:
            self.refuse("a character class that matches nothing")
        # UTF-8 sequences are disjoint, so their order carries no priority.
        return self.alternation([self.byte_chain(tuple(seq), nxt) for seq in sequences])

    def byte_chain(self, ranges: tuple, nxt) -> int:
        key = (ranges, nxt)
        if key not in self._tails:
            tail = nxt if len(ranges) == 1 else self.byte_chain(ranges[1:], nxt)
            self._tails[key] = self.p.emit("byte", ranges[0][0], ranges[0][1], tail)
        return self._tails[key]
