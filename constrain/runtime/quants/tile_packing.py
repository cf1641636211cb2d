"""GGUF rows -> tiles: the load-time half of tiles.py (whose docstring gives the layout).

Each 32-value block of a GGUF row is unpacked to its integers and the scale and min ggml
dequantizes it with, then written into its tile column pair. A role's tiles are planned from the
matrices' types and row counts alone (so the tile cache can map them before reading a byte),
filled, and frozen read-only.
"""

from __future__ import annotations

import numpy as np
from gguf.constants import GGMLQuantizationType as GT
from numba import njit

from constrain.runtime.quants.bits import load_f16, stored_to_f32, to_stored
from constrain.runtime.quants.kquant_kernels import k_scale_min, q3_k_scale
from constrain.runtime.quants.simd import TILE
from constrain.runtime.quants.tiles import (
    QUANT_KINDS,
    SUPER_BLOCK,
    T_F16,
    T_F32,
    T_I8,
    T_U4,
    T_U4_G16,
    T_U5,
    T_U6_G16,
    FloatTiles,
    QuantTiles,
    TiledRole,
    U,
    padded_rows,
)
from constrain.runtime.quants.type_traits import KIND_TRAITS, TYPE_TRAITS, TileKind

# GGML type codes for the repacking code (numba reads module-level ints as constants)
Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 = (int(GT.Q4_0), int(GT.Q4_1), int(GT.Q5_0), int(GT.Q5_1), int(GT.Q8_0))
Q2_K, Q3_K, Q4_K, Q5_K = int(GT.Q2_K), int(GT.Q3_K), int(GT.Q4_K), int(GT.Q5_K)


@njit(inline="always", cache=True)
def _u32(w, off):
    return (np.uint32(w[off]) | (np.uint32(w[off + 1]) << np.uint32(8))
            | (np.uint32(w[off + 2]) << np.uint32(16)) | (np.uint32(w[off + 3]) << np.uint32(24)))


