"""Attention alone: one layer of a causal prompt through `attention_rows`, for the head
layouts of TinyLlama (32 query / 4 key-value heads of 64), SmolLM2 (9 / 3 / 64) and
Llama-2-7B (32 / 32 / 128), with random queries and a random float16 cache.

    python benchmarks/bench_attention.py [--tokens 512 1024] [--threads 2]

Prints, per shape and prompt length, the best of 7 in ms per layer and GFLOP/s (4 flops per
query dimension and key: the score and the weighted value, multiply and add).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

SHAPES = {"TinyLlama": (32, 4, 64), "SmolLM2": (9, 3, 64), "Llama-2-7B": (32, 32, 128)}


def bench(n_head: int, n_kv_head: int, head_dim: int, tokens: int, rng) -> float:
    """Best of 7 seconds for one layer's attention over a `tokens`-long causal prompt."""
    from constrain.runtime.attention import KEY_BLOCK, attention_rows

    kv_dim = n_kv_head * head_dim
    blocks = -(-tokens // KEY_BLOCK)
    keys = (rng.standard_normal((1, 1, blocks, kv_dim, KEY_BLOCK)) * 0.5).astype(np.float16).view(np.uint16)
    values = rng.standard_normal((1, 1, blocks * KEY_BLOCK, kv_dim)).astype(np.float16).view(np.uint16)
    q = rng.standard_normal((tokens, n_head * head_dim)).astype(np.float32)
    out = np.empty_like(q)
    slots, positions = np.zeros(tokens, np.int64), np.arange(tokens, dtype=np.int64)
    attention_rows(q, keys, values, 0, slots, positions, n_head, n_kv_head, head_dim, out)  # compile
    best = float("inf")
    for _ in range(7):
        start = time.perf_counter()
        attention_rows(q, keys, values, 0, slots, positions, n_head, n_kv_head, head_dim, out)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, nargs="+", default=[512, 1024])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import numba

    numba.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"{args.threads} threads")
    for tokens in args.tokens:
        for name, (n_head, n_kv_head, head_dim) in SHAPES.items():
            seconds = bench(n_head, n_kv_head, head_dim, tokens, rng)
            flops = 4 * n_head * head_dim * tokens * (tokens + 1) / 2
            print(f"{name:11s} {tokens:5d} tokens: {seconds * 1e3:8.2f} ms per layer, "
                  f"{flops / seconds / 1e9:6.1f} GFLOP/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
