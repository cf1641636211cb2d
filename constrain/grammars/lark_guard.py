"""Checks on lark grammar text before lark compiles it: what it may import, how deep it nests,
and how many alternatives lark would expand its rules into.

lark flattens every rule into plain alternatives: `a: [x] [y] (b | c)` becomes 2 * 2 * 2 of
them, so 22 optional items make 4 million rules and lark's analysis never returns. The count is
known from the grammar's syntax tree before lark starts, so such a grammar is refused at once.
"""

from __future__ import annotations

from pathlib import Path

import lark

from constrain.grammars.errors import GrammarError
from constrain.grammars.lark_internals import REPEAT_INLINE_LIMIT, grammar_syntax_tree, repeat_factors

# A rule lark expands into more alternatives than this is refused (a dozen optional items in
# one rule are 4096; lark needs seconds per thousand on one core).
MAX_RULE_ALTERNATIVES = 4096
MAX_NESTING = 200  # parentheses, brackets and operators inside one another in one definition
_STDLIB = frozenset(p.stem for p in (Path(lark.__file__).parent / "grammars").glob("*.lark"))


def check_grammar_text(text: str, source_path: str | None) -> None:
    """Refuse, with a GrammarError, what lark would do unsafely or too slowly with `text`."""
    tree = grammar_syntax_tree(text, source_path or "<string>")
    if tree is None:
        return  # a syntax error: lark itself reports it, with its line and column
    _check_depth(tree)
    for statement in tree.children:
        if statement.data == "import":
            _check_import(statement, source_path)
        elif statement.data == "rule":
            name = str(statement.children[1])
            count = _alternatives(statement.children[-1])
            if count > MAX_RULE_ALTERNATIVES:
                raise GrammarError(
                    f"rule {name!r} expands into more than {MAX_RULE_ALTERNATIVES} alternatives (lark writes "
                    "every combination of its optional items and groups out as a separate rule): move "
                    "groups of optional items into rules of their own"
                )


def _check_import(statement, source_path: str | None) -> None:
    path_node = statement.children[0]
    parts = [str(p) for p in path_node.children] if path_node.children else []
    dotted = ".".join(parts)
    if path_node.data == "import_rel":
        if source_path is None:
            raise GrammarError(
                f"%import .{dotted}: a relative import needs the grammar's own file to resolve against "
                "(use Grammar.from_file); grammar text never imports from the working directory"
            )
        return
    if parts and parts[0] not in _STDLIB:
        raise GrammarError(
            f"%import {dotted}: only lark's own grammars ({', '.join(sorted(_STDLIB))}) can be imported by "
            "name; import a file next to the grammar file with a relative import (%import .name)"
        )


def _check_depth(tree) -> None:
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise GrammarError(f"the grammar nests more than {MAX_NESTING} levels deep")
        for child in getattr(node, "children", ()):
            if isinstance(child, lark.Tree):
                stack.append((child, depth + 1))


def _alternatives(node) -> int:
    """How many plain alternatives lark's EBNF-to-BNF step makes of this part of a rule
    (saturating just above the limit, so the count stays small)."""
    cap = MAX_RULE_ALTERNATIVES + 1
    if not isinstance(node, lark.Tree):
        return 1
    kind = node.data
    if kind == "expansions":
        return min(cap, sum(_alternatives(c) for c in node.children))
    if kind == "expansion":
        total = 1
        for c in node.children:
            total = min(cap, total * _alternatives(c))
        return total
    if kind == "alias":
        return _alternatives(node.children[0])
    if kind == "maybe":
        return min(cap, _alternatives(node.children[0]) + 1)
    if kind == "expr":
        inner = _alternatives(node.children[0])
        op = str(node.children[1])
        if op == "?":
            return min(cap, inner + 1)
        if op == "*":
            return 2  # a new recursive rule, or nothing
        if op == "~":
            bounds = [int(str(b)) for b in node.children[2:]]
            low, high = (bounds[0], bounds[-1])
            if high >= REPEAT_INLINE_LIMIT:
                return helper_rule_alternatives(inner, low, high, cap)
            total = 0
            for n in range(low, high + 1):
                total = min(cap, total + min(cap, inner ** n) if inner > 1 else total + 1)
            return total
        return 1  # '+': a new recursive rule
    return 1


def helper_rule_alternatives(inner: int, low: int, high: int, cap: int) -> int:
    """The most alternatives among the helper rules lark writes for part~low..high with
    high at or above REPEAT_INLINE_LIMIT (load_grammar's _generate_repeats), and of the
    expression that replaces it: the first helper holds up to REPEAT_FACTOR_LIMIT copies
    of the repeated part side by side, so a part of 64 alternatives repeated 60 times makes
    a rule of 64 ** 3 of them. Counted per rule, the most of any is charged to the rule the
    repeat stands in (saturating at cap)."""
    def times(count: int, n: int) -> int:
        return min(cap, count ** n) if count > 1 else 1

    most = 1
    low_target = inner  # the repeated part itself until a helper rule stands for it
    for a, b in repeat_factors(low):
        most = max(most, min(cap, times(low_target, a) * times(inner, b)))
        low_target = 1
    if high == low:
        return max(most, low_target)
    factors = repeat_factors(high - low + 1)
    target, optional = inner, 1  # (part once; nothing): lark's diff_target, diff_opt_target
    for k, (a, b) in enumerate(factors):
        alternatives = (sum(min(cap, times(target, i) * optional) for i in range(a))
                        + sum(min(cap, times(target, a) * times(inner, i)) for i in range(b)))
        most = max(most, min(cap, alternatives))
        optional = 1
        if k < len(factors) - 1:
            most = max(most, min(cap, times(target, a) * times(inner, b)))
            target = 1
    return max(most, min(cap, low_target * optional))
