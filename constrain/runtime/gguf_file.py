"""Read a GGUF file: header, metadata, tensor infos; tensor data stays memory-mapped.

The `gguf` package can parse GGUF too, but it builds a numpy view per metadata part and
takes seconds on a 49k-token vocabulary; this reader walks the header once with `struct`
and hands out zero-copy views of the mmap. Every length and offset read from the file is
checked against the file size before use, because the kernels that later read tensor
bytes are compiled numba code with no bounds checks.
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

from constrain.errors import ModelFormatError, ModelNotFoundError

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# GGUF metadata value types -> (struct format, numpy dtype) for the fixed-size ones.
_SCALAR_TYPES = {
    0: ("<B", np.uint8),
    1: ("<b", np.int8),
    2: ("<H", np.uint16),
    3: ("<h", np.int16),
    4: ("<I", np.uint32),
    5: ("<i", np.int32),
    6: ("<f", np.float32),
    7: ("<?", np.bool_),
    10: ("<Q", np.uint64),
    11: ("<q", np.int64),
    12: ("<d", np.float64),
}
_STRING = 8
_U64 = struct.Struct("<Q")
_ARRAY = 9
MAX_ARRAY_NESTING = 4  # llama.cpp reads no array of arrays at all; deeper is corruption


@dataclass(frozen=True)
class TensorInfo:
    """Where a tensor lives in the file and what it claims to be."""

    name: str
    shape: tuple[int, ...]  # GGUF order: shape[0] is the contiguous (column) dimension
    ggml_type: GGMLQuantizationType
    offset: int  # absolute byte offset in the file
    nbytes: int

    @property
    def type_name(self) -> str:
        return self.ggml_type.name

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


class _Cursor:
    """Bounds-checked little-endian reads from the mapped header."""

    def __init__(self, buf: mmap.mmap, path: str):
        self.buf = buf
        self.pos = 0
        self.size = len(buf)
        self.path = path

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.size:
            raise ModelFormatError(
                f"{self.path}: file is truncated or corrupted while reading {what} "
                f"(needs {n} bytes at offset {self.pos}, file has {self.size})"
            )

    def scalar(self, fmt: str, what: str):
        n = struct.calcsize(fmt)
        self.need(n, what)
        (value,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += n
        return value

    def string(self, what: str) -> str:
        n = self.scalar("<Q", what)
        self.need(n, what)
        raw = self.buf[self.pos : self.pos + n]
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def strings(self, count: int, what: str) -> list[str]:
        """`count` strings in a row: `string` inlined, since a vocabulary's tokens and merges are
        about 100,000 of them and the calls were most of a small model's load."""
        buf, pos, size = self.buf, self.pos, self.size
        length = _U64.unpack_from
        out = []
        append = out.append
        for _ in range(count):
            if pos + 8 > size:
                self.pos = pos
                self.need(8, what)
            end = pos + 8 + length(buf, pos)[0]
            if end > size:
                self.pos = pos + 8
                self.need(end - pos - 8, what)
            append(str(buf[pos + 8:end], "utf-8", "replace"))
            pos = end
        self.pos = pos
        return out

    def value(self, vtype: int, what: str) -> Any:
        if vtype in _SCALAR_TYPES:
            value = self.scalar(_SCALAR_TYPES[vtype][0], what)
            return bool(value) if vtype == 7 else value
        if vtype == _STRING:
            return self.string(what)
        if vtype == _ARRAY:
            return self.array(what)
        raise ModelFormatError(f"{self.path}: unknown metadata value type {vtype} in {what}")

    def array(self, what: str, depth: int = 0) -> Any:
        if depth > MAX_ARRAY_NESTING:
            raise ModelFormatError(f"{self.path}: {what} nests arrays more than {MAX_ARRAY_NESTING} deep")
        etype = self.scalar("<I", what)
        count = self.scalar("<Q", what)
        if etype in _SCALAR_TYPES:
            dtype = np.dtype(_SCALAR_TYPES[etype][1])
            self.need(count * dtype.itemsize, what)
            arr = np.frombuffer(self.buf, dtype=dtype.newbyteorder("<"), count=count, offset=self.pos)
            self.pos += count * dtype.itemsize
            return arr.copy()  # metadata arrays are small; do not pin the map
        if etype == _STRING:
            # each string needs at least its 8-byte length: refuse absurd counts up front
            self.need(count * 8, what)
            return self.strings(count, what)
        if etype == _ARRAY:
            self.need(count * 12, what)
            return [self.array(what, depth + 1) for _ in range(count)]
        raise ModelFormatError(f"{self.path}: unknown array element type {etype} in {what}")


