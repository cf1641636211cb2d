"""Special tokens, end-of-generation ids and types, as llama.cpp's vocabulary loader sets them."""

from __future__ import annotations

import numpy as np

from constrain.runtime.tokenizer import TokenType, load_tokenizer, read_vocabulary


def _bpe(tokens, types=None, **keys):
    metadata = {
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.pre": "llama-bpe",
        "tokenizer.ggml.tokens": list(tokens),
        "tokenizer.ggml.token_type": np.array(types or [1] * len(tokens), np.int32),
        "tokenizer.ggml.merges": [],
    }
    metadata.update({"tokenizer.ggml." + k: v for k, v in keys.items()})
    return metadata


def test_llama3_end_of_generation():
    tokens = ["a", "b", "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|eom_id|>", "<|start_header_id|>"]
    vocab = read_vocabulary(_bpe(tokens, [1, 1, 3, 3, 3, 3, 3], bos_token_id=2, eos_token_id=3))
    assert vocab.eog_ids == frozenset({3, 4, 5})
    assert vocab.add_bos  # llama-bpe defaults to adding BOS
    tok = load_tokenizer(_bpe(tokens, [1, 1, 3, 3, 3, 3, 3], bos_token_id=2, eos_token_id=3))
    assert tok.encode("ab") == [2, 0, 1]
    assert tok.control_ids == frozenset({2, 3, 4, 5, 6})


def test_qwen_fill_in_the_middle_tokens_end_generation():
    tokens = ["a", "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|fim_prefix|>", "<|fim_pad|>",
              "<|repo_name|>", "<|file_sep|>"]
    # the converter left the FIM tokens as normal tokens: llama.cpp turns them into control tokens
    vocab = read_vocabulary(_bpe(tokens, [1, 3, 3, 3, 1, 1, 1, 1], pre="qwen2", eos_token_id=1))
    assert vocab.eog_ids == frozenset({1, 3, 5, 6, 7})
    assert all(vocab.types[i] == TokenType.CONTROL for i in range(1, 8))
    assert not vocab.add_bos


def test_metadata_ids_win_over_texts():
    tokens = ["a", "<|endoftext|>", "<|im_end|>", "<|my_eot|>", "<PRE>"]
    vocab = read_vocabulary(_bpe(tokens, pre="gpt-2", eos_token_id=1, eot_token_id=3, prefix_token_id=0))
    assert vocab.eog_ids == frozenset({1, 2, 3})
    assert vocab.types[4] == TokenType.NORMAL  # not looked up by text: the metadata named a prefix token
    assert vocab.types[0] == TokenType.NORMAL  # a metadata id is not forced to be control


def test_end_of_generation_texts_become_control_tokens():
    tokens = ["a", "<end_of_turn>", "<|eot_id|>"]
    vocab = read_vocabulary(_bpe(tokens, [1, 4, 1], pre="gpt-2"))
    assert vocab.types.tolist() == [1, 3, 3]
    tok = load_tokenizer(_bpe(tokens, [1, 4, 1], pre="gpt-2"))
    assert tok.encode("a<end_of_turn>", add_bos=False, special=True) == [0, 1]
    assert tok.encode("a<end_of_turn>", add_bos=False, special=False)[0] == 0


def test_harmony_end_is_not_end_of_generation():
    tokens = ["a", "<|return|>", "<|call|>", "<|end|>", "<|channel|>"]
    vocab = read_vocabulary(_bpe(tokens, [1, 3, 3, 3, 3], pre="gpt-2", eos_token_id=1))
    assert vocab.eog_ids == frozenset({1, 2})
    assert vocab.types[3] == TokenType.USER_DEFINED
    assert vocab.types[4] == TokenType.USER_DEFINED  # rendered as text, never hidden


def test_sentencepiece_defaults():
    metadata = {
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.tokens": ["<unk>", "<s>", "</s>", "\u2581a"],
        "tokenizer.ggml.token_type": np.array([2, 3, 3, 1], np.int32),
    }
    vocab = read_vocabulary(metadata)
    assert (vocab.bos_id, vocab.eos_id, vocab.unk_id) == (1, 2, 0)
    assert vocab.add_bos and not vocab.add_eos and vocab.add_space_prefix
    assert vocab.eog_ids == frozenset({2})
    tok = load_tokenizer(metadata)  # no scores: every merge scores 0, as in llama.cpp
    assert tok.encode("a") == [1, 3]


def test_empty_token_texts_are_renamed_like_llama_cpp():
    vocab = read_vocabulary(_bpe(["a", "", "b"], pre="gpt-2"))
    assert vocab.tokens == ["a", "[EMPTY_1]", "b"]
