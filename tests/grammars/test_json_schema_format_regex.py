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
