"""Terminal DFAs against Python's re.match: same match length on any text."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constrain.grammars import GrammarError
from constrain.grammars.regex_dfa import regex_to_dfa
from constrain.grammars.utf8_ranges import utf8_sequences

PATTERNS = [
    r"a|ab", r"ab|a", r"a*?b", r'".*?"', r"(?:a|ab)(?:c|bcd)", r"\w+", r"\d{2,4}", r"[^\s]+",
    r"(?i:straße|é+)", r"(?i)[a-cx]+", r"x{0,3}y?", r"(?s:.)+?z", r".+", r"[\u00e9-\u00ff😀-🙏]+",
    r"(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?", r"(?:ab)*a", r"a+?", r"(?:a|b)*?c|a",
    r'"(?:[^"\\\n]|\\[^\n])*"', r"[\W\d]+", r"(?x) a  b # comment",
]
TEXT = st.text(alphabet=st.sampled_from(list("abcdxyzAB012 _.eE+-\"\\\nßSé😀ΣσςKk")), max_size=12)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_longest_dfa_match_is_re_match(pattern):
    dfa = regex_to_dfa(pattern, "T")

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(TEXT)
    def check(text):
        m = re.match(pattern, text)
        expected = len(m.group(0).encode()) if m and m.group(0) else -1
        got = dfa.longest_match(text.encode())
        assert got == expected, (pattern, text)

    check()


def test_lark_escaped_string_rewrite_is_equivalent():
    lark_pattern = r'".*?(?<!\\)(\\\\)*?"'
    dfa = regex_to_dfa(r'"(?:[^"\\\n]|\\[^\n])*"', "T")

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet=st.sampled_from(list('"\\ab\n')), max_size=10))
    def check(text):
        m = re.match(lark_pattern, text)
        assert dfa.longest_match(text.encode()) == (len(m.group(0).encode()) if m else -1), text

    check()


@pytest.mark.parametrize("pattern,what", [(r"a(?=b)", "lookaround"), (r"(?<=a)b", "lookaround"),
                                          (r"(a)\1", "backreference"), (r"^a", "anchor"),
                                          (r"a\b", "anchor"), (r"(?>a)", "atomic")])
def test_refused(pattern, what):
    with pytest.raises(GrammarError, match=what):
        regex_to_dfa(pattern, "terminal X")


def test_utf8_sequences_cover_exactly():
    for lo, hi in [(0, 0x7F), (0x80, 0x10FFFF), (0x7FF, 0x800), (0xE000, 0xFFFF), (0x1F600, 0x1F64F)]:
        seqs = utf8_sequences(lo, hi)
        count = 0
        for seq in seqs:
            n = 1
            for a, b in seq:
                n *= b - a + 1
            count += n
        assert count == hi - lo + 1
