"""A float64 numpy llama forward pass, written for clarity, to check the kernels against.

Weights come from gguf's own dequantizer, so a mismatch points at our kernels or forward
pass, not at shared code. `step(token, quantized=True)` feeds every product with a
quantized weight type the input rounded to int8 per 32 values, as llama.cpp's q8_0
activations and constrain's one-token kernels do, so those agree to float rounding.
"""

from __future__ import annotations

import gguf
import numpy as np

from constrain.runtime.gguf_file import GGUFFile
from constrain.runtime.hparams import LlamaHParams

FLOAT_TYPES = (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16, gguf.GGMLQuantizationType.BF16)


def q8_rounded(x: np.ndarray) -> np.ndarray:
    """x as int8 per 32-value block times the block's scale amax/127 (float32 arithmetic)."""
    x32 = x.astype(np.float32)
    pad = -len(x32) % 32
    blocks = np.concatenate([x32, np.zeros(pad, np.float32)]).reshape(-1, 32)
    d = (np.abs(blocks).max(axis=1) / np.float32(127)).astype(np.float32)
    inv = np.where(d > 0, np.float32(1) / np.where(d > 0, d, np.float32(1)), np.float32(0)).astype(np.float32)
    q = np.rint(blocks * inv[:, None])
    return (q.astype(np.float64) * d[:, None].astype(np.float64)).reshape(-1)[:len(x)]


class ReferenceLlama:
    def __init__(self, path: str):
        g = GGUFFile(path)
        self.hp = LlamaHParams.from_metadata(g.metadata, path)
        self.t = {}
        self.float_weight = {}
        for name, info in g.tensors.items():
            rows = info.n_elements // info.shape[0]
            raw = g.tensor_bytes(name).reshape(rows, -1)
            if info.ggml_type == gguf.GGMLQuantizationType.F32:
                values = raw.view(np.float32)
            else:
                values = gguf.quants.dequantize(raw, info.ggml_type)
            values = np.asarray(values, dtype=np.float64).reshape(rows, info.shape[0])
            self.t[name] = values if len(info.shape) > 1 else values.reshape(-1)
            self.float_weight[name] = info.ggml_type in FLOAT_TYPES
        self.keys = [[] for _ in range(self.hp.n_layer)]
        self.values = [[] for _ in range(self.hp.n_layer)]

    def _norm(self, x, w):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.hp.rms_eps) * w

    def _rope(self, x, pos, n_heads):
        hp = self.hp
        x = x.reshape(n_heads, hp.head_dim).copy()
        j = np.arange(hp.rope_dim // 2)
        theta = (pos / hp.rope_scale) * hp.rope_base ** (-2.0 * j / hp.rope_dim)
        if "rope_freqs.weight" in self.t:
            theta = theta / self.t["rope_freqs.weight"]
        c, s = np.cos(theta), np.sin(theta)
        a, b = x[:, 0:hp.rope_dim:2].copy(), x[:, 1:hp.rope_dim:2].copy()
        x[:, 0:hp.rope_dim:2] = a * c - b * s
        x[:, 1:hp.rope_dim:2] = a * s + b * c
        return x.reshape(-1)

    def _mul(self, name: str, x: np.ndarray, quantized: bool) -> np.ndarray:
        if quantized and not self.float_weight[name]:
            x = q8_rounded(x)
        return self.t[name] @ x

    def step(self, token: int, quantized: bool = False) -> np.ndarray:
        """Evaluate one token after the context so far; returns its logits."""
        hp, t = self.hp, self.t
        mul = lambda name, v: self._mul(name, v, quantized)  # noqa: E731
        pos = len(self.keys[0])
        x = t["token_embd.weight"][token].copy()
        group = hp.n_head // hp.n_kv_head
        for i in range(hp.n_layer):
            p = f"blk.{i}."
            h = self._norm(x, t[p + "attn_norm.weight"])
            q = self._rope(mul(p + "attn_q.weight", h), pos, hp.n_head).reshape(hp.n_head, hp.head_dim)
            k = self._rope(mul(p + "attn_k.weight", h), pos, hp.n_kv_head).reshape(hp.n_kv_head, hp.head_dim)
            v = mul(p + "attn_v.weight", h).reshape(hp.n_kv_head, hp.head_dim)
            # the cache holds keys and values as float16, as constrain's and llama.cpp's do
            self.keys[i].append(k.astype(np.float16).astype(np.float64))
            self.values[i].append(v.astype(np.float16).astype(np.float64))
            K = np.stack(self.keys[i])  # (pos+1, kv, hd)
            V = np.stack(self.values[i])
            out = np.empty((hp.n_head, hp.head_dim))
            for head in range(hp.n_head):
                scores = K[:, head // group] @ q[head] / np.sqrt(hp.head_dim)
                weights = np.exp(scores - scores.max())
                weights /= weights.sum()
                out[head] = weights @ V[:, head // group]
            x = x + mul(p + "attn_output.weight", out.reshape(-1))
            h = self._norm(x, t[p + "ffn_norm.weight"])
            g = mul(p + "ffn_gate.weight", h)
            u = mul(p + "ffn_up.weight", h)
            x = x + mul(p + "ffn_down.weight", g / (1 + np.exp(-g)) * u)
        output = "output.weight" if "output.weight" in t else "token_embd.weight"
        return mul(output, self._norm(x, t["output_norm.weight"]))
