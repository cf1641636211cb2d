"""Everything constrain reads from lark beyond its documented API, in one place.

The grammar engine runs lark's own LALR(1) analysis and contextual lexer setup, then reads the
results lark keeps for itself: the parse table, the terminal definitions, the grammar's syntax tree
before analysis. These are not lark's public API; a lark release that moves them breaks here and
only here. lark's public classes (lark.Lark, lark.Tree, lark.exceptions) are used directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import lark
from lark import load_grammar
from lark.lexer import PatternStr
from lark.parsers.lalr_analysis import Shift

# lark writes x~n..m out in full below this m (load_grammar.REPEAT_BREAK_THRESHOLD)
REPEAT_INLINE_LIMIT = getattr(load_grammar, "REPEAT_BREAK_THRESHOLD", 50)
# above it, into helper rules of at most this many parts each (load_grammar.SMALL_FACTOR_THRESHOLD)
REPEAT_FACTOR_LIMIT = getattr(load_grammar, "SMALL_FACTOR_THRESHOLD", 5)


def repeat_factors(n: int) -> list[tuple[int, int]]:
    """How lark splits n repeats into helper rules: pairs (a, b), each a rule of a copies of
    the rule before it and b copies of the repeated part (lark.utils.small_factors)."""
    if n <= REPEAT_FACTOR_LIMIT:
        return [(n, 0)]
    for a in range(REPEAT_FACTOR_LIMIT, 1, -1):
        r, b = divmod(n, a)
        if a + b <= REPEAT_FACTOR_LIMIT:
            return repeat_factors(r) + [(a, b)]
    raise AssertionError(f"lark cannot factor {n}")


def grammar_syntax_tree(text: str, source_path: str) -> lark.Tree | None:
    """lark's parse of grammar text before any analysis, or None when lark cannot give one (a
    syntax error, which lark reports with its line and column when it compiles the grammar)."""
    parse = getattr(load_grammar, "_parse_grammar", None)
    if parse is None:
        return None
    try:
        return parse(text, source_path)
    except lark.exceptions.LarkError:
        return None


def lalr_parse_table(parser: lark.Lark) -> Any:
    """The LALR(1) table of an LALR parser: .states[state] = {symbol: (action, arg)},
    .start_states, .end_states."""
    return parser.parser.parser.parser.parse_table


def is_shift(action: Any) -> bool:
    """Whether a parse-table action is a shift (else it is a reduce whose arg is the rule)."""
    return action is Shift


def has_postlexer(parser: lark.Lark) -> bool:
    return parser.lexer_conf.postlex is not None


def ignored_terminals(parser: lark.Lark) -> Iterable[str]:
    return parser.lexer_conf.ignore


def is_string_pattern(pattern: Any) -> bool:
    """A terminal written as a string literal (not a regular expression)."""
    return isinstance(pattern, PatternStr)


def has_grammar_object(parser: lark.Lark) -> bool:
    """A parser loaded from lark's cache keeps its tables but not the grammar object that tools such
    as hypothesis.extra.lark read."""
    return hasattr(parser, "grammar")
