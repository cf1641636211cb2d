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


# -- parsing ------------------------------------------------------------------------------------
class _Parser:
    """AST nodes: ("alt", [seq...]) ("seq", [node...]) ("lit", str) ("cls", negated, [(lo, hi)])
    ("any",) ("ref", name, line) ("rep", node, min, max_or_None)."""

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
        return alts[0] if len(alts) == 1 else ("alt", alts)

    def sequence(self):
        items = []
        while True:
            self.skip_space()
            ch = self.peek()
            if ch in ("", "|", ")"):
                break
            items.append(self.postfix(self.atom()))
        return ("seq", items)

    def atom(self):
        ch = self.peek()
        if ch == '"':
            return ("lit", self.string())
        if ch == "[":
            return self.char_class()
        if ch == ".":
            self.pos += 1
            return ("any",)
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
            return ("ref", match.group(0), self._line(match.start()))
        if ch == "<":
            self.fail("token references (<...>) are not supported")
        self.fail(f"unexpected {ch!r}")

    def postfix(self, node):
        while True:
            ch = self.peek()
            if ch in "*+?" and ch:
                self.pos += 1
                node = ("rep", node, 0 if ch != "+" else 1, 1 if ch == "?" else None)
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
                node = ("rep", node, low, high)
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
        return ("cls", negated, ranges)


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

    def lark_expr(self, node) -> str:
        kind = node[0]
        if kind == "alt":
            parts = [self.lark_expr(a) for a in node[1]]
            nonempty = [p for p in parts if p]
            if not nonempty:
                return ""
            group = "(" + " | ".join(f"({p})" for p in nonempty) + ")"
            return group + "?" if len(nonempty) < len(parts) else group
        if kind == "seq":
            return " ".join(part for part in map(self.lark_expr, node[1]) if part)
        if kind == "lit":
            return json.dumps(node[1], ensure_ascii=False) if node[1] else ""
        if kind in ("cls", "any"):
            return f"/{lark_regex_literal(self.regex(node))}/"
        if kind == "ref":
            return _rule_name(node[1]) if node[1] in self.recursive else self.terminal_ref(node[1])
        if kind == "rep":
            inner = self.lark_expr(node[1])
            if not inner:
                return ""
            low, high = node[2], node[3]
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
        raise AssertionError(kind)

    # regular rules as Python regexes; None means "no string at all"
    def regex(self, node):
        kind = node[0]
        if kind == "lit":
            return "".join(_char_regex(ord(c)) for c in node[1])
        if kind == "cls":
            return _class_regex(node[1], node[2])
        if kind == "any":
            return "(?s:.)"
        if kind == "ref":
            name = node[1]
            if name not in self._regex_of_rule:
                regex = self.regex(self.rules[name][0])
                if regex is not None and len(regex) > MAX_TERMINAL_REGEX:
                    raise GrammarError(
                        f"GBNF line {node[2]}: rule {name!r} written out as one pattern would take more than "
                        f"{MAX_TERMINAL_REGEX} characters (rules that use other rules several times double "
                        "at every level)")
                self._regex_of_rule[name] = regex
            return self._regex_of_rule[name]
        if kind == "seq":
            parts = [self.regex(n) for n in node[1]]
            return None if any(p is None for p in parts) else "".join(f"(?:{p})" for p in parts)
        if kind == "alt":
            # lark matches a terminal like re.match: the first alternative that works wins,
            # while GBNF alternatives are unordered. Trying the longest ones first and empty
            # ones last makes re.match take what llama.cpp would in the usual grammars
            # (`[0-9] | [1-9] [0-9]*` must read "36" whole; `ws ::= | " "` must take the space).
            alts = [(a, self.regex(a)) for a in node[1]]
            alts = [(a, p) for a, p in alts if p is not None]
            alts.sort(key=lambda ap: (_nullable(ap[0], self), -_max_width(ap[1])))
            return "|".join(f"(?:{p})" for _, p in alts) if alts else None
        if kind == "rep":
            inner = self.regex(node[1])
            if inner is None:
                return "" if node[2] == 0 else None
            high = "" if node[3] is None else node[3]
            return f"(?:{inner}){{{node[2]},{high}}}"
        raise AssertionError(kind)

    def regex_nonempty(self, node):
        """A regex for the language of `node` without the empty string (None if that is empty)."""
        kind = node[0]
        if not _nullable(node, self):
            return self.regex(node)
        if kind == "lit":
            return None  # the empty literal
        if kind == "ref":
            name = node[1]
            if name not in self._nonempty_of_rule:
                regex = self.regex_nonempty(self.rules[name][0])
                if regex is not None and len(regex) > MAX_TERMINAL_REGEX:
                    raise GrammarError(
                        f"GBNF line {node[2]}: rule {name!r} written out as one pattern would take more than "
                        f"{MAX_TERMINAL_REGEX} characters")
                self._nonempty_of_rule[name] = regex
            return self._nonempty_of_rule[name]
        if kind == "alt":
            parts = [p for p in (self.regex_nonempty(a) for a in node[1]) if p is not None]
            return "|".join(f"(?:{p})" for p in parts) if parts else None
        if kind == "seq":
            items = node[1]
            if not items:
                return None
            head, rest = items[0], ("seq", items[1:])
            head_ne, rest_re, rest_ne = self.regex_nonempty(head), self.regex(rest), self.regex_nonempty(rest)
            parts = []
            if head_ne is not None and rest_re is not None:
                parts.append(f"(?:{head_ne})(?:{rest_re})")
            if rest_ne is not None:
                parts.append(rest_ne)
            return "|".join(f"(?:{p})" for p in parts) if parts else None
        if kind == "rep":
            inner_ne = self.regex_nonempty(node[1])
            inner = self.regex(node[1])
            if inner_ne is None:
                return None
            high = node[3]
            if high is not None and high < 1:
                return None
            tail = "" if high is None else high - 1
            return f"(?:{inner_ne})(?:{inner}){{0,{tail}}}"
        raise AssertionError(kind)


