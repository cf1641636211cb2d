import struct

import gguf
import numpy as np
import pytest

from constrain import ConstrainError, Llama
from constrain.errors import ModelFormatError, ModelNotFoundError, UnsupportedModelError
from constrain.runtime.gguf_file import GGUFFile
from tests.runtime.tiny_models import tiny_model


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory):
    return tiny_model(str(tmp_path_factory.mktemp("gguf")), "smollm", "Q8_0")


def test_reads_metadata_and_tensors_like_gguf_reader(tiny_path):
    ours = GGUFFile(tiny_path)
    theirs = gguf.GGUFReader(tiny_path)
    assert ours.metadata["general.architecture"] == "llama"
    assert ours.metadata["tokenizer.ggml.tokens"] == list(theirs.fields["tokenizer.ggml.tokens"].contents())
    assert len(ours.tensors) == len(theirs.tensors)
    for t in theirs.tensors:
        info = ours.tensors[t.name]
        assert info.offset == t.data_offset and info.nbytes == t.n_bytes
        assert np.array_equal(ours.tensor_bytes(t.name), t.data.reshape(-1).view(np.uint8))


def test_wrong_path_is_a_clear_error(tmp_path):
    with pytest.raises(ModelNotFoundError, match="not found"):
        Llama(str(tmp_path / "missing.gguf"))


def test_not_a_gguf_file(tmp_path):
    path = tmp_path / "notes.gguf"
    path.write_bytes(b"hello, this is not a model" * 10)
    with pytest.raises(ModelFormatError, match="not a GGUF file"):
        GGUFFile(path)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.99])
def test_truncated_file_names_the_problem(tiny_path, tmp_path, keep):
    data = open(tiny_path, "rb").read()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ModelFormatError, match="truncated") as err:
        Llama(str(cut))
    assert isinstance(err.value, ConstrainError)


@pytest.mark.parametrize("token", [1, 5, -1])
def test_corrupted_vocabulary_string_length_names_the_key(tiny_path, tmp_path, token):
    """A token whose length runs past the end of the file (a corrupted length field)."""
    data = bytearray(open(tiny_path, "rb").read())
    key = b"tokenizer.ggml.tokens"
    at = data.index(key) + len(key) + 4 + 4  # value type, element type
    (count,) = struct.unpack_from("<Q", data, at)
    at += 8
    for _ in range(token % count):
        at += 8 + struct.unpack_from("<Q", data, at)[0]
    struct.pack_into("<Q", data, at, len(data))
    bad = tmp_path / "bad_token_length.gguf"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelFormatError, match="truncated or corrupted while reading metadata 'tokenizer.ggml.tokens'"):
        GGUFFile(bad)


def _tensor_offset_position(data: bytes, name: str) -> int:
    """Byte position of a tensor's data-offset field in the header."""
    encoded = struct.pack("<Q", len(name)) + name.encode()
    at = data.index(encoded) + len(encoded)
    (n_dims,) = struct.unpack_from("<I", data, at)
    return at + 4 + 8 * n_dims + 4


def test_corrupted_tensor_offset_names_the_tensor(tiny_path, tmp_path):
    data = bytearray(open(tiny_path, "rb").read())
    pos = _tensor_offset_position(data, "blk.1.ffn_up.weight")
    struct.pack_into("<Q", data, pos, 1 << 40)
    bad = tmp_path / "bad_offset.gguf"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelFormatError, match="blk.1.ffn_up.weight"):
        Llama(str(bad))


def test_misaligned_tensor_offset(tiny_path, tmp_path):
    data = bytearray(open(tiny_path, "rb").read())
    pos = _tensor_offset_position(data, "output_norm.weight")
    (offset,) = struct.unpack_from("<Q", data, pos)
    struct.pack_into("<Q", data, pos, offset + 1)
    bad = tmp_path / "misaligned.gguf"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelFormatError, match="output_norm.weight.*aligned"):
        GGUFFile(bad)


def test_absurd_metadata_count_does_not_allocate(tmp_path):
    path = tmp_path / "huge_count.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1 << 60) + b"\0" * 64)
    with pytest.raises(ModelFormatError, match="truncated"):
        GGUFFile(path)


def test_non_llama_architecture_is_refused(tmp_path):
    path = str(tmp_path / "falcon.gguf")
    w = gguf.GGUFWriter(path, "falcon")
    w.add_block_count(1)
    w.add_tensor("token_embd.weight", np.zeros((4, 32), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(UnsupportedModelError, match="architecture 'falcon'"):
        Llama(path)


def test_tensor_shape_must_match_hyperparameters(tmp_path):
    from constrain.runtime.synthetic_gguf import tiny_shape, write_llama_gguf

    path = str(tmp_path / "bad_shape.gguf")
    write_llama_gguf(path, tiny_shape("smollm"), "F32")
    data = bytearray(open(path, "rb").read())
    # claim a wider model than the tensors hold
    key = b"llama.feed_forward_length"
    at = data.index(key) + len(key) + 4
    struct.pack_into("<I", data, at, 192)
    bad = tmp_path / "bad_ffn.gguf"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelFormatError, match="ffn_gate.weight"):
        Llama(str(bad))


def test_unsupported_tensor_type_names_tensor_and_type(tmp_path):
    from constrain.runtime.quants import check_supported

    with pytest.raises(UnsupportedModelError, match=r"blk\.0\.attn_q\.weight.*IQ2_XS"):
        check_supported("blk.0.attn_q.weight", gguf.GGMLQuantizationType.IQ2_XS)
