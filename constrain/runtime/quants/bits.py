"""Bit-level reinterpretation of half, bfloat and single floats inside numba code.

numba has no scalar bitcast, so these are LLVM intrinsics; LLVM lowers the half
conversion to the hardware instruction (F16C / AVX-512) and vectorizes it in loops.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def _half_bits_to_float32(typingctx, bits):
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        (value,) = args
        as_i16 = builder.trunc(value, ir.IntType(16)) if bits.bitwidth > 16 else value
        return builder.fpext(builder.bitcast(as_i16, ir.HalfType()), ir.FloatType())

    return types.float32(bits), codegen


@intrinsic
def _uint32_bits_to_float32(typingctx, bits):
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        (value,) = args
        width = bits.bitwidth
        if width > 32:
            value = builder.trunc(value, ir.IntType(32))
        elif width < 32:
            value = builder.zext(value, ir.IntType(32))
        return builder.bitcast(value, ir.FloatType())

    return types.float32(bits), codegen


@njit(inline="always", cache=True)
def f16_to_f32(bits):
    """IEEE half (given as its 16 bits in any integer) to float32."""
    return _half_bits_to_float32(bits)


@njit(inline="always", cache=True)
def bf16_to_f32(bits):
    """bfloat16 (its 16 bits) to float32: the upper half of a float32."""
    return _uint32_bits_to_float32(np.uint32(bits) << np.uint32(16))


@njit(inline="always", cache=True)
def load_f16(data, offset):
    """Little-endian half float stored at data[offset:offset+2] (uint8 array)."""
    return _half_bits_to_float32(np.uint16(data[offset]) | (np.uint16(data[offset + 1]) << np.uint16(8)))
