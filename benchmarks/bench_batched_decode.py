"""Throughput of several sequences decoded together against one after another, default model.

    python benchmarks/bench_batched_decode.py [--sequences 8] [--tokens 48] [--threads 2]

Generates `--tokens` greedy tokens (no early stop) for each of `--sequences` short prompts,
first one prompt at a time with Llama.create_completion, then with create_completion_batch at
n_seq_max 2, 4 and 8; prints generated tokens per second and the ratio to one at a time.
"""

from __future__ import annotations

import argparse
import time

PROMPTS = ["The capital of France is", "Once upon a time", "def fibonacci(n):", "The three primary colors are",
           "My favourite food is", "In 1969, the first", "The best way to learn", "Water boils at"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sequences", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=48)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    from constrain import Llama

    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(args.sequences)]
    kwargs = dict(max_tokens=args.tokens, temperature=0, logit_bias=None)
    llm = Llama(n_ctx=256, n_threads=args.threads)
    kwargs["logit_bias"] = {llm.token_eos(): -1e9}  # every sequence writes exactly --tokens tokens
    llm.create_completion(prompts[0], max_tokens=4)  # warm-up (kernels loaded)
    start = time.perf_counter()
    for p in prompts:
        llm.reset()
        llm.create_completion(p, **kwargs)
    alone = time.perf_counter() - start
    total = args.sequences * args.tokens
    print(f"one at a time: {total / alone:6.1f} tokens/s")
    for width in (2, 4, 8):
        together = Llama(n_ctx=256, n_threads=args.threads, n_seq_max=width)
        together.create_completion_batch(prompts[:2], max_tokens=4)  # warm-up
        start = time.perf_counter()
        together.create_completion_batch(prompts, **kwargs)
        took = time.perf_counter() - start
        print(f"{width} together:  {total / took:6.1f} tokens/s  ({alone / took:.2f}x one at a time)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
