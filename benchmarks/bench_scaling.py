"""Context scaling and full-size synthetic models, side by side with llama.cpp when installed.

    python benchmarks/bench_scaling.py [--no-7b] [--rounds 3] [--models ...]

The same as `constrain bench` (constrain/benchmarking/command.py; `--help` lists the
options): SmolLM2 plus random-weight TinyLlama-1.1B (Q4_0, Q4_K) and Llama-2-7B (Q4_0)
files written once into ~/.cache/constrain/bench; prompt, generation, generation at
context 128/512/2048, constrained JSON generation, load time and peak RSS, each in fresh
interleaved processes, medians.
"""

import sys

from constrain.benchmarking.command import main

if __name__ == "__main__":
    sys.exit(main())
