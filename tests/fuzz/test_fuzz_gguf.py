"""Seeded mutation of a tiny GGUF file (written with the `gguf` package): header bytes, metadata
values of the wrong type or out of range, truncation. Each case loads the file and evaluates a
token; it must end within its budget with a result or a ConstrainError (never a crash, a raw
Python exception or a hang)."""

from __future__ import annotations

import random
import struct

import numpy as np
import pytest
from gguf import GGUFValueType as T

from constrain import ConstrainError, Llama
from constrain.runtime.gguf_file import GGUFFile
from constrain.runtime.synthetic_gguf import tiny_shape, write_llama_gguf
from constrain.testing.gguf_edit import DROP, rewrite_gguf
from tests.fuzz.bounded import time_budget

BUDGET = 20.0  # seconds per case: loading a tiny model and one evaluation take well under one


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-gguf")
    path = str(folder / "tiny.gguf")
    write_llama_gguf(path, tiny_shape("smollm", n_vocab=384, n_layer=1), "Q8_0")
    with time_budget(300):  # the first load may compile the kernels
        run_model(path)
    return path


def run_model(path) -> str:
    """Load and run; 'ok' or the ConstrainError's class name."""
    try:
        llm = Llama(str(path), n_ctx=32)
        ids = llm.tokenize("hello world")
        llm.eval(ids[:3] or [0])
        assert llm.logits.shape == (llm.n_vocab(),)
        return "ok"
    except ConstrainError as exc:
        assert str(exc), "a typed error says what was wrong"
        return type(exc).__name__


def header_end(path) -> int:
    return GGUFFile(path).data_offset


@pytest.mark.parametrize("seed", range(200))
def test_header_byte_mutations(tiny, tmp_path, seed):
    rng = random.Random(seed)
    data = bytearray(open(tiny, "rb").read())
    end = header_end(tiny)
    for _ in range(rng.choice([1, 1, 2, 4, 16])):
        at = rng.randrange(4, end)
        kind = rng.random()
        if kind < 0.5:
            data[at] ^= 1 << rng.randrange(8)
        elif kind < 0.8:
            data[at] = rng.choice([0, 0xFF, 0x7F, 0x80, 1])
        else:  # a whole little-endian word: counts, lengths, offsets, types
            at = min(at, len(data) - 8)
            value = rng.choice([0, 1, 2**31, 2**32 - 1, 2**63, 2**64 - 1, rng.getrandbits(64)])
            data[at:at + 8] = struct.pack("<Q", value)
    path = tmp_path / "mutated.gguf"
    path.write_bytes(bytes(data))
    with time_budget(BUDGET):
        run_model(path)


@pytest.mark.parametrize("keep", [0.0, 0.01, 0.05, 0.2, 0.6, 0.999])
def test_truncations(tiny, tmp_path, keep):
    data = open(tiny, "rb").read()
    path = tmp_path / "cut.gguf"
    path.write_bytes(data[: int(len(data) * keep)])
    with time_budget(BUDGET):
        assert run_model(path) != "ok"


KEYS = ["llama.block_count", "llama.embedding_length", "llama.feed_forward_length", "llama.attention.head_count",
        "llama.attention.head_count_kv", "llama.rope.dimension_count", "llama.context_length",
        "llama.attention.layer_norm_rms_epsilon", "llama.rope.freq_base", "llama.vocab_size",
        "llama.attention.key_length", "llama.rope.scaling.factor", "general.alignment",
        "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.model", "tokenizer.ggml.pre",
        "tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges", "general.architecture"]
VALUES = [
    (T.BOOL, True), (T.BOOL, False), (T.UINT32, 0), (T.INT32, -1), (T.INT64, -(2**40)), (T.UINT64, 2**63),
    (T.UINT32, 3), (T.UINT32, 7), (T.UINT32, 1), (T.FLOAT32, float("nan")), (T.FLOAT32, float("inf")),
    (T.FLOAT32, -0.0), (T.FLOAT64, 1e300), (T.FLOAT32, 2.5), (T.STRING, ""), (T.STRING, "llama"),
    (T.STRING, "x" * 1000),
    (T.ARRAY, [1, 2, 3], T.UINT32), (T.ARRAY, [], T.UINT32), (T.ARRAY, [[1], [2]], T.ARRAY),
    (T.ARRAY, ["a", "b"], T.STRING), (T.ARRAY, [float("nan")] * 4, T.FLOAT32), DROP,
]


@pytest.mark.parametrize("seed", range(120))
def test_metadata_value_mutations(tiny, tmp_path, seed):
    rng = random.Random(1000 + seed)
    changes = {key: rng.choice(VALUES) for key in rng.sample(KEYS, rng.choice([1, 1, 2, 3]))}
    try:
        path = rewrite_gguf(tiny, tmp_path / "values.gguf", changes)
    except Exception:  # noqa: BLE001 - the gguf writer refuses some combinations itself
        pytest.skip(f"gguf cannot write {changes!r}")
    with time_budget(BUDGET):
        run_model(path)


def test_good_file_runs(tiny):
    assert run_model(tiny) == "ok"


def test_nan_weights_are_not_silently_used(tiny, tmp_path):
    gguf = GGUFFile(tiny)
    info = gguf.tensors["blk.0.attn_norm.weight"]
    data = bytearray(open(tiny, "rb").read())
    data[info.offset:info.offset + 4] = np.float32(np.nan).tobytes()
    path = tmp_path / "nan.gguf"
    path.write_bytes(bytes(data))
    with time_budget(BUDGET):
        assert run_model(path) == "ModelFormatError"
