"""Integer dot products of one 32-value block of 16 tiled rows with int8 activations.

What llama.cpp's vec_dot_q*_q8 do with AVX2, for the pair-interleaved tiles of tiles.py:
the bytes of two neighbouring columns of a row sit side by side, so `vpmaddubsw`
(unsigned 8-bit weights times signed 8-bit activations, adjacent pairs added into 16-bit
lanes) yields one partial sum per row, 16 rows per instruction. numba's
auto-vectorizer never produces it (numba-kernels.md: its int8 loops widen to 64 bits),
so these are LLVM IR emitted straight from numba intrinsics. On a CPU without AVX2 the
same IR is written with portable vector operations, which LLVM lowers to whatever the
CPU has: slower, same results.

Each intrinsic takes one 32-value block of all TILE rows of a tile and writes float32
sums: out[o:o+TILE] for the block's values 0..15 and out[o+TILE:o+2*TILE] for values
16..31, row by row, so a group of 16 gets its own scale and a group of 32 adds the two.

Overflow: a 16-bit lane takes pairs of products q * x with q <= 15 and |x| <= 127, at most
8 pairs per block (8 * 2 * 15 * 127 = 30480), so it never saturates: values wider than a
nibble (5-bit U5, 6-bit U6_G16) are multiplied as a low nibble and a high field of their
own, added in 32 bits as low + (high << 4). Int8 weights (I8) go through 16-bit products
(vpmaddwd), widened to 32 bits at once, for one token. Prompt batches take another route
(byte_planes.py), built from the helpers here.
"""

from __future__ import annotations

import llvmlite.binding as llvm
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

TILE = 64  # rows per tile (tiles.py); the planes below are (pairs, TILE, 2) bytes

_FEATURES = llvm.get_host_cpu_features()
HAVE_AVX2 = bool(_FEATURES.get("avx2", False))
# vpdpbusd on 256-bit vectors: AVX-VNNI, or AVX512-VNNI with its 256-bit forms (VL)
HAVE_VNNI = HAVE_AVX2 and bool(_FEATURES.get("avxvnni", False)
                               or (_FEATURES.get("avx512vnni", False) and _FEATURES.get("avx512vl", False)))

_I8, _I16, _I32, _F32 = ir.IntType(8), ir.IntType(16), ir.IntType(32), ir.FloatType()
_V32_I8 = ir.VectorType(_I8, 32)
_V16_I8 = ir.VectorType(_I8, 16)
_V16_I16 = ir.VectorType(_I16, 16)
_V16_I32 = ir.VectorType(_I32, 16)
_V8_I32 = ir.VectorType(_I32, 8)
_V16_F32 = ir.VectorType(_F32, 16)


def element_pointer(context, builder, array_type, array, offset, element):
    data = context.make_array(array_type)(context, builder, array).data
    return builder.bitcast(builder.gep(data, [offset]), element.as_pointer())


def load_vector(builder, base, offset, vector_type):
    return builder.load(builder.bitcast(builder.gep(base, [ir.Constant(_I32, offset)]), vector_type.as_pointer()),
                        align=1)


def splat(builder, vector_type, value):
    n = vector_type.count
    one = builder.insert_element(ir.Constant(vector_type, ir.Undefined), value, ir.Constant(_I32, 0))
    zeros = ir.Constant(ir.VectorType(_I32, n), [0] * n)
    return builder.shuffle_vector(one, ir.Constant(vector_type, ir.Undefined), zeros)


def _bytes(builder, value):
    return splat(builder, _V32_I8, ir.Constant(_I8, value))


def _pair_bytes(builder, x, offset):
    """<32 x i8>: the int8 activations x[offset], x[offset+1] repeated."""
    pair = builder.load(builder.bitcast(builder.gep(x, [ir.Constant(_I32, offset)]), _I16.as_pointer()), align=1)
    return builder.bitcast(splat(builder, _V16_I16, pair), _V32_I8)


