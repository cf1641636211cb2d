"""Bad or unsupported tokenizer metadata gets a TokenizerError that says what is wrong."""

from __future__ import annotations

import numpy as np
import pytest

from constrain.errors import ConstrainError, TokenizerError
from constrain.runtime.tokenizer import Tokenizer, load_tokenizer

GPT2 = {
    "tokenizer.ggml.model": "gpt2",
    "tokenizer.ggml.pre": "gpt-2",
    "tokenizer.ggml.tokens": ["a", "b", "ab", "<|endoftext|>"],
    "tokenizer.ggml.token_type": np.array([1, 1, 1, 3], np.int32),
    "tokenizer.ggml.merges": ["a b"],
    "tokenizer.ggml.eos_token_id": 3,
}
SPM = {
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.tokens": ["<unk>", "<s>", "</s>", "\u2581a"],
    "tokenizer.ggml.scores": np.zeros(4, np.float32),
    "tokenizer.ggml.token_type": np.array([2, 3, 3, 1], np.int32),
}


def _with(base, **changes):
    metadata = dict(base)
    for key, value in changes.items():
        if value is None:
            metadata.pop("tokenizer.ggml." + key, None)
        else:
            metadata["tokenizer.ggml." + key] = value
    return metadata


def test_good_metadata_loads():
    assert isinstance(load_tokenizer(GPT2), Tokenizer)
    assert load_tokenizer(GPT2).encode("ab", add_bos=False) == [2]
    assert load_tokenizer(SPM).encode("a", add_bos=False) == [3]


@pytest.mark.parametrize("model", ["bert", "rwkv", "t5", "plamo2"])
def test_unsupported_tokenizer_model(model):
    with pytest.raises(TokenizerError, match=f"'{model}' is not supported.*'llama'.*'gpt2'"):
        load_tokenizer(_with(GPT2, model=model))


def test_unknown_pre_tokenizer_lists_the_supported_ones():
    with pytest.raises(TokenizerError, match=r"'deepseek-coder' is not supported.*llama-bpe.*smollm"):
        load_tokenizer(_with(GPT2, pre="deepseek-coder"))


def test_missing_pre_tokenizer_uses_llama_cpp_default():
    assert load_tokenizer(_with(GPT2, pre=None)).vocab.pre == "default"


@pytest.mark.parametrize("changes, message", [
    ({"model": None}, "no 'tokenizer.ggml.model'"),
    ({"model": 3}, "should be str"),
    ({"tokens": None}, "no 'tokenizer.ggml.tokens'"),
    ({"tokens": []}, "is empty"),
    ({"tokens": ["a", 2, "ab", "x"]}, "list of strings"),
    ({"token_type": np.array([1, 1], np.int32)}, "4 entries"),
    ({"merges": None}, "no 'tokenizer.ggml.merges'"),
    ({"merges": ["ab"]}, r"merges\[0\] = 'ab' is not two tokens"),
    ({"merges": ["a b b", "ab"]}, r"merges\[1\] = 'ab' is not two tokens"),
    ({"add_bos_token": "yes"}, "should be bool"),
])
def test_bad_gpt2_metadata(changes, message):
    with pytest.raises(TokenizerError, match=message):
        load_tokenizer(_with(GPT2, **changes))


def test_merges_that_cannot_make_a_token_are_ignored():
    # "b a" makes "ba", which is no token: llama.cpp could never emit it either (and the
    # space, which has no token in this vocabulary, is dropped as llama.cpp drops it)
    tok = load_tokenizer(_with(GPT2, merges=["b a", "a b"]))
    assert tok.encode("ab ba", add_bos=False) == [2, 1, 0]


def test_bad_spm_byte_token():
    metadata = _with(SPM, tokens=["<unk>", "<s>", "</s>", "<0xZZ>"], token_type=np.array([2, 3, 3, 6], np.int32))
    with pytest.raises(TokenizerError, match=r"token 3 has type BYTE but its text '<0xZZ>'"):
        load_tokenizer(metadata)


def test_bad_ids_and_inputs():
    tok = load_tokenizer(GPT2)
    with pytest.raises(TokenizerError, match=r"token id 4 is outside the vocabulary \(0..3\)"):
        tok.decode([0, 4])
    with pytest.raises(TokenizerError, match="outside the vocabulary"):
        tok.token_bytes(-1)
    with pytest.raises(TokenizerError, match="integers"):
        tok.decode(["a"])
    with pytest.raises(TokenizerError, match="str or bytes"):
        tok.encode(12)
    with pytest.raises(TokenizerError, match="index 1"):
        tok.encode("a\ud800")
    assert issubclass(TokenizerError, ConstrainError)


def test_out_of_range_special_ids_fall_back_like_llama_cpp():
    tok = load_tokenizer(_with(SPM, bos_token_id=99, eos_token_id=2))
    assert tok.bos_id == 1  # llama.cpp keeps its default when the metadata id is out of range
