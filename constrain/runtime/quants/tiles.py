"""Weights in tiles of TILE rows, for every GGML type, and their kernels (tile_packing.py builds them at load).

GGUF stores a matrix row after row, so a matrix-vector product is one dot product per
row, which vectorizes poorly (numba-kernels.md: 10x below memory bandwidth). Here each
matrix is cut into tiles of TILE rows (the last one padded with zero rows) and, within a
tile, the bytes of two neighbouring columns of each row sit side by side for all TILE
rows: one vector load then holds a column pair of 16 rows, and simd.py's integer dot
products (vpmaddubsw) give 16 row sums at once. Prompt batches rewrite each block once into
a byte plane that serves all their rows (byte_planes.py).

Every GGML type is unpacked into one of a few tile kinds (type_traits.py): unsigned
4/5/6-bit values q with a float32 scale (and min) per group of 16 or 32 values, signed
8-bit values, or float values. Per 32-value block b of a tile:

  quants  uint8 (n_tiles, nb, pairs, TILE, 2)  pairs = 8 for nibble kinds: byte (p, r, e) holds
          value 2p+e of row r in its low nibble and value 16+2p+e in its high nibble;
          pairs = 16 for I8: byte (p, r, e) is value 2p+e as int8
  highs   uint8 (n_tiles, nb, 2*hb, TILE, 2)  the hb bits above the nibble: for the 16 values
          v = 2p+half of column e of a pair (half 1 = the high-nibble value), bits
          v*hb .. v*hb+hb-1 of the plane's bytes (little-endian), so 2*hb bytes per (r, e)
  scales  (n_tiles, groups, TILE), mins the same (or no groups for kinds without)
  subs    int8 (n_tiles, 0, 1, TILE): unused, the scales above are the groups' own
Scales and mins are stored as float16 bits (uint16) - the file's own values, so a token
step reads no more scale bytes than llama.cpp does - or as float32 where a value is no
float16 (a K-quant's group scale in a kind it shares with legacy types; an overflowing
-8 d): see tile_packing.py, which builds the tiles from GGUF rows.
Tiles whose rows all come from K-quants keep the file's two-level scales instead, as
integers times a float per 256-value super-block (what llama.cpp reads): then
  scales  (n_tiles, cols // 256, TILE): the super-block scale d (mins: -dmin)
  subs    int8 (n_tiles, groups, 1 or 2, TILE): each group's integer scale (and min)
and a group's scale is scales[super] * subs[group, 0]. Products of a float16 and a 6- or
8-bit integer are exact in float32, so both layouts give the same values; the two-level
one reads 4.625 bits per Q4_K value (Q6_K 6.56, as the file) instead of 6 (Q6_K 8), which
is what a memory-bound token step pays for.
Float kinds keep values (n_tiles, cols, TILE) float32 or float16 bits.

A TiledRole holds the matrices that read the same input in one layer (Q, K and V; gate
and up), for every layer, each matrix in its own kind: its output tiles map to
(kind, slot). One product is then one parallel loop over output tiles whatever the mix
of types, and the decode step never falls back to per-matrix calls because two layers
or two matrices differ.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from constrain.runtime.quants import byte_planes as planes
from constrain.runtime.quants.bits import f16_to_f32, stored_to_f32
from constrain.runtime.quants.block_kernels import multiply_chunk
from constrain.runtime.quants.simd import (
    HAVE_VNNI,
    PROMPT_ROWS,
    TILE,
    dot_i8_block,
    dot_u4_block,
    dot_u4_block_rows,
    dot_u5_block,
    dot_u6_block,
)
from constrain.runtime.quants.type_traits import TileKind

T_U4, T_U4_G16, T_U5, T_U6_G16, T_I8, T_F16, T_F32 = (
    TileKind.U4, TileKind.U4_G16, TileKind.U5, TileKind.U6_G16, TileKind.I8, TileKind.F16, TileKind.F32)
QUANT_KINDS = (T_U4, T_U4_G16, T_U5, T_U6_G16, T_I8)

# Columns decoded per step in the batched kernel, and output rows sharing one decoded chunk.
CHUNK = 256
ROW_TILE = 16
# int8 activations per pass of a batched product: every tile re-reads a pass's rows, so a
# pass should stay in a core's L2 (a 512-token prompt's 11,008-column rows are 5.6 MB).
PASS_BYTES = 1 << 19
# Values per K-quant super-block: one float scale (and min) for its groups' integer ones.
SUPER_BLOCK = 256

U = np.uint64  # unsigned indices: no negative-index wraparound to block vectorizing


class QuantTiles(NamedTuple):
    """The tiles of one quantized kind (module doc); n_tiles may be 0."""

    scales: np.ndarray  # uint16 float16 bits or float32 (n_tiles, groups_per_row or super_blocks_per_row, TILE)
    mins: np.ndarray  # as scales, or (n_tiles, 0, TILE) without mins
    quants: np.ndarray  # uint8 (n_tiles, blocks_per_row, 8 or 16, TILE, 2)
    highs: np.ndarray  # uint8 (n_tiles, blocks_per_row, 2 * high_bits, TILE, 2)
    subs: np.ndarray  # int8 (n_tiles, groups_per_row, 1 or 2, TILE), or (n_tiles, 0, 1, TILE): module doc


class FloatTiles(NamedTuple):
    values: np.ndarray  # float32 or float16 bits (n_tiles, cols, TILE)


class TiledRole(NamedTuple):
    """Matrices of `cols` columns fused by rows, per layer; each matrix's rows are padded
    to whole tiles, so matrix k's output starts at the sum of the earlier ones' padded rows."""

    tile_kind: np.ndarray  # int64 (n_layer, n_out_tiles): the TileKind of each output tile
    tile_slot: np.ndarray  # int64 (n_layer, n_out_tiles): its index among that kind's tiles
    u4: QuantTiles
    u4_g16: QuantTiles
    u5: QuantTiles
    u6_g16: QuantTiles
    i8: QuantTiles
    f16: FloatTiles
    f32: FloatTiles


def padded_rows(rows: int) -> int:
    return -(-rows // TILE) * TILE


# ---------------------------------------------------------------------------- kernels

@njit(inline="always", fastmath=True, cache=True)
def _quantize_into(x, xq, dx, sums):
    """x (cols,) quantized per 32-value block as llama.cpp's q8_0, x ~ dx[b] * xq, with
    sums[2b + half] the sum of xq over each 16 values; a trailing partial block is zero-padded."""
    cols = x.shape[0]
    for b in range(-(-cols // 32)):
        amax = np.float32(0.0)
        for j in range(32):
            c = b * 32 + j
            if c < cols:
                amax = max(amax, abs(x[c]))
        d = amax / np.float32(127.0)
        inv = np.float32(1.0) / d if d > 0 else np.float32(0.0)
        dx[b] = d
        for half in range(2):
            total = 0
            for j in range(16):
                c = b * 32 + half * 16 + j
                q = np.int8(np.rint(x[c] * inv)) if c < cols else np.int8(0)
                xq[c] = q
                total += q
            sums[2 * b + half] = np.float32(total)


@njit(inline="always", fastmath=True, cache=True)
def _block_scales(kind, tiles, t, b, sb):
    """sb (4, TILE) <- block b of tile t's scales per row: rows 0/1 for values 0..15 and
    16..31 (the same group for kinds with groups of 32), rows 2/3 their mins."""
    g16 = kind == T_U4_G16 or kind == T_U6_G16
    has_mins = tiles.mins.shape[1] > 0
    for half in range(2 if g16 else 1):
        g = 2 * b + half if g16 else b
        if tiles.subs.shape[1] > 0:
            sup = g // (tiles.subs.shape[1] // tiles.scales.shape[1])
            for r in range(TILE):
                sb[half, r] = stored_to_f32(tiles.scales[t, sup, r]) * np.float32(tiles.subs[t, g, 0, r])
            if has_mins:
                for r in range(TILE):
                    sb[2 + half, r] = stored_to_f32(tiles.mins[t, sup, r]) * np.float32(tiles.subs[t, g, 1, r])
        else:
            for r in range(TILE):
                sb[half, r] = stored_to_f32(tiles.scales[t, g, r])
            if has_mins:
                for r in range(TILE):
                    sb[2 + half, r] = stored_to_f32(tiles.mins[t, g, r])


@njit(inline="always", fastmath=True, cache=True)
def _scale_rows(kind, has_mins, sb, d, lo_sum, hi_sum, sums, o, acc):
    """_scale_block with the block's scales already in sb (_block_scales) and the sums
    at sums[o:o + 2 * TILE]."""
    if kind == T_U4_G16 or kind == T_U6_G16:
        zero = np.float32(32.0) if kind == T_U6_G16 else np.float32(0.0)
        lo_off = zero * lo_sum
        hi_off = zero * hi_sum
        if has_mins:
            xs0 = np.float32(d) * lo_sum
            xs1 = np.float32(d) * hi_sum
            for r in range(TILE):
                acc[r] += (d * (sb[0, r] * (sums[o + r] - lo_off) + sb[1, r] * (sums[o + TILE + r] - hi_off))
                           + sb[2, r] * xs0 + sb[3, r] * xs1)
        else:
            for r in range(TILE):
                acc[r] += d * (sb[0, r] * (sums[o + r] - lo_off) + sb[1, r] * (sums[o + TILE + r] - hi_off))
    else:
        dot_scale = np.float32(d)
        if has_mins:
            xs = np.float32(d) * (lo_sum + hi_sum)
            for r in range(TILE):
                acc[r] += sb[0, r] * dot_scale * (sums[o + r] + sums[o + TILE + r]) + sb[2, r] * xs
        else:
            for r in range(TILE):
                acc[r] += sb[0, r] * dot_scale * (sums[o + r] + sums[o + TILE + r])


# Two forms of the same scaling on purpose: a token step reads each block's scales once per
# row (_scale_groups32/16, fused with the products), a prompt batch works them out once per
# block for all its rows (_block_scales into scratch, then _scale_rows). Token steps through
# the scratch form ran 2-3% slower on Q4_K_M, Q6_K and Q8_0.

@njit(inline="always", fastmath=True, cache=True)
def _scale_groups32(tiles, t, b, d, lo_sum, hi_sum, sums, acc):
    """acc[r] += scale * d * (dot over the block) + min * d * (sum of xq over the block)."""
    dot_scale = np.float32(d)
    has_mins = tiles.mins.shape[1] > 0
    xs = np.float32(d) * (lo_sum + hi_sum)
    if tiles.subs.shape[1] > 0:
        sup = b // (tiles.subs.shape[1] // tiles.scales.shape[1])
        big = tiles.scales[t, sup]
        small = tiles.subs[t, b, 0]
        if has_mins:
            big_min = tiles.mins[t, sup]
            small_min = tiles.subs[t, b, 1]
            for r in range(TILE):
                acc[r] += ((stored_to_f32(big[r]) * np.float32(small[r])) * dot_scale * (sums[r] + sums[TILE + r])
                           + (stored_to_f32(big_min[r]) * np.float32(small_min[r])) * xs)
        else:
            for r in range(TILE):
                acc[r] += (stored_to_f32(big[r]) * np.float32(small[r])) * dot_scale * (sums[r] + sums[TILE + r])
        return
    sc = tiles.scales[t, b]
    if has_mins:
        mn = tiles.mins[t, b]
        for r in range(TILE):
            acc[r] += stored_to_f32(sc[r]) * dot_scale * (sums[r] + sums[TILE + r]) + stored_to_f32(mn[r]) * xs
    else:
        for r in range(TILE):
            acc[r] += stored_to_f32(sc[r]) * dot_scale * (sums[r] + sums[TILE + r])


@njit(inline="always", fastmath=True, cache=True)
def _scale_groups16(tiles, t, b, d, lo_sum, hi_sum, zero, sums, acc):
    """The same with a scale (and min) per 16 values and a zero point subtracted from q."""
    lo_off = np.float32(zero) * lo_sum
    hi_off = np.float32(zero) * hi_sum
    has_mins = tiles.mins.shape[1] > 0
    xs0 = np.float32(d) * lo_sum
    xs1 = np.float32(d) * hi_sum
    if tiles.subs.shape[1] > 0:
        sup = 2 * b // (tiles.subs.shape[1] // tiles.scales.shape[1])
        big = tiles.scales[t, sup]
        small0 = tiles.subs[t, 2 * b, 0]
        small1 = tiles.subs[t, 2 * b + 1, 0]
        if has_mins:
            big_min = tiles.mins[t, sup]
            small_min0 = tiles.subs[t, 2 * b, 1]
            small_min1 = tiles.subs[t, 2 * b + 1, 1]
            for r in range(TILE):
                scale, low = stored_to_f32(big[r]), stored_to_f32(big_min[r])
                acc[r] += (d * ((scale * np.float32(small0[r])) * (sums[r] - lo_off)
                                + (scale * np.float32(small1[r])) * (sums[TILE + r] - hi_off))
                           + (low * np.float32(small_min0[r])) * xs0
                           + (low * np.float32(small_min1[r])) * xs1)
        else:
            for r in range(TILE):
                scale = stored_to_f32(big[r])
                acc[r] += d * ((scale * np.float32(small0[r])) * (sums[r] - lo_off)
                               + (scale * np.float32(small1[r])) * (sums[TILE + r] - hi_off))
        return
    s0 = tiles.scales[t, 2 * b]
    s1 = tiles.scales[t, 2 * b + 1]
    if has_mins:
        m0 = tiles.mins[t, 2 * b]
        m1 = tiles.mins[t, 2 * b + 1]
        for r in range(TILE):
            acc[r] += (d * (stored_to_f32(s0[r]) * (sums[r] - lo_off)
                            + stored_to_f32(s1[r]) * (sums[TILE + r] - hi_off))
                       + stored_to_f32(m0[r]) * xs0 + stored_to_f32(m1[r]) * xs1)
    else:
        for r in range(TILE):
            acc[r] += d * (stored_to_f32(s0[r]) * (sums[r] - lo_off) + stored_to_f32(s1[r]) * (sums[TILE + r] - hi_off))


@njit(inline="always", fastmath=True, cache=True)
def _scale_block(kind, tiles, t, b, d, lo_sum, hi_sum, sums, acc):
    """acc (TILE,) += the block's integer dot products `sums`, scaled."""
    if kind == T_U4_G16:
        _scale_groups16(tiles, t, b, d, lo_sum, hi_sum, 0, sums, acc)
    elif kind == T_U6_G16:
        _scale_groups16(tiles, t, b, d, lo_sum, hi_sum, 32, sums, acc)
    else:
        _scale_groups32(tiles, t, b, d, lo_sum, hi_sum, sums, acc)


