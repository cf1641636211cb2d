"""Prompt batches through byte planes: one tile block decoded to bytes, then products and
scaling fused per pair of activation rows.

A prompt batch multiplies every 32-value block of a tile by hundreds of activation rows, so
the block is rewritten once into a byte plane where each row's four neighbouring values sit
side by side (TILE // 8 groups of 8 quads of 8 rows x 4 values, 32 bytes per quad). One
`vpdpbusd` (VNNI) then multiplies 8 rows' four values by four activations and adds them in
32 bits; without VNNI, `vpmaddubsw` then `vpmaddwd` by ones gives the same sums while a pair
of products fits in 16 bits (weights below 64, or |w| up to 128: 2 * 128 * 127 = 32512).

The integer sums are scaled and added to the float accumulators in the same generated code:
stored as floats and scaled in a second loop, they cost as much as the products themselves
(a 2048 x 2048 Q6_K product on 200 rows ran at 252 GFLOP/s that way, 382 fused, on a 2-core
Xeon). Two activation rows share each weight vector loaded.

Int8 weights (Q8_0) have no unsigned form: with VNNI (32-bit adds, no overflow) they go in
as w + 128 and 128 times the activations' sum comes off; without it, as |w| against x
carrying w's sign (`vpsignb`), as llama.cpp's q8_0 dot does. Which one is decided when the
calling kernel is compiled, for the decoder and the product alike.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from constrain.runtime.quants import simd
from constrain.runtime.quants.simd import TILE, dot_quads_add, element_pointer, load_vector, splat
from constrain.runtime.quants.type_traits import KIND_TRAITS, TileKind

_I8, _I32, _F32 = ir.IntType(8), ir.IntType(32), ir.FloatType()
_V16_I8, _V32_I8 = ir.VectorType(_I8, 16), ir.VectorType(_I8, 32)
_V8_I32, _V8_F32 = ir.VectorType(_I32, 8), ir.VectorType(_F32, 8)
_FAST = ("fast",)

SCALED_ROWS = 2  # activation rows per call of the fused step (3 or 4 ran slower: register spills)


def _int8_offset() -> int:
    """What int8 weights are offset by in a plane: 128 where vpdpbusd adds in 32 bits."""
    return 128 if simd.HAVE_VNNI else 0


# ---------------------------------------------------------------------------- decoding

def _plane_decoder(high_bits: int, pairs: int):
    """Codegen: one 32-value block of pair-interleaved tiles (tiles.py) into a byte plane.

    A quad of four neighbouring values of 8 rows takes two pairs of columns; in the tiles each
    pair's 8 rows are 16 contiguous bytes (row, column of the pair), so the quad is the two
    vectors' 16-bit words interleaved. Nibble kinds (pairs = 8) hold values 0..15 in the low
    nibbles and 16..31 in the high ones, with `high_bits` more bits per value in the high
    plane; int8 tiles (pairs = 16) are bytes already, offset by _int8_offset()."""
    field_mask = (1 << high_bits) - 1
    interleave = ir.Constant(ir.VectorType(_I32, 32),
                             [k for w in range(8) for k in (2 * w, 2 * w + 1, 16 + 2 * w, 17 + 2 * w)])

    def codegen(context, builder, signature, args):
        a = signature.args
        q = element_pointer(context, builder, a[0], args[0], args[1], _I8)
        h = element_pointer(context, builder, a[2], args[2], args[3], _I8)
        out = element_pointer(context, builder, a[4], args[4], ir.Constant(_I32, 0), _I8)
        flip = _int8_offset() if pairs == 16 else 0

        def byte(value):
            return splat(builder, _V16_I8, ir.Constant(_I8, value))

        for group in range(TILE // 8):
            for quad in range(8):
                half = quad // 4 if pairs == 8 else 0
                first_pair = 2 * (quad % 4) if pairs == 8 else 2 * quad
                parts = []
                for pair in (first_pair, first_pair + 1):
                    v = load_vector(builder, q, (pair * TILE + 8 * group) * 2, _V16_I8)
                    if pairs == 8:
                        v = builder.and_(builder.lshr(v, byte(4)) if half else v, byte(15))
                        if high_bits:
                            bit = (2 * pair + half) * high_bits  # never crosses a byte: 8 % high_bits == 0
                            field = load_vector(builder, h, ((bit // 8) * TILE + 8 * group) * 2, _V16_I8)
                            if bit % 8:
                                field = builder.lshr(field, byte(bit % 8))
                            field = builder.and_(field, byte(field_mask))
                            v = builder.or_(v, builder.shl(field, byte(4)))
                    elif flip:
                        v = builder.xor(v, byte(flip))
                    parts.append(v)
                target = builder.gep(out, [ir.Constant(_I32, (group * 8 + quad) * 32)])
                builder.store(builder.shuffle_vector(parts[0], parts[1], interleave),
                              builder.bitcast(target, _V32_I8.as_pointer()), align=1)
        return context.get_dummy_value()

    return codegen


def _decoder(high_bits: int, pairs: int):
    @intrinsic
    def decode(typingctx, quants, q_off, highs, h_off, plane):
        """quants[q_off:], highs[h_off:]: one block of a tile at tiles.py's flat offsets;
        plane: (TILE // 8, 8, 8, 4) uint8, written whole."""
        return types.void(quants, q_off, highs, h_off, plane), _plane_decoder(high_bits, pairs)

    return decode


decode_u4 = _decoder(0, 8)  # U4, U4_G16
decode_u5 = _decoder(1, 8)
decode_u6 = _decoder(2, 8)
decode_i8 = _decoder(0, 16)


# ---------------------------------------------------------------------------- products

def _abs(builder, v):
    """|v| per byte; -128 stays 0x80, which the unsigned operand reads as 128."""
    negative = builder.icmp_signed("<", v, ir.Constant(_V32_I8, None))
    return builder.select(negative, builder.neg(v), v)


def _sign(builder, x, w):
    """x where w > 0, -x where w < 0, 0 where w == 0 (vpsignb)."""
    if simd.HAVE_AVX2:
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_V32_I8, [_V32_I8, _V32_I8]),
                                            "llvm.x86.avx2.psign.b")
        return builder.call(fn, [x, w])
    zero = ir.Constant(_V32_I8, None)
    negated = builder.select(builder.icmp_signed("<", w, zero), builder.neg(x), x)
    return builder.select(builder.icmp_signed("==", w, zero), zero, negated)


