"""Every layer's weights of one role in one row-tiled array, with Q/K/V and gate/up fused.

Generating a token runs about seven matrix products per layer; as separate Python calls
each one costs a dispatch and a parallel-region start, which on a 135M model is as much
as the arithmetic. Stacking the layers lets one numba call (decode_step.py) run the
whole stack, and fusing the matrices that read the same input (Q, K and V; gate and up)
halves the number of products.

The stack exists only when every layer stores each role in the same row-tiled type
(row_tiles.py: Q4_0, Q4_1, Q8_0, Q4_K); other models keep the per-matrix path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from constrain.runtime.quants import row_tiles
from constrain.runtime.quants.row_tiles import GEOMETRY, TILE


@dataclass
class TiledRole:
    """Rows of several matrices, per layer, in row_tiles' layout with a leading layer axis."""

    kind: int
    scales: np.ndarray  # float16 bits or float32 (n_layer, n_tiles, nb, TILE)
    mins: np.ndarray  # same type (n_layer, n_tiles, nb, TILE), or (n_layer, 0, 0, 0) without mins
    quants: np.ndarray  # uint8 (n_layer, n_tiles, nb, QB, TILE)

    @property
    def rows(self) -> int:
        return self.scales.shape[1] * TILE

    def matmul(self, layer: int, x: np.ndarray) -> np.ndarray:
        """x (n, cols) float32 C-contiguous -> (n, rows): this role's product in one layer."""
        out = np.empty((x.shape[0], self.rows), np.float32)
        kernel = row_tiles.KERNELS[self.kind][1]
        kernel(self.scales[layer], self.mins[layer], self.quants[layer], x, out)
        return out


@dataclass
class StackedLayers:
    qkv: TiledRole  # rows: q_dim query rows, then kv_dim key rows, then kv_dim value rows
    attn_output: TiledRole
    gate_up: TiledRole  # rows: ffn_dim gate rows, then ffn_dim up rows
    down: TiledRole
    attn_norm: np.ndarray  # float32 (n_layer, dim)
    ffn_norm: np.ndarray


ROLES = {
    "qkv": ("wq", "wk", "wv"),
    "attn_output": ("wo",),
    "gate_up": ("w_gate", "w_up"),
    "down": ("w_down",),
}


def stack_layers(layers, release=None) -> StackedLayers | None:
    """The stacked, fused copy of `layers` (LayerWeights), or None when the model's
    matrices are not all of one row-tiled type per role. `release(matrix)` is called as
    soon as a matrix is copied, so its file pages can go before the next one is read
    (a 7B model would otherwise hold the file and the copy at once)."""
    groups = {role: [[getattr(layer, name) for name in names] for layer in layers] for role, names in ROLES.items()}
    for matrices in groups.values():
        kind = matrices[0][0].ggml_type
        if any(m.ggml_type != kind or not row_tiles.can_tile(m.ggml_type, m.rows)
               for group in matrices for m in group):
            return None
    roles = {role: _stack_role(int(matrices[0][0].ggml_type), matrices, release)
             for role, matrices in groups.items()}
    return StackedLayers(
        attn_norm=np.stack([layer.attn_norm for layer in layers]),
        ffn_norm=np.stack([layer.ffn_norm for layer in layers]),
        **roles,
    )


def _stack_role(kind: int, matrices, release) -> TiledRole:
    """Repack each layer's matrices, one after another in rows, straight into the stack."""
    _, _, quant_bytes = GEOMETRY[kind]
    n_layer = len(matrices)
    n_tiles = sum(m.rows for m in matrices[0]) // TILE
    nb = matrices[0][0].cols // 32
    dtype = row_tiles.scale_dtype(kind)
    scales = np.empty((n_layer, n_tiles, nb, TILE), dtype)
    has_min = row_tiles.has_mins(kind)
    mins = np.empty((n_layer, n_tiles, nb, TILE) if has_min else (n_layer, 0, 0, 0), dtype)
    quants = np.empty((n_layer, n_tiles, nb, quant_bytes, TILE), np.uint8)
    for layer_index, group in enumerate(matrices):
        first = 0
        for m in group:
            tiles = slice(first, first + m.rows // TILE)
            row_tiles.repack_into(kind, m.data, m.rows, m.cols, scales[layer_index, tiles],
                                  mins[layer_index, tiles] if has_min else mins[layer_index],
                                  quants[layer_index, tiles])
            if release is not None:
                release(m)
            first = tiles.stop
    return TiledRole(kind, scales, mins, quants)