class GGUFFile:
    """A memory-mapped GGUF file: `metadata` (dict) and `tensors` (name -> TensorInfo)."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise ModelNotFoundError(f"model file not found: {self.path!r}")
        with open(self.path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < 24:
                raise ModelFormatError(f"{self.path}: not a GGUF file (only {size} bytes)")
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self.file_size = size
        self.metadata: dict[str, Any] = {}
        self.tensors: dict[str, TensorInfo] = {}
        self._parse()

    def _parse(self) -> None:
        cur = _Cursor(self._map, self.path)
        magic = bytes(self._map[:4])
        if magic != GGUF_MAGIC:
            raise ModelFormatError(f"{self.path}: not a GGUF file (magic {magic!r}, expected b'GGUF')")
        cur.pos = 4
        self.version = cur.scalar("<I", "version")
        if self.version not in (2, 3):
            raise ModelFormatError(f"{self.path}: unsupported GGUF version {self.version} (2 and 3 are)")
        n_tensors = cur.scalar("<Q", "tensor count")
        n_kv = cur.scalar("<Q", "metadata count")
        # a key needs >= 12 bytes, a tensor info >= 28: cheap sanity before looping
        cur.need(n_kv * 12 + n_tensors * 28, "header counts")
        for i in range(n_kv):
            key = cur.string(f"metadata key #{i}")
            vtype = cur.scalar("<I", f"type of metadata {key!r}")
            self.metadata[key] = cur.value(vtype, f"metadata {key!r}")

        infos = []
        for i in range(n_tensors):
            name = cur.string(f"tensor info #{i}")
            n_dims = cur.scalar("<I", f"tensor {name!r} dims")
            if not 1 <= n_dims <= 4:
                raise ModelFormatError(f"{self.path}: tensor {name!r} has {n_dims} dimensions (1..4 allowed)")
            shape = tuple(cur.scalar("<Q", f"tensor {name!r} shape") for _ in range(n_dims))
            type_id = cur.scalar("<I", f"tensor {name!r} type")
            offset = cur.scalar("<Q", f"tensor {name!r} offset")
            infos.append((name, shape, type_id, offset))

        alignment = self.metadata.get("general.alignment", DEFAULT_ALIGNMENT)
        if (isinstance(alignment, bool) or not isinstance(alignment, int) or alignment <= 0
                or alignment & (alignment - 1)):
            raise ModelFormatError(f"{self.path}: general.alignment {alignment!r} is not a power of two")
        self.alignment = alignment
        self.data_offset = (cur.pos + alignment - 1) // alignment * alignment

        for name, shape, type_id, offset in infos:
            self.tensors[name] = self._check_tensor(name, shape, type_id, offset)

    def _check_tensor(self, name: str, shape: tuple[int, ...], type_id: int, offset: int) -> TensorInfo:
        try:
            ggml_type = GGMLQuantizationType(type_id)
        except ValueError:
            raise ModelFormatError(f"{self.path}: tensor {name!r} has unknown type id {type_id}") from None
        block, type_size = GGML_QUANT_SIZES[ggml_type]
        if any(d <= 0 for d in shape):
            raise ModelFormatError(f"{self.path}: tensor {name!r} has an empty dimension {shape}")
        if shape[0] % block:
            raise ModelFormatError(
                f"{self.path}: tensor {name!r} ({ggml_type.name}) row length {shape[0]} "
                f"is not a multiple of the block size {block}"
            )
        n_elements = 1
        for d in shape:
            n_elements *= d
        nbytes = n_elements // block * type_size
        if offset % self.alignment:
            raise ModelFormatError(
                f"{self.path}: tensor {name!r} offset {offset} is not aligned to {self.alignment} bytes"
            )
        start = self.data_offset + offset
        if start + nbytes > self.file_size:
            raise ModelFormatError(
                f"{self.path}: tensor {name!r} ({ggml_type.name}, shape {list(shape)}) needs bytes "
                f"{start}..{start + nbytes} but the file has {self.file_size}: the file is truncated "
                f"or the tensor offset is corrupted"
            )
        return TensorInfo(name, shape, ggml_type, start, nbytes)

    def tensor_bytes(self, name: str) -> np.ndarray:
        """A read-only uint8 view of a tensor's data in the map (no copy)."""
        info = self.tensors[name]
        return np.frombuffer(self._map, dtype=np.uint8, count=info.nbytes, offset=info.offset)

    def close(self) -> None:
        # views handed out keep the map alive; closing then would invalidate them, so leave
        # unmapping to garbage collection once the last view is gone
        self.tensors = {}

    def __repr__(self) -> str:
        return f"GGUFFile({self.path!r}, {len(self.tensors)} tensors, {len(self.metadata)} metadata keys)"
