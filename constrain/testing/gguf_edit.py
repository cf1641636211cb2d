"""Rewrite a GGUF file with some metadata changed, for tests of how bad metadata is reported.

Built on the `gguf` package: the reader gives every field and tensor, the writer puts them back
with the changes applied. Values are written with the type given (so a test can store a bool
where a count belongs, or an array of arrays).
"""

from __future__ import annotations

import os
from typing import Any

import gguf
from gguf import GGUFValueType

DROP = object()  # as a value in `changes`: remove the key


def rewrite_gguf(src: str | os.PathLike, dst: str | os.PathLike,
                 changes: dict[str, Any | tuple[GGUFValueType, Any] | tuple[GGUFValueType, Any, GGUFValueType]]) -> str:
    """Copy `src` to `dst` with metadata `changes`: key -> DROP, or (type, value[, array element
    type]), or a plain value (its type taken from the existing field)."""
    reader = gguf.GGUFReader(os.fspath(src))
    arch = reader.fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(os.fspath(dst), arch)
    writer.kv_data[0].pop("general.architecture", None)  # written below like any other key
    skip = {"GGUF.version", "GGUF.tensor_count", "GGUF.kv_count"}
    done = set()
    for name, field in reader.fields.items():
        if name in skip:
            continue
        if name in changes:
            done.add(name)
            _add(writer, name, changes[name], field)
        else:
            vtype = field.types[0]
            sub = field.types[-1] if vtype == GGUFValueType.ARRAY else None
            writer.add_key_value(name, field.contents(), vtype, sub)
    for name, change in changes.items():
        if name not in done:
            _add(writer, name, change, None)
    for t in reader.tensors:
        # quantized data comes as uint8 rows; the writer turns those back into element shapes
        writer.add_tensor(t.name, t.data, raw_dtype=t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return os.fspath(dst)


def _add(writer, name: str, change, field) -> None:
    if change is DROP:
        return
    if isinstance(change, tuple) and change and isinstance(change[0], GGUFValueType):
        vtype, value, *sub = change
        writer.add_key_value(name, value, vtype, sub[0] if sub else None)
        return
    if field is None:
        raise ValueError(f"new key {name!r} needs a (GGUFValueType, value) change")
    vtype = field.types[0]
    sub = field.types[-1] if vtype == GGUFValueType.ARRAY else None
    writer.add_key_value(name, change, vtype, sub)
