"""Bit-level reinterpretation of half, bfloat and single floats inside numba code.

numba has no scalar bitcast, so these are LLVM intrinsics; LLVM lowers the half
conversion to the hardware instruction (F16C / AVX-512) and vectorizes it in loops.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload


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


@intrinsic
def _float32_to_half_bits(typingctx, value):
    if not isinstance(value, types.Float):
        return None

    def codegen(context, builder, signature, args):
        (x,) = args
        if value.bitwidth != 32:
            x = builder.fptrunc(x, ir.FloatType())
        return builder.bitcast(builder.fptrunc(x, ir.HalfType()), ir.IntType(16))

    return types.uint16(value), codegen


@njit(inline="always", cache=True)
def f32_to_f16(value):
    """float32 to the 16 bits of the nearest IEEE half (round to nearest even)."""
    return _float32_to_half_bits(value)


@njit(inline="always", cache=True)
def f16_to_f32(bits):
    """IEEE half (given as its 16 bits in any integer) to float32."""
    return _half_bits_to_float32(bits)


@njit(inline="always", cache=True)
def bits_to_f32(bits):
    """The float32 whose 32 bits are `bits` (an integer)."""
    return _uint32_bits_to_float32(bits)


@njit(inline="always", cache=True)
def bf16_to_f32(bits):
    """bfloat16 (its 16 bits) to float32: the upper half of a float32."""
    return _uint32_bits_to_float32(np.uint32(bits) << np.uint32(16))


@njit(inline="always", cache=True)
def load_f16(data, offset):
    """Little-endian half float stored at data[offset:offset+2] (uint8 array)."""
    at = np.uint64(offset)  # unsigned: no negative-index wraparound in the generated code
    return _half_bits_to_float32(np.uint16(data[at]) | (np.uint16(data[at + np.uint64(1)]) << np.uint16(8)))


@intrinsic
def _field_to_float32(typingctx, value, shift, mask):
    if not all(isinstance(t, types.Integer) for t in (value, shift, mask)):
        return None

    def as_i32(builder, v, ty):
        i32 = ir.IntType(32)
        if ty.bitwidth > 32:
            return builder.trunc(v, i32)
        if ty.bitwidth < 32:
            return builder.zext(v, i32)
        return v

    def codegen(context, builder, signature, args):
        v = as_i32(builder, args[0], value)
        s = as_i32(builder, args[1], shift)
        m = as_i32(builder, args[2], mask)
        field = builder.and_(builder.lshr(v, s), m)
        return builder.uitofp(field, ir.FloatType())

    return types.float32(value, shift, mask), codegen


@njit(inline="always", cache=True)
def field_f32(value, shift, mask):
    """float32((value >> shift) & mask), computed in 32-bit integers.

    numba would widen the shift and mask to int64, which halves the vector width
    of the unpacking loops; the value is treated as an unsigned 32-bit integer.
    """
    return _field_to_float32(value, shift, mask)


def stored_to_f32(value):
    """A scale as the tiles store it (float16 bits in a uint16, or a float32) as float32."""
    raise NotImplementedError("only callable from numba code")


@overload(stored_to_f32, inline="always")
def _stored_to_f32(value):
    if isinstance(value, types.Integer):
        return lambda value: _half_bits_to_float32(value)
    if isinstance(value, types.Float):
        return lambda value: np.float32(value)
    return None


def to_stored(value, like):
    """float32 `value` as an element of array `like` stores it: float16 bits (round to
    nearest) when like holds uint16, else unchanged. stored_to_f32 reverses it exactly
    when the value is a float16."""
    raise NotImplementedError("only callable from numba code")


@overload(to_stored, inline="always")
def _to_stored(value, like):
    if isinstance(like.dtype, types.Integer):
        return lambda value, like: _float32_to_half_bits(np.float32(value))
    return lambda value, like: np.float32(value)