@njit(inline="always", fastmath=True, cache=True)
def _dot_block(kind, tiles, t, b, xq, x_off, sums):
    """sums (2 TILE) <- the integer dot products of block b of tile t's rows with the 32
    int8 activations at xq's flat offset x_off, values 0..15 then 16..31."""
    nb = tiles.quants.shape[1]
    q_base = (t * nb + b) * tiles.quants.shape[2] * TILE * 2
    h_base = (t * nb + b) * tiles.highs.shape[2] * TILE * 2
    if kind == T_I8:
        dot_i8_block(tiles.quants, q_base, xq, x_off, sums, 0)
    elif kind == T_U5:
        dot_u5_block(tiles.quants, q_base, tiles.highs, h_base, xq, x_off, sums, 0)
    elif kind == T_U6_G16:
        dot_u6_block(tiles.quants, q_base, tiles.highs, h_base, xq, x_off, sums, 0)
    else:
        dot_u4_block(tiles.quants, q_base, tiles.highs, h_base, xq, x_off, sums, 0)


@njit(inline="always", fastmath=True, cache=True)
def _scaled_rows(kind, plane, xq, x_off, x_stride, sb, dx, xsums, s_off, s_stride, acc, a_off):
    """byte_planes' fused step for SCALED_ROWS activation rows, by kind."""
    if kind == T_I8:
        planes.i8_rows(plane, 0, xq, x_off, x_stride, sb, dx, xsums, s_off, s_stride, acc, a_off)
    elif kind == T_U4_G16:
        planes.g16_mins_rows(plane, 0, xq, x_off, x_stride, sb, dx, xsums, s_off, s_stride, acc, a_off)
    elif kind == T_U6_G16:
        planes.g16_zero_rows(plane, 0, xq, x_off, x_stride, sb, dx, xsums, s_off, s_stride, acc, a_off)
    else:
        planes.g32_mins_rows(plane, 0, xq, x_off, x_stride, sb, dx, xsums, s_off, s_stride, acc, a_off)


