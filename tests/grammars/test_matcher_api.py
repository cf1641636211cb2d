"""GrammarMatcher, GrammarMask and the vocabulary cache, on a small hand-made vocabulary."""

from __future__ import annotations

import os

import numpy as np
import pytest

from constrain.grammars import Grammar, GrammarError, GrammarMask, TokenVocabulary, choice, json, regex
from constrain.grammars.vocabulary import build_trie, cache_dir, forget_loaded_tries, load_trie

EOS, CONTROL = 0, 1
TOKENS = [b"", b"<|ctl|>", b"{", b"}", b'"', b"a", b"ab", b'"a', b'":', b" ", b"  ", b"1", b"12", b",",
          b"\xc3", b"\xa9", b"\xc3\xa9", b"true", b"\n", b"[", b"]", b"b", b"-", b".", b"e", b"0"]


def vocab() -> TokenVocabulary:
    return TokenVocabulary(tuple(TOKENS), frozenset({CONTROL}), frozenset({EOS}))


def tid(data: bytes) -> int:
    return TOKENS.index(data)


def test_eos_only_when_accepting_and_control_never():
    m = choice(["ab", "a"]).matcher(vocab())
    assert not m.mask()[EOS] and not m.mask()[CONTROL]
    m.advance(tid(b"a"))
    assert m.is_accepting() and m.mask()[EOS] and m.mask()[tid(b"b")]
    assert not m.is_finished()
    m.advance(tid(b"b"))
    assert m.is_finished()
    assert np.flatnonzero(m.mask()).tolist() == [EOS]
    m.advance(EOS)
    assert m.is_finished() and not m.mask().any()
    with pytest.raises(GrammarError):
        m.advance(tid(b"a"))


def test_advance_refuses_and_keeps_state():
    m = regex("[a-b]+").matcher(vocab())
    with pytest.raises(GrammarError, match="control token"):
        m.advance(CONTROL)
    with pytest.raises(GrammarError, match="end-of-generation"):
        m.advance(EOS)
    with pytest.raises(GrammarError, match="not allowed"):
        m.advance(tid(b"{"))
    with pytest.raises(GrammarError, match="outside"):
        m.advance(len(TOKENS) + 5)
    assert m.n_tokens == 0


def test_utf8_split_tokens():
    m = regex("é+").matcher(vocab())
    mask = m.mask()
    assert mask[tid(b"\xc3")] and mask[tid(b"\xc3\xa9")] and not mask[tid(b"\xa9")]
    m.advance(tid(b"\xc3"))
    assert not m.is_accepting()
    assert m.mask()[tid(b"\xa9")] and not m.mask()[tid(b"\xc3")]
    m.advance(tid(b"\xa9"))
    assert m.is_accepting()


def test_rollback_and_reset():
    m = json().matcher(vocab())
    for t in [b"{", b'"a', b'":', b" ", b"12"]:
        m.advance(tid(t))
    accepting_mask = m.mask()
    m.advance(tid(b"}"))
    assert m.is_accepting()
    m.rollback(1)
    assert np.array_equal(m.mask(), accepting_mask)
    m.rollback(2)
    assert m.mask()[tid(b" ")] and m.mask()[tid(b"1")]
    with pytest.raises(GrammarError):
        m.rollback(10)
    m.reset()
    assert m.n_tokens == 0 and m.mask()[tid(b"{")]


def test_token_crossing_terminals():
    m = json().matcher(vocab())
    m.advance(tid(b"{"))
    m.advance(tid(b'"a'))  # a string starts and goes on inside one token
    assert m.mask()[tid(b'":')]  # closes the string and adds the colon: two terminals
    m.advance(tid(b'":'))
    assert not m.mask()[tid(b"}")] and not m.mask()[tid(b",")]  # a value must come first
    assert m.mask()[tid(b'":')]  # a string value that starts with a colon


def test_json_whitespace_is_bounded():
    m = json(max_whitespace=3).matcher(vocab())
    m.advance(tid(b"  "))
    assert m.mask()[tid(b" ")] and not m.mask()[tid(b"  ")]
    m.advance(tid(b" "))
    assert not m.mask()[tid(b" ")] and not m.mask()[tid(b"\n")]
    unbounded = json(max_whitespace=None).matcher(vocab())
    for _ in range(50):
        unbounded.advance(tid(b"  "))
    assert unbounded.mask()[tid(b"  ")]


def test_grammar_mask_processor():
    m = choice(["true"]).matcher(vocab())
    logits = np.zeros(len(TOKENS) + 3, dtype=np.float32)  # model rows beyond the vocabulary
    out = GrammarMask(m)([], logits)
    assert np.isfinite(out[tid(b"true")]) and np.isneginf(out[tid(b"a")])
    assert np.isneginf(out[len(TOKENS):]).all()
    assert logits[tid(b"a")] == 0  # input untouched


def test_matcher_from_tokenizer_like_object():
    class Tok:
        control_ids = frozenset({CONTROL})
        eog_ids = frozenset({EOS})
        n_vocab = len(TOKENS)

        def vocab_bytes(self):
            return list(TOKENS)

    m = regex("ab").matcher(Tok())
    assert m.mask()[tid(b"ab")] and m.mask()[tid(b"a")] and not m.mask()[tid(b"b")]


def test_compiled_grammars_are_shared_by_content():
    """A grammar is compiled once per content (text and start rule), whichever object asks."""
    from constrain.grammars.compiled_cache import ENGINES

    ENGINES.clear()
    Grammar.from_lark('start: "x"')
    Grammar.from_lark('start: "x"')
    assert len(ENGINES) == 1
    Grammar.from_lark('start: "x" | a\na: "y"', start="a")
    Grammar.from_lark('start: "x" | a\na: "y"')
    assert len(ENGINES) == 3


def test_vocabulary_cache_roundtrip_and_corruption(tmp_path, monkeypatch):
    monkeypatch.setenv("CONSTRAIN_CACHE_DIR", str(tmp_path))
    v = vocab()
    forget_loaded_tries()
    trie = load_trie(v)
    files = list(tmp_path.glob("vocab-trie-*.npz"))
    assert cache_dir() == tmp_path and len(files) == 1
    assert not list(tmp_path.glob("*.tmp"))
    forget_loaded_tries()
    again = load_trie(v)
    assert np.array_equal(again.node_byte, trie.node_byte)
    files[0].write_bytes(b"garbage")
    forget_loaded_tries()
    rebuilt = load_trie(v)
    assert np.array_equal(rebuilt.token_ids, build_trie(v).token_ids)
    # a cache whose content was altered but is still a valid npz is rebuilt too
    data = dict(np.load(files[0]))
    data["token_ids"] = data["token_ids"][::-1].copy()
    with open(files[0], "wb") as handle:
        np.savez(handle, **data)
    forget_loaded_tries()
    assert np.array_equal(load_trie(v).token_ids, build_trie(v).token_ids)
    assert os.path.getsize(files[0]) > 100


def test_reference_comparison_detects_a_wrong_mask():
    from constrain.testing import assert_masks_agree, mask_differences

    m = choice(["ab"]).matcher(vocab())
    assert_masks_agree(m)
    wrong = m.mask_bits().copy()
    wrong[tid(b"b") >> 5] |= np.uint32(1 << (tid(b"b") & 31))
    m.mask_bits = lambda: wrong
    assert mask_differences(m) == [f"token {tid(b'b')} {b'b'!r}: fast allows, reference forbids"]
    with pytest.raises(AssertionError):
        assert_masks_agree(m)
