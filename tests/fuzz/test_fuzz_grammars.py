"""Grammar text built from hostile fragments (lark, GBNF, regular expressions): each case
compiles or raises GrammarError within its budget, and what compiles agrees with lark or `re`
on sample texts."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constrain.grammars import Grammar, GrammarError, regex
from tests.fuzz.bounded import time_budget

BUDGET = 10.0
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

ATOMS = ['"a"', '"b"', '"ab"', '" "', "/[a-z]+/", "/[0-9]/", "/./", r"/[\s\S]/", "/a*/", "/(?i)x/", "/x/i", "WORD",
         "NUMBER", "item", '""']
OPS = ["", "", "", "?", "*", "+", " ~ 2", " ~ 0..3", " ~ 60"]


def expression(depth: int = 0):
    atom = st.sampled_from(ATOMS)
    if depth > 2:
        return atom
    inner = st.lists(st.deferred(lambda: expression(depth + 1)), min_size=1, max_size=3).map(" ".join)
    group = st.one_of(inner.map(lambda t: f"({t})"), inner.map(lambda t: f"[{t}]"),
                      st.lists(inner, min_size=2, max_size=3).map(lambda ts: "(" + " | ".join(ts) + ")"))
    return st.tuples(st.one_of(atom, group), st.sampled_from(OPS)).map("".join)


EXTRAS = ["", "%ignore \" \"", r"%ignore /[\s\S]/", "%import common.WS\n%ignore WS", "%import .other (x)",
          "%import nothere.X", "%import common.NUMBER"]


@st.composite
def lark_grammars(draw):
    start = " ".join(draw(st.lists(expression(), min_size=1, max_size=4)))
    item = " | ".join(draw(st.lists(expression(1), min_size=1, max_size=2)))
    extra = draw(st.sampled_from(EXTRAS))
    lines = [f"start: {start}", f"item: {item}", "WORD: /[a-z]+/", extra]
    if "NUMBER" not in extra:
        lines.append("NUMBER: /[0-9]+/")
    return "\n".join(lines) + "\n"


SAMPLES = ["", "a", "b", "ab", "a b", "abab", "x", "X", "7", "a7", " ", "aa bb", "ab  ab"]


@FUZZ
@given(lark_grammars())
def test_lark_grammars_compile_or_refuse_and_agree_with_lark(text):
    with time_budget(BUDGET):
        try:
            g = Grammar.from_lark(text)
        except GrammarError as exc:
            assert str(exc)
            return
        for sample in SAMPLES:
            assert g.accepts_bytes(sample.encode()) == g.accepts(sample), (text, sample)


GBNF_ATOMS = ['"a"', '"b"', '""', "[a-c]", "[^a]", ".", "x", "root", "(\"a\" | \"b\")"]
GBNF_OPS = ["", "", "?", "*", "+", "{2}", "{0,3}", "{1,}"]


@st.composite
def gbnf_grammars(draw):
    def seq():
        items = draw(st.lists(st.tuples(st.sampled_from(GBNF_ATOMS), st.sampled_from(GBNF_OPS)).map("".join),
                              min_size=1, max_size=4))
        return " ".join(items)

    depth = draw(st.sampled_from([0, 0, 1, 3, 60, 150]))
    root = "(" * depth + seq() + ")" * depth
    alternatives = " | ".join([root] + [seq() for _ in range(draw(st.integers(0, 2)))])
    return f"root ::= {alternatives}\nx ::= {seq()}\n"


@FUZZ
@given(gbnf_grammars())
def test_gbnf_grammars_compile_or_refuse(text):
    with time_budget(BUDGET):
        try:
            g = Grammar.from_gbnf(text)
        except GrammarError as exc:
            assert str(exc)
            return
        for sample in ["", "a", "ab", "ba", "aaa", "c"]:
            g.accepts_bytes(sample.encode())


REGEX_PARTS = ["a", "b", ".", r"\w", r"\d", r"\s", "[a-c]", "[^x]", "(?i)", "(", ")", "(?:", "|", "*", "+", "?",
               "{2}", "{0,50}", "{1000}", "{3,}", "^", "$", r"\b", "(?=a)", r"\1", "é", "😀", "[", "]", "\\"]


@FUZZ
@given(st.lists(st.sampled_from(REGEX_PARTS), max_size=12).map("".join))
def test_regexes_compile_or_refuse_and_agree_with_re(pattern):
    with time_budget(BUDGET):
        try:
            g = regex(pattern)
        except GrammarError as exc:
            assert str(exc)
            return
        compiled = re.compile(pattern)
        for sample in ["", "a", "ab", "abc", "A", "1", " ", "é", "aaaa", "x", "😀"]:
            assert g.accepts(sample) == bool(compiled.fullmatch(sample)), (pattern, sample)


@pytest.mark.parametrize("text", [
    "start: " + " ".join(f'["x{i}"]' for i in range(22)),
    "start: " + "(" * 5000 + '"a"' + ")" * 5000,
    "start: " + '"a" ~ 100000',
    "start: " + '((("a" "b") ~ 0..3 ("c" | "d")) ~ 2) ~ 60',
    "start: x\nx: " + " | ".join(f'"k{i}"' for i in range(3000)),
])
def test_known_bombs_end_in_time(text):
    with time_budget(BUDGET * 3):
        try:
            Grammar.from_lark(text)
        except GrammarError:
            pass
