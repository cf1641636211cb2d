"""Metadata values a GGUF file may carry by mistake or malice: each gives a typed error naming
the key and the value, before any kernel runs on sizes taken from it."""

from __future__ import annotations

import numpy as np
import pytest
from gguf import GGUFValueType as T

from constrain import ConstrainError, Llama
from constrain.errors import ContextSizeError, ModelFormatError, TokenizerError
from constrain.runtime.gguf_file import GGUFFile
from constrain.runtime.hparams import LlamaHParams
from constrain.runtime.tokenizer.byte_unicode import BYTE_TO_UNICODE
from constrain.testing.gguf_edit import rewrite_gguf
from tests.runtime.tiny_models import tiny_model

NAN, INF = float("nan"), float("inf")

BAD_VALUES = {
    "rope.dimension_count negative": ("llama.rope.dimension_count", (T.INT32, -16), "rope.dimension_count = -16"),
    "rope.dimension_count zero": ("llama.rope.dimension_count", (T.UINT32, 0), "rope.dimension_count = 0"),
    "rope.dimension_count odd": ("llama.rope.dimension_count", (T.UINT32, 7), "rope.dimension_count = 7"),
    "block_count bool": ("llama.block_count", (T.BOOL, True), "block_count' = True"),
    "block_count zero": ("llama.block_count", (T.UINT32, 0), "block_count = 0"),
    "block_count string": ("llama.block_count", (T.STRING, "2"), "block_count' = '2'"),
    "block_count fraction": ("llama.block_count", (T.FLOAT32, 2.5), "block_count' = 2.5"),
    "block_count huge": ("llama.block_count", (T.UINT64, 1 << 40), "block_count = 1099511627776"),
    "rms eps NaN": ("llama.attention.layer_norm_rms_epsilon", (T.FLOAT32, NAN), "epsilon = nan"),
    "rms eps zero": ("llama.attention.layer_norm_rms_epsilon", (T.FLOAT32, 0.0), "epsilon = 0.0"),
    "rms eps negative": ("llama.attention.layer_norm_rms_epsilon", (T.FLOAT32, -1.0), "epsilon = -1.0"),
    "rms eps inf": ("llama.attention.layer_norm_rms_epsilon", (T.FLOAT32, INF), "epsilon = inf"),
    "rope base NaN": ("llama.rope.freq_base", (T.FLOAT32, NAN), "freq_base = nan"),
    "rope base zero": ("llama.rope.freq_base", (T.FLOAT32, 0.0), "freq_base = 0.0"),
    "rope base negative": ("llama.rope.freq_base", (T.FLOAT32, -5.0), "freq_base = -5.0"),
    "rope scale NaN": ("llama.rope.scaling.factor", (T.FLOAT32, NAN), "scaling.factor = nan"),
    "old rope scale zero": ("llama.rope.scale_linear", (T.FLOAT32, 0.0), "scale_linear = 0.0"),
    "old rope scale text": ("llama.rope.scale_linear", (T.STRING, "x"), "scale_linear' = 'x'"),
    "heads zero": ("llama.attention.head_count", (T.UINT32, 0), "head_count = 0"),
    "heads text": ("llama.attention.head_count", (T.STRING, "four"), "head_count' = 'four'"),
    "kv heads zero": ("llama.attention.head_count_kv", (T.UINT32, 0), "head_count_kv = 0"),
    "kv heads do not divide": ("llama.attention.head_count_kv", (T.UINT32, 3), "head_count_kv 3"),
    "kv heads nested array": ("llama.attention.head_count_kv", (T.ARRAY, [[2, 2], [2, 2]], T.ARRAY), "array of arrays"),
    "key length zero": ("llama.attention.key_length", (T.UINT32, 0), "key_length = 0"),
    "embedding zero": ("llama.embedding_length", (T.UINT32, 0), "embedding_length = 0"),
    "feed forward zero": ("llama.feed_forward_length", (T.UINT32, 0), "feed_forward_length = 0"),
    "context negative": ("llama.context_length", (T.INT64, -1), "context_length = -1"),
    "vocab size zero": ("llama.vocab_size", (T.UINT32, 0), "vocabulary size 0"),
    "alignment bool": ("general.alignment", (T.BOOL, True), "alignment True"),
}


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory):
    return tiny_model(str(tmp_path_factory.mktemp("gguf")), "smollm", "Q8_0")


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_bad_metadata_value_names_key_and_value(tiny_path, tmp_path, case):
    key, change, message = BAD_VALUES[case]
    bad = rewrite_gguf(tiny_path, tmp_path / "bad.gguf", {key: change})
    with pytest.raises(ModelFormatError) as err:
        Llama(bad, n_ctx=64)
    assert message in str(err.value)


