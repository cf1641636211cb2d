"""Accumulates lark rules and terminals, and renders them as grammar text.

Terminals are deduplicated by regex so that two schema positions asking for the same language
share one terminal (lark's contextual lexer must never see two names for one regex). Each rule
remembers the schema path that produced it, so LALR conflicts can be reported against the schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from constrain.grammars.json_schema.charset import ANY_CHARS_RUN
from constrain.grammars.json_schema.numbers import ANY_NUMBER

ANY_STRING = '"' + ANY_CHARS_RUN + '"'
JSON_WHITESPACE = "[ \\t\\n\\r]"


def lark_regex_literal(regex: str) -> str:
    """`regex` as a lark /.../ literal: only the delimiter needs escaping."""
    out = []
    escaped = False
    for c in regex:
        if c == "/" and not escaped:
            out.append("\\/")
        else:
            out.append(c)
        escaped = c == "\\" and not escaped
    return "/" + "".join(out) + "/"


def _may_continue(regex: str) -> bool:
    """Whether a number regex spells fractions or exponents (so it may extend another's match)."""
    return "\\.[0-9]" in regex or "[eE]" in regex


def _alternation(kind: str, first: str, second: str) -> str:
    # lark lexes with Python's first-match alternation: for numbers, try the alternative that
    # can read further (fractions, exponents) first, so "2.5" is not cut after "2".
    if kind == "number" and _may_continue(second) and not _may_continue(first):
        first, second = second, first
    return f"(?:{first}|{second})"


@dataclass
class Alt:
    """What one schema allows, split by JSON kind.

    Scalars are regexes (unions become alternations, so one value position has one terminal per
    kind); objects and arrays are lists of rule names. `free` holds kinds with no constraint at
    all, which absorb any union with them.
    """

    scalars: dict = field(default_factory=dict)  # "null" | "boolean" | "number" | "string" -> regex
    objects: list = field(default_factory=list)
    arrays: list = field(default_factory=list)
    opaque: list = field(default_factory=list)  # rule names of recursive references
    free: set = field(default_factory=set)

    def is_empty(self) -> bool:
        return not (self.scalars or self.objects or self.arrays or self.opaque)

    def union(self, other: "Alt") -> "Alt":
        result = Alt(dict(self.scalars), list(self.objects), list(self.arrays), list(self.opaque),
                     self.free | other.free)
        for kind, regex in other.scalars.items():
            if kind in result.free:
                result.scalars[kind] = ANY_SCALARS[kind]
            elif kind in result.scalars and result.scalars[kind] != regex:
                result.scalars[kind] = _alternation(kind, result.scalars[kind], regex)
            else:
                result.scalars[kind] = regex
        for kind in ("null", "boolean", "number", "string"):
            if kind in result.free and kind in result.scalars:
                result.scalars[kind] = ANY_SCALARS[kind]
        for kind, mine, theirs in (("object", result.objects, other.objects), ("array", result.arrays, other.arrays)):
            if kind in result.free:
                mine[:] = [ANY_RULES[kind]]
            else:
                mine.extend(s for s in theirs if s not in mine)
        result.opaque.extend(s for s in other.opaque if s not in result.opaque)
        return result

    def only(self, kinds: set) -> "Alt":
        """The part of this Alt whose kinds are in `kinds` (opaque parts cannot be split)."""
        if self.opaque:
            raise ValueError("cannot restrict a recursive reference by kind")
        return Alt({k: v for k, v in self.scalars.items() if k in kinds},
                   list(self.objects) if "object" in kinds else [],
                   list(self.arrays) if "array" in kinds else [], [], self.free & kinds)

    def kinds(self) -> set:
        out = set(self.scalars)
        if self.objects:
            out.add("object")
        if self.arrays:
            out.add("array")
        return out


ANY_SCALARS = {
    "null": "null",
    "boolean": "(?:true|false)",
    "number": ANY_NUMBER,
    "string": ANY_STRING,
}
ANY_RULES = {"object": "any_object", "array": "any_array"}
ALL_KINDS = frozenset(("null", "boolean", "number", "string", "object", "array"))


def any_alt(kinds=ALL_KINDS) -> Alt:
    return Alt({k: ANY_SCALARS[k] for k in kinds if k in ANY_SCALARS},
               ["any_object"] if "object" in kinds else [],
               ["any_array"] if "array" in kinds else [], [], set(kinds))


class GrammarBuilder:
    """Rules and terminals of the grammar under construction."""

    def __init__(self, whitespace: int | None):
        self.whitespace = whitespace
        self.rules: dict[str, list[list[str]]] = {}
        self.rule_paths: dict[str, str] = {}
        self.terminals: dict[str, str] = {}  # regex -> name
        self._counter = 0
        self._any_used = False
        self.literal_rules: dict[str, str] = {}  # canonical JSON of a literal -> its rule

    # -- names
    def new_rule_name(self, prefix: str, path: str) -> str:
        self._counter += 1
        name = f"{prefix}{self._counter}"
        self.rule_paths[name] = path
        return name

    def add_rule(self, name: str, alternatives: list[list[str]]) -> None:
        self.rules[name] = alternatives

    def terminal(self, regex: str) -> str:
        name = self.terminals.get(regex)
        if name is None:
            name = f"T{len(self.terminals)}"
            self.terminals[regex] = name
        return name

    # -- punctuation, with optional bounded whitespace folded into the terminals
    def punct(self, char: str) -> str:
        escaped = "\\" + char
        if not self.whitespace:
            regex = escaped
        else:
            ws = f"{JSON_WHITESPACE}{{0,{self.whitespace}}}"
            # Opening brackets take whitespace after, closing before, separators both sides.
            regex = {"{": escaped + ws, "[": escaped + ws, "}": ws + escaped, "]": ws + escaped}.get(
                char, ws + escaped + ws)
        return self.terminal(regex)

    # -- the unconstrained JSON value, emitted once on first use
    def any_value_rules(self) -> None:
        if self._any_used:
            return
        self._any_used = True
        lb, rb, ls, rs, comma, colon = (self.punct(c) for c in "{}[],:")
        value_alts = [[self.terminal(regex)] for regex in ANY_SCALARS.values()]
        value_alts += [["any_object"], ["any_array"]]
        self.add_rule("any_value", value_alts)
        string = self.terminal(ANY_STRING)
        self.add_rule("any_object", [[lb, rb], [lb, "any_members", rb]])
        self.add_rule("any_members", [[string, colon, "any_value"], ["any_members", comma, string, colon, "any_value"]])
        self.add_rule("any_array", [[ls, rs], [ls, "any_items", rs]])
        self.add_rule("any_items", [["any_value"], ["any_items", comma, "any_value"]])
        for name in ("any_value", "any_object", "any_members", "any_array", "any_items"):
            self.rule_paths[name] = "(any JSON value)"

    def alt_alternatives(self, alt: Alt) -> list[list[str]]:
        if alt.free == ALL_KINDS:
            self.any_value_rules()
            return [["any_value"]]
        alternatives = [[self.terminal(regex)] for _, regex in sorted(alt.scalars.items())]
        for symbol in alt.objects + alt.arrays + alt.opaque:
            if symbol in ANY_RULES.values():
                self.any_value_rules()
            alternatives.append([symbol])
        return alternatives

    def alt_rule(self, alt: Alt, path: str) -> str | None:
        """A rule deriving exactly the values of `alt`; None when it allows nothing."""
        if alt.is_empty():
            return None
        if alt.free == ALL_KINDS:
            self.any_value_rules()
            return "any_value"
        name = self.new_rule_name("v", path)
        self.add_rule(name, self.alt_alternatives(alt))
        return name

    def render(self, start_symbol: str) -> str:
        """Grammar text with only the rules and terminals reachable from `start_symbol`."""
        reachable, stack = set(), [start_symbol]
        while stack:
            symbol = stack.pop()
            if symbol in reachable:
                continue
            reachable.add(symbol)
            for alternative in self.rules.get(symbol, ()):
                stack.extend(s for s in alternative if s not in reachable)
        lines = [f"start: {start_symbol}", ""]
        for name, alternatives in self.rules.items():
            if name in reachable:
                body = "\n    | ".join(" ".join(alt) for alt in alternatives)
                lines.append(f"{name}: {body}")
        lines.append("")
        for regex, name in self.terminals.items():
            if name in reachable:
                lines.append(f"{name}: {lark_regex_literal(regex)}")
        return "\n".join(lines) + "\n"
