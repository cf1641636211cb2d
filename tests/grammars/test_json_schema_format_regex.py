"""The `regex` format's subset: every pattern it allows is one Python's `re` (jsonschema's
checker) compiles, so enforcing it can only over-constrain."""

import re
import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constrain.grammars.json_schema import json_schema
from constrain.grammars.json_schema.formats import REGEX


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.from_regex(REGEX, fullmatch=True))
def test_every_allowed_pattern_compiles(pattern):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "possible nested set" and friends count as failures
        re.compile(pattern)


def test_the_grammar_enforces_the_subset():
    grammar = json_schema({"type": "string", "format": "regex"})
    assert grammar.accepts('"^[a-z0-9_]+$"')
    for bad in ('"*"', '"a**"', '"[z-a]"', '"(a"', '"\\\\"'):
        assert not grammar.accepts(bad), bad


def test_a_search_pattern_ignores_how_many_repeats_sit_at_its_open_ends():
    """`\\w{1,16}` unanchored is "contains a word character": the compiled grammar agrees with
    re.search on both sides of the bound."""
    grammar = json_schema({"type": "string", "pattern": "\\w{1,16}"})
    for text in ("a", "-" * 3, "x" * 40, "--a--", ""):
        assert grammar.accepts(f'"{text}"') == (re.search(r"[A-Za-z0-9_]{1,16}", text) is not None), text
    anchored = json_schema({"type": "string", "pattern": "^a{2,3}"})
    assert anchored.accepts('"aab"') and anchored.accepts('"aaaa"') and not anchored.accepts('"ab"')
