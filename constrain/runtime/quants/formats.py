"""Which GGML tensor types the runtime can compute with, and their block geometry."""

from __future__ import annotations

from gguf.constants import GGMLQuantizationType

from constrain.errors import ModelFormatError, UnsupportedModelError
from constrain.runtime.quants.type_traits import TYPE_TRAITS

# Types with a kernel in this package (a row of type_traits.py); anything else in a GGUF is
# refused up front.
SUPPORTED_TYPES: tuple[GGMLQuantizationType, ...] = tuple(TYPE_TRAITS)
_SUPPORTED_CODES = frozenset(int(t) for t in SUPPORTED_TYPES)


def type_name(ggml_type: int) -> str:
    """Readable name of a GGML type code, also for codes gguf-py does not know."""
    try:
        return GGMLQuantizationType(int(ggml_type)).name
    except ValueError:
        return f"unknown type {int(ggml_type)}"


def check_supported(tensor_name: str, ggml_type: int) -> GGMLQuantizationType:
    """Return the type as an enum, or raise UnsupportedModelError naming tensor and type."""
    if int(ggml_type) not in _SUPPORTED_CODES:
        supported = ", ".join(t.name for t in SUPPORTED_TYPES)
        raise UnsupportedModelError(
            f"tensor {tensor_name!r} has type {type_name(ggml_type)}, which constrain cannot "
            f"compute with (supported: {supported})"
        )
    return GGMLQuantizationType(int(ggml_type))


def block_size(ggml_type: int) -> int:
    """Number of values one block encodes."""
    return TYPE_TRAITS[GGMLQuantizationType(int(ggml_type))].block_size


def block_nbytes(ggml_type: int) -> int:
    """Number of bytes one block occupies."""
    return TYPE_TRAITS[GGMLQuantizationType(int(ggml_type))].type_size


def check_row_length(tensor_name: str, ggml_type: int, ncols: int) -> None:
    """Rows are whole blocks: raise ModelFormatError naming the tensor otherwise."""
    bs = block_size(ggml_type)
    if ncols <= 0 or ncols % bs != 0:
        raise ModelFormatError(
            f"tensor {tensor_name!r}: row length {ncols} is not a positive multiple of the "
            f"{type_name(ggml_type)} block size {bs}"
        )


def row_nbytes(ggml_type: int, ncols: int, tensor_name: str = "<unnamed>") -> int:
    """Bytes one row of ncols values occupies."""
    check_row_length(tensor_name, ggml_type, ncols)
    return ncols // block_size(ggml_type) * block_nbytes(ggml_type)