def _scaled_product(halves: int, mins: bool, zero: int | None, rows: int):
    """Codegen of the fused step for `rows` activation rows. `halves`: 2 where values 0..15
    and 16..31 have scales of their own, 1 where one scale covers 32; `mins`: the kind adds
    min * sum of the activations; `zero`: subtracted from each decoded byte (None: int8
    weights, whose offset is _int8_offset())."""

    def codegen(context, builder, signature, args):
        a = signature.args
        signed = zero is None and not simd.HAVE_VNNI
        offset = _int8_offset() if zero is None else zero
        w = element_pointer(context, builder, a[0], args[0], args[1], _I8)
        sb = element_pointer(context, builder, a[5], args[5], ir.Constant(_I32, 0), _F32)
        dx = element_pointer(context, builder, a[6], args[6], ir.Constant(_I32, 0), _F32)
        xsums = element_pointer(context, builder, a[7], args[7], ir.Constant(_I32, 0), _F32)
        acc = element_pointer(context, builder, a[10], args[10], args[11], _F32)
        index_type = context.get_value_type(types.intp)

        def index(k):
            return context.cast(builder, args[k], a[k], types.intp)

        def nth(start, stride, k):
            return builder.add(start, builder.mul(stride, ir.Constant(index_type, k)))

        x_off, x_stride, s_off, s_stride = (index(k) for k in (3, 4, 8, 9))
        quads, d, d_lo, d_hi, zero_lo, zero_hi = [], [], [], [], [], []
        for k in range(rows):
            x = element_pointer(context, builder, a[2], args[2], nth(x_off, x_stride, k), _I8)
            row_quads = []
            for quad in range(8):
                four = builder.load(builder.bitcast(builder.gep(x, [ir.Constant(_I32, 4 * quad)]),
                                                    _I32.as_pointer()), align=1)
                row_quads.append(builder.bitcast(splat(builder, _V8_I32, four), _V32_I8))
            quads.append(row_quads)
            s = nth(s_off, s_stride, k)
            scale = builder.load(builder.gep(dx, [s]))
            lo = builder.load(builder.gep(xsums, [builder.mul(s, ir.Constant(index_type, 2))]))
            hi = builder.load(builder.gep(xsums, [nth(builder.mul(s, ir.Constant(index_type, 2)),
                                                      ir.Constant(index_type, 1), 1)]))
            d.append(splat(builder, _V8_F32, scale))
            d_lo.append(splat(builder, _V8_F32, builder.fmul(scale, lo, flags=_FAST)))
            d_hi.append(splat(builder, _V8_F32, builder.fmul(scale, hi, flags=_FAST)))
            if offset:
                times = ir.Constant(_I32, offset)
                zero_lo.append(splat(builder, _V8_I32, builder.mul(builder.fptosi(lo, _I32), times)))
                zero_hi.append(splat(builder, _V8_I32, builder.mul(builder.fptosi(hi, _I32), times)))
        for group in range(TILE // 8):
            sums = [[ir.Constant(_V8_I32, None)] * halves for _ in range(rows)]
            for quad in range(8):
                values = load_vector(builder, w, (group * 8 + quad) * 32, _V32_I8)
                magnitudes = _abs(builder, values) if signed else values
                for k in range(rows):
                    activations = _sign(builder, quads[k][quad], values) if signed else quads[k][quad]
                    h = quad // 4 if halves == 2 else 0
                    sums[k][h] = dot_quads_add(builder, sums[k][h], magnitudes, activations)
            scales = [load_vector(builder, sb, TILE * h + 8 * group, _V8_F32) for h in range(halves)]
            mins_lo = load_vector(builder, sb, 2 * TILE + 8 * group, _V8_F32) if mins else None
            mins_hi = load_vector(builder, sb, 3 * TILE + 8 * group, _V8_F32) if mins and halves == 2 else None
            for k in range(rows):
                row_sums = sums[k]
                if offset and halves == 2:
                    row_sums = [builder.sub(row_sums[0], zero_lo[k]), builder.sub(row_sums[1], zero_hi[k])]
                elif offset:
                    row_sums = [builder.sub(builder.sub(row_sums[0], zero_lo[k]), zero_hi[k])]
                scaled = builder.fmul(builder.sitofp(row_sums[0], _V8_F32), scales[0], flags=_FAST)
                if halves == 2:
                    high = builder.fmul(builder.sitofp(row_sums[1], _V8_F32), scales[1], flags=_FAST)
                    scaled = builder.fadd(scaled, high, flags=_FAST)
                target = builder.bitcast(builder.gep(acc, [ir.Constant(_I32, TILE * k + 8 * group)]),
                                         _V8_F32.as_pointer())
                total = builder.fadd(builder.load(target, align=4), builder.fmul(scaled, d[k], flags=_FAST),
                                     flags=_FAST)
                if mins and halves == 2:
                    total = builder.fadd(total, builder.fmul(mins_lo, d_lo[k], flags=_FAST), flags=_FAST)
                    total = builder.fadd(total, builder.fmul(mins_hi, d_hi[k], flags=_FAST), flags=_FAST)
                elif mins:
                    d_sum = builder.fadd(d_lo[k], d_hi[k], flags=_FAST)
                    total = builder.fadd(total, builder.fmul(mins_lo, d_sum, flags=_FAST), flags=_FAST)
                builder.store(total, target, align=4)
        return context.get_dummy_value()

    return codegen


def _product(halves: int, mins: bool, zero: int | None, rows: int):
    @intrinsic
    def scaled(typingctx, plane, p_off, xq, x_off, x_stride, sb, dx, xsums, s_off, s_stride, acc, a_off):
        """acc[a_off + TILE * k + r] += weight row r of the plane times activation row k, for
        k < rows, scaled:
          plane  a block decoded by decode_*; xq: row k's 32 int8 values at x_off + k * x_stride
          sb     float32 (4, TILE): the block's scale per weight row for values 0..15 (row 0)
                 and 16..31 (row 1; one scale per 32 values reads row 0 only), mins in 2, 3
          dx     flat float32: row k's block scale at s_off + k * s_stride; xsums: the sums of
                 its int8 values 0..15 and 16..31 at twice that index and the next
        Per weight row: d * scale * (dot - zero * sum) + d * min * sum."""
        sig = types.void(plane, p_off, xq, x_off, x_stride, sb, dx, xsums, s_off, s_stride, acc, a_off)
        return sig, _scaled_product(halves, mins, zero, rows)

    return scaled


# One per tile kind's shape, for SCALED_ROWS activation rows (`_rows`) and for one.
i8_rows, i8 = _product(1, False, None, SCALED_ROWS), _product(1, False, None, 1)  # I8
g32_mins_rows, g32_mins = _product(1, True, 0, SCALED_ROWS), _product(1, True, 0, 1)  # U4, U5
g16_mins_rows, g16_mins = _product(2, True, 0, SCALED_ROWS), _product(2, True, 0, 1)  # U4_G16
_U6_ZERO = KIND_TRAITS[TileKind.U6_G16].zero
g16_zero_rows, g16_zero = _product(2, False, _U6_ZERO, SCALED_ROWS), _product(2, False, _U6_ZERO, 1)  # U6_G16
