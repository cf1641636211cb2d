"""Small batches (forced tokens, a chat turn after a cached prefix): one `eval` of n tokens
against n one-token evals, on the default model after a 150-token context.

    python benchmarks/bench_small_batches.py [--threads 2]

Prints the best of 3 for each n and the ratio; batches under model.SMALL_BATCH tokens go through
the decode step in one call, larger ones through the batch path.
"""

from __future__ import annotations

import argparse
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    from constrain import Llama
    from constrain.runtime.model import SMALL_BATCH

    llm = Llama(n_threads=args.threads, n_ctx=2048)
    tokens = list(llm.tokenize(b"The quick brown fox jumps over the lazy dog " * 40, add_bos=True))
    llm.reset()
    llm.eval(tokens[:150])
    print(f"SMALL_BATCH = {SMALL_BATCH}, {args.threads} threads")
    for n in (1, 2, 4, 8, 11, 12, 16, 32):
        batched = one_by_one = float("inf")
        for _ in range(3):
            llm.rewind(150)
            started = time.perf_counter()
            llm.eval(tokens[150:150 + n])
            batched = min(batched, time.perf_counter() - started)
            llm.rewind(150)
            started = time.perf_counter()
            for i in range(n):
                llm.eval(tokens[150 + i:151 + i])
            one_by_one = min(one_by_one, time.perf_counter() - started)
        print(f"n={n:3d}  one eval {batched * 1e3:7.1f} ms  n evals {one_by_one * 1e3:7.1f} ms  "
              f"ratio {one_by_one / batched:5.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
