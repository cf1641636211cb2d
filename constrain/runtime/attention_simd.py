"""Vector code for attention's two inner loops, with the running sums kept in registers.

numba's loops for scores (one dimension at a time across a block of positions) and for the
weighted sum of values (one position at a time across the head's dimensions) load and store
their accumulators at every step and convert the float16 cache once per query head: about
30 GFLOP/s for a 512-token prompt on a 2-core Xeon, a quarter of that prompt's time. Here one
generated loop keeps a block's KEY_BLOCK scores, or a head's values sum, in vector registers
for the whole reduction, and several query heads that share a key/value head share each
converted vector.

Both loops add in the same order as the plain loops did (dimension by dimension for a score,
position by position for a values sum), so only contraction into fused multiply-adds can
change the last bit.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from constrain.runtime.quants.simd import element_pointer, splat

KEY_BLOCK = 64  # positions per block of the transposed key cache (kv_cache.py)
LANES = 16  # float32 per vector: one AVX-512 register, two AVX2 ones
HEADS = 2  # query heads per call: 8 (scores) or 2 x head_dim / 16 (values) accumulators

_I16, _I64, _F32 = ir.IntType(16), ir.IntType(64), ir.FloatType()
_V_I16, _V_HALF, _V_F32 = ir.VectorType(_I16, LANES), ir.VectorType(ir.HalfType(), LANES), ir.VectorType(_F32, LANES)
_FAST = ("fast",)


def _i64(value):
    return ir.Constant(_I64, value)


def _load_halves(builder, base, offset):
    """LANES float16 at base[offset] (an i16 pointer) as float32."""
    pointer = builder.bitcast(builder.gep(base, [offset]), _V_I16.as_pointer())
    return builder.fpext(builder.bitcast(builder.load(pointer, align=2), _V_HALF), _V_F32)


def _counted_loop(builder, count, n_acc, body):
    """for i in range(count) (count >= 1): accs = body(i, accs), accs starting at zero
    vectors; returns the final accs."""
    before = builder.block
    loop = builder.append_basic_block("loop")
    done = builder.append_basic_block("done")
    builder.branch(loop)
    builder.position_at_end(loop)
    i = builder.phi(_I64)
    i.add_incoming(_i64(0), before)
    accs = []
    for _ in range(n_acc):
        acc = builder.phi(_V_F32)
        acc.add_incoming(ir.Constant(_V_F32, [0.0] * LANES), before)
        accs.append(acc)
    new = body(i, accs)
    following = builder.add(i, _i64(1))
    end = builder.block
    i.add_incoming(following, end)
    for acc, value in zip(accs, new):
        acc.add_incoming(value, end)
    builder.cbranch(builder.icmp_unsigned("<", following, count), loop, done)
    builder.position_at_end(done)
    return new


def _fma(builder, acc, a, b):
    return builder.fadd(acc, builder.fmul(a, b, flags=_FAST), flags=_FAST)


def _pointers(context, builder, signature, args, wanted):
    """Typed pointers to array args[i] at element offset args[j], for (i, j, element) in wanted."""
    return [element_pointer(context, builder, signature.args[i], args[i], args[j], element) for i, j, element in wanted]


def _add_per_head(builder, accs, first, vectors, scalars):
    """The accs from `first` on, plus vectors times each head's scalar: per head h,
    accs[first + h * len(vectors) + i] += vectors[i] * scalars[h]."""
    new = []
    for h, scalar in enumerate(scalars):
        spread = splat(builder, _V_F32, scalar)
        new += [_fma(builder, accs[first + h * len(vectors) + i], v, spread) for i, v in enumerate(vectors)]
    return new


def _check(*arrays_and_ints):
    return all(isinstance(t, types.Array) or isinstance(t, types.Integer) or isinstance(t, types.Float)
               for t in arrays_and_ints)


def _scores(heads: int, chains: int):
    """chains = 2: dimensions taken two at a time into two sets of sums (head_dim even), so
    a single head still has eight independent additions in flight."""

    @intrinsic
    def block_scores(typingctx, keys, k_off, q, q_off, head_dim, scale, scores, s_off, s_stride):
        """scores[s_off + h * s_stride + p] = scale * sum over d of q[q_off + h * head_dim + d]
        * keys[k_off + d * KEY_BLOCK + p], p < KEY_BLOCK, h < heads (keys: float16 bits);
        head_dim a multiple of chains."""
        if not _check(keys, k_off, q, q_off, head_dim, scale, scores, s_off, s_stride):
            return None

        def codegen(context, builder, signature, args):
            kp, qp, sp = _pointers(context, builder, signature, args, ((0, 1, _I16), (2, 3, _F32), (6, 7, _F32)))
            dims = args[4]
            per_head = KEY_BLOCK // LANES

            def step(pair, accs):
                new = []
                for half in range(chains):
                    d = builder.add(builder.mul(pair, _i64(chains)), _i64(half))
                    row = builder.mul(d, _i64(KEY_BLOCK))
                    keys_d = [_load_halves(builder, kp, builder.add(row, _i64(LANES * i))) for i in range(per_head)]
                    q_d = [builder.load(builder.gep(qp, [builder.add(builder.mul(_i64(h), dims), d)]))
                           for h in range(heads)]
                    new += _add_per_head(builder, accs, half * heads * per_head, keys_d, q_d)
                return new

            steps = builder.udiv(dims, _i64(chains))
            sums = _counted_loop(builder, steps, chains * heads * per_head, step)
            if chains == 2:
                n = heads * per_head
                sums = [builder.fadd(sums[i], sums[n + i], flags=_FAST) for i in range(n)]
            sv = splat(builder, _V_F32, args[5])
            for h in range(heads):
                base = builder.mul(_i64(h), args[8])
                for i in range(per_head):
                    at = builder.gep(sp, [builder.add(base, _i64(LANES * i))])
                    builder.store(builder.fmul(sums[h * per_head + i], sv, flags=_FAST),
                                  builder.bitcast(at, _V_F32.as_pointer()), align=4)
            return context.get_dummy_value()

        return types.none(keys, k_off, q, q_off, head_dim, scale, scores, s_off, s_stride), codegen

    return block_scores


def _values(heads: int, head_dim: int):
    @intrinsic
    def weighted_values(typingctx, values, v_off, v_stride, weights, w_off, w_stride, n, out, o_off):
        """out[o_off + h * head_dim + j] = sum over p < n of weights[w_off + h * w_stride + p]
        * values[v_off + p * v_stride + j], j < head_dim, h < heads (values: float16 bits)."""
        if not _check(values, v_off, v_stride, weights, w_off, w_stride, n, out, o_off):
            return None

        def codegen(context, builder, signature, args):
            vp, wp, op = _pointers(context, builder, signature, args, ((0, 1, _I16), (3, 4, _F32), (7, 8, _F32)))
            per_head = head_dim // LANES

            def step(p, accs):
                row = builder.mul(p, args[2])
                vals = [_load_halves(builder, vp, builder.add(row, _i64(LANES * i))) for i in range(per_head)]
                w_p = [builder.load(builder.gep(wp, [builder.add(builder.mul(_i64(h), args[5]), p)]))
                       for h in range(heads)]
                return _add_per_head(builder, accs, 0, vals, w_p)

            sums = _counted_loop(builder, args[6], heads * per_head, step)
            for h in range(heads):
                for i in range(per_head):
                    at = builder.gep(op, [_i64(h * head_dim + LANES * i)])
                    builder.store(sums[h * per_head + i], builder.bitcast(at, _V_F32.as_pointer()), align=4)
            return context.get_dummy_value()

        return types.none(values, v_off, v_stride, weights, w_off, w_stride, n, out, o_off), codegen

    return weighted_values


scores_1, scores_1_odd, scores_2 = _scores(1, 2), _scores(1, 1), _scores(2, 1)
values_64_1, values_64_2 = _values(1, 64), _values(2, 64)
values_128_1, values_128_2 = _values(1, 128), _values(2, 128)