def test_per_layer_head_counts_that_agree_still_load(tiny_path, tmp_path):
    good = rewrite_gguf(tiny_path, tmp_path / "good.gguf",
                        {"llama.attention.head_count_kv": (T.ARRAY, [2, 2], T.UINT32)})
    assert LlamaHParams.from_metadata(GGUFFile(good).metadata).n_kv_head == 2


def test_arrays_nested_deeper_than_any_reader_uses_are_refused(tmp_path):
    nested = 7
    for _ in range(10):
        nested = [nested]
    bad = tmp_path / "deep.gguf"
    import gguf

    w = gguf.GGUFWriter(str(bad), "llama")
    w.add_key_value("deep", nested, T.ARRAY, T.ARRAY)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(ModelFormatError, match="nests arrays"):
        GGUFFile(bad)


def test_arrays_nested_as_deep_as_the_file_allows_give_no_recursion_error(tmp_path):
    # each level is 12 bytes: a small file can describe thousands of levels
    import struct

    levels = 5000
    body = b"".join(struct.pack("<IQ", 9, 1) for _ in range(levels)) + struct.pack("<IQ", 4, 0)
    key = b"deep"
    data = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(key)) + key + struct.pack("<I", 9) + body
    path = tmp_path / "deeper.gguf"
    path.write_bytes(data)
    with pytest.raises(ModelFormatError, match="nests arrays"):
        GGUFFile(path)


def test_byte_level_vocabulary_without_byte_tokens_is_refused(tiny_path, tmp_path):
    tokens = list(GGUFFile(tiny_path).metadata["tokenizer.ggml.tokens"])
    for i, t in enumerate(tokens):
        if len(t) == 1 and t in BYTE_TO_UNICODE.values():
            tokens[i] = f"<unused{i}>"
    bad = rewrite_gguf(tiny_path, tmp_path / "nobytes.gguf", {"tokenizer.ggml.tokens": (T.ARRAY, tokens, T.STRING)})
    with pytest.raises(TokenizerError, match="tokenizer.ggml.tokens.*bytes that have no one-byte token"):
        Llama(bad, n_ctx=64)


def test_byte_level_vocabulary_may_lack_bytes_its_tokens_do_not_use(tiny_path, tmp_path):
    # as SmolLM2's does (no 0x04, 0xF1 tokens, ...)
    tokens = list(GGUFFile(tiny_path).metadata["tokenizer.ggml.tokens"])
    used = set("".join(t for t in tokens if len(t) > 1))
    unused = {BYTE_TO_UNICODE[b] for b in (0x04, 0x13, 0xC0, 0xF1, 0xFF)} - used
    assert unused
    tokens = [f"<unused{i}>" if t in unused else t for i, t in enumerate(tokens)]
    ok = rewrite_gguf(tiny_path, tmp_path / "fewer.gguf", {"tokenizer.ggml.tokens": (T.ARRAY, tokens, T.STRING)})
    llm = Llama(ok, n_ctx=64)
    assert llm.detokenize(llm.tokenize("hello world", add_bos=False)) == b"hello world"


@pytest.mark.parametrize("n_ctx", [2**31, 2**62])
def test_context_beyond_what_can_be_indexed_is_a_typed_error(tiny_path, n_ctx):
    with pytest.raises(ContextSizeError, match=str(n_ctx)) as err:
        Llama(tiny_path, n_ctx=n_ctx)
    assert isinstance(err.value, ConstrainError)


def test_good_file_still_runs(tiny_path):
    llm = Llama(tiny_path, n_ctx=64)
    llm.eval(llm.tokenize("hello world"))
    assert np.isfinite(llm.logits).all()
