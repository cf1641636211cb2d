"""llama.cpp GBNF -> lark grammar text.

GBNF has no lexer. The conversion makes every rule that is regular (not recursive) one lark
terminal, so character-level rules such as strings, numbers and whitespace are lexed whole,
and keeps recursive rules as lark rules. A regular rule that can be empty becomes an optional
non-empty terminal (lark forbids empty terminals). The result is then an ordinary lark grammar:
it must be LALR(1), and it is lexed the way lark lexes (longest match per terminal, first
terminal wins), which can be stricter than llama.cpp where a GBNF grammar relies on
character-level ambiguity. Such grammars are refused (conflicts) or documented in
docs/grammars.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from constrain.grammars import python_regex
from constrain.grammars.errors import GrammarError
from constrain.grammars.lark_text import lark_regex_literal

MAX_TERMINAL_REGEX = 100_000  # characters of the pattern one regular rule becomes
MAX_GROUP_NESTING = 100  # deeper groups are refused: the conversion and lark recurse per level
_RULE_START = re.compile(r"^[ \t]*([a-zA-Z0-9_-]+)[ \t]*::=", re.MULTILINE)
_NAME = re.compile(r"[a-zA-Z0-9_-]+")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "[": "[", "]": "]", "-": "-",
            "^": "^", "/": "/", "'": "'", "0": "\0"}


def gbnf_to_lark(text: str, root: str = "root") -> str:
    rules = _Parser(text).parse_rules()
    if root not in rules:
        raise GrammarError(f"GBNF grammar has no {root!r} rule")
    return _Converter(rules, root).convert()


# -- the syntax tree ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Alt:
    """Alternatives (unordered in GBNF)."""

    options: tuple[Node, ...]


@dataclass(frozen=True)
class Seq:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Lit:
    """A quoted string ("" is the empty string)."""

    text: str


@dataclass(frozen=True)
class CharClass:
    """[...] or [^...]: inclusive code point ranges."""

    negated: bool
    ranges: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class AnyChar:
    """`.`: any one character."""


@dataclass(frozen=True)
class Ref:
    """A use of rule `name`, at `line` (for errors)."""

    name: str
    line: int


@dataclass(frozen=True)
class Rep:
    """`node` repeated low..high times (high None: unbounded)."""

    node: Node
    low: int
    high: int | None


Node = Alt | Seq | Lit | CharClass | AnyChar | Ref | Rep


# -- parsing ------------------------------------------------------------------------------------
class _Parser:
    """GBNF text -> {rule name: (body Node, line)}."""

    def __init__(self, text: str):
        self.text = _strip_comments(text)
        self.depth = 0  # parentheses open around the current position

    def parse_rules(self) -> dict:
        starts = list(_RULE_START.finditer(self.text))
        if not starts:
            raise GrammarError("GBNF grammar defines no rule (expected `name ::= ...`)")
        leading = self.text[: starts[0].start()].strip()
        if leading:
            raise GrammarError(f"GBNF line {self._line(0)}: expected `name ::= ...`, found {leading[:30]!r}")
        rules = {}
        for i, match in enumerate(starts):
            end = starts[i + 1].start() if i + 1 < len(starts) else len(self.text)
            name = match.group(1)
            if name in rules:
                raise GrammarError(f"GBNF line {self._line(match.start())}: rule {name!r} is defined twice")
            self.pos, self.end = match.end(), end
            body = self.alternatives()
            self.skip_space()
            if self.pos < self.end:
                self.fail(f"unexpected {self.text[self.pos:self.pos + 10]!r}")
            rules[name] = (body, self._line(match.start()))
        return rules

    def _line(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def fail(self, why: str):
        raise GrammarError(f"GBNF syntax error at line {self._line(self.pos)}: {why}")

    def skip_space(self):
        while self.pos < self.end and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < self.end else ""

    def alternatives(self):
        alts = [self.sequence()]
        while self.peek() == "|":
            self.pos += 1
            alts.append(self.sequence())
        return alts[0] if len(alts) == 1 else Alt(tuple(alts))

    def sequence(self):
        items = []
        while True:
            self.skip_space()
            ch = self.peek()
            if ch in ("", "|", ")"):
                break
            items.append(self.postfix(self.atom()))
        return Seq(tuple(items))

    def atom(self):
        ch = self.peek()
        if ch == '"':
            return Lit(self.string())
        if ch == "[":
            return self.char_class()
        if ch == ".":
            self.pos += 1
            return AnyChar()
        if ch == "(":
            self.pos += 1
            self.depth += 1
            if self.depth > MAX_GROUP_NESTING:
                self.fail(f"groups nest more than {MAX_GROUP_NESTING} deep")
            inner = self.alternatives()
            self.depth -= 1
            self.skip_space()
            if self.peek() != ")":
                self.fail("missing ')'")
            self.pos += 1
            return inner
        match = _NAME.match(self.text, self.pos, self.end)
        if match:
            self.pos = match.end()
            return Ref(match.group(0), self._line(match.start()))
        if ch == "<":
            self.fail("token references (<...>) are not supported")
        self.fail(f"unexpected {ch!r}")

    def postfix(self, node):
        while True:
            ch = self.peek()
            if ch in "*+?" and ch:
                self.pos += 1
                node = Rep(node, 0 if ch != "+" else 1, 1 if ch == "?" else None)
            elif ch == "{":
                close = self.text.find("}", self.pos, self.end)
                if close < 0:
                    self.fail("missing '}'")
                spec = self.text[self.pos + 1:close].replace(" ", "")
                match = re.fullmatch(r"(\d+)(,(\d*))?", spec)
                if not match:
                    self.fail(f"bad repetition {{{spec}}}")
                low = int(match.group(1))
                high = low if match.group(2) is None else (int(match.group(3)) if match.group(3) else None)
                if high is not None and high < low:
                    self.fail(f"bad repetition {{{spec}}}")
                self.pos = close + 1
                node = Rep(node, low, high)
            else:
                return node

    def char(self) -> int:
        ch = self.peek()
        if not ch:
            self.fail("unexpected end of grammar")
        if ch != "\\":
            self.pos += 1
            return ord(ch)
        esc = self.text[self.pos + 1:self.pos + 2]
        if esc in "xuU" and esc:
            width = {"x": 2, "u": 4, "U": 8}[esc]
            digits = self.text[self.pos + 2:self.pos + 2 + width]
            if not re.fullmatch(r"[0-9a-fA-F]{%d}" % width, digits):
                self.fail(f"bad escape \\{esc}{digits}")
            self.pos += 2 + width
            return int(digits, 16)
        if esc in _ESCAPES:
            self.pos += 2
            return ord(_ESCAPES[esc])
        self.fail(f"unknown escape \\{esc}")

    def string(self) -> str:
        self.pos += 1
        out = []
        while self.peek() != '"':
            if not self.peek():
                self.fail("unterminated string")
            out.append(chr(self.char()))
        self.pos += 1
        return "".join(out)

    def char_class(self):
        self.pos += 1
        negated = self.peek() == "^"
        if negated:
            self.pos += 1
        ranges = []
        while self.peek() != "]":
            if not self.peek():
                self.fail("unterminated character class")
            lo = self.char()
            hi = lo
            if self.peek() == "-" and self.text[self.pos + 1:self.pos + 2] != "]":
                self.pos += 1
                hi = self.char()
            ranges.append((lo, hi))
        self.pos += 1
        return CharClass(negated, tuple(ranges))


def _strip_comments(text: str) -> str:
    out, i, in_string, in_class = [], 0, False, False
    while i < len(text):
        ch = text[i]
        if ch == "\\" and (in_string or in_class):
            out.append(text[i:i + 2])
            i += 2
            continue
        if ch == '"' and not in_class:
            in_string = not in_string
        elif ch == "[" and not in_string:
            in_class = True
        elif ch == "]" and not in_string:
            in_class = False
        elif ch == "#" and not in_string and not in_class:
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


# -- conversion ---------------------------------------------------------------------------------
class _Converter:
    def __init__(self, rules: dict, root: str):
        self.rules = rules
        self.root = root
        for body, _ in rules.values():
            for ref, line in _refs(body):
                if ref not in rules:
                    raise GrammarError(f"GBNF line {line}: rule {ref!r} is used but not defined")
        self.recursive = _recursive_rules(rules)
        self.terminals: dict[str, str] = {}
        self._regex_of_rule: dict[str, str | None] = {}
        self.nullable_rule: dict[str, bool] = {}
        self._nonempty_of_rule: dict[str, str | None] = {}

    def convert(self) -> str:
        lines = []
        if self.root not in self.recursive:
            lines.append(f"start: {self.terminal_ref(self.root)}")
        else:
            lines.append(f"start: {_rule_name(self.root)}")
            for name in self.rules:
                if name in self.recursive:
                    body, _ = self.rules[name]
                    lines.append(f"{_rule_name(name)}: {self.lark_expr(body)}")
        lines += [f"{t}: /{lark_regex_literal(r)}/" for t, r in self.terminals.items()]
        return "\n".join(lines) + "\n"

    def terminal_ref(self, name: str) -> str:
        """A reference to regular rule `name` as a lark terminal ('' for the empty language)."""
        body, line = self.rules[name]
        regex = self.regex(body)
        nonempty = self.regex_nonempty(body)
        term = _terminal_name(name)
        if nonempty is None:
            if regex is None:
                raise GrammarError(f"GBNF line {line}: rule {name!r} matches nothing")
            return ""
        self.terminals[term] = nonempty
        return term if not _nullable(body, self) else f"{term}?"

    def lark_expr(self, node: Node) -> str:
        match node:
            case Alt(options):
                parts = [self.lark_expr(a) for a in options]
                nonempty = [p for p in parts if p]
                if not nonempty:
                    return ""
                group = "(" + " | ".join(f"({p})" for p in nonempty) + ")"
                return group + "?" if len(nonempty) < len(parts) else group
            case Seq(items):
                return " ".join(part for part in map(self.lark_expr, items) if part)
            case Lit(text):
                return json.dumps(text, ensure_ascii=False) if text else ""
            case CharClass() | AnyChar():
                return f"/{lark_regex_literal(self.regex(node))}/"
            case Ref(name):
                return _rule_name(name) if name in self.recursive else self.terminal_ref(name)
            case Rep(inner_node, low, high):
                inner = self.lark_expr(inner_node)
                if not inner:
                    return ""
                if (low, high) == (0, None):
                    return f"({inner})*"
                if (low, high) == (1, None):
                    return f"({inner})+"
                if (low, high) == (0, 1):
                    return f"({inner})?"
                if high is None:
                    return f"({inner}) ~ {low} ({inner})*"
                if low == 0:
                    return f"(({inner}) ~ 1..{high})?"
                return f"({inner}) ~ {low}..{high}"
        raise AssertionError(node)

    # regular rules as Python regexes; None means "no string at all"
    def regex(self, node: Node):
        match node:
            case Lit(text):
                return "".join(_char_regex(ord(c)) for c in text)
            case CharClass(negated, ranges):
                return _class_regex(negated, ranges)
            case AnyChar():
                return "(?s:.)"
            case Ref(name, line):
                if name not in self._regex_of_rule:
                    self._regex_of_rule[name] = _bounded(self.regex(self.rules[name][0]), name, line)
                return self._regex_of_rule[name]
            case Seq(items):
                parts = [self.regex(n) for n in items]
                return None if any(p is None for p in parts) else "".join(f"(?:{p})" for p in parts)
            case Alt(options):
                # lark matches a terminal like re.match: the first alternative that works wins,
                # while GBNF alternatives are unordered. Trying the longest ones first and empty
                # ones last makes re.match take what llama.cpp would in the usual grammars
                # (`[0-9] | [1-9] [0-9]*` must read "36" whole; `ws ::= | " "` must take the space).
                alts = [(a, self.regex(a)) for a in options]
                alts = [(a, p) for a, p in alts if p is not None]
                alts.sort(key=lambda ap: (_nullable(ap[0], self), -_max_width(ap[1])))
                return "|".join(f"(?:{p})" for _, p in alts) if alts else None
            case Rep(inner_node, low, high):
                inner = self.regex(inner_node)
                if inner is None:
                    return "" if low == 0 else None
                return f"(?:{inner}){{{low},{'' if high is None else high}}}"
        raise AssertionError(node)

    def regex_nonempty(self, node: Node):
        """A regex for the language of `node` without the empty string (None if that is empty)."""
        if not _nullable(node, self):
            return self.regex(node)
        match node:
            case Lit():
                return None  # the empty literal
            case Ref(name, line):
                if name not in self._nonempty_of_rule:
                    self._nonempty_of_rule[name] = _bounded(self.regex_nonempty(self.rules[name][0]), name, line)
                return self._nonempty_of_rule[name]
            case Alt(options):
                parts = [p for p in (self.regex_nonempty(a) for a in options) if p is not None]
                return "|".join(f"(?:{p})" for p in parts) if parts else None
            case Seq(items):
                if not items:
                    return None
                head, rest = items[0], Seq(items[1:])
                head_ne, rest_re, rest_ne = self.regex_nonempty(head), self.regex(rest), self.regex_nonempty(rest)
                parts = []
                if head_ne is not None and rest_re is not None:
                    parts.append(f"(?:{head_ne})(?:{rest_re})")
                if rest_ne is not None:
                    parts.append(rest_ne)
                return "|".join(f"(?:{p})" for p in parts) if parts else None
            case Rep(inner_node, _low, high):
                inner_ne = self.regex_nonempty(inner_node)
                inner = self.regex(inner_node)
                if inner_ne is None:
                    return None
                if high is not None and high < 1:
                    return None
                tail = "" if high is None else high - 1
                return f"(?:{inner_ne})(?:{inner}){{0,{tail}}}"
        raise AssertionError(node)


def _max_width(regex: str) -> int:
    try:
        return python_regex.max_width(regex)
    except Exception:  # noqa: BLE001 - only an ordering heuristic
        return 0


def _nullable(node: Node, conv: _Converter, seen=frozenset()) -> bool:
    match node:
        case Lit(text):
            return text == ""
        case CharClass() | AnyChar():
            return False
        case Ref(name):
            if name in seen:
                return False
            if name in conv.recursive:
                return _nullable(conv.rules[name][0], conv, seen | {name})
            # a regular rule's answer does not depend on the path to it: once per rule, or rules
            # that use another one twice would cost 2**depth
            if name not in conv.nullable_rule:
                conv.nullable_rule[name] = _nullable(conv.rules[name][0], conv, seen | {name})
            return conv.nullable_rule[name]
        case Seq(items):
            return all(_nullable(n, conv, seen) for n in items)
        case Alt(options):
            return any(_nullable(a, conv, seen) for a in options)
        case Rep(inner_node, low):
            return low == 0 or _nullable(inner_node, conv, seen)
    raise AssertionError(node)


def _char_regex(cp: int) -> str:
    """One character as regex text that survives lark's own unescaping of /.../ literals."""
    ch = chr(cp)
    if ch.isascii() and ch.isalnum():
        return ch
    if ch in "\n\r\t":
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch]
    if 0x20 <= cp < 0x7F:
        return "\\" + ch  # regex escape of punctuation (and space)
    if cp < 0x20 or cp == 0x7F:
        return f"\\x{cp:02x}"  # lark turns it into the raw control character
    return ch


