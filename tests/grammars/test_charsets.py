"""Code point sets (charsets.CharSet) against Python sets, and the classes read from `re`'s parse
tree (python_regex.py) against `re` itself: the seam every front end's characters pass."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from constrain.grammars import charsets, python_regex
from constrain.grammars.charsets import ANY_CHAR, CharSet

SMALL = 64  # a small universe, so that sets can be compared element by element
ranges = st.lists(st.tuples(st.integers(0, SMALL), st.integers(0, SMALL)), max_size=6)


def members(ranges_) -> set[int]:
    return {cp for lo, hi in ranges_ for cp in range(lo, hi + 1)}


def well_formed(chars: CharSet) -> bool:
    pairs = chars.ranges
    return all(lo <= hi for lo, hi in pairs) and all(a[1] + 1 < b[0] for a, b in zip(pairs, pairs[1:]))


@settings(max_examples=300, deadline=None)
@given(ranges, ranges, st.integers(-1, SMALL + 1))
def test_set_operations_match_python_sets(a, b, probe):
    x, y = CharSet(a), CharSet(b)
    assert members(x.ranges) == members(a)
    assert well_formed(x) and well_formed(y)
    for result, expected in ((x.union(y), members(a) | members(b)),
                             (x.intersect(y), members(a) & members(b)),
                             (x.minus(y), members(a) - members(b))):
        assert well_formed(result)
        assert members(result.ranges) == expected
    assert (probe in x) == (probe in members(a))
    assert x.size() == len(members(a))
    assert (x == y) == (members(a) == members(b))


@settings(max_examples=100, deadline=None)
@given(ranges)
def test_complement_is_every_scalar_value_outside(a):
    x = CharSet(a)
    outside = x.complement()
    assert not outside.intersect(x)
    assert outside.union(x).intersect(ANY_CHAR) == ANY_CHAR
    assert 0xD800 not in outside and 0xDFFF not in outside  # surrogates are never characters
    assert outside.complement() == x.minus(CharSet([(0xD800, 0xDFFF)]))


def test_constructor_drops_empty_and_merges_adjacent():
    assert CharSet([(5, 3), (1, 2), (3, 4), (10, 10)]).ranges == ((1, 4), (10, 10))
    assert CharSet.of("cab") == CharSet([(97, 99)])
    assert not CharSet()


SAMPLE = [cp for cp in range(0, 0x3000)] + [0xFF10, 0xFF21, 0x1D7CE, 0x10FFFF]


@pytest.mark.parametrize("pattern", [r"\d", r"\w", r"\s", r"\D", r"[^\W\d]", r"[a-f\s]", r"[^x]", "."])
@pytest.mark.parametrize("flags", [0, re.IGNORECASE, re.ASCII, re.DOTALL, re.IGNORECASE | re.ASCII])
def test_one_character_classes_match_re(pattern, flags):
    """What the shared class reader gives for a one-character pattern is what `re` matches."""
    parsed = python_regex.parse(pattern, flags).data
    flags = python_regex.parse(pattern, flags).state.flags
    [(op, av)] = parsed
    if op is python_regex.sre.IN:
        chars, negate = python_regex.class_items(av, flags)
        chars = python_regex.negated(chars, flags) if negate else python_regex.case_folded(chars, flags)
    elif op is python_regex.sre.ANY:
        chars = python_regex.any_char(flags)
    else:
        assert op is python_regex.sre.NOT_LITERAL
        chars = python_regex.negated(CharSet([(av, av)]), flags)
    compiled = re.compile(pattern, flags)
    for cp in SAMPLE:
        if 0xD800 <= cp <= 0xDFFF:
            continue
        assert (cp in chars) == bool(compiled.fullmatch(chr(cp))), (pattern, flags, hex(cp))


def test_ignore_case_closes_a_set_under_case():
    folded = charsets.ignore_case(CharSet.of("k"), ascii_only=False)
    assert folded == CharSet.of("kK\u212a")  # the Kelvin sign folds to k under Unicode rules
    assert charsets.ignore_case(CharSet.of("k"), ascii_only=True) == CharSet.of("kK")


def test_unsupported_constructs_are_named():
    assert python_regex.refusal(python_regex.sre.AT) == "an anchor or word boundary"
    assert python_regex.refusal(python_regex.sre.GROUPREF) == "a backreference"
    assert python_regex.max_width("a{2,5}b") == 6
