"""Python's own regex parser (`sre`), reached from this module only.

Three front ends read regular expressions through the parse tree `re` builds for itself: lark
terminals (regex_program.py), regex and GBNF lexemes (lexemes/from_regex.py) and JSON Schema
patterns (json_schema/regex_translate.py). The parser is a private module of `re` (`re._parser`
since Python 3.11, `sre_parse` before), so where it lives, and how a character class reads as a
set of code points under Python's meaning of \\d, \\w, \\s and IGNORECASE, is written once here.
"""

from __future__ import annotations

import re

from constrain.grammars import charsets
from constrain.grammars.charsets import CharSet

try:  # Python >= 3.11
    import re._constants as sre
    import re._parser as sre_parser
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as sre  # type: ignore[no-redef]
    import sre_parse as sre_parser  # type: ignore[no-redef]

# The parse tree's opcodes and the "no upper bound" of a repetition, for the tree's readers.
MAXREPEAT = sre.MAXREPEAT

_CATEGORY_PATTERN = {
    sre.CATEGORY_DIGIT: (r"\d", False),
    sre.CATEGORY_NOT_DIGIT: (r"\d", True),
    sre.CATEGORY_SPACE: (r"\s", False),
    sre.CATEGORY_NOT_SPACE: (r"\s", True),
    sre.CATEGORY_WORD: (r"\w", False),
    sre.CATEGORY_NOT_WORD: (r"\w", True),
}


class UnsupportedClass(ValueError):
    """A class item this module cannot read as code points; the message names it."""


def parse(pattern: str, flags: int = 0):
    """`re`'s parse tree of `pattern`: `.data` is the list of (opcode, argument) items and
    `.state.flags` the flags in force (inline ones included). Raises `re.error`."""
    return sre_parser.parse(pattern, flags)


def max_width(pattern: str) -> int:
    """The most characters `pattern` can match (`MAXREPEAT` when unbounded)."""
    return sre_parser.parse(pattern).getwidth()[1]


def any_char(flags: int) -> CharSet:
    """What `.` matches under `flags`: everything, or everything but a newline."""
    return CharSet([(0, charsets.MAX_CODE_POINT)]) if flags & re.DOTALL else CharSet([(10, 10)]).complement()


def category(code, flags: int) -> CharSet:
    """The code points of a category item (\\d, \\D, \\w, ...) as `re` reads it under `flags`."""
    if code not in _CATEGORY_PATTERN:
        raise UnsupportedClass(f"the unsupported class {code}")
    pattern, negated = _CATEGORY_PATTERN[code]
    found = CharSet(charsets.category(pattern, bool(flags & re.ASCII)))
    return found.complement() if negated else found


def class_items(items, flags: int) -> tuple[CharSet, bool]:
    """The code points the items of a class `[...]` list, and whether the class is negated."""
    negate = False
    ranges = []
    for op, av in items:
        if op is sre.NEGATE:
            negate = True
        elif op is sre.LITERAL:
            ranges.append((av, av))
        elif op is sre.RANGE:
            ranges.append(av)
        elif op is sre.CATEGORY:
            ranges.extend(category(av, flags).ranges)
        else:
            raise UnsupportedClass(f"the unsupported class item {op}")
    return CharSet(ranges), negate


def negated(chars: CharSet, flags: int) -> CharSet:
    """What a negated class or literal matches: the complement, after case folding under
    IGNORECASE (so that [^a] refuses "A" too, as `re` does)."""
    if flags & re.IGNORECASE:
        chars = charsets.ignore_case(chars, bool(flags & re.ASCII))
    return chars.complement()


def case_folded(chars: CharSet, flags: int) -> CharSet:
    """`chars` closed under case when IGNORECASE is on."""
    return charsets.ignore_case(chars, bool(flags & re.ASCII)) if flags & re.IGNORECASE else chars


def refusal(op) -> str:
    """Why a construct outside regular languages (or not supported) is refused, for the error."""
    if op is getattr(sre, "POSSESSIVE_REPEAT", None) or op is getattr(sre, "ATOMIC_GROUP", None):
        return "a possessive quantifier or atomic group"
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        return "a lookaround assertion"
    if op in (sre.GROUPREF, sre.GROUPREF_EXISTS):
        return "a backreference"
    if op is sre.AT:
        return "an anchor or word boundary"
    return f"the unsupported construct {op}"
