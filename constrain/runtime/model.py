"""The llama forward pass: token ids in, next-token logits out.

Read top to bottom it is the architecture: embed, then per layer RMSNorm -> attention
with RoPE and a KV cache -> residual, RMSNorm -> SwiGLU feed-forward -> residual; a final
RMSNorm and the output matrix. A prompt goes through as one batch, so every weight matrix
is streamed once per batch, not once per token.
"""

from __future__ import annotations

import numpy as np

from constrain.runtime.gguf_file import GGUFFile
from constrain.runtime.hparams import LlamaHParams
from constrain.runtime.kv_cache import KVCache
from constrain.runtime.ops import (
    add_inplace,
    apply_rope,
    causal_attention,
    rms_norm,
    rope_inverse_frequencies,
    silu_mul,
)
from constrain.runtime.weights import LlamaWeights


class LlamaModel:
    def __init__(self, gguf: GGUFFile, n_ctx: int):
        self.hp = LlamaHParams.from_metadata(gguf.metadata, gguf.path)
        self.weights = LlamaWeights.load(gguf, self.hp)
        self.cache = KVCache(self.hp, n_ctx)
        self.inv_freq = rope_inverse_frequencies(self.hp.rope_dim, self.hp.rope_base, self.weights.rope_freq_factors)

    def forward(self, tokens: np.ndarray, logits_all: bool = False, need_logits: bool = True):
        """Evaluate `tokens` after the cached context; returns logits (n or 1, n_vocab),
        or None when the caller only needs the cache filled (a long prompt's early chunks)."""
        hp, w, cache = self.hp, self.weights, self.cache
        n = len(tokens)
        cache.check_room(n)
        start = cache.n_tokens
        positions = np.arange(start, start + n, dtype=np.float64)

        x = w.token_embd.get_rows(tokens)
        for layer_index, layer in enumerate(w.layers):
            h = rms_norm(x, layer.attn_norm, hp.rms_eps)
            q = layer.wq.matmul(h)
            k = layer.wk.matmul(h)
            v = layer.wv.matmul(h)
            apply_rope(q, hp.n_head, hp.head_dim, hp.rope_dim, positions, self.inv_freq, hp.rope_scale)
            apply_rope(k, hp.n_kv_head, hp.head_dim, hp.rope_dim, positions, self.inv_freq, hp.rope_scale)
            layer_keys = cache.keys[layer_index]
            layer_values = cache.values[layer_index]
            layer_keys[start:start + n] = k
            layer_values[start:start + n] = v
            attn = causal_attention(q, layer_keys, layer_values, start, hp.n_head, hp.n_kv_head, hp.head_dim)
            add_inplace(x, layer.wo.matmul(attn))

            h = rms_norm(x, layer.ffn_norm, hp.rms_eps)
            gate = silu_mul(layer.w_gate.matmul(h), layer.w_up.matmul(h))
            add_inplace(x, layer.w_down.matmul(gate))
        cache.n_tokens = start + n
        if not need_logits:
            return None
        last = x if logits_all else x[n - 1:]
        return w.output.matmul(rms_norm(np.ascontiguousarray(last), w.output_norm, hp.rms_eps))
