"""Clear, typed errors that name what was wrong and where."""

from __future__ import annotations

import pytest

from constrain.errors import ConstrainError
from constrain.grammars import Grammar, GrammarError, choice, regex


def compile_error(text: str) -> str:
    with pytest.raises(GrammarError) as info:
        Grammar.from_lark(text)
    assert isinstance(info.value, ConstrainError)
    return str(info.value)


def test_lookahead_terminal_names_terminal_and_line():
    msg = compile_error('start: WORD\n\nWORD: /a(?=b)/\n')
    assert "WORD" in msg and "line 3" in msg and "lookaround" in msg


def test_lookbehind_and_backreference():
    assert "lookaround" in compile_error('start: X\nX: /(?<!a)b/\n')
    assert "backreference" in compile_error(r'start: X' + '\n' + r'X: /(a)\1/' + '\n')


def test_anchors_are_refused():
    assert "anchor" in compile_error('start: X\nX: /^ab/\n')


def test_syntax_error_has_line_and_column():
    msg = compile_error('start: a "x"\na: "y"\n  | @@\n')
    assert "line 3" in msg


def test_undefined_rule():
    assert "'missing'" in compile_error("start: missing\n")


def test_empty_language():
    assert "empty" in compile_error('start: start "a"\n')


def test_terminal_matching_nothing():
    assert "matches" in compile_error("start: X\nX: /[^\\s\\S]/\n")


def test_reduce_reduce_conflict_explains_lalr():
    msg = compile_error('start: a | b\na: "x"\nb: "x"\n')
    assert "LALR(1)" in msg and "Earley" in msg and "Rewrite" in msg


def test_zero_width_terminal():
    assert "zero-width" in compile_error("start: X\nX: /a*/\n")


def test_builder_errors():
    with pytest.raises(GrammarError):
        regex("(unclosed")
    with pytest.raises(GrammarError):
        choice([])
    with pytest.raises(GrammarError):
        choice(["ok", ""])
    with pytest.raises(GrammarError):
        Grammar.from_file("/nonexistent/grammar.lark")


def test_huge_repetition_is_refused():
    assert "too large" in compile_error("start: X\nX: /(?:[a-z]{1,1000}){1,1000}/\n")
