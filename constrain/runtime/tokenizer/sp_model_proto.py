"""Serialize a sentencepiece ModelProto without the protobuf package.

Only the fields constrain sets are written (field numbers from sentencepiece's
sentencepiece_model.proto); protobuf's wire format is small enough to write by hand,
and doing so keeps protobuf out of the dependencies and the 32k-piece build fast.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

# sentencepiece_model.proto: TrainerSpec.ModelType
MODEL_TYPE_BPE = 2

_VARINT, _FIXED32, _BYTES = 0, 5, 2


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int32 fields are written as 64-bit two's complement
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _bytes_field(field: int, payload: bytes) -> bytes:
    return _key(field, _BYTES) + _varint(len(payload)) + payload


def _int_field(field: int, value: int) -> bytes:
    return _key(field, _VARINT) + _varint(int(value))


_PACK_FLOAT = struct.Struct("<f").pack
_PIECE_KEY, _SCORE_KEY, _TYPE_KEY = _key(1, _BYTES), _key(2, _FIXED32), _key(3, _VARINT)


def _length(n: int) -> bytes:
    return bytes((n,)) if n < 0x80 else _varint(n)


def _piece(text: str, score: float, kind: int) -> bytes:
    """ModelProto.pieces entry: SentencePiece { string piece = 1; float score = 2; Type type = 3; }.
    Written inline because it runs once per token (32k times for a Llama vocabulary)."""
    data = text.encode("utf-8")
    body = _PIECE_KEY + _length(len(data)) + data + _SCORE_KEY + _PACK_FLOAT(score) + _TYPE_KEY + bytes((kind,))
    return _PIECE_KEY + _length(len(body)) + body


def model_proto(texts: Sequence[str], scores: Sequence[float], kinds: Sequence[int], *,
                unk_id: int, byte_fallback: bool) -> bytes:
    """A BPE ModelProto with an identity normalizer that adds no prefix and keeps spaces."""
    pieces = b"".join(map(_piece, texts, scores, kinds))
    trainer = (
        _int_field(3, MODEL_TYPE_BPE)  # model_type
        + _int_field(4, len(texts))  # vocab_size
        + _int_field(35, int(byte_fallback))  # byte_fallback
        + _int_field(40, unk_id)  # unk_id
        + _int_field(41, -1)  # bos_id: constrain adds BOS itself
        + _int_field(42, -1)  # eos_id
        + _int_field(43, -1)  # pad_id
    )
    normalizer = (
        _bytes_field(1, b"identity")  # name
        + _int_field(3, 0)  # add_dummy_prefix: constrain adds llama.cpp's space prefix itself
        + _int_field(4, 0)  # remove_extra_whitespaces
        + _int_field(5, 0)  # escape_whitespaces: done by constrain, exactly as llama.cpp
    )
    return pieces + _bytes_field(2, trainer) + _bytes_field(3, normalizer)
