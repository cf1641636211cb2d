"""The llama forward pass: token ids in, next-token logits out.

Read top to bottom it is the architecture: embed, then per layer RMSNorm -> attention
with RoPE and a KV cache -> residual, RMSNorm -> SwiGLU feed-forward -> residual; a final
RMSNorm and the output matrix. A prompt goes through as one batch, so every weight matrix
is streamed once per batch, not once per token; a single token (or a batch smaller than
SMALL_BATCH) goes through all layers in one numba call (decode_step.py).
"""

from __future__ import annotations

import numba
import numpy as np

from constrain.runtime.threads import ThreadGovernor  # first: bounds the OpenMP spin before numba starts it

# isort: split
from constrain.runtime.attention import attention_rows, store_rows
from constrain.runtime.batch_scratch import BatchScratch
from constrain.runtime.decode_step import decode_rows
from constrain.runtime.gguf_file import GGUFFile
from constrain.runtime.hparams import LlamaHParams
from constrain.runtime.kv_cache import KVCache, KVSlots
from constrain.runtime.ops import add_inplace, apply_rope, rms_norm, rope_inverse_frequencies, swiglu
from constrain.runtime.quants.tiles import TILE, role_matmul
from constrain.runtime.stacked_layers import LayerShape
from constrain.runtime.weights import LlamaWeights

# Below this many tokens a batch goes through the decode step (one numba call for all
# layers). From about three tokens on the batch path is faster: its products run on int8
# activations too, through byte planes, and each block of weights serves every token while
# it is in cache (SmolLM2-135M Q4_1, 2 threads, after 150 tokens: 2 tokens 36 against 37 ms,
# 4 tokens 48 against 83 ms; benchmarks/bench_small_batches.py).
SMALL_BATCH = 3


