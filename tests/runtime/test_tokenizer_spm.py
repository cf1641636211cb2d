"""Sentencepiece vocabularies (tokenizer.ggml.model == "llama"), on a model trained in the test."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from constrain.runtime.tokenizer import StreamDecoder, load_tokenizer
from tests.runtime.tokenizer_support import reference_spm_encode, splits_a_character, spm_metadata, texts, trained_spm

CONTROL_TEXTS = ("<s>", "</s>", "<unk>")


@pytest.fixture(scope="module")
def sp():
    return trained_spm()


@pytest.fixture(scope="module")
def metadata(sp):
    return spm_metadata(sp)


@pytest.fixture(scope="module")
def tok(metadata):
    return load_tokenizer(metadata)


def test_vocabulary_facts(tok, sp):
    assert tok.n_vocab == sp.get_piece_size() == 400
    assert (tok.bos_id, tok.eos_id) == (sp.bos_id(), sp.eos_id()) == (1, 2)
    assert tok.eog_ids == frozenset({2})
    assert tok.add_bos and not tok.add_eos
    assert tok.control_ids == frozenset({0, 1, 2})  # <unk> <s> </s>
    assert not tok.is_control(3)  # byte tokens are text
    assert tok.token_bytes(3 + 0x41) == b"A"  # <0x41>
    space_word = sp.piece_to_id("\u2581the")
    assert tok.piece(space_word) == "\u2581the" and tok.token_bytes(space_word) == b" the"


@settings(max_examples=200, deadline=None)
@given(texts())
def test_encode_matches_sentencepiece(tok, sp, text):
    # llama.cpp's space prefix is sentencepiece's dummy prefix when no special token splits the text
    assert tok.encode(text, add_bos=False) == sp.encode(text)
    assert tok.encode(text, add_bos=True) == [sp.bos_id()] + sp.encode(text)


@settings(max_examples=150, deadline=None)
@given(texts(CONTROL_TEXTS), st.booleans())
def test_encode_matches_llama_cpp_algorithm(tok, metadata, text, special):
    assert tok.encode(text, add_bos=False, special=special) == reference_spm_encode(metadata, text, special)


@settings(max_examples=150, deadline=None)
@given(texts())
def test_round_trip(tok, text):
    # sentencepiece writes spaces as U+2581, so a literal U+2581 comes back as a space (as in llama.cpp)
    expected = text.replace("\u2581", " ").encode("utf-8")
    assert tok.decode(tok.encode(text, add_bos=False)) == expected
    # BOS renders as "<s>" unless special tokens are hidden
    assert tok.decode(tok.encode(text, add_bos=True), special=False) == expected
    assert tok.decode(tok.encode(text, add_bos=True)) == b"<s>" + expected


def test_byte_fallback_for_unseen_characters(tok, sp):
    text = "ℵ€ 😀"  # characters the training corpus never saw
    ids = tok.encode(text, add_bos=False)
    assert ids == sp.encode(text)
    byte_ids = [i for i in ids if 3 <= i < 3 + 256]
    assert bytes(i - 3 for i in byte_ids) == "ℵ€😀".encode()
    assert tok.decode(ids) == text.encode()


def test_space_prefix_follows_llama_cpp_after_special_tokens(tok, sp):
    # llama.cpp puts a space in front of the text after every special token it parsed
    ids = tok.encode("<s>the dog</s>cat", add_bos=False, special=True)
    assert ids == [1] + sp.encode("the dog") + [2] + sp.encode("cat")
    assert tok.decode(ids) == b"<s>the dog</s> cat"
    assert tok.decode(ids, special=False) == b"the dog cat"
    # without special parsing "<s>" is plain text
    assert 1 not in tok.encode("<s>the dog", add_bos=False)
    # decode drops the space prefix at the start of the text only (after BOS)
    assert tok.decode(tok.encode("the dog"), special=False) == b"the dog"
    assert tok.decode(tok.encode("the dog")[1:], text_start=False) == b" the dog"


def test_no_space_prefix_when_metadata_disables_it(sp):
    metadata = spm_metadata(sp, add_space_prefix=False)
    tok = load_tokenizer(metadata)
    ids = tok.encode("the dog", add_bos=False)
    assert ids == reference_spm_encode(metadata, "the dog", False)
    assert not tok.token_bytes(ids[0]).startswith(b" ")
    assert tok.decode(ids) == b"the dog"
    assert tok.decode(tok.encode(" the dog", add_bos=False)) == b" the dog"  # nothing to strip


def test_add_bos_and_add_eos_come_from_metadata(sp):
    tok = load_tokenizer(spm_metadata(sp, add_bos_token=False, add_eos_token=True))
    assert tok.encode("dog") == sp.encode("dog") + [2]
    assert tok.encode("dog", add_bos=False) == sp.encode("dog")


def test_user_defined_tokens_are_always_split_out(sp):
    metadata = spm_metadata(sp)
    types = metadata["tokenizer.ggml.token_type"].copy()
    the = sp.piece_to_id("\u2581the")
    assert sp.id_to_piece(the) == "\u2581the"
    types[the] = 4  # user-defined: matched as its raw text "▁the", before encoding
    metadata["tokenizer.ggml.token_type"] = types
    tok = load_tokenizer(metadata)
    for special in (False, True):
        ids = tok.encode("a\u2581the b", add_bos=False, special=special)
        assert ids == reference_spm_encode(metadata, "a\u2581the b", special)
        assert the in ids
    assert tok.token_bytes(the) == "\u2581the".encode()  # user-defined tokens render raw


def test_vocabulary_without_byte_tokens_falls_back_to_characters():
    tokens = ["<unk>", "<s>", "</s>", "\u2581", "a", "b", "\u2581a", "ab"]
    metadata = {
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.scores": np.array([0, 0, 0, -1, -2, -3, -4, -5], np.float32),
        "tokenizer.ggml.token_type": np.array([2, 3, 3, 1, 1, 1, 1, 1], np.int32),
    }
    tok = load_tokenizer(metadata)
    assert tok.encode("ab a", add_bos=False) == reference_spm_encode(metadata, "ab a", False) == [6, 5, 6]
    with pytest.raises(Exception, match="no token"):
        tok.encode("é", add_bos=False)


def test_duplicate_token_texts_map_to_the_last_one():
    tokens = ["<unk>", "<s>", "</s>", "\u2581a", "b", "\u2581a"]
    metadata = {
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.scores": np.array([0, 0, 0, -1, -2, -3], np.float32),
        "tokenizer.ggml.token_type": np.array([2, 3, 3, 1, 1, 1], np.int32),
    }
    tok = load_tokenizer(metadata)
    assert tok.encode("a", add_bos=False) == [5]
    assert tok.decode([3, 5]) == b"a a"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 399), max_size=40), st.booleans(), st.booleans())
def test_stream_decoder_on_random_ids(tok, ids, special, text_start):
    stream = StreamDecoder(tok, special=special, text_start=text_start)
    chunks = [stream.push(i) for i in ids]
    assert not splits_a_character(chunks + [stream.pending])
    assert b"".join(chunks) + stream.flush() == tok.decode(ids, special=special, text_start=text_start)


def test_stream_decoder_holds_back_split_characters(tok):
    stream = StreamDecoder(tok)
    euro = [3 + b for b in "€".encode()]  # three byte tokens
    assert [stream.push(i) for i in euro] == [b"", b"", "€".encode()]
    assert stream.push(3 + 0xE2) == b""
    assert stream.pending == b"\xe2"
    assert stream.push(3 + ord("x")) == b"\xe2x"  # a broken sequence is let through raw
    assert stream.push(3 + 0xF0) == b""
    assert stream.flush() == b"\xf0"
    stream.reset()
    assert stream.push(sp_piece_id(tok, "\u2581the")) == b"the"  # space prefix removed at the start


def sp_piece_id(tok, text):
    return tok.vocab.text_to_id[text]
