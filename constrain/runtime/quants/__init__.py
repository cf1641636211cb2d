"""Quantized matrix kernels: compute directly on GGUF-encoded weights."""

from constrain.runtime.quants.formats import (
    SUPPORTED_TYPES,
    block_nbytes,
    block_size,
    check_row_length,
    check_supported,
    row_nbytes,
)
from constrain.runtime.quants.matrix import QuantMatrix

__all__ = [
    "QuantMatrix",
    "SUPPORTED_TYPES",
    "block_nbytes",
    "block_size",
    "check_row_length",
    "check_supported",
    "row_nbytes",
]
