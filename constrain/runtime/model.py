"""The llama forward pass: token ids in, next-token logits out.

Read top to bottom it is the architecture: embed, then per layer RMSNorm -> attention
with RoPE and a KV cache -> residual, RMSNorm -> SwiGLU feed-forward -> residual; a final
RMSNorm and the output matrix. A prompt goes through as one batch, so every weight matrix
is streamed once per batch, not once per token.
"""

from __future__ import annotations

import numpy as np

from constrain.runtime.attention import causal_attention, store
from constrain.runtime.decode_step import decode_layers
from constrain.runtime.gguf_file import GGUFFile
from constrain.runtime.hparams import LlamaHParams
from constrain.runtime.kv_cache import KVCache
from constrain.runtime.ops import (
    add_inplace,
    apply_rope,
    rms_norm,
    rope_inverse_frequencies,
    silu_mul,
    silu_mul_halves,
)
from constrain.runtime.quants.row_tiles import KERNEL_KIND
from constrain.runtime.stacked_layers import StackedLayers
from constrain.runtime.weights import LlamaWeights


class LlamaModel:
    def __init__(self, gguf: GGUFFile, n_ctx: int):
        self.hp = LlamaHParams.from_metadata(gguf.metadata, gguf.path)
        self.weights = LlamaWeights.load(gguf, self.hp)
        self.cache = KVCache(self.hp, n_ctx)
        self.inv_freq = rope_inverse_frequencies(self.hp.rope_dim, self.hp.rope_base, self.weights.rope_freq_factors)
        stacked = self.weights.stacked
        if stacked is not None:
            self._layer_matrices = [StackedLayerMatrices(stacked, i, self.hp) for i in range(self.hp.n_layer)]
            roles = (stacked.qkv, stacked.attn_output, stacked.gate_up, stacked.down)
            # decode_layers' weight arguments, gathered once rather than per generated token
            self._decode_weights = (
                np.array([KERNEL_KIND[role.kind] for role in roles], np.int64),
                *[a for role in roles for a in (role.scales, role.mins, role.quants)],
                stacked.attn_norm, stacked.ffn_norm,
            )
        else:
            self._layer_matrices = [SeparateLayerMatrices(layer) for layer in self.weights.layers]

    def forward(self, tokens: np.ndarray, logits_all: bool = False, need_logits: bool = True):
        """Evaluate `tokens` after the cached context; returns logits (n or 1, n_vocab),
        or None when the caller only needs the cache filled (a long prompt's early chunks)."""
        hp, w, cache = self.hp, self.weights, self.cache
        n = len(tokens)
        cache.check_room(n)
        start = cache.n_tokens
        x = w.token_embd.get_rows(tokens)
        if n == 1 and w.stacked is not None:
            self._decode_one(x[0], start)
        else:
            positions = np.arange(start, start + n, dtype=np.float64)
            for layer_index in range(hp.n_layer):
                self._layer(x, layer_index, start, positions)
        cache.n_tokens = start + n
        if not need_logits:
            return None
        last = x if logits_all else x[n - 1:]
        return w.output.matmul(rms_norm(np.ascontiguousarray(last), w.output_norm, hp.rms_eps))

    def _layer(self, x, layer_index, start, positions):
        """One layer over a batch of new tokens x (n, dim), in place."""
        hp, cache = self.hp, self.cache
        n = x.shape[0]
        layer, matrices = self.weights.layers[layer_index], self._layer_matrices[layer_index]
        h = rms_norm(x, layer.attn_norm, hp.rms_eps)
        q, k, v = matrices.qkv(h)
        apply_rope(q, hp.n_head, hp.head_dim, hp.rope_dim, positions, self.inv_freq, hp.rope_scale)
        apply_rope(k, hp.n_kv_head, hp.head_dim, hp.rope_dim, positions, self.inv_freq, hp.rope_scale)
        layer_keys = cache.keys[layer_index]
        layer_values = cache.values[layer_index]
        store(layer_keys, layer_values, k, v, start)
        attn = causal_attention(q, layer_keys, layer_values, start, hp.n_head, hp.n_kv_head, hp.head_dim)
        add_inplace(x, matrices.attn_output(attn))

        h = rms_norm(x, layer.ffn_norm, hp.rms_eps)
        add_inplace(x, matrices.down(matrices.gated(h)))

    def _decode_one(self, x, position):
        """One token through every layer in one numba call (decode_step.py), x in place."""
        hp, cache = self.hp, self.cache
        decode_layers(x, position, self.inv_freq, hp.rope_scale, hp.rms_eps, hp.n_head, hp.n_kv_head,
                      hp.head_dim, *self._decode_weights, cache.keys, cache.values)


class SeparateLayerMatrices:
    """A layer's products through its own QuantMatrix objects (any weight type)."""

    def __init__(self, layer):
        self.layer = layer

    def qkv(self, h):
        return self.layer.wq.matmul(h), self.layer.wk.matmul(h), self.layer.wv.matmul(h)

    def attn_output(self, attn):
        return self.layer.wo.matmul(attn)

    def gated(self, h):
        return silu_mul(self.layer.w_gate.matmul(h), self.layer.w_up.matmul(h))

    def down(self, gated):
        return self.layer.w_down.matmul(gated)


class StackedLayerMatrices:
    """A layer's products through the stacked, fused row tiles (stacked_layers.py)."""

    def __init__(self, stacked: StackedLayers, index: int, hp: LlamaHParams):
        self.s, self.i = stacked, index
        self.q_dim, self.kv_dim, self.ffn_dim = hp.q_dim, hp.kv_dim, hp.ffn_dim

    def qkv(self, h):
        qkv = self.s.qkv.matmul(self.i, h)
        q_end, k_end = self.q_dim, self.q_dim + self.kv_dim
        return (np.ascontiguousarray(qkv[:, :q_end]), np.ascontiguousarray(qkv[:, q_end:k_end]),
                qkv[:, k_end:])

    def attn_output(self, attn):
        return self.s.attn_output.matmul(self.i, attn)

    def gated(self, h):
        return silu_mul_halves(self.s.gate_up.matmul(self.i, h), self.ffn_dim)

    def down(self, gated):
        return self.s.down.matmul(self.i, np.ascontiguousarray(gated))
