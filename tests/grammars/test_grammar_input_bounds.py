"""Hostile grammar text: every case ends quickly with the right answer or a GrammarError that
says what was wrong (never a RecursionError, a numpy error, a hang or a file read)."""

from __future__ import annotations

import os

import pytest

from constrain.grammars import Grammar, GrammarError, regex


@pytest.mark.parametrize("ignore", [r"/[\s\S]/", "/./", r"/[a-z]/"])
def test_ignored_terminal_that_swallows_the_keywords_agrees_with_lark(ignore):
    # lark lexes "a" as the ignored terminal (it sorts first) and drops it: nothing parses
    g = Grammar.from_lark(f'start: "a"\n%ignore {ignore}')
    for text in ["a", "", "aa", " a", "b"]:
        assert g.accepts_bytes(text.encode()) == g.accepts(text), text


def test_ignored_keyword_inside_a_regex_terminal_agrees_with_lark():
    g = Grammar.from_lark('start: WORD+\nWORD: /[a-z]+/\n%ignore "x"')
    for text in ["abc", "x", "abxcd", "xab", "ab x"]:
        assert g.accepts_bytes(text.encode()) == g.accepts(text), text


def test_relative_import_from_text_never_reads_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "x.lark").write_text('y: "y"\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(GrammarError, match="relative import"):
        Grammar.from_lark("%import .x (y)\nstart: y")
    with pytest.raises(GrammarError, match="only lark's own grammars"):
        Grammar.from_lark("%import x (y)\nstart: y")


def test_relative_import_from_a_file_resolves_next_to_that_file(tmp_path, monkeypatch):
    folder = tmp_path / "grammars"
    folder.mkdir()
    (folder / "parts.lark").write_text('word: "hi"\n')
    (folder / "main.lark").write_text("%import .parts (word)\nstart: word\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "parts.lark").write_text('word: "WRONG"\n')
    monkeypatch.chdir(elsewhere)
    g = Grammar.from_file(folder / "main.lark")
    assert g.accepts_bytes(b"hi") and not g.accepts_bytes(b"WRONG")
    assert g.accepts("hi")


def test_missing_relative_import_of_a_file_is_a_grammar_error(tmp_path):
    (tmp_path / "main.lark").write_text("%import .nothere (word)\nstart: word\n")
    with pytest.raises(GrammarError, match="nothere"):
        Grammar.from_file(tmp_path / "main.lark")


def test_exponential_optional_items_are_refused_at_once():
    text = "start: " + " ".join(f'["x{i}"]' for i in range(22))
    with pytest.raises(GrammarError, match="start.*alternatives"):
        Grammar.from_lark(text)


def test_optional_items_below_the_limit_still_compile():
    from constrain.grammars.lark_guard import MAX_RULE_ALTERNATIVES

    n = 6
    assert 2 ** n <= MAX_RULE_ALTERNATIVES
    g = Grammar.from_lark("start: " + " ".join(f'["x{i}"]' for i in range(n)))
    assert g.accepts_bytes(b"x0x3x5") and not g.accepts_bytes(b"x3x0")


def test_repeated_groups_count_their_alternatives():
    with pytest.raises(GrammarError, match="alternatives"):
        Grammar.from_lark('start: ("a" | "b" | "c" | "d") ~ 8')


def test_long_repeats_of_groups_count_lark_helper_rules():
    # From 50 repeats on, lark splits x~n into helper rules holding up to 5 copies of x side
    # by side: a group of 64 alternatives repeated 60 times makes a rule of 64 ** 3 of them,
    # which lark's analysis never finishes.
    with pytest.raises(GrammarError, match="alternatives"):
        Grammar.from_lark('start: ((("a" "b") ~ 0..3 ("c" | "d")) ~ 2) ~ 60')
    g = Grammar.from_lark('start: ("a" | "b" | "c" | "d") ~ 60')
    assert g.accepts_bytes(b"abcd" * 15) and not g.accepts_bytes(b"abcd" * 14 + b"abc")
    g = Grammar.from_lark('start: ("a" | "b") ~ 50..70')
    assert g.accepts_bytes(b"ab" * 35) and not g.accepts_bytes(b"ab" * 35 + b"a")
    assert g.accepts_bytes(b"ab" * 25) and not g.accepts_bytes(b"ab" * 24 + b"a")


@pytest.mark.parametrize("depth", [2000, 300])
def test_deep_lark_nesting_is_a_grammar_error(depth):
    with pytest.raises(GrammarError, match="nest"):
        Grammar.from_lark("start: " + "(" * depth + '"a"' + ")" * depth)


def test_inline_global_flag_in_a_lark_terminal_is_refused():
    # lark's lexer joins terminals into one pattern, where (?i) in the middle is an re.error
    with pytest.raises(GrammarError, match="flags"):
        Grammar.from_lark("start: /(?i)[a-z]+/")
    assert Grammar.from_lark("start: /[a-z]+/i").accepts("ABC")


def test_inline_global_flag_in_regex_works():
    g = regex("(?i)[a-z]+")
    assert g.accepts("ABC") and g.accepts("abc") and not g.accepts("a1")


@pytest.mark.parametrize("depth", [3000, 900])
def test_deep_regex_is_a_grammar_error(depth):
    with pytest.raises(GrammarError, match="nest"):
        regex("(?:" * depth + "a" + ")" * depth)


def test_gbnf_empty_root_is_the_empty_text():
    g = Grammar.from_gbnf('root ::= ""')
    assert g.accepts_bytes(b"") and g.accepts("")
    assert not g.accepts_bytes(b"a")


def test_gbnf_deep_groups_are_a_grammar_error():
    with pytest.raises(GrammarError, match="nest"):
        Grammar.from_gbnf("root ::= " + "(" * 2000 + '"a"' + ")" * 2000)


def test_gbnf_nested_groups_convert_in_linear_time():
    # each group level used to be converted twice: 2**depth
    g = Grammar.from_gbnf("root ::= " + "(" * 60 + '"a" root?' + ")" * 60)
    assert g.accepts_bytes(b"aaa")


def test_gbnf_rules_that_double_are_refused_not_expanded():
    text = "root ::= r0\n" + "".join(f"r{i} ::= r{i + 1} r{i + 1}\n" for i in range(40)) + 'r40 ::= "a"?\n'
    with pytest.raises(GrammarError, match="r2[0-9]|r1[0-9]|r[0-9]\\b"):
        Grammar.from_gbnf(text)


def test_gbnf_shared_rules_stay_shared():
    text = "root ::= r0\n" + "".join(f"r{i} ::= r{i + 1} r{i + 1}\n" for i in range(6)) + 'r6 ::= "a"\n'
    g = Grammar.from_gbnf(text)
    assert g.accepts_bytes(b"a" * 64) and not g.accepts_bytes(b"a" * 63)


def test_nothing_was_read_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for text in ["%import .x (y)\nstart: y", "%import x.y (z)\nstart: z"]:
        with pytest.raises(GrammarError):
            Grammar.from_lark(text)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("alternatives,low,high", [(2, 60, 60), (3, 50, 70), (2, 0, 77), (3, 7, 130), (2, 51, 51)])
def test_helper_rule_count_matches_the_rules_lark_writes(alternatives, low, high):
    import collections

    import lark

    from constrain.grammars.lark_guard import MAX_RULE_ALTERNATIVES, helper_rule_alternatives

    group = "(" + " | ".join(f'"{chr(97 + i)}"' for i in range(alternatives)) + ")"
    parser = lark.Lark(f"start: {group} ~ {low}..{high}\n", parser="lalr")
    per_rule = collections.Counter(rule.origin.name for rule in parser.rules)
    assert helper_rule_alternatives(alternatives, low, high, MAX_RULE_ALTERNATIVES + 1) == max(per_rule.values())
