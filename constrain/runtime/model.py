"""The llama forward pass: token ids in, next-token logits out.

Read top to bottom it is the architecture: embed, then per layer RMSNorm -> attention
with RoPE and a KV cache -> residual, RMSNorm -> SwiGLU feed-forward -> residual; a final
RMSNorm and the output matrix. A prompt goes through as one batch, so every weight matrix
is streamed once per batch, not once per token; a single token (and each token of a batch
smaller than SMALL_BATCH) goes through all layers in one numba call (decode_step.py).
"""

from __future__ import annotations

import numba
import numpy as np

from constrain.runtime.threads import ThreadGovernor  # first: bounds the OpenMP spin before numba starts it
from constrain.runtime.attention import causal_attention, store
from constrain.runtime.decode_step import decode_layers
from constrain.runtime.gguf_file import GGUFFile
from constrain.runtime.hparams import LlamaHParams
from constrain.runtime.kv_cache import KVCache
from constrain.runtime.ops import add_inplace, apply_rope, rms_norm, rope_inverse_frequencies, swiglu
from constrain.runtime.quants.tiles import TILE, role_matmul
from constrain.runtime.stacked_layers import LayerShape
from constrain.runtime.weights import LlamaWeights


# Below this many tokens a batch goes through the one-token decode step token by token (one
# numba call for all layers). From about three tokens on the batch path is faster: its
# products run on int8 activations too, and each block of weights serves every token while
# it is in cache (SmolLM2-135M Q4_1, 2 threads, after 150 tokens: 2 tokens 36 against 37 ms,
# 4 tokens 48 against 83 ms; benchmarks/bench_small_batches.py).
SMALL_BATCH = 3


class LlamaModel:
    def __init__(self, gguf: GGUFFile, n_ctx: int, n_threads: int | None = None, cache_dir: str | None = None):
        """n_threads: fixed thread count; None uses the cores other processes leave free
        (threads.py), re-checked before each evaluation."""
        self.threads = ThreadGovernor(numba.config.NUMBA_NUM_THREADS, fixed=n_threads)
        self.hp = LlamaHParams.from_metadata(gguf.metadata, gguf.path)
        self.weights = LlamaWeights.load(gguf, self.hp, cache_dir=cache_dir)
        self.cache = KVCache(self.hp, n_ctx)
        self.inv_freq = rope_inverse_frequencies(self.hp.rope_dim, self.hp.rope_base, self.weights.rope_freq_factors)
        self.shape = LayerShape.of(self.hp)

    def forward(self, tokens: np.ndarray, logits_all: bool = False, need_logits: bool = True):
        """Evaluate `tokens` after the cached context; returns logits (n or 1, n_vocab),
        or None when the caller only needs the cache filled (a long prompt's early chunks)."""
        hp, w, cache = self.hp, self.weights, self.cache
        n = len(tokens)
        cache.check_room(n)
        start = cache.n_tokens
        numba.set_num_threads(self.threads.threads())
        x = w.token_embd.get_rows(tokens)
        if n < SMALL_BATCH:
            for i in range(n):
                decode_layers(x[i], start + i, self.inv_freq, hp.rope_scale, self.shape, w.stacked, cache.keys,
                              cache.values)
        else:
            positions = np.arange(start, start + n, dtype=np.float64)
            for layer_index in range(hp.n_layer):
                self._layer(x, layer_index, start, positions)
        cache.n_tokens = start + n
        if not need_logits:
            return None
        last = x if logits_all else x[n - 1:]
        return w.output.matmul(rms_norm(np.ascontiguousarray(last), w.output_norm, hp.rms_eps))

    def _product(self, role, layer_index, h):
        out = np.empty((h.shape[0], role.tile_kind.shape[1] * TILE), np.float32)
        role_matmul(role, layer_index, h, out)
        return out

    def _layer(self, x, layer_index, start, positions):
        """One layer over a batch of new tokens x (n, dim), in place."""
        hp, cache, s, stack = self.hp, self.cache, self.shape, self.weights.stacked
        h = rms_norm(x, stack.attn_norm[layer_index], hp.rms_eps)
        qkv = self._product(stack.qkv, layer_index, h)
        apply_rope(qkv, 0, hp.n_head, hp.head_dim, positions, self.inv_freq, hp.rope_scale)
        apply_rope(qkv, s.k_at, hp.n_kv_head, hp.head_dim, positions, self.inv_freq, hp.rope_scale)
        layer_keys = cache.keys[layer_index]
        layer_values = cache.values[layer_index]
        store(layer_keys, layer_values, qkv[:, s.k_at:s.k_at + hp.kv_dim], qkv[:, s.v_at:s.v_at + hp.kv_dim], start)
        attn = causal_attention(qkv[:, :hp.q_dim], layer_keys, layer_values, start, hp.n_head, hp.n_kv_head,
                                hp.head_dim)
        add_inplace(x, self._product(stack.attn_output, layer_index, attn)[:, :hp.dim])

        h = rms_norm(x, stack.ffn_norm[layer_index], hp.rms_eps)
        gated = swiglu(self._product(stack.gate_up, layer_index, h), s.up_at, hp.ffn_dim)
        add_inplace(x, self._product(stack.down, layer_index, gated)[:, :hp.dim])
