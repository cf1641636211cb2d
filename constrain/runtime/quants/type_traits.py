"""Every fact about a GGML tensor type the runtime uses, one row per type.

As ggml's `type_traits[]`: the block geometry, where the float16 scales sit in a block
(the synthetic writer and the tests set them), and which tile kind its rows are
repacked into (tiles.py). Kernels dispatch on the tile kind, never on the GGML type:
the GGML type only decides how a block is unpacked at load time.

Tile kinds (the layout of tiles.py; values are unsigned integers q with
value = scale * (q - zero) + min, scale and min per group of 16 or 32 values):

  U4      4-bit q, groups of 32, with mins      Q4_0 (min -8d), Q4_1, Q4_K
  U4_G16  4-bit q, groups of 16, with mins      Q2_K, Q3_K (min -4 scale)
  U5      5-bit q, groups of 32, with mins      Q5_0 (min -16d), Q5_1, Q5_K
  U6_G16  6-bit q, groups of 16, zero point 32  Q6_K
  I8      signed 8-bit q, groups of 32          Q8_0
  F16     IEEE half values                      F16
  F32     float32 values                        F32, BF16 (widened exactly)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

T = GGMLQuantizationType


class TileKind(IntEnum):
    U4 = 0
    U4_G16 = 1
    U5 = 2
    U6_G16 = 3
    I8 = 4
    F16 = 5
    F32 = 6


@dataclass(frozen=True)
class KindTraits:
    """How a tile kind stores a 32-value block of one row."""

    high_bits: int  # bits above the low nibble, in the high plane (0, 1 or 2); -1: not nibble-based
    group: int  # values per scale (16 or 32)
    has_mins: bool
    zero: int  # subtracted from q before scaling (U6_G16: 32)
    integer: bool  # products run as int8 activation dot products (else float32)


KIND_TRAITS = {
    TileKind.U4: KindTraits(0, 32, True, 0, True),
    TileKind.U4_G16: KindTraits(0, 16, True, 0, True),
    TileKind.U5: KindTraits(1, 32, True, 0, True),
    TileKind.U6_G16: KindTraits(2, 16, False, 32, True),
    TileKind.I8: KindTraits(-1, 32, False, 0, True),
    TileKind.F16: KindTraits(-1, 1, False, 0, False),
    TileKind.F32: KindTraits(-1, 1, False, 0, False),
}


@dataclass(frozen=True)
class TypeTraits:
    ggml_type: GGMLQuantizationType
    block_size: int  # values per block
    type_size: int  # bytes per block
    f16_scale_offsets: tuple[int, ...]  # byte offsets of the float16 super-scales (d, then dmin) in a block
    tile_kind: TileKind

    @property
    def two_level_scales(self) -> bool:
        """Scales are small integers times a float16 per 256-value super-block (K-quants)."""
        return self.block_size == 256

    @property
    def is_float(self) -> bool:
        return self.ggml_type in (T.F32, T.F16, T.BF16)

    def row_bytes(self, cols: int) -> int:
        return cols // self.block_size * self.type_size


def _row(t: GGMLQuantizationType, scale_offsets: tuple[int, ...], kind: TileKind) -> TypeTraits:
    block, size = GGML_QUANT_SIZES[t]
    return TypeTraits(t, block, size, scale_offsets, kind)


TYPE_TRAITS: dict[GGMLQuantizationType, TypeTraits] = {
    t.ggml_type: t for t in (
        _row(T.F32, (), TileKind.F32),
        _row(T.F16, (), TileKind.F16),
        _row(T.BF16, (), TileKind.F32),
        _row(T.Q4_0, (0,), TileKind.U4),
        _row(T.Q4_1, (0, 2), TileKind.U4),
        _row(T.Q5_0, (0,), TileKind.U5),
        _row(T.Q5_1, (0, 2), TileKind.U5),
        _row(T.Q8_0, (0,), TileKind.I8),
        _row(T.Q2_K, (80, 82), TileKind.U4_G16),
        _row(T.Q3_K, (108,), TileKind.U4_G16),
        _row(T.Q4_K, (0, 2), TileKind.U4),
        _row(T.Q5_K, (0, 2), TileKind.U5),
        _row(T.Q6_K, (208,), TileKind.U6_G16),
    )
}
