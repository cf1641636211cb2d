"""Python regex -> a byte-level program (Pike VM style) that keeps the priorities of `re`.

Alternatives and greedy/lazy repetitions become ordered splits; the DFA built from the program
(regex_dfa.py) cuts lower-priority threads when a match is found, so the longest match of that
DFA is exactly the match Python's `re.match` returns (the leftmost-first rule, as in RE2).
Character classes are sets of code points, each compiled to UTF-8 byte ranges.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from constrain.grammars import python_regex
from constrain.grammars.charsets import CharSet
from constrain.grammars.errors import GrammarError
from constrain.grammars.python_regex import sre
from constrain.grammars.utf8_ranges import remove_surrogates, utf8_sequences

MAX_PROGRAM_SIZE = 200_000


class ByteRange(NamedTuple):
    """Take one byte in lo..hi and go on at `next`."""

    lo: int
    hi: int
    next: int


class Split(NamedTuple):
    """Go on at both; a match reached through `first` wins over one through `second`."""

    first: int
    second: int


class Match(NamedTuple):
    """The pattern has matched."""


Instruction = ByteRange | Split | Match


class Program:
    """Instructions addressed by index (a pc); `start` is where matching begins, 0 is Match."""

    def __init__(self):
        self.code: list[Instruction] = [Match()]
        self.start = 0

    def emit(self, instr: Instruction) -> int:
        if len(self.code) >= MAX_PROGRAM_SIZE:
            raise OverflowError
        self.code.append(instr)
        return len(self.code) - 1


def compile_regex(pattern: str, what: str) -> Program:
    """Compile `pattern` (Python syntax, lark's to_regexp() form). `what` names it in errors."""
    try:
        parsed = python_regex.parse(pattern, 0)
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
            return self.charset(CharSet([(av, av)]), flags, nxt)
        if op is sre.NOT_LITERAL:
            return self.charset(python_regex.negated(CharSet([(av, av)]), flags), 0, nxt)
        if op is sre.ANY:
            return self.charset(python_regex.any_char(flags), 0, nxt)
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
        self.refuse(python_regex.refusal(op))

    def alternation(self, entries: list[int]) -> int:
        entry = entries[-1]
        for alt in reversed(entries[:-1]):
            entry = self.p.emit(Split(alt, entry))
        return entry

    def repeat(self, items, flags, low, high, greedy, nxt) -> int:
        unbounded = high is sre.MAXREPEAT
        if unbounded:
            loop = self.p.emit(Split(0, 0))  # its targets are known once the body is compiled
            body = self.sequence(items, flags, loop)
            self.p.code[loop] = Split(body, nxt) if greedy else Split(nxt, body)
            nxt = loop
        else:
            for _ in range(high - low):
                body = self.sequence(items, flags, nxt)
                nxt = self.p.emit(Split(body, nxt) if greedy else Split(nxt, body))
        for _ in range(low):
            nxt = self.sequence(items, flags, nxt)
        return nxt

    def char_class(self, items, flags, nxt) -> int:
        try:
            chars, negate = python_regex.class_items(items, flags)
        except python_regex.UnsupportedClass as exc:
            self.refuse(str(exc))
        if negate:
            return self.charset(python_regex.negated(chars, flags), 0, nxt)
        return self.charset(chars, flags, nxt)

    def charset(self, chars: CharSet, flags, nxt) -> int:
        chars = python_regex.case_folded(chars, flags)
        sequences = []
        for lo, hi in remove_surrogates(list(chars.ranges)):
            sequences.extend(utf8_sequences(lo, hi))
        if not sequences:
            self.refuse("a character class that matches nothing")
        # UTF-8 sequences are disjoint, so their order carries no priority.
        return self.alternation([self.byte_chain(tuple(seq), nxt) for seq in sequences])

    def byte_chain(self, ranges: tuple, nxt) -> int:
        key = (ranges, nxt)
        if key not in self._tails:
            tail = nxt if len(ranges) == 1 else self.byte_chain(ranges[1:], nxt)
            self._tails[key] = self.p.emit(ByteRange(ranges[0][0], ranges[0][1], tail))
        return self._tails[key]
