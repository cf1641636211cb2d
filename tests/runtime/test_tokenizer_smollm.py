"""The default model's tokenizer (SmolLM2, byte-level BPE, pre-tokenizer "smollm") against llama.cpp."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from constrain.runtime.gguf_file import GGUFFile
from constrain.runtime.tokenizer import StreamDecoder, Tokenizer, load_tokenizer
from tests.runtime.tokenizer_support import splits_a_character, texts

DATA = os.path.join(os.path.dirname(__file__), "..", "data")
with open(os.path.join(DATA, "smollm2_llamacpp_tokenize.json")) as f:
    TOKENIZE_CASES = json.load(f)["cases"]
with open(os.path.join(DATA, "smollm2_llamacpp_greedy.json")) as f:
    GREEDY = json.load(f)

SPECIAL_TEXTS = ("<|im_start|>", "<|im_end|>", "<|endoftext|>", "<reponame>", "<jupyter_code>")


@pytest.fixture(scope="session")
def smollm_metadata(default_model_file) -> dict:
    return GGUFFile(default_model_file).metadata


@pytest.fixture(scope="session")
def tok(smollm_metadata) -> Tokenizer:
    return load_tokenizer(smollm_metadata)


@pytest.mark.parametrize("case", TOKENIZE_CASES, ids=lambda c: repr(c["text"][:30]))
def test_encode_matches_llama_cpp(tok, case):
    assert tok.encode(case["text"], add_bos=False, special=True) == case["ids"]
    if "ids_special_false" in case:
        assert tok.encode(case["text"], add_bos=False, special=False) == case["ids_special_false"]


@pytest.mark.parametrize("case", TOKENIZE_CASES, ids=lambda c: repr(c["text"][:30]))
def test_decode_round_trips_llama_cpp_cases(tok, case):
    assert tok.decode(case["ids"]) == case["text"].encode("utf-8")
    if "ids_special_false" in case:
        assert tok.decode(case["ids_special_false"]) == case["text"].encode("utf-8")


@pytest.mark.parametrize("prompt", GREEDY["prompts"], ids=lambda p: p["name"])
def test_greedy_reference_prompt_ids(tok, prompt):
    assert tok.encode(prompt["prompt"], add_bos=True, special=True) == prompt["prompt_ids"]


@pytest.mark.parametrize("prompt", GREEDY["prompts"], ids=lambda p: p["name"])
def test_decode_matches_llama_cpp_completion_text(tok, prompt):
    ids = prompt["argmax_ids_32_no_eos_stop"]
    ends = [k for k, i in enumerate(ids) if i in tok.eog_ids]
    ids = ids[:ends[0]] if ends else ids
    assert tok.decode(ids, special=False) == prompt["completion_text"].encode("utf-8")
    stream = StreamDecoder(tok, special=False, text_start=False)
    assert b"".join(stream.push(i) for i in ids) + stream.flush() == prompt["completion_text"].encode("utf-8")


def test_special_ids_match_llama_cpp(tok):
    assert tok.bos_id == GREEDY["bos_id"]
    assert tok.eos_id == GREEDY["eos_id"]
    assert sorted(tok.eog_ids) == GREEDY["eog_ids"]
    assert tok.n_vocab == 49152
    # the metadata says add_bos_token = false: add_bos=True must not add it (llama-cpp-python semantics)
    assert not tok.add_bos and not tok.add_eos
    assert tok.encode("Hi", add_bos=True) == tok.encode("Hi", add_bos=False)


def test_control_tokens(tok):
    # the 17 control tokens of SmolLM2 (ids 0..16) and nothing else
    assert tok.control_ids == frozenset(range(17))
    assert tok.is_control(2) and not tok.is_control(17)
    assert tok.control_mask.sum() == 17
    assert tok.piece(1) == "<|im_start|>"
    assert tok.token_bytes(1) == b"<|im_start|>"
    assert tok.token_bytes(1, special=False) == b""
    assert tok.decode([1, 9690, 2], special=False) == b"system"


def test_special_false_encodes_control_text_as_plain_text(tok):
    plain = tok.encode("<|im_end|>", add_bos=False, special=False)
    assert 2 not in plain and len(plain) > 1
    assert tok.decode(plain) == b"<|im_end|>"
    assert tok.encode("<|im_end|>", add_bos=False, special=True) == [2]


def test_token_bytes_reverses_the_byte_level_table(tok):
    vocab = tok.vocab_bytes()
    assert tok.vocab_bytes() == vocab
    assert len(vocab) == tok.n_vocab
    space, newline = tok.encode(" ", add_bos=False), tok.encode("\n", add_bos=False)
    assert [vocab[i] for i in space + newline] == [b" ", b"\n"]
    assert tok.piece(space[0]) == "Ġ"
    # single-byte tokens cover printable ASCII and the UTF-8 lead bytes of common scripts
    single = {v for v in vocab if len(v) == 1}
    assert {bytes([b]) for b in range(0x20, 0x7F)} | {b"\t", b"\n", b"\xc3", b"\xe4", b"\xf0"} <= single
    # "😀" is split inside its UTF-8 encoding, and its pieces concatenate to it
    ids = tok.encode("😀", add_bos=False)
    assert len(ids) > 1 and b"".join(vocab[i] for i in ids) == "😀".encode()


@pytest.fixture(scope="session")
def single_bytes(tok) -> frozenset[int]:
    """Bytes with a token of their own: like llama.cpp, a byte-level BPE drops any other
    byte of the text (SmolLM2 has no token for 0x04, 0xF1, ...)."""
    return frozenset(v[0] for i, v in enumerate(tok.vocab_bytes()) if len(v) == 1 and not tok.is_control(i))


def _representable(single_bytes: frozenset[int], text: str) -> bytes:
    return bytes(b for b in text.encode("utf-8") if b in single_bytes)


@settings(max_examples=150, deadline=None)
@given(texts(SPECIAL_TEXTS, max_size=60))
def test_round_trip_any_text(tok, single_bytes, text):
    for special in (False, True):
        assert tok.decode(tok.encode(text, add_bos=True, special=special)) == _representable(single_bytes, text)


def test_bytes_without_tokens_are_dropped_like_llama_cpp(tok):
    # U+40000 is F1 80 80 80 and SmolLM2 has no token for the byte F1
    ids = tok.encode("a\U00040000b", add_bos=False)
    assert tok.decode(ids) == b"a\x80\x80\x80b"


def test_bytes_input_is_utf8_with_replacement(tok):
    assert tok.encode("héllo".encode()) == tok.encode("héllo")
    assert tok.encode(b"a\xffb") == tok.encode("a\ufffdb")


@settings(max_examples=150, deadline=None)
@given(texts(SPECIAL_TEXTS, max_size=30))
def test_stream_decoder_on_encoded_text(tok, single_bytes, text):
    ids = tok.encode(text, special=True)
    stream = StreamDecoder(tok)
    chunks = [stream.push(i) for i in ids]
    assert not splits_a_character(chunks + [stream.pending])
    assert b"".join(chunks) + stream.flush() == _representable(single_bytes, text)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 49151), max_size=30), st.booleans())
def test_stream_decoder_on_random_ids(tok, ids, special):
    stream = StreamDecoder(tok, special=special)
    chunks = [stream.push(i) for i in ids]
    assert not splits_a_character(chunks + [stream.pending])
    assert b"".join(chunks) + stream.flush() == tok.decode(ids, special=special)


def test_stream_decoder_holds_back_an_emoji_split_across_tokens(tok):
    ids = tok.encode("😀!", add_bos=False)
    stream = StreamDecoder(tok)
    chunks = [stream.push(i) for i in ids]
    assert chunks[:-2] == [b""] * (len(ids) - 2) and chunks[-2:] == ["😀".encode(), b"!"]
