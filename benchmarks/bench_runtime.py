"""Runtime speed and memory on one GGUF model, side by side with llama.cpp when installed.

    python benchmarks/bench_runtime.py [--model PATH] [--threads 2] [--rounds 3]

Each measurement runs in a fresh process (load time and peak RSS are per process), and
the engines alternate round by round so drift on a shared machine hits both alike.
Prints medians and ratios (constrain / llama.cpp; above 1 means constrain is faster,
for RSS below 1 means constrain uses less). The protocol, workers and tables are
constrain.benchmarking's, shared with `constrain bench` (which adds context scaling,
full-size synthetic models and constrained JSON generation).
"""

from __future__ import annotations

import argparse
import os
import tempfile

from constrain.benchmarking.engines import have_llama_cpp
from constrain.benchmarking.protocol import Workload
from constrain.benchmarking.report import add_derived, model_table
from constrain.benchmarking.runner import medians, run_rounds, run_worker

WORKLOAD = Workload(prompt_tokens=200, gen_tokens=128, contexts=(), json_tokens=0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if args.model is None:
        from constrain.runtime.default_model import default_model_path

        args.model = default_model_path()

    print(f"model: {args.model}\nthreads: {args.threads}, rounds: {args.rounds}, "
          f"prompt {WORKLOAD.prompt_tokens} tokens in one batch, {WORKLOAD.gen_tokens} greedy tokens")
    with tempfile.TemporaryDirectory() as cold_cache:
        cold = run_worker("constrain", args.model, args.threads, WORKLOAD, {"NUMBA_CACHE_DIR": cold_cache})
    print(f"constrain first run (empty numba cache): first eval after {cold['first_eval_s']:.1f} s")

    engines = ["constrain"] + (["llama_cpp"] if have_llama_cpp() else [])
    results = run_rounds([("model", args.model, WORKLOAD)], engines, args.rounds, args.threads)["model"]
    meds = {e: add_derived(medians(runs), WORKLOAD) for e, runs in results.items()}
    print()
    print(model_table(f"{os.path.basename(args.model)}, n_ctx {WORKLOAD.n_ctx}", meds, WORKLOAD))
    if not have_llama_cpp():
        print("(llama-cpp-python is not installed: no side-by-side figures)")


if __name__ == "__main__":
    main()
