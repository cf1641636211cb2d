"""Every layer's weights in named bundles of tiles, with Q/K/V and gate/up fused.

Generating a token runs about seven matrix products per layer; as separate Python calls
each one costs a dispatch and a parallel-region start, which on a 135M model is as much
as the arithmetic. Stacking the layers lets one numba call (decode_step.py) run the
whole stack, and fusing the matrices that read the same input (Q, K and V; gate and up)
halves the number of products. Any mix of types works: each matrix is tiled in its own
kind (quants/tiles.py), so llama.cpp's Q4_K_M files (Q6_K for V and ffn_down in some
layers) take the same path as single-type files.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from constrain.runtime.hparams import LlamaHParams
from constrain.runtime.quants.tiles import TiledRole, padded_rows


class LayerStack(NamedTuple):
    """The layers' weights as the decode step takes them (llama2.c's TransformerWeights)."""

    attn_norm: np.ndarray  # float32 (n_layer, dim)
    qkv: TiledRole  # (q_dim + 2 kv_dim) x dim: Q rows, then K, then V, each padded to whole tiles
    attn_output: TiledRole  # dim x q_dim
    ffn_norm: np.ndarray  # float32 (n_layer, dim)
    gate_up: TiledRole  # 2 ffn_dim x dim: gate rows, then up rows, each padded
    down: TiledRole  # dim x ffn_dim


class LayerShape(NamedTuple):
    """Sizes and offsets the decode step needs (all ints but eps)."""

    dim: int
    n_head: int
    n_kv_head: int
    head_dim: int
    ffn_dim: int
    k_at: int  # where K starts in the fused Q/K/V output (Q's rows padded to whole tiles)
    v_at: int
    up_at: int  # where up starts in the fused gate/up output
    eps: float

    @classmethod
    def of(cls, hp: LlamaHParams) -> LayerShape:
        k_at = padded_rows(hp.q_dim)
        return cls(hp.dim, hp.n_head, hp.n_kv_head, hp.head_dim, hp.ffn_dim, k_at, k_at + padded_rows(hp.kv_dim),
                   padded_rows(hp.ffn_dim), hp.rms_eps)


ROLES = {
    "qkv": ("wq", "wk", "wv"),
    "attn_output": ("wo",),
    "gate_up": ("w_gate", "w_up"),
    "down": ("w_down",),
}
