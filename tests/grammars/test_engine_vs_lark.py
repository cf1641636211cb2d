"""The exact engine against lark itself, on bytes (no tokenizer involved).

For any text: the engine accepts it completely iff lark parses it, and every prefix of a
sentence keeps the engine alive.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constrain.grammars.engine import DEAD
from constrain.testing import sentences
from tests.grammars.grammar_zoo import ALL_NAMES, SPM_CORPUS, grammar

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def engine_accepts(g, data: bytes) -> bool:
    engine = g.engine
    hid = engine.step_bytes(engine.start, data)
    return hid != DEAD and engine.is_accepting(hid)


def alive_prefixes(g, data: bytes) -> bool:
    engine, hid = g.engine, g.engine.start
    for byte in data:
        hid = engine.step(hid, byte)
        if hid == DEAD:
            return False
    return True


@pytest.mark.parametrize("name", ALL_NAMES)
def test_sentences_accepted_byte_by_byte(name):
    g = grammar(name)

    @SETTINGS
    @given(sentences(g))
    def check(text):
        data = text.encode("utf-8")
        assert alive_prefixes(g, data), text
        assert engine_accepts(g, data), text

    check()


def _mutations(text: str) -> st.SearchStrategy[str]:
    alphabet = st.sampled_from(list(" \n\t\"'\\{}[](),.:;=+-*/<>!¡é€😀0123456789abcdefxyzTE_@")
                               + ["select", "from", "true", "null", "0x", "--"])
    edit = st.tuples(st.integers(0, max(len(text), 1)), st.integers(0, 3), st.lists(alphabet, max_size=3))

    def apply(edits):
        out = text
        for pos, delete, insert in edits:
            pos = min(pos, len(out))
            out = out[:pos] + "".join(insert) + out[pos + delete:]
        return out

    return st.lists(edit, min_size=1, max_size=3).map(apply)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_engine_agrees_with_lark_on_arbitrary_text(name):
    g = grammar(name)
    seeds = [s for s in SPM_CORPUS if g.accepts(s)] or [""]

    @SETTINGS
    @given(st.sampled_from(seeds).flatmap(_mutations))
    def check(text):
        assert engine_accepts(g, text.encode("utf-8")) == g.accepts(text), text

    check()


@pytest.mark.parametrize("name", ALL_NAMES)
def test_engine_agrees_with_lark_on_mutated_sentences(name):
    g = grammar(name)

    @SETTINGS
    @given(sentences(g).flatmap(_mutations))
    def check(text):
        assert engine_accepts(g, text.encode("utf-8")) == g.accepts(text), text

    check()


def test_split_utf8_character_is_a_live_prefix_but_not_a_sentence():
    g = grammar("unicode")
    data = "👋 ana🎉".encode()
    assert engine_accepts(g, data)
    for cut in range(1, 4):  # inside the 4-byte 👋
        hid = g.engine.step_bytes(g.engine.start, data[:cut])
        assert hid != DEAD and not g.engine.is_accepting(hid)
    # a lone continuation byte or an invalid lead byte is never allowed
    assert g.engine.step_bytes(g.engine.start, b"\x80") == DEAD
    assert g.engine.step_bytes(g.engine.start, b"\xff") == DEAD
    assert g.engine.step_bytes(g.engine.start, "👋 an".encode() + b"\xed\xa0\x80") == DEAD  # surrogate
