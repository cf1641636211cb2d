"""llama.cpp's own decode of several sequences at once, for comparison with
benchmarks/bench_batched_decode.py (the same question asked of constrain).

    python benchmarks/bench_llama_cpp_sequences.py [--model PATH] [--steps 64] [--sizes 1,2,4,8]

Through llama-cpp-python's low-level API: a context with n_seq_max = the largest size, each
sequence given a 16-token prompt of its own, then `steps` decode calls that each advance every
sequence by one token (one llama_batch holding one token per sequence; the next token of each
is its greedy choice). Prints the time per decode call, the tokens/s it gives, and the ratio to
one sequence. 2 threads, as constrain's default on this machine.
"""

from __future__ import annotations

import argparse
import time

import llama_cpp as L
import numpy as np

from constrain.runtime.default_model import default_model_path


def run(model, size: int, steps: int, threads: int) -> float:
    params = L.llama_context_default_params()
    params.n_ctx = 256 * size
    params.n_batch = 512
    params.n_seq_max = size
    params.n_threads = params.n_threads_batch = threads
    ctx = L.llama_init_from_model(model, params)
    n_vocab = L.llama_vocab_n_tokens(L.llama_model_get_vocab(model))
    batch = L.llama_batch_init(16 * size, 0, size)
    rng = np.random.default_rng(0)

    def submit(tokens_by_seq, positions, logits_for_last):
        """Decode the batch; returns the batch index of each sequence's last token."""
        batch.n_tokens = 0
        last = []
        for seq, tokens in enumerate(tokens_by_seq):
            for j, tok in enumerate(tokens):
                k = batch.n_tokens
                batch.token[k] = int(tok)
                batch.pos[k] = positions[seq] + j
                batch.n_seq_id[k] = 1
                batch.seq_id[k][0] = seq
                batch.logits[k] = logits_for_last and j == len(tokens) - 1
                batch.n_tokens += 1
            last.append(batch.n_tokens - 1)
        if L.llama_decode(ctx, batch) != 0:
            raise RuntimeError("llama_decode failed")
        return last

    prompts = [rng.integers(100, n_vocab, 16) for _ in range(size)]
    positions = [0] * size
    last = submit(prompts, positions, True)
    positions = [16] * size
    times = []
    for _ in range(steps):
        nexts = []
        for seq in range(size):
            row = np.ctypeslib.as_array(L.llama_get_logits_ith(ctx, last[seq]), shape=(n_vocab,))
            nexts.append([int(np.argmax(row))])
        start = time.perf_counter()
        last = submit(nexts, positions, True)
        times.append(time.perf_counter() - start)
        positions = [p + 1 for p in positions]
    L.llama_batch_free(batch)
    L.llama_free(ctx)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument("--sizes", default="1,2,4,8")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    L.llama_backend_init()
    mparams = L.llama_model_default_params()
    model = L.llama_model_load_from_file((args.model or default_model_path()).encode(), mparams)
    base = None
    for size in [int(v) for v in args.sizes.split(",")]:
        step = run(model, size, args.steps, args.threads)
        rate = size / step
        base = base or rate
        print(f"llama.cpp {size} sequences: {step * 1e3:.1f} ms per decode call, {rate:.1f} tokens/s, "
              f"{rate / base:.2f}x one sequence", flush=True)


if __name__ == "__main__":
    main()