@njit(cache=True)
def _unpack_block(code, w, ro, b, q, sm, sub, sup):
    """Block b (32 values) of the GGUF row at byte ro of `w`: q[0..31] the stored integers
    (unsigned, or int8 for Q8_0) and sm = (scale, min) of values 0..15, then of 16..31:
    value = scale * q + min, exactly as ggml dequantizes (the products are exact in float32).
    For K-quants also the two levels: scale = sup[0] * sub[0], min = sup[1] * sub[1] for
    values 0..15, sub[2], sub[3] for 16..31."""
    if code == Q4_0 or code == Q4_1:  # Q4_0, Q4_1
        size, qo = (18, 2) if code == Q4_0 else (20, 4)
        off = ro + b * size
        d = load_f16(w, U(off))
        m = -8.0 * d if code == Q4_0 else load_f16(w, U(off + 2))
        for j in range(16):
            q[j] = w[off + qo + j] & 15
            q[16 + j] = w[off + qo + j] >> 4
        sm[0] = sm[2] = d
        sm[1] = sm[3] = m
    elif code == Q5_0 or code == Q5_1:  # Q5_0, Q5_1
        size, ho, qo = (22, 2, 6) if code == Q5_0 else (24, 4, 8)
        off = ro + b * size
        d = load_f16(w, U(off))
        m = -16.0 * d if code == Q5_0 else load_f16(w, U(off + 2))
        qh = _u32(w, off + ho)
        for j in range(16):
            q[j] = (w[off + qo + j] & 15) | (((qh >> np.uint32(j)) & np.uint32(1)) << np.uint32(4))
            q[16 + j] = (w[off + qo + j] >> 4) | (((qh >> np.uint32(j + 16)) & np.uint32(1)) << np.uint32(4))
        sm[0] = sm[2] = d
        sm[1] = sm[3] = m
    elif code == Q8_0:  # Q8_0
        off = ro + b * 34
        d = load_f16(w, U(off))
        for j in range(32):
            q[j] = np.int8(w[off + 2 + j])
        sm[0] = sm[2] = d
        sm[1] = sm[3] = 0.0
    else:  # K-quants: 256-value super-blocks of 8 blocks of 32
        k = b % 8
        if code == Q2_K:  # Q2_K: scales[16] @0, qs[64] @16, d @80, dmin @82
            off = ro + (b // 8) * 84
            d = load_f16(w, U(off + 80))
            dmin = load_f16(w, U(off + 82))
            half, shift = k // 4, 2 * (k % 4)
            for j in range(32):
                q[j] = (w[off + 16 + half * 32 + j] >> shift) & 3
            sup[0], sup[1] = d, -dmin
            for g in range(2):
                sc = w[off + 2 * k + g]
                sub[2 * g], sub[2 * g + 1] = sc & 15, sc >> 4
                sm[2 * g] = d * np.float32(sc & 15)
                sm[2 * g + 1] = -dmin * np.float32(sc >> 4)
        elif code == Q3_K:  # Q3_K: hmask[32] @0, qs[64] @32, scales[12] @96, d @108
            off = ro + (b // 8) * 110
            d = load_f16(w, U(off + 108))
            half, si = k // 4, k % 4
            for j in range(32):
                low = (w[off + 32 + half * 32 + j] >> (2 * si)) & 3
                high = (w[off + j] >> (half * 4 + si)) & 1
                q[j] = low | (high << 2)
            sup[0], sup[1] = d, -4.0 * d
            for g in range(2):
                small = q3_k_scale(w, U(off + 96), 2 * k + g)
                sub[2 * g] = sub[2 * g + 1] = small
                scale = d * np.float32(small)
                sm[2 * g] = scale
                sm[2 * g + 1] = -4.0 * scale
        elif code == Q4_K or code == Q5_K:  # Q4_K, Q5_K: d, dmin, scales[12] @4, (qh[32] @16,) qs
            size, qo = (144, 16) if code == Q4_K else (176, 48)
            off = ro + (b // 8) * size
            d = load_f16(w, U(off))
            dmin = load_f16(w, U(off + 2))
            sc, mn = k_scale_min(w, U(off + 4), k)
            group, shift = k // 2, 4 * (k % 2)
            for j in range(32):
                v = (w[off + qo + group * 32 + j] >> shift) & 15
                if code == Q5_K:
                    v |= ((w[off + 16 + j] >> k) & 1) << 4
                q[j] = v
            sup[0], sup[1] = d, -dmin
            sub[0] = sub[2] = sc
            sub[1] = sub[3] = mn
            sm[0] = sm[2] = d * np.float32(sc)
            sm[1] = sm[3] = -dmin * np.float32(mn)
        else:  # Q6_K: ql[128] @0, qh[64] @128, scales int8[16] @192, d @208; value d*sc*(q-32)
            off = ro + (b // 8) * 210
            d = load_f16(w, U(off + 208))
            half, run = k // 4, k % 4
            for j in range(32):
                low = (w[off + half * 64 + (run % 2) * 32 + j] >> (4 * (run // 2))) & 15
                high = (w[off + 128 + half * 32 + j] >> (2 * run)) & 3
                q[j] = low | (high << 4)
            sup[0], sup[1] = d, 0.0
            for g in range(2):
                small = np.int32(np.int8(w[off + 192 + 2 * k + g]))
                sub[2 * g], sub[2 * g + 1] = small, 0
                sm[2 * g] = d * np.float32(small)
                sm[2 * g + 1] = 0.0


@njit(inline="always", cache=True)
def _put_scale(array, t, g, r, value):
    """array[t, g, r] <- value as the array stores it; False when that is not exact (a
    float16 slot given a value that is no float16)."""
    stored = to_stored(value, array)
    array[t, g, r] = stored
    return stored_to_f32(stored) == value or value != value  # a NaN stays a NaN


@njit(cache=True)
def _repack_quant(code, w, rows, cols, row_bytes, g16, scales, mins, quants, highs, subs):
    """GGUF rows -> tiles (module doc) in preallocated, zeroed arrays for ceil(rows/TILE)
    tiles. Returns False if some scale or min did not fit the arrays' scale type exactly."""
    nb = cols // 32
    hb = highs.shape[2] // 2
    has_mins = mins.shape[1] > 0
    two_level = subs.shape[1] > 0
    q = np.empty(32, np.int32)
    sm = np.empty(4, np.float32)
    sub = np.zeros(4, np.int32)
    sup = np.zeros(2, np.float32)
    exact = True
    for row in range(rows):
        t, r = row // TILE, row % TILE
        for b in range(nb):
            _unpack_block(code, w, row * row_bytes, b, q, sm, sub, sup)
            if two_level:
                per_group = 2 if g16 else 1
                span = subs.shape[1] // scales.shape[1]
                for k in range(per_group):
                    g = per_group * b + k
                    exact &= _put_scale(scales, t, g // span, r, sup[0])
                    subs[t, g, 0, r] = np.int8(sub[2 * k])
                    if has_mins:
                        exact &= _put_scale(mins, t, g // span, r, sup[1])
                        subs[t, g, 1, r] = np.int8(sub[2 * k + 1])
            else:
                per_group = 2 if g16 else 1
                for k in range(per_group):
                    exact &= _put_scale(scales, t, per_group * b + k, r, sm[2 * k])
                    if has_mins:
                        exact &= _put_scale(mins, t, per_group * b + k, r, sm[2 * k + 1])
            if quants.shape[2] == 16:  # int8 values
                for c in range(32):
                    quants[t, b, c // 2, r, c % 2] = np.uint8(q[c] & 255)
                continue
            for p in range(8):
                for e in range(2):
                    lo, hi = q[2 * p + e], q[16 + 2 * p + e]
                    quants[t, b, p, r, e] = (lo & 15) | ((hi & 15) << 4)
                    if hb > 0:
                        for half in range(2):
                            bit = (2 * p + half) * hb
                            v = hi if half else lo
                            highs[t, b, bit // 8, r, e] |= np.uint8((v >> 4) << (bit % 8))
    return exact



# ---------------------------------------------------------------------------- building

def tile_kind_of(ggml_type) -> TileKind:
    return TYPE_TRAITS[ggml_type].tile_kind


def _quant_tiles(kind: TileKind, n_tiles: int, cols: int, allocate, two_level: bool, half: bool) -> QuantTiles:
    traits = KIND_TRAITS[kind]
    nb = cols // 32
    groups = nb * (32 // traits.group)
    n_scales = cols // SUPER_BLOCK if two_level else groups
    scale_type = np.uint16 if half else np.float32
    return QuantTiles(
        scales=allocate((n_tiles, n_scales, TILE), scale_type),
        mins=allocate((n_tiles, n_scales if traits.has_mins else 0, TILE), scale_type),
        quants=allocate((n_tiles, nb, 16 if kind == T_I8 else 8, TILE, 2), np.uint8),
        highs=allocate((n_tiles, nb, 2 * max(traits.high_bits, 0), TILE, 2), np.uint8),
        subs=allocate((n_tiles, groups if two_level else 0, 2 if traits.has_mins else 1, TILE), np.int8),
    )


def _float_tiles(kind: TileKind, n_tiles: int, cols: int, allocate) -> FloatTiles:
    return FloatTiles(allocate((n_tiles, cols, TILE), np.uint16 if kind == T_F16 else np.float32))


def _slice(tiles, start: int, stop: int):
    return type(tiles)(*(a[start:stop] for a in tiles))


def repack_matrix(matrix, tiles) -> bool:
    """Write `matrix` (ggml_type, data: raw GGUF bytes, rows, cols) into `tiles`, zeroed
    arrays of exactly ceil(rows / TILE) tiles of its kind. False if a scale did not fit
    float16 tiles exactly (build again with float32 scales)."""
    code = int(matrix.ggml_type)
    traits = TYPE_TRAITS[matrix.ggml_type]
    if isinstance(tiles, FloatTiles):
        rows, cols = matrix.rows, matrix.cols
        if traits.ggml_type == GT.F32:
            values = matrix.data.view(np.float32)
        elif traits.ggml_type == GT.F16:
            values = matrix.data.view(np.uint16)
        else:  # BF16: the upper halves of float32s
            values = (matrix.data.view(np.uint16).astype(np.uint32) << np.uint32(16)).view(np.float32)
        values = values.reshape(rows, cols)
        full = rows // TILE
        target = tiles.values
        target[:full] = values[:full * TILE].reshape(full, TILE, cols).transpose(0, 2, 1)
        if rows % TILE:
            target[full, :, :rows % TILE] = values[full * TILE:].T
        return True
    g16 = KIND_TRAITS[traits.tile_kind].group == 16
    return _repack_quant(code, matrix.data, matrix.rows, matrix.cols, traits.row_bytes(matrix.cols), g16, *tiles)


def plan_role(layers):
    """(tile_kind, tile_slot, tiles per kind, kinds kept with two-level scales) of the
    TiledRole of `layers` (see build_role), from the matrices' types and row counts alone.
    A kind keeps the file's two-level scales when every matrix of that kind is a K-quant
    (a role mixing Q4_0 and Q4_K rows in one kind keeps one float scale per group)."""
    kinds = list(TileKind)
    counts = dict.fromkeys(kinds, 0)
    flat_kinds = {tile_kind_of(m.ggml_type) for group in layers for m in group
                  if not TYPE_TRAITS[m.ggml_type].two_level_scales}
    two_level = {kind for kind in QUANT_KINDS if kind not in flat_kinds}
    n_out = sum(padded_rows(m.rows) // TILE for m in layers[0])
    tile_kind = np.empty((len(layers), n_out), np.int64)
    tile_slot = np.empty((len(layers), n_out), np.int64)
    for layer, group in enumerate(layers):
        if sum(padded_rows(m.rows) // TILE for m in group) != n_out:
            raise ValueError("every layer of a role must have the same row counts")
        i = 0
        for m in group:
            kind, n = tile_kind_of(m.ggml_type), padded_rows(m.rows) // TILE
            tile_kind[layer, i:i + n] = int(kind)
            tile_slot[layer, i:i + n] = np.arange(counts[kind], counts[kind] + n)
            counts[kind] += n
            i += n
    return tile_kind, tile_slot, counts, two_level


def half_scales_fit(layers) -> bool:
    """Whether float16 scales can hold `layers` exactly: they hold the file's own float16
    scales (and two-level super-scales), not the products a K-quant's rows get where a
    kind keeps one scale per group because legacy rows share it. (A legacy min such as
    Q4_0's -8 d can still overflow float16: fill_role reports that.)"""
    _, _, _, two_level = plan_role(layers)
    return not any(TYPE_TRAITS[m.ggml_type].two_level_scales and tile_kind_of(m.ggml_type) not in two_level
                   for group in layers for m in group)


def empty_role(layers, allocate=np.zeros, half_scales: bool = True) -> TiledRole:
    """The TiledRole of `layers` with zeroed tiles from `allocate(shape, dtype)`, scales
    and mins as float16 bits (half_scales) or float32."""
    cols = layers[0][0].cols
    tile_kind, tile_slot, counts, two_level = plan_role(layers)
    stacks = {kind: (_quant_tiles(kind, counts[kind], cols, allocate, kind in two_level, half_scales)
                     if kind in QUANT_KINDS
                     else _float_tiles(kind, counts[kind], cols, allocate))
              for kind in TileKind}
    return TiledRole(tile_kind, tile_slot, stacks[T_U4], stacks[T_U4_G16], stacks[T_U5], stacks[T_U6_G16],
                     stacks[T_I8], stacks[T_F16], stacks[T_F32])


def fill_role(role: TiledRole, layers, release=None) -> bool:
    """Repack every matrix of `layers` into the tiles the role's map gives it. False (and
    the role only partly filled) when a scale did not fit the role's float16 scales."""
    stacks = dict(zip(TileKind, role[2:]))
    for layer, group in enumerate(layers):
        i = 0
        for m in group:
            n = padded_rows(m.rows) // TILE
            start = int(role.tile_slot[layer, i])
            if not repack_matrix(m, _slice(stacks[tile_kind_of(m.ggml_type)], start, start + n)):
                return False
            if release is not None:
                release(m)
            i += n
    return True


def build_role(layers, allocate=np.zeros, release=None) -> TiledRole:
    """The TiledRole of `layers`: per layer, a list of matrices (ggml_type, data, rows, cols)
    of one column count whose rows are fused in that order. Every layer must have the same
    row counts; types may differ anywhere. `allocate(shape, dtype)` must return zeroed
    arrays; `release(matrix)` is called once a matrix is repacked (its file pages may go).
    Scales are float16 bits where half_scales_fit and every value fits, else float32."""
    if half_scales_fit(layers):
        role = empty_role(layers, allocate, half_scales=True)
        if fill_role(role, layers, release):
            return role
    role = empty_role(layers, allocate, half_scales=False)
    fill_role(role, layers, release)
    return role


def frozen(role: TiledRole) -> TiledRole:
    """The role with every array read-only: the kernels are compiled for read-only arrays
    (what the tile cache's mapping gives), one specialization whatever the source."""
    for a in (role.tile_kind, role.tile_slot, *(a for part in role[2:] for a in part)):
        a.flags.writeable = False
    return role
