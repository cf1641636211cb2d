"""Byte-level BPE vocabularies and llama.cpp's pre-tokenizers, on a BPE trained in the test."""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from tokenizers import Regex, models, pre_tokenizers
from tokenizers import Tokenizer as HFTokenizer

from constrain.runtime.tokenizer import StreamDecoder, load_tokenizer, read_vocabulary
from constrain.runtime.tokenizer.bpe import BPEEncoder
from tests.runtime.tokenizer_support import bpe_metadata, splits_a_character, texts, trained_bpe

# The expected chunks are worked out by hand from the regexes llama.cpp uses for each
# tokenizer.ggml.pre (llama-vocab.cpp), not produced by the code under test.
SPLITS = {
    "llama-bpe": [
        ("1234567", ["123", "456", "7"]),
        ("I'M here", ["I", "'M", " here"]),  # contractions are case-insensitive
        ("don't", ["don", "'t"]),
        ("a   b", ["a", "  ", " b"]),  # a space run leaves its last space to the word
        ("x\n\n  y", ["x", "\n\n", " ", " y"]),
        ("hello!!\n", ["hello", "!!\n"]),
        ("(ab", ["(ab"]),  # one non-letter may lead a word
    ],
    "gpt-2": [
        ("1234567", ["1234567"]),
        ("I'M here", ["I", "'", "M", " here"]),  # contractions are case-sensitive
        ("don't", ["don", "'t"]),
        ("a   b", ["a", "  ", " b"]),
        ("x\n\n  y", ["x", "\n\n ", " y"]),
        ("(ab", ["(", "ab"]),
    ],
    "smollm": [
        (" 12ab3", [" ", "1", "2", "ab", "3"]),  # every digit alone
        ("I'm 42", ["I", "'m", " ", "4", "2"]),
    ],
    "default": [
        ("a+b=1234", ["a", "+", "b", "=", "123", "4"]),
        ("x, y", ["x", ",", " y"]),
    ],
}

# Llama 3's pre-tokenizer as its tokenizer.json writes it (case-insensitive group included)
LLAMA3_ORIGINAL = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                   r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIAL_TEXTS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")


@pytest.fixture(scope="module")
def hf():
    return trained_bpe()


@pytest.mark.parametrize("pre, text, chunks", [(p, t, c) for p, cases in SPLITS.items() for t, c in cases])
def test_pre_tokenizer_splits_like_llama_cpp(hf, pre, text, chunks):
    assert BPEEncoder(read_vocabulary(bpe_metadata(hf, pre))).pre_tokenize(text) == chunks


@settings(max_examples=120, deadline=None)
@given(texts())
def test_gpt2_encode_matches_tokenizers_gpt2(hf, text):
    # the trained tokenizer uses the GPT-2 regex built into tokenizers' ByteLevel pre-tokenizer
    tok = _tokenizer(hf, "gpt-2")
    assert tok.encode(text, add_bos=False) == hf.encode(text, add_special_tokens=False).ids


@settings(max_examples=120, deadline=None)
@given(texts())
def test_llama3_encode_matches_llama3_tokenizer_json(hf, text):
    assert _tokenizer(hf, "llama-bpe").encode(text, add_bos=False) == _llama3_reference().encode(text).ids


@pytest.mark.parametrize("pre", ["llama-bpe", "gpt-2", "gpt2", "smollm", "default"])
def test_round_trip_and_stream(hf, pre):
    tok = _tokenizer(hf, pre)

    @settings(max_examples=60, deadline=None)
    @given(texts(SPECIAL_TEXTS))
    def check(text):
        ids = tok.encode(text, add_bos=False, special=True)
        assert tok.decode(ids) == text.encode("utf-8")
        stream = StreamDecoder(tok)
        chunks = [stream.push(i) for i in ids]
        assert not splits_a_character(chunks + [stream.pending])
        assert b"".join(chunks) + stream.flush() == text.encode("utf-8")

    check()


def test_llama3_defaults_to_adding_bos(hf):
    tok = _tokenizer(hf, "llama-bpe")
    assert tok.add_bos
    assert tok.encode("hi")[0] == tok.bos_id
    assert _tokenizer(hf, "gpt-2").encode("hi")[0] != tok.bos_id
    assert not _tokenizer(hf, "llama-bpe", add_bos_token=False).add_bos


def test_control_tokens_and_eog(hf):
    tok = _tokenizer(hf, "gpt-2")
    ids = [tok.vocab.text_to_id[t] for t in SPECIAL_TEXTS]
    assert tok.control_ids == frozenset(ids)
    # <|endoftext|> and <|im_end|> end generation by their text, the eos id too
    assert tok.eog_ids == frozenset({ids[0], ids[2]})
    assert tok.encode("a<|im_end|>", add_bos=False, special=True)[-1] == ids[2]
    assert ids[2] not in tok.encode("a<|im_end|>", add_bos=False, special=False)


def test_ignore_merges_takes_whole_words_for_llama3():
    # "abc" is a token, but the merges only reach "a" + "bc"; Llama 3 looks the word up first
    metadata = {
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.tokens": ["a", "b", "c", "bc", "abc"],
        "tokenizer.ggml.token_type": np.ones(5, np.int32),
        "tokenizer.ggml.merges": ["b c"],
    }
    assert load_tokenizer({**metadata, "tokenizer.ggml.pre": "gpt-2"}).encode("abc", add_bos=False) == [0, 3]
    assert load_tokenizer({**metadata, "tokenizer.ggml.pre": "llama-bpe", "tokenizer.ggml.bos_token_id": 0}).encode(
        "abc", add_bos=False) == [4]


def _tokenizer(hf, pre, **overrides):
    if overrides:
        return load_tokenizer(bpe_metadata(hf, pre, **overrides))
    return _cached_tokenizer(pre)


@cache
def _cached_tokenizer(pre):
    return load_tokenizer(bpe_metadata(trained_bpe(), pre))


@cache
def _llama3_reference() -> HFTokenizer:
    """The trained vocabulary configured as Llama 3's tokenizer.json configures its own."""
    hf = trained_bpe()
    vocab = hf.get_vocab()
    listed = json.loads(hf.to_str())["model"]["merges"]
    merges = [tuple(m) if not isinstance(m, str) else tuple(m.split(" ")) for m in listed]
    ref = HFTokenizer(models.BPE(vocab, merges, ignore_merges=True))
    ref.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_ORIGINAL), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    return ref
