"""Prompt and generation speed of one model file with this checkout, for A/B runs of two trees.

    python benchmarks/bench_model_speed.py MODEL.gguf [PROMPT_TOKENS=200] [GENERATED=96]

Loads the model (n_ctx 1024, 2 threads), evaluates a prompt of random token ids in one
call, then that many one-token steps. Prints the load time, prompt tokens/s, and the
median (and best) one-token steps per second. Run two checkouts alternately under the
same conditions (e.g. `PYTHONPATH=/path/to/tree python .../bench_model_speed.py ...`);
`constrain bench` is the side-by-side comparison with llama.cpp.
"""

import sys
import time

import numpy as np

from constrain import Llama


def main() -> None:
    path = sys.argv[1]
    n_prompt = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    n_gen = int(sys.argv[3]) if len(sys.argv) > 3 else 96
    start = time.perf_counter()
    llm = Llama(path, n_ctx=1024, n_threads=2, verbose=False)
    load = time.perf_counter() - start
    ids = [int(v) for v in np.random.default_rng(0).integers(100, llm.n_vocab(), n_prompt)]
    llm.eval(ids[:8])  # kernels loaded before timing
    llm.reset()
    start = time.perf_counter()
    llm.eval(ids)
    prompt = time.perf_counter() - start
    steps = []
    for i in range(n_gen):
        start = time.perf_counter()
        llm.eval([ids[i % n_prompt]])
        steps.append(time.perf_counter() - start)
    median, best = float(np.median(steps)), float(np.min(steps))
    print(f"load {load:.2f} s | prompt {n_prompt}: {n_prompt / prompt:.1f} tokens/s | "
          f"generation: {1 / median:.1f} tokens/s (best step {1 / best:.1f})")


if __name__ == "__main__":
    main()