def _even_odd(builder, v, n):
    even = ir.Constant(ir.VectorType(_I32, n // 2), list(range(0, n, 2)))
    odd = ir.Constant(ir.VectorType(_I32, n // 2), list(range(1, n, 2)))
    return builder.shuffle_vector(v, v, even), builder.shuffle_vector(v, v, odd)


def _products_paired(builder, a, b, out_type, intrinsic, a_unsigned):
    """a * b lane by lane, each two adjacent products added, in out_type (half the lanes, twice
    the width): AVX2's instruction, else the same sums from even and odd lanes widened (a's
    lanes zero-extended when a_unsigned, b's always sign-extended)."""
    if HAVE_AVX2:
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(out_type, [a.type, b.type]), intrinsic)
        return builder.call(fn, [a, b])
    widen_a = builder.zext if a_unsigned else builder.sext
    ae, ao = _even_odd(builder, a, a.type.count)
    be, bo = _even_odd(builder, b, b.type.count)
    return builder.add(builder.mul(widen_a(ae, out_type), builder.sext(be, out_type)),
                       builder.mul(widen_a(ao, out_type), builder.sext(bo, out_type)))


def _maddubs(builder, unsigned_bytes, signed_bytes):
    """<32 x u8> * <32 x i8>, adjacent products added: <16 x i16> (vpmaddubsw)."""
    return _products_paired(builder, unsigned_bytes, signed_bytes, _V16_I16, "llvm.x86.avx2.pmadd.ub.sw", True)


def _pair_words(builder, x, offset):
    """<16 x i16>: x[offset], x[offset+1] sign-extended, repeated."""
    address = builder.gep(x, [ir.Constant(_I32, offset)])
    pair = builder.load(builder.bitcast(address, ir.VectorType(_I8, 2).as_pointer()), align=1)
    wide = builder.sext(pair, ir.VectorType(_I16, 2))
    return builder.shuffle_vector(wide, wide, ir.Constant(ir.VectorType(_I32, 16), [0, 1] * 8))


def _maddwd(builder, a, b):
    """<16 x i16> * <16 x i16>, adjacent products added: <8 x i32> (vpmaddwd)."""
    return _products_paired(builder, a, b, _V8_I32, "llvm.x86.avx2.pmadd.wd", False)


def dot_quads_add(builder, acc, unsigned_bytes, signed_bytes):
    """acc (<8 x i32>) + each lane's four adjacent products u8 * i8. With VNNI one vpdpbusd;
    else vpmaddubsw then vpmaddwd by ones, the same sums while a pair of products fits in 16
    bits (the callers' weights stay below 64 or 129: at most 2 * 128 * 127 = 32512)."""
    if HAVE_VNNI:
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_V8_I32, [_V8_I32] * 3),
                                            "llvm.x86.avx512.vpdpbusd.256")
        return builder.call(fn, [acc, builder.bitcast(unsigned_bytes, _V8_I32), builder.bitcast(signed_bytes, _V8_I32)])
    ones = ir.Constant(_V16_I16, [1] * 16)
    return builder.add(acc, _maddwd(builder, _maddubs(builder, unsigned_bytes, signed_bytes), ones))


def _store_halves(builder, out, halves):
    for half, sums in enumerate(halves):
        target = builder.bitcast(builder.gep(out, [ir.Constant(_I32, TILE * half)]), _V16_F32.as_pointer())
        builder.store(builder.sitofp(sums, _V16_F32), target, align=4)


def _unsigned_block_dot(high_bits: int, rows: int = 1):
    """The intrinsic for nibble tiles with `high_bits` more bits per value in a high plane,
    against `rows` activation rows (1 for a token; PROMPT_ROWS for prompt batches, which
    unpack each weight vector once for all of them).

    The low nibbles and the high fields get dot products of their own, combined as
    low + (high << 4) in 32 bits at the end: each stays small enough for 16-bit lanes over
    the whole block (8 pairs of products q * x with q <= 15: at most 30480), where
    multiplying whole 5- or 6-bit values would have to widen every two pairs."""
    groups = TILE // 16
    field_mask = (1 << high_bits) - 1

    def codegen_for(context, builder, a, args, x_offsets):
        q = element_pointer(context, builder, a[0], args[0], args[1], _I8)
        h = element_pointer(context, builder, a[2], args[2], args[3], _I8)
        xs = [element_pointer(context, builder, a[4], args[4], off, _I8) for off in x_offsets]
        out_type, out, o_off = a[-2], args[-2], args[-1]
        o = element_pointer(context, builder, out_type, out, o_off, _F32)
        low = _bytes(builder, 15)
        zero = ir.Constant(_V16_I16, None)
        # Row groups outermost: the accumulators of one group stay in registers (all
        # groups at once would spill); the activation pairs are re-broadcast per group.
        for g in range(groups):
            lows = [[zero] * 2 for _ in xs]
            highs_dot = [[zero] * 2 for _ in xs]
            for p in range(8):
                xb = [[_pair_bytes(builder, x, 16 * half + 2 * p) for half in range(2)] for x in xs]
                v = load_vector(builder, q, p * TILE * 2 + 32 * g, _V32_I8)
                values = [builder.and_(v, low), builder.and_(builder.lshr(v, _bytes(builder, 4)), low)]
                fields = []
                for half in range(2):
                    if not high_bits:
                        break
                    bit = (2 * p + half) * high_bits  # value index 2p+half of this column of the pair
                    plane = load_vector(builder, h, (bit // 8) * TILE * 2 + 32 * g, _V32_I8)
                    shift = bit % 8
                    field = builder.lshr(plane, _bytes(builder, shift)) if shift else plane
                    if shift + high_bits < 8:
                        field = builder.and_(field, _bytes(builder, field_mask))
                    fields.append(field)
                for k in range(len(xs)):
                    for half in range(2):
                        lows[k][half] = builder.add(lows[k][half], _maddubs(builder, values[half], xb[k][half]))
                        if high_bits:
                            highs_dot[k][half] = builder.add(highs_dot[k][half],
                                                             _maddubs(builder, fields[half], xb[k][half]))
            for k in range(len(xs)):
                wide = []
                for half in range(2):
                    total = builder.sext(lows[k][half], _V16_I32)
                    if high_bits:
                        high = builder.shl(builder.sext(highs_dot[k][half], _V16_I32),
                                           ir.Constant(_V16_I32, [4] * 16))
                        total = builder.add(total, high)
                    wide.append(total)
                _store_halves(builder, builder.gep(o, [ir.Constant(_I32, 2 * TILE * k + 16 * g)]), wide)
        return context.get_dummy_value()

    if rows == 1:
        @intrinsic
        def dot(typingctx, quants, q_off, highs, h_off, xq, x_off, out, o_off):
            """quants[q_off:]: a block's nibble plane (8, TILE, 2); highs[h_off:]: its high
            plane (2 * high_bits, TILE, 2); xq[x_off:x_off+32] int8; writes out (float32) for
            all TILE rows, as in the module doc."""
            sig = types.void(quants, q_off, highs, h_off, xq, x_off, out, o_off)

            def codegen(context, builder, signature, args):
                return codegen_for(context, builder, signature.args, args, [args[5]])

            return sig, codegen

        return dot

    @intrinsic
    def dot_rows(typingctx, quants, q_off, highs, h_off, xq, x_off, x_stride, out, o_off):
        """The same for `rows` activation rows at xq[x_off + k * x_stride:]: row k's sums
        at out[o_off + 2 * TILE * k:]."""
        sig = types.void(quants, q_off, highs, h_off, xq, x_off, x_stride, out, o_off)

        def codegen(context, builder, signature, args):
            off_type = context.get_value_type(signature.args[5])
            stride = context.cast(builder, args[6], signature.args[6], signature.args[5])
            offsets = [builder.add(args[5], builder.mul(stride, ir.Constant(off_type, k))) for k in range(rows)]
            return codegen_for(context, builder, signature.args, args, offsets)

        return sig, codegen

    return dot_rows


dot_u4_block = _unsigned_block_dot(0)
dot_u5_block = _unsigned_block_dot(1)
dot_u6_block = _unsigned_block_dot(2)
PROMPT_ROWS = 2  # activation rows per weight unpack in prompt batches
dot_u4_block_rows = _unsigned_block_dot(0, rows=PROMPT_ROWS)


@intrinsic
def dot_i8_block(typingctx, quants, q_off, xq, x_off, out, o_off):
    """quants[q_off:]: a block's int8 plane (16, TILE, 2): pair p holds columns 2p, 2p+1;
    xq[x_off:x_off+32] int8; writes out for all TILE rows as in the module doc.
    Signed times signed has no vpmaddubsw form: 16-bit widening and vpmaddwd instead."""
    sig = types.void(quants, q_off, xq, x_off, out, o_off)
    groups = TILE // 16

    def codegen(context, builder, signature, args):
        a = signature.args
        q = element_pointer(context, builder, a[0], args[0], args[1], _I8)
        x = element_pointer(context, builder, a[2], args[2], args[3], _I8)
        o = element_pointer(context, builder, a[4], args[4], args[5], _F32)
        rows = [[[ir.Constant(_V8_I32, None)] * 2 for _ in range(2)] for _ in range(groups)]  # [g][half][part]
        for p in range(16):
            half = p // 8
            xb = _pair_words(builder, x, 2 * p)
            for g in range(groups):
                for part in range(2):  # rows 16g..16g+7, 16g+8..16g+15
                    w = builder.sext(load_vector(builder, q, p * TILE * 2 + 32 * g + 16 * part, _V16_I8), _V16_I16)
                    rows[g][half][part] = builder.add(rows[g][half][part], _maddwd(builder, w, xb))
        join = ir.Constant(ir.VectorType(_I32, 16), list(range(16)))
        for g in range(groups):
            halves = [builder.shuffle_vector(rows[g][half][0], rows[g][half][1], join) for half in range(2)]
            _store_halves(builder, builder.gep(o, [ir.Constant(_I32, 16 * g)]), halves)
        return context.get_dummy_value()

    return sig, codegen