def _bounded(regex: str | None, name: str, line: int) -> str | None:
    """A rule's regex, refused when it is too long to compile (rules that use other rules
    several times double at every level)."""
    if regex is not None and len(regex) > MAX_TERMINAL_REGEX:
        raise GrammarError(
            f"GBNF line {line}: rule {name!r} written out as one pattern would take more than "
            f"{MAX_TERMINAL_REGEX} characters (rules that use other rules several times double "
            "at every level)")
    return regex


def _class_regex(negated: bool, ranges) -> str:
    esc = _char_regex
    body = "".join(esc(lo) if lo == hi else f"{esc(lo)}-{esc(hi)}" for lo, hi in ranges)
    if not body:
        return "(?s:.)" if negated else "[^\\s\\S]"
    return f"[{'^' if negated else ''}{body}]"


def _refs(node: Node):
    match node:
        case Ref(name, line):
            yield name, line
        case Seq(children) | Alt(children):
            for child in children:
                yield from _refs(child)
        case Rep(child):
            yield from _refs(child)


def _recursive_rules(rules: dict) -> set[str]:
    """Rules that reach themselves, and every rule that uses one of those."""
    graph = {name: {r for r, _ in _refs(body)} for name, (body, _) in rules.items()}
    reach = {}
    for name in graph:
        seen, todo = set(), list(graph[name])
        while todo:
            r = todo.pop()
            if r not in seen:
                seen.add(r)
                todo.extend(graph[r])
        reach[name] = seen
    cyclic = {n for n in graph if n in reach[n]}
    return {n for n in graph if n in cyclic or reach[n] & cyclic}


def _rule_name(name: str) -> str:
    return "r_" + name.replace("-", "_").lower()


def _terminal_name(name: str) -> str:
    return "T_" + name.replace("-", "_").upper()