def _max_width(regex: str) -> int:
    try:
        return python_regex.max_width(regex)
    except Exception:  # noqa: BLE001 - only an ordering heuristic
        return 0


def _nullable(node, conv: _Converter, seen=frozenset()) -> bool:
    kind = node[0]
    if kind == "lit":
        return node[1] == ""
    if kind in ("cls", "any"):
        return False
    if kind == "ref":
        name = node[1]
        if name in seen:
            return False
        if name in conv.recursive:
            return _nullable(conv.rules[name][0], conv, seen | {name})
        # a regular rule's answer does not depend on the path to it: once per rule, or rules
        # that use another one twice would cost 2**depth
        if name not in conv.nullable_rule:
            conv.nullable_rule[name] = _nullable(conv.rules[name][0], conv, seen | {name})
        return conv.nullable_rule[name]
    if kind == "seq":
        return all(_nullable(n, conv, seen) for n in node[1])
    if kind == "alt":
        return any(_nullable(a, conv, seen) for a in node[1])
    if kind == "rep":
        return node[2] == 0 or _nullable(node[1], conv, seen)
    raise AssertionError(kind)


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


def _class_regex(negated: bool, ranges) -> str:
    esc = _char_regex
    body = "".join(esc(lo) if lo == hi else f"{esc(lo)}-{esc(hi)}" for lo, hi in ranges)
    if not body:
        return "(?s:.)" if negated else "[^\\s\\S]"
    return f"[{'^' if negated else ''}{body}]"


def _refs(node):
    kind = node[0]
    if kind == "ref":
        yield node[1], node[2]
    elif kind in ("seq", "alt"):
        for n in node[1]:
            yield from _refs(n)
    elif kind == "rep":
        yield from _refs(node[1])


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