@njit(inline="always", fastmath=True, cache=True)
def _scaled_row(kind, plane, xq, x_off, sb, dx, xsums, s_off, acc, a_off):
    """byte_planes' fused step for one activation row, by kind."""
    if kind == T_I8:
        planes.i8(plane, 0, xq, x_off, 0, sb, dx, xsums, s_off, 0, acc, a_off)
    elif kind == T_U4_G16:
        planes.g16_mins(plane, 0, xq, x_off, 0, sb, dx, xsums, s_off, 0, acc, a_off)
    elif kind == T_U6_G16:
        planes.g16_zero(plane, 0, xq, x_off, 0, sb, dx, xsums, s_off, 0, acc, a_off)
    else:
        planes.g32_mins(plane, 0, xq, x_off, 0, sb, dx, xsums, s_off, 0, acc, a_off)


@njit(inline="always", fastmath=True, cache=True)
def _quant_tile_batch_bytes(kind, tiles, t, xq, dx, xsums, acc):
    """_quant_tile_prompt through byte planes: each block decoded to bytes once for all rows
    (5-, 6- and 8-bit kinds; with VNNI the 4-bit ones too, as vpdpbusd then takes a row's four
    values in one step), then one fused step of products and scaling per SCALED_ROWS
    activation rows."""
    n, stride = xq.shape
    nb = tiles.quants.shape[1]
    flat, flat_dx, flat_sums, flat_acc = xq.reshape(-1), dx.reshape(-1), xsums.reshape(-1), acc.reshape(-1)
    plane = np.empty((TILE // 8, 8, 8, 4), np.uint8)
    flat_plane = plane.reshape(-1)
    sb = np.empty((4, TILE), np.float32)
    for b in range(nb):
        q_base = (t * nb + b) * tiles.quants.shape[2] * TILE * 2
        h_base = (t * nb + b) * tiles.highs.shape[2] * TILE * 2
        if kind == T_I8:
            planes.decode_i8(tiles.quants, q_base, tiles.highs, h_base, plane)
        elif kind == T_U5:
            planes.decode_u5(tiles.quants, q_base, tiles.highs, h_base, plane)
        elif kind == T_U6_G16:
            planes.decode_u6(tiles.quants, q_base, tiles.highs, h_base, plane)
        else:
            planes.decode_u4(tiles.quants, q_base, tiles.highs, h_base, plane)
        _block_scales(kind, tiles, t, b, sb)
        i = 0
        while i + planes.SCALED_ROWS <= n:
            _scaled_rows(kind, flat_plane, flat, i * stride + b * 32, stride, sb, flat_dx, flat_sums, i * nb + b, nb,
                         flat_acc, i * TILE)
            i += planes.SCALED_ROWS
        for j in range(i, n):
            _scaled_row(kind, flat_plane, flat, j * stride + b * 32, sb, flat_dx, flat_sums, j * nb + b, flat_acc,
                        j * TILE)


@njit(inline="always", fastmath=True, cache=True)
def _quant_tile_batch(kind, tiles, t, xq, dx, xsums, acc, sums):
    """acc (n, TILE) <- tile t times each quantized input row (xq (n, padded cols) int8,
    dx (n, nb), xsums (n, 2 nb)): each block of the tile, once loaded, serves every row."""
    n, stride = xq.shape
    for b in range(tiles.quants.shape[1]):
        for i in range(n):
            _dot_block(kind, tiles, t, b, xq, i * stride + b * 32, sums)
            _scale_block(kind, tiles, t, b, dx[i, b], xsums[i, 2 * b], xsums[i, 2 * b + 1], sums, acc[i])


@njit(inline="always", fastmath=True, cache=True)
def _quant_tile_prompt(kind, tiles, t, xq, dx, xsums, acc):
    """_quant_tile_batch for prompt batches of nibble tiles (U4, U4_G16) on CPUs without VNNI,
    where unpacking nibbles beat byte planes: each block's scales are worked out once for all
    rows, and its nibbles unpacked once for PROMPT_ROWS rows at a time."""
    n, stride = xq.shape
    has_mins = tiles.mins.shape[1] > 0
    sb = np.empty((4, TILE), np.float32)
    row_sums = np.empty(PROMPT_ROWS * 2 * TILE, np.float32)
    sums = np.empty(2 * TILE, np.float32)
    nb = tiles.quants.shape[1]
    for b in range(nb):
        _block_scales(kind, tiles, t, b, sb)
        q_base = (t * nb + b) * tiles.quants.shape[2] * TILE * 2
        h_base = (t * nb + b) * tiles.highs.shape[2] * TILE * 2
        i = 0
        while i + PROMPT_ROWS <= n:
            dot_u4_block_rows(tiles.quants, q_base, tiles.highs, h_base, xq, i * stride + b * 32, stride,
                              row_sums, 0)
            for k in range(PROMPT_ROWS):
                j = i + k
                _scale_rows(kind, has_mins, sb, dx[j, b], xsums[j, 2 * b], xsums[j, 2 * b + 1], row_sums,
                            2 * TILE * k, acc[j])
            i += PROMPT_ROWS
        for j in range(i, n):
            _dot_block(kind, tiles, t, b, xq, j * stride + b * 32, sums)
            _scale_rows(kind, has_mins, sb, dx[j, b], xsums[j, 2 * b], xsums[j, 2 * b + 1], sums, 0, acc[j])


@njit(inline="always", fastmath=True, cache=True)
def _float_tile(values, t, x, acc, half):
    for r in range(TILE):
        acc[r] = np.float32(0.0)
    for c in range(values.shape[1]):
        xc = x[c]
        row = values[t, c]
        if half:
            for r in range(TILE):
                acc[r] += f16_to_f32(row[r]) * xc
        else:
            for r in range(TILE):
                acc[r] += row[r] * xc


# numba's parallel loops cannot capture tuples of arrays, so the parallel kernels take the
# role's arrays one by one and rebuild the named bundles inside the loop body.

@njit(inline="always", cache=True)
def _role(kind, slot, a0, a1, a2, a3, a4, b0, b1, b2, b3, b4, c0, c1, c2, c3, c4, d0, d1, d2, d3, d4,
          e0, e1, e2, e3, e4, f16, f32):
    return TiledRole(kind, slot, QuantTiles(a0, a1, a2, a3, a4), QuantTiles(b0, b1, b2, b3, b4),
                     QuantTiles(c0, c1, c2, c3, c4), QuantTiles(d0, d1, d2, d3, d4), QuantTiles(e0, e1, e2, e3, e4),
                     FloatTiles(f16), FloatTiles(f32))


@njit(parallel=True, fastmath=True, cache=True)
def _matvec_rows_parallel(kind, slot, a0, a1, a2, a3, a4, b0, b1, b2, b3, b4, c0, c1, c2, c3, c4, d0, d1, d2, d3, d4,
                          e0, e1, e2, e3, e4, f16, f32, layer, x, xq, dx, xsums, out):
    n = x.shape[0]
    for i in prange(kind.shape[1]):
        role = _role(kind, slot, a0, a1, a2, a3, a4, b0, b1, b2, b3, b4, c0, c1, c2, c3, c4, d0, d1, d2, d3, d4,
                     e0, e1, e2, e3, e4, f16, f32)
        k = kind[layer, i]
        s = slot[layer, i]
        acc = np.zeros((n, TILE), np.float32)
        sums = np.empty(2 * TILE, np.float32)
        # per row its own block-by-block accumulation (no byte-decoded planes, no row pairs):
        # a row's result does not depend on its company
        if k == T_U4:
            _quant_tile_batch(T_U4, role.u4, s, xq, dx, xsums, acc, sums)
        elif k == T_U5:
            _quant_tile_batch(T_U5, role.u5, s, xq, dx, xsums, acc, sums)
        elif k == T_U6_G16:
            _quant_tile_batch(T_U6_G16, role.u6_g16, s, xq, dx, xsums, acc, sums)
        elif k == T_I8:
            _quant_tile_batch(T_I8, role.i8, s, xq, dx, xsums, acc, sums)
        elif k == T_U4_G16:
            _quant_tile_batch(T_U4_G16, role.u4_g16, s, xq, dx, xsums, acc, sums)
        elif k == T_F16:
            for t in range(n):
                _float_tile(role.f16.values, s, x[t], acc[t], True)
        else:
            for t in range(n):
                _float_tile(role.f32.values, s, x[t], acc[t], False)
        for t in range(n):
            for r in range(TILE):
                out[t, i * TILE + r] = acc[t, r]


@njit(inline="always", cache=True)
def role_matvec_rows(role, layer, x, xq, dx, xsums, out):
    """out (n, n_out_tiles * TILE) = the product of `layer` with each row of x (n, cols),
    every row computed exactly as it would be alone, each block of weights
    serving all rows while it is in cache; xq/dx/xsums hold x's rows quantized
    (quantize_rows)."""
    _matvec_rows_parallel(role.tile_kind, role.tile_slot,
                          role.u4.scales, role.u4.mins, role.u4.quants, role.u4.highs, role.u4.subs,
                          role.u4_g16.scales, role.u4_g16.mins, role.u4_g16.quants, role.u4_g16.highs, role.u4_g16.subs,
                          role.u5.scales, role.u5.mins, role.u5.quants, role.u5.highs, role.u5.subs,
                          role.u6_g16.scales, role.u6_g16.mins, role.u6_g16.quants, role.u6_g16.highs, role.u6_g16.subs,
                          role.i8.scales, role.i8.mins, role.i8.quants, role.i8.highs, role.i8.subs,
                          role.f16.values, role.f32.values, layer, x, xq, dx, xsums, out)


@njit(cache=True)
def new_row_activations(n, cols):
    """Buffers for n input rows of `cols` values: xq (n, padded cols), dx, xsums."""
    nb = (cols + 31) // 32
    return np.zeros((n, nb * 32), np.int8), np.zeros((n, nb), np.float32), np.zeros((n, 2 * nb), np.float32)


@njit(inline="always", fastmath=True, cache=True)
def quantize_rows(x, xq, dx, xsums):
    """Each row of x (n, cols) quantized per 32-value block (_quantize_into)."""
    for i in range(x.shape[0]):
        _quantize_into(x[i], xq[i], dx[i], xsums[i])


@njit(cache=True)
def matvec_rows(role, layer, x, out):
    """quantize x's rows, then role_matvec_rows: from Python in one call."""
    xq, dx, xsums = new_row_activations(x.shape[0], x.shape[1])
    quantize_rows(x, xq, dx, xsums)
    role_matvec_rows(role, layer, x, xq, dx, xsums, out)


# ---- decoding values (embedding lookups and the batched kernel)

@njit(inline="always", cache=True)
def _decode_quant_block(kind, tiles, t, b, r, out, c0):
    """out[c0:c0+32] = the 32 values of block b of row r of tile t."""
    hb = tiles.highs.shape[2] // 2
    zero = np.float32(32.0) if kind == T_U6_G16 else np.float32(0.0)
    has_mins = tiles.mins.shape[1] > 0
    for half in range(2):
        g = 2 * b + half if kind == T_U4_G16 or kind == T_U6_G16 else b
        if tiles.subs.shape[1] > 0:
            sup = g // (tiles.subs.shape[1] // tiles.scales.shape[1])
            d = stored_to_f32(tiles.scales[t, sup, r]) * np.float32(tiles.subs[t, g, 0, r])
            m = np.float32(0.0)
            if has_mins:
                m = stored_to_f32(tiles.mins[t, sup, r]) * np.float32(tiles.subs[t, g, 1, r])
        else:
            d = stored_to_f32(tiles.scales[t, g, r])
            m = stored_to_f32(tiles.mins[t, g, r]) if has_mins else np.float32(0.0)
        for j in range(16):
            col = 16 * half + j
            if kind == T_I8:
                q = np.float32(np.int8(tiles.quants[t, b, col // 2, r, col % 2]))
            else:
                p, e = j // 2, j % 2
                byte = np.int32(tiles.quants[t, b, p, r, e])
                v = (byte >> (4 * half)) & 15
                if hb > 0:
                    bit = (2 * p + half) * hb
                    v |= ((np.int32(tiles.highs[t, b, bit // 8, r, e]) >> (bit % 8)) & ((1 << hb) - 1)) << 4
                q = np.float32(v)
            out[c0 + col] = d * (q - zero) + m


@njit(inline="always", cache=True)
def _decode_span(role, layer, i, r, b0, nblk, out):
    """out[:nblk*32] = columns b0*32.. of row r of output tile i of `layer`."""
    kind = role.tile_kind[layer, i]
    s = role.tile_slot[layer, i]
    if kind == T_F16 or kind == T_F32:
        for c in range(nblk * 32):
            if kind == T_F16:
                out[c] = f16_to_f32(role.f16.values[s, b0 * 32 + c, r])
            else:
                out[c] = role.f32.values[s, b0 * 32 + c, r]
        return
    for k in range(nblk):
        if kind == T_U4:
            _decode_quant_block(T_U4, role.u4, s, b0 + k, r, out, k * 32)
        elif kind == T_U5:
            _decode_quant_block(T_U5, role.u5, s, b0 + k, r, out, k * 32)
        elif kind == T_U6_G16:
            _decode_quant_block(T_U6_G16, role.u6_g16, s, b0 + k, r, out, k * 32)
        elif kind == T_I8:
            _decode_quant_block(T_I8, role.i8, s, b0 + k, r, out, k * 32)
        else:
            _decode_quant_block(T_U4_G16, role.u4_g16, s, b0 + k, r, out, k * 32)


@njit(cache=True)
def get_rows(role, layer, cols, ids, out):
    """out[i] = row ids[i] of the role's fused rows in `layer` (an embedding lookup)."""
    nb = -(-cols // 32)
    row = np.empty(nb * 32, np.float32)
    for i in range(ids.shape[0]):
        _decode_span(role, layer, ids[i] // TILE, ids[i] % TILE, 0, nb, row)
        out[i, :cols] = row[:cols]


@njit(parallel=True, fastmath=True, cache=True)
def _matmul_parallel(kind, slot, a0, a1, a2, a3, a4, b0, b1, b2, b3, b4, c0, c1, c2, c3, c4, d0, d1, d2, d3, d4,
                     e0, e1, e2, e3, e4, f16, f32, layer, x, xq, dx, xsums, out):
    n, cols = x.shape
    nb = -(-cols // 32)
    chunk_blocks = CHUNK // 32
    for i in prange(kind.shape[1]):
        role = _role(kind, slot, a0, a1, a2, a3, a4, b0, b1, b2, b3, b4, c0, c1, c2, c3, c4, d0, d1, d2, d3, d4,
                     e0, e1, e2, e3, e4, f16, f32)
        k = kind[layer, i]
        s = slot[layer, i]
        if k != T_F16 and k != T_F32:
            acc = np.zeros((n, TILE), np.float32)
            if k == T_U4:
                if HAVE_VNNI:  # vpdpbusd on bytes beats unpacking nibbles for two rows at a time
                    _quant_tile_batch_bytes(T_U4, role.u4, s, xq, dx, xsums, acc)
                else:
                    _quant_tile_prompt(T_U4, role.u4, s, xq, dx, xsums, acc)
            elif k == T_U5:
                _quant_tile_batch_bytes(T_U5, role.u5, s, xq, dx, xsums, acc)
            elif k == T_U6_G16:
                _quant_tile_batch_bytes(T_U6_G16, role.u6_g16, s, xq, dx, xsums, acc)
            elif k == T_I8:
                _quant_tile_batch_bytes(T_I8, role.i8, s, xq, dx, xsums, acc)
            elif HAVE_VNNI:
                _quant_tile_batch_bytes(T_U4_G16, role.u4_g16, s, xq, dx, xsums, acc)
            else:
                _quant_tile_prompt(T_U4_G16, role.u4_g16, s, xq, dx, xsums, acc)
            for t in range(n):
                for r in range(TILE):
                    out[t, i * TILE + r] = acc[t, r]
            continue
        # float tiles: decoded ROW_TILE rows at a time, CHUNK columns at a time, into an
        # L1-sized float32 scratch that serves every input row
        scratch = np.empty((ROW_TILE, CHUNK), np.float32)
        for r0 in range(0, TILE, ROW_TILE):
            acc = np.zeros((n, ROW_TILE), np.float32)
            for first in range(0, nb, chunk_blocks):
                nblk = min(chunk_blocks, nb - first)
                for rr in range(ROW_TILE):
                    _decode_span(role, layer, i, r0 + rr, first, nblk, scratch[rr])
                span = min(nblk * 32, cols - first * 32)
                multiply_chunk(scratch, ROW_TILE, U(span), x, U(first * 32), acc)
            for t in range(n):
                for rr in range(ROW_TILE):
                    out[t, i * TILE + r0 + rr] = acc[t, rr]


@njit(parallel=True, fastmath=True, cache=True)
def _quantize_rows(x, xq, dx, xsums):
    # (the rows' views go in one by one: writes through a tuple of views built inside a
    # parallel loop were lost)
    for i in prange(x.shape[0]):
        _quantize_into(x[i], xq[i], dx[i], xsums[i])


@njit(cache=True)
def role_matmul(role, layer, x, xq, dx, xsums, out):
    """out (n, n_out_tiles * TILE) = x (n, cols) times the fused rows of `layer`, transposed:
    the quantized tiles take each row of x quantized to int8 (as one token's product does)
    into xq/dx/xsums (new_row_activations' shapes), every block of weights serving all rows
    while it is in cache. Rows go in passes of at most PASS_BYTES of activations, which every
    tile of a thread then reads from its core's cache."""
    _quantize_rows(x, xq, dx, xsums)
    n = x.shape[0]
    step = max(2, PASS_BYTES // xq.shape[1] // 2 * 2)
    for first in range(0, n, step):
        last = min(n, first + step)
        _matmul_parallel(role.tile_kind, role.tile_slot,
                         role.u4.scales, role.u4.mins, role.u4.quants, role.u4.highs, role.u4.subs,
                         role.u4_g16.scales, role.u4_g16.mins, role.u4_g16.quants, role.u4_g16.highs,
                         role.u4_g16.subs,
                         role.u5.scales, role.u5.mins, role.u5.quants, role.u5.highs, role.u5.subs,
                         role.u6_g16.scales, role.u6_g16.mins, role.u6_g16.quants, role.u6_g16.highs,
                         role.u6_g16.subs,
                         role.i8.scales, role.i8.mins, role.i8.quants, role.i8.highs, role.i8.subs,
                         role.f16.values, role.f32.values, layer, x[first:last], xq[first:last], dx[first:last],
                         xsums[first:last], out[first:last])
