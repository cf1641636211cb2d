"""ECMA-262 `pattern` -> a small IR over code points (json_terms.py turns it into byte terms).

The pattern is parsed with Python's own regex parser into a tiny IR (sets of code points,
sequences, alternations, bounded repetitions); json_terms.py makes every character position match
any JSON spelling of the characters it allows. Anything whose meaning is not regular or
not shared by ECMA-262 and Python (backreferences, lookaround, word boundaries, inline flags)
is refused; the caller turns `PatternError` into a keyword error with its schema path.

Classes like \\d, \\w, \\s and `.` differ between ECMA-262 (the spec) and Python's `re` (which the
`jsonschema` validator uses); we take their intersection so that accepted strings satisfy both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from constrain.grammars import charsets, python_regex
from constrain.grammars.charsets import ANY_CHAR, CharSet

# Counted repetitions stay symbolic in the engine (a term with its bounds, stepped lazily), so
# large counts cost nothing up front; past this they are refused as unreasonable.
MAX_REPEAT = 100_000
INFINITE = None


class PatternError(ValueError):
    """The pattern is outside the regular, portable subset this translator supports."""


# -- the pattern IR ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Chars:
    """One character of `chars`."""

    chars: CharSet


@dataclass(frozen=True)
class Seq:
    items: tuple[PatternNode, ...]


@dataclass(frozen=True)
class Alt:
    options: tuple[PatternNode, ...]


@dataclass(frozen=True)
class Repeat:
    """`node` lo..hi times (hi None: unbounded)."""

    node: PatternNode
    lo: int
    hi: int | None


@dataclass(frozen=True)
class LineStart:
    """`^` (only at a branch's start once the pattern is in search form)."""


@dataclass(frozen=True)
class LineEnd:
    """`$` (only at a branch's end once the pattern is in search form)."""


PatternNode = Chars | Seq | Alt | Repeat | LineStart | LineEnd


@cache
def _python_category(name: str) -> CharSet:
    """The code points Python's `re` puts in category \\d, \\w or \\s (str patterns)."""
    pattern = {"digit": r"\d", "word": r"\w", "space": r"\s"}[name]
    return CharSet(charsets.category(pattern, False)).minus(CharSet([(0xD800, 0xDFFF)]))


_ECMA_CATEGORY = {
    "digit": CharSet.of("0123456789"),
    "word": CharSet([(48, 57), (65, 90), (97, 122), (95, 95)]),
    "space": CharSet([(9, 13), (32, 32), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
                      (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000),
                      (0xFEFF, 0xFEFF)]),
}


def _category(name: str, narrow: bool) -> CharSet:
    """ECMA ∩ Python when `narrow` (a positive class), ECMA ∪ Python otherwise."""
    ecma = _ECMA_CATEGORY[name]
    if name != "space":  # ECMA's ASCII digit and word sets lie inside Python's Unicode ones
        return ecma if narrow else _python_category(name)
    python = _python_category(name)
    return ecma.intersect(python) if narrow else ecma.union(python)


_CATEGORIES = {
    "CATEGORY_DIGIT": ("digit", False), "CATEGORY_NOT_DIGIT": ("digit", True),
    "CATEGORY_WORD": ("word", False), "CATEGORY_NOT_WORD": ("word", True),
    "CATEGORY_SPACE": ("space", False), "CATEGORY_NOT_SPACE": ("space", True),
}


def _category_set(code, narrow: bool) -> CharSet:
    name, negated = _CATEGORIES[str(code)]
    if negated:
        return _category(name, not narrow).complement()
    return _category(name, narrow)


_LINE_TERMINATORS = CharSet.of("\n\r\u2028\u2029")
DOT = ANY_CHAR.minus(_LINE_TERMINATORS)
WIDE_DOT = ANY_CHAR.minus(CharSet.of("\n"))  # Python's `.`: everything but a newline


def _class_set(items, narrow: bool) -> CharSet:
    negate = bool(items) and str(items[0][0]) == "NEGATE"
    if negate:
        items = items[1:]
        narrow = not narrow
    result = CharSet()
    for op, av in items:
        op = str(op)
        if op == "LITERAL":
            result = result.union(CharSet([(av, av)]))
        elif op == "RANGE":
            result = result.union(CharSet([av]))
        elif op == "CATEGORY":
            result = result.union(_category_set(av, narrow))
        else:
            raise PatternError(f"unsupported character class item {op}")
    return result.complement() if negate else result.intersect(ANY_CHAR)


def _convert(data, wide: bool = False) -> Seq:
    nodes = []
    for op, av in data:
        op_name = str(op)
        if op_name == "LITERAL":
            nodes.append(Chars(CharSet([(av, av)])))
        elif op_name == "NOT_LITERAL":
            nodes.append(Chars(CharSet([(av, av)]).complement()))
        elif op_name == "ANY":
            nodes.append(Chars(WIDE_DOT if wide else DOT))
        elif op_name == "IN":
            nodes.append(Chars(_class_set(av, narrow=not wide)))
        elif op_name == "CATEGORY":
            nodes.append(Chars(_category_set(av, narrow=not wide)))
        elif op_name == "BRANCH":
            nodes.append(Alt(tuple(_convert(branch, wide) for branch in av[1])))
        elif op_name == "SUBPATTERN":
            group, add_flags, del_flags, sub = av
            if add_flags or del_flags:
                raise PatternError("inline flags are not supported")
            nodes.append(_convert(sub, wide))
        elif op_name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            if op_name == "POSSESSIVE_REPEAT":
                raise PatternError("possessive repetition is not ECMA-262")
            lo, hi, sub = av
            hi = INFINITE if hi == python_regex.MAXREPEAT else hi
            if hi is not None and hi > MAX_REPEAT or lo > MAX_REPEAT:
                raise PatternError(f"repetition count above {MAX_REPEAT}")
            nodes.append(Repeat(_convert(sub, wide), lo, hi))
        elif op_name == "AT":
            code = str(av)
            if code == "AT_BEGINNING":
                nodes.append(LineStart())
            elif code == "AT_END":
                nodes.append(LineEnd())
            else:
                raise PatternError(f"anchor {code} is not supported")
        else:
            raise PatternError(f"{op_name} (lookaround, backreference, ...) is not regular")
    if any(isinstance(node, Chars) and not node.chars for node in nodes):
        raise PatternError("a character class matches no character")
    return Seq(tuple(nodes))


def _flatten(node: PatternNode) -> PatternNode:
    """Inline nested sequences so anchors at a group's edge become the sequence's edge."""
    match node:
        case Seq(items):
            out: list[PatternNode] = []
            for child in items:
                child = _flatten(child)
                out.extend(child.items if isinstance(child, Seq) else (child,))
            return Seq(tuple(out))
        case Alt(options):
            return Alt(tuple(_flatten(c) for c in options))
        case Repeat(child, lo, hi):
            return Repeat(_flatten(child), lo, hi)
    return node


def _has_anchor(node: PatternNode) -> bool:
    match node:
        case LineStart() | LineEnd():
            return True
        case Seq(children) | Alt(children):
            return any(_has_anchor(c) for c in children)
        case Repeat(child):
            return _has_anchor(child)
    return False


ANYTHING = Repeat(Chars(ANY_CHAR), 0, INFINITE)  # `.*` over every character


def _search_form(node: PatternNode, wide: bool = False) -> PatternNode:
    """ECMA `pattern` is an unanchored search: pad each branch with `.*` unless anchored. Branches
    anchored at neither end share their padding (`.*(Normal|Fire|...).*`, not one `.*Normal.*` per
    word): the language is the same, and each automaton state is one term over the words' progress
    rather than a union with a copy of the padding per word. (Branches anchored at one end stay
    apart, the shape limit_length reads.) With `wide`, `$` also matches before a final newline,
    as Python's `re` reads it."""
    groups: dict[tuple[bool, bool], list[Seq]] = {}
    for items in _branches(node):
        anchored_start = bool(items) and isinstance(items[0], LineStart)
        if anchored_start:
            items = items[1:]
        anchored_end = bool(items) and isinstance(items[-1], LineEnd)
        if anchored_end:
            items = items[:-1] + ([Repeat(Chars(CharSet.of("\n")), 0, 1)] if wide else [])
        if any(_has_anchor(item) for item in items):
            raise PatternError("^ or $ anchors are only supported at the pattern's start or end")
        if not anchored_start:
            items = _least_edge_repeats(items, 0)
        if not anchored_end:
            items = _least_edge_repeats(items, -1)
        groups.setdefault((anchored_start, anchored_end), []).append(Seq(tuple(items)))
    parts: list[PatternNode] = []
    for (anchored_start, anchored_end), cores in groups.items():
        if anchored_start or anchored_end or len(cores) == 1:
            parts += [Seq((() if anchored_start else (ANYTHING,)) + core.items + (() if anchored_end else (ANYTHING,)))
                      for core in cores]
        else:
            parts.append(Seq((ANYTHING, Alt(tuple(cores)), ANYTHING)))
    return parts[0] if len(parts) == 1 else Alt(tuple(parts))


def _branches(node: PatternNode) -> list[list[PatternNode]]:
    """The top-level alternatives of a pattern, each as a flat list of items."""
    if isinstance(node, Seq) and len(node.items) == 1 and isinstance(node.items[0], Alt):
        node = node.items[0]
    if isinstance(node, Alt):
        return [items for b in node.options for items in _branches(_flatten(Seq((b,))))]
    return [list(node.items) if isinstance(node, Seq) else [node]]


def contained_class(node: PatternNode) -> CharSet | None:
    """C when the search-form IR `node` reads "contains a character of C" (`\\w+`, `[a-z]`, `(a|b)`
    unanchored: `.*[C].*`); None for any other shape."""
    if not isinstance(node, Seq) or len(node.items) != 3:
        return None
    first, middle, last = node.items
    if first != ANYTHING or last != ANYTHING:
        return None
    return _single_class(middle)


def _single_class(node: PatternNode) -> CharSet | None:
    match node:
        case Chars(chars):
            return chars
        case Seq((only,)):
            return _single_class(only)
        case Repeat(child, 1, 1):
            return _single_class(child)
        case Alt(options):
            out = CharSet()
            for child in options:
                one = _single_class(child)
                if one is None:
                    return None
                out = out.union(one)
            return out
    return None


def _least_edge_repeats(items: list[PatternNode], edge: int) -> list[PatternNode]:
    """Next to the `.*` of a search, a repeat x{lo,hi} matches the same texts as x{lo}: the `.*`
    takes any further copies (`\\w{1,16}` is "contains a \\w"). Much smaller automata."""
    items = list(items)
    while items and isinstance(items[edge], Repeat):
        child, lo = items[edge].node, items[edge].lo
        if lo > 0:
            items[edge] = Repeat(child, lo, lo)
            break
        del items[edge]
    return items


def parse_pattern(pattern: str, *, search: bool = True, wide: bool = False) -> PatternNode:
    """The IR of an ECMA-262 pattern; `search=False` treats it as anchored at both ends.

    Classes (\\d, \\w, \\s, `.`) mean what both ECMA-262 and Python's `re` agree on; with `wide`, what
    either of them matches (for "keys this pattern might apply to")."""
    # ECMA named groups (?<name>...) are spelled (?P<name>...) in Python.
    python_pattern = re.sub(r"\(\?<(?![=!])", "(?P<", pattern)
    try:
        parsed = python_regex.parse(python_pattern)
    except (re.error, OverflowError, RecursionError) as exc:
        raise PatternError(f"cannot parse: {exc}") from None
    flags = parsed.state.flags if hasattr(parsed, "state") else parsed.pattern.flags
    if flags & ~re.UNICODE:
        raise PatternError("inline flags are not supported")
    node = _flatten(_convert(parsed.data if hasattr(parsed, "data") else parsed, wide))
    if search:
        return _search_form(node, wide)
    if _has_anchor(node):
        raise PatternError("anchors are not expected here")
    return node
