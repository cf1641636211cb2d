"""Stop strings never leak, whatever the stops and however the bytes arrive."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from constrain.generation import create_completion
from constrain.generation.text import TextAssembler
from tests.generation_fakes import FakeLlama

ALPHABET = st.sampled_from(list("ab é✓"))


def reference_cut(text: str, stops: list[str]) -> str:
    """Generation ends as soon as a stop string is complete: the one that ends first wins."""
    for end in range(1, len(text) + 1):
        done = [end - len(s) for s in stops if s and text[:end].endswith(s)]
        if done:
            return text[:min(done)]
    return text


@st.composite
def text_chunks_and_stops(draw):
    text = draw(st.text(ALPHABET, max_size=30))
    data = text.encode("utf-8")
    # random byte boundaries, possibly inside a character
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(data) - 1)), max_size=10))) if len(data) > 1 else []
    chunks = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
    stops = draw(st.lists(st.one_of(st.text(ALPHABET, min_size=1, max_size=4),
                                    st.builds(lambda a, n: text[a:a + n], st.integers(0, 30), st.integers(1, 4))),
                          max_size=3))
    return text, chunks, [s for s in stops if s]


@settings(max_examples=300, deadline=None)
@given(text_chunks_and_stops())
def test_released_text_is_always_a_prefix_of_the_cut_text(case):
    text, chunks, stops = case
    expected = reference_cut(text, stops)
    assembler = TextAssembler(stops)
    shown = ""
    for chunk in chunks:
        shown += assembler.feed(chunk)
        # nothing released can later turn out to be part of a stop string
        assert expected.startswith(shown)
    shown += assembler.finish()
    assert shown == expected
    assert assembler.stopped == any(s in text for s in stops)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), start=st.integers(0, 20), length=st.integers(1, 5),
       extra=st.text(st.sampled_from(list("ab ")), max_size=3))
def test_end_to_end_stop_strings_never_leak_into_chunks(seed, start, length, extra):
    llm = FakeLlama(eog_bias=-50.0)
    free = create_completion(llm, "Hello", max_tokens=25, seed=seed)["choices"][0]["text"]
    stops = [free[start:start + length]] if free[start:start + length] else []
    stops.append(extra or "zzz")
    expected = reference_cut(free, stops)
    chunks = [c["choices"][0]["text"] for c in
              create_completion(llm, "Hello", max_tokens=25, seed=seed, stop=stops, stream=True)]
    shown = ""
    for chunk in chunks:
        shown += chunk
        assert expected.startswith(shown)
    assert shown == expected
    whole = create_completion(llm, "Hello", max_tokens=25, seed=seed, stop=stops)["choices"][0]
    assert whole["text"] == expected
    if expected != free:
        assert whole["finish_reason"] == "stop"


def test_invalid_utf8_is_replaced_the_same_way_streamed_or_not():
    assembler = TextAssembler([])
    out = assembler.feed(b"a\xc3") + assembler.feed(b"(") + assembler.feed(b"\xe2\x9c") + assembler.finish()
    assert out == b"a\xc3(\xe2\x9c".decode("utf-8", errors="replace")


def test_held_tail_is_released_when_it_cannot_become_a_stop():
    assembler = TextAssembler(["abc"])
    assert assembler.feed(b"xab") == "x"
    assert assembler.feed(b"d") == "abd"
    assert assembler.feed(b"ab") == ""
    assert assembler.finish() == "ab"
    assert not np.any(assembler.stopped)
