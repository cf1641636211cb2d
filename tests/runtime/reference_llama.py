"""A float64 numpy llama forward pass, written for clarity, to check the kernels against.

Weights come from gguf's own dequantizer, so a mismatch points at our kernels or forward
pass, not at shared code.
"""

from __future__ import annotations

import gguf
import numpy as np

from constrain.runtime.gguf_file import GGUFFile
from constrain.runtime.hparams import LlamaHParams


class ReferenceLlama:
    def __init__(self, path: str):
        g = GGUFFile(path)
        self.hp = LlamaHParams.from_metadata(g.metadata, path)
        self.t = {}
        for name, info in g.tensors.items():
            rows = info.n_elements // info.shape[0]
            raw = g.tensor_bytes(name).reshape(rows, -1)
            if info.ggml_type == gguf.GGMLQuantizationType.F32:
                values = raw.view(np.float32)
            else:
                values = gguf.quants.dequantize(raw, info.ggml_type)
            values = np.asarray(values, dtype=np.float64).reshape(rows, info.shape[0])
            self.t[name] = values if len(info.shape) > 1 else values.reshape(-1)
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

    def step(self, token: int) -> np.ndarray:
        """Evaluate one token after the context so far; returns its logits."""
        hp, t = self.hp, self.t
        pos = len(self.keys[0])
        x = t["token_embd.weight"][token].copy()
        group = hp.n_head // hp.n_kv_head
        for i in range(hp.n_layer):
            p = f"blk.{i}."
            h = self._norm(x, t[p + "attn_norm.weight"])
            q = self._rope(t[p + "attn_q.weight"] @ h, pos, hp.n_head).reshape(hp.n_head, hp.head_dim)
            k = self._rope(t[p + "attn_k.weight"] @ h, pos, hp.n_kv_head).reshape(hp.n_kv_head, hp.head_dim)
            v = (t[p + "attn_v.weight"] @ h).reshape(hp.n_kv_head, hp.head_dim)
            self.keys[i].append(k)
            self.values[i].append(v)
            K = np.stack(self.keys[i])  # (pos+1, kv, hd)
            V = np.stack(self.values[i])
            out = np.empty((hp.n_head, hp.head_dim))
            for head in range(hp.n_head):
                scores = K[:, head // group] @ q[head] / np.sqrt(hp.head_dim)
                weights = np.exp(scores - scores.max())
                weights /= weights.sum()
                out[head] = weights @ V[:, head // group]
            x = x + t[p + "attn_output.weight"] @ out.reshape(-1)
            h = self._norm(x, t[p + "ffn_norm.weight"])
            g = t[p + "ffn_gate.weight"] @ h
            u = t[p + "ffn_up.weight"] @ h
            x = x + t[p + "ffn_down.weight"] @ (g / (1 + np.exp(-g)) * u)
        out_w = t.get("output.weight", t["token_embd.weight"])
        return out_w @ self._norm(x, t["output_norm.weight"])