class LlamaModel:
    def __init__(self, gguf: GGUFFile, n_ctx: int, n_threads: int | None = None, cache_dir: str | None = None,
                 n_seq: int = 1):
        """n_threads: fixed thread count; None uses the cores other processes leave free
        (threads.py), re-checked before each evaluation. n_seq: sequences with a KV cache
        slot of their own (`caches`); `cache` is the first, which forward() extends."""
        self.threads = ThreadGovernor(numba.config.NUMBA_NUM_THREADS, fixed=n_threads)
        self.hp = LlamaHParams.from_metadata(gguf.metadata, gguf.path)
        self.weights = LlamaWeights.load(gguf, self.hp, cache_dir=cache_dir)
        self.slots = KVSlots(self.hp, n_ctx, n_seq)
        self.caches: list[KVCache] = self.slots.caches
        self.cache = self.caches[0]
        self.inv_freq = rope_inverse_frequencies(self.hp.rope_dim, self.hp.rope_base, self.weights.rope_freq_factors)
        self.shape = LayerShape.of(self.hp)

    def forward(self, tokens: np.ndarray, logits_all: bool = False, need_logits: bool = True):
        """Evaluate `tokens` after the cached context; returns logits (n or 1, n_vocab),
        or None when the caller only needs the cache filled (a long prompt's early chunks)."""
        result = self.forward_sequences([(self.cache, tokens)], logits_all=logits_all, need_logits=need_logits)
        return result[0]

    def forward_sequences(self, requests, logits_all: bool = False, need_logits: bool = True) -> list:
        """Evaluate several sequences' new tokens: `requests` is a list of (cache, tokens) with
        distinct caches of this model. Returns, per request, its logits (all rows with
        logits_all, else its last row) or None without need_logits.

        Every sequence is computed exactly as it would be alone, so its tokens never depend
        on which others share the call: the next tokens of several sequences go through all
        layers together in one decode_rows call (each block of weights read once for all of
        them: decoding is memory-bound), a longer chunk (a prompt) through its own pass."""
        if len({id(cache) for cache, _ in requests}) != len(requests):
            raise ValueError("each sequence may appear once per evaluation")
        requests = [(cache, np.asarray(t, dtype=np.int64).reshape(-1)) for cache, t in requests]
        for cache, tokens in requests:
            if len(tokens) == 0:
                raise ValueError("every sequence needs at least one new token")
            cache.check_room(len(tokens))
        numba.set_num_threads(self.threads.threads())
        results: list = [None] * len(requests)
        next_tokens = [i for i, (_, tokens) in enumerate(requests) if len(tokens) == 1]
        if len(next_tokens) < 2:
            next_tokens = []
        else:
            together = self._decode_together([requests[i] for i in next_tokens], need_logits)
            for i, out in zip(next_tokens, together):
                results[i] = out
        for i, (cache, tokens) in enumerate(requests):
            if i not in next_tokens:
                results[i] = self._forward_one(cache, tokens, logits_all, need_logits)
        return results

    def _decode_together(self, requests, need_logits: bool) -> list:
        w = self.weights
        tokens = np.concatenate([t for _, t in requests])
        positions = np.array([cache.n_tokens for cache, _ in requests], np.int64)
        slots = np.array([cache.slot for cache, _ in requests], np.int64)
        x = w.token_embd.get_rows(tokens)
        decode_rows(x, positions, slots, self.inv_freq, self.hp.rope_scale, self.shape, w.stacked, self.slots.keys,
                    self.slots.values)
        for cache, _ in requests:
            cache.n_tokens += 1
        if not need_logits:
            return [None] * len(requests)
        logits = w.output.matvec_rows(rms_norm(x, w.output_norm, self.hp.rms_eps, np.empty_like(x)))
        return [logits[i:i + 1] for i in range(len(requests))]

    def _forward_one(self, cache, tokens, logits_all: bool, need_logits: bool):
        hp, w = self.hp, self.weights
        n = len(tokens)
        x = w.token_embd.get_rows(tokens)
        slots = np.full(n, cache.slot, np.int64)
        positions = np.arange(cache.n_tokens, cache.n_tokens + n, dtype=np.int64)
        if n < SMALL_BATCH:
            decode_rows(x, positions, slots, self.inv_freq, hp.rope_scale, self.shape, w.stacked, self.slots.keys,
                        self.slots.values)
        else:
            scratch = BatchScratch(n)
            for layer_index in range(hp.n_layer):
                self._layer(x, layer_index, slots, positions, scratch)
        cache.n_tokens += n
        if not need_logits:
            return None
        last = np.ascontiguousarray(x if logits_all else x[n - 1:])
        return w.output.matmul(rms_norm(last, w.output_norm, hp.rms_eps, np.empty_like(last)))

    @staticmethod
    def _product(role, layer_index, h, scratch: BatchScratch, name: str):
        out = scratch.take(name, role.tile_kind.shape[1] * TILE)
        role_matmul(role, layer_index, h, *scratch.activations(h.shape[1]), out)
        return out

    def _layer(self, x, layer_index, slots, positions, scratch: BatchScratch):
        """One layer over new token rows x (n, dim), in place; row i is position positions[i]
        of the sequence in KV slot slots[i]."""
        hp, kv, s, stack = self.hp, self.slots, self.shape, self.weights.stacked
        h = rms_norm(x, stack.attn_norm[layer_index], hp.rms_eps, scratch.take("normed", hp.dim))
        qkv = self._product(stack.qkv, layer_index, h, scratch, "qkv")
        angles_at = positions.astype(np.float64)
        apply_rope(qkv, 0, hp.n_head, hp.head_dim, angles_at, self.inv_freq, hp.rope_scale)
        apply_rope(qkv, s.k_at, hp.n_kv_head, hp.head_dim, angles_at, self.inv_freq, hp.rope_scale)
        store_rows(kv.keys, kv.values, layer_index, slots, positions, qkv[:, s.k_at:s.k_at + hp.kv_dim],
                   qkv[:, s.v_at:s.v_at + hp.kv_dim])
        attn = attention_rows(qkv[:, :hp.q_dim], kv.keys, kv.values, layer_index, slots, positions, hp.n_head,
                              hp.n_kv_head, hp.head_dim, scratch.take("attention", hp.q_dim))
        add_inplace(x, self._product(stack.attn_output, layer_index, attn, scratch, "projected")[:, :hp.dim])

        h = rms_norm(x, stack.ffn_norm[layer_index], hp.rms_eps, scratch.take("normed", hp.dim))
        gate_up = self._product(stack.gate_up, layer_index, h, scratch, "gate_up")
        gated = swiglu(gate_up, s.up_at, hp.ffn_dim, scratch.take("gated", hp.ffn_dim))
        add_inplace(x, self._product(stack.down, layer_index, gated, scratch, "projected")[:, :hp.dim])
