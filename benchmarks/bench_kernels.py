"""Matrix kernel speed per GGML type: matvec (generation) and batched matmul (prompt).

    python benchmarks/bench_kernels.py [--threads 2] [--repeat 30] [--types Q4_1,Q8_0]

Types with a row-tiled kernel (quants/row_tiles.py, what the model uses) are measured
in both layouts. Weights are random blocks with small finite scales; speed does not depend on values.
Effective GB/s counts the bytes of the quantized matrix read once per call.
k-quant rows must be whole 256-value super-blocks, so their "output" shape uses 512
columns instead of 576.
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as T

from constrain.runtime.quants import SUPPORTED_TYPES, QuantMatrix, row_nbytes
from constrain.runtime.quants.row_tiles import can_tile

F16_FIELDS = {
    T.Q4_0: (0,), T.Q4_1: (0, 2), T.Q5_0: (0,), T.Q5_1: (0, 2), T.Q8_0: (0,),
    T.Q2_K: (80, 82), T.Q3_K: (108,), T.Q4_K: (0, 2), T.Q5_K: (0, 2), T.Q6_K: (208,),
}

# SmolLM2-135M per token: 30 layers of these Q4_1 matrices (rows, cols, count) + Q8_0 output
SMOLLM2_LAYER = [(576, 576, 1), (192, 576, 2), (576, 576, 1), (1536, 576, 2), (576, 1536, 1)]
SMOLLM2_LAYERS = 30
SMOLLM2_OUTPUT = (49152, 576)


def random_matrix(ggml_type, rows, cols, rng, tiled=False):
    block_values, block_bytes = GGML_QUANT_SIZES[ggml_type]
    if ggml_type == T.F32:
        raw = rng.standard_normal(rows * cols).astype(np.float32).view(np.uint8)
    elif ggml_type in (T.F16, T.BF16):
        values = rng.standard_normal(rows * cols).astype(np.float32)
        raw = (values.astype(np.float16).view(np.uint16) if ggml_type == T.F16
               else (values.view(np.uint32) >> 16).astype(np.uint16)).view(np.uint8)
    else:
        blocks = rng.integers(0, 256, (rows * cols // block_values, block_bytes), dtype=np.uint8)
        for field in F16_FIELDS[ggml_type]:
            blocks[:, field:field + 2] = np.full(len(blocks), 0.01, np.float16).view(np.uint8).reshape(-1, 2)
        raw = blocks.reshape(-1)
    raw = np.frombuffer(raw.tobytes(), np.uint8)  # read-only, like an mmap view
    matrix = QuantMatrix(f"{ggml_type.name}_{rows}x{cols}", ggml_type, raw, rows, cols)
    if tiled:
        matrix.tile_rows()  # the model's layout where a row-tiled kernel exists (row_tiles.py)
    return matrix


def timed(fn, repeat):
    """(best, median) seconds of `repeat` calls after a warm-up call.

    The machine is shared: the best run shows what the kernel can do, the median
    what it did amid the neighbours' load. Both are printed.
    """
    fn()  # compile / warm caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.min(times)), float(np.median(times))


def bench_type(ggml_type, repeat, rng, tiled=False):
    k_quant = GGML_QUANT_SIZES[ggml_type][0] == 256
    shapes = {"ffn 576x1536": (576, 1536), "output 49152x" + ("512" if k_quant else "576"):
              (49152, 512 if k_quant else 576)}
    parts = [f"{ggml_type.name:5s}" + (" tiled" if tiled else "")]
    for label, (rows, cols) in shapes.items():
        matrix = random_matrix(ggml_type, rows, cols, rng, tiled)
        x = rng.standard_normal((1, cols)).astype(np.float32)
        out = np.empty((1, rows), np.float32)
        best, median = timed(lambda: matrix.matmul(x, out), repeat)
        gbps = rows * row_nbytes(ggml_type, cols) / best / 1e9
        parts.append(f"{label}: {best * 1e3:7.3f} ms (median {median * 1e3:7.3f}) {gbps:5.1f} GB/s")
    rows, cols = 576, 1536
    matrix = random_matrix(ggml_type, rows, cols, rng, tiled)
    xb = rng.standard_normal((200, cols)).astype(np.float32)
    best, median = timed(lambda: matrix.matmul(xb), max(3, repeat // 10))
    parts.append(f"n=200 {rows}x{cols}: {best * 1e3:6.2f} ms (median {median * 1e3:6.2f}) "
                 f"{2 * 200 * rows * cols / best / 1e9:5.1f} GFLOP/s")
    print(" | ".join(parts), flush=True)


def smollm2_token_estimate(repeat, rng, tiled):
    """Sum of the per-token matrix-vector products of SmolLM2-135M Q4_1 (best, median)."""
    layers = np.zeros(2)
    for rows, cols, count in SMOLLM2_LAYER:
        matrix = random_matrix(T.Q4_1, rows, cols, rng, tiled)
        x = rng.standard_normal((1, cols)).astype(np.float32)
        layers += count * SMOLLM2_LAYERS * np.array(timed(lambda: matrix.matmul(x), repeat))
    rows, cols = SMOLLM2_OUTPUT
    matrix = random_matrix(T.Q8_0, rows, cols, rng, tiled)
    x = rng.standard_normal((1, cols)).astype(np.float32)
    output = np.array(timed(lambda: matrix.matmul(x), repeat))
    total = layers + output
    print(f"SmolLM2-135M per-token matrix work{' (row-tiled, as the model runs)' if tiled else ' (GGUF row layout)'}: {total[0] * 1e3:.2f} ms (median {total[1] * 1e3:.2f}) = "
          f"30 layers Q4_1 {layers[0] * 1e3:.2f} ms + Q8_0 output {output[0] * 1e3:.2f} ms; "
          f"llama.cpp, whole token: 7.6 ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--types", default=",".join(t.name for t in SUPPORTED_TYPES))
    args = parser.parse_args()
    numba.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"threads={numba.get_num_threads()}: best of {args.repeat} calls (median in parentheses); "
          "GB/s and GFLOP/s from the best")
    for name in args.types.split(","):
        bench_type(T[name], args.repeat, rng)
        if can_tile(T[name], 576):
            bench_type(T[name], args.repeat, rng, tiled=True)
    smollm2_token_estimate(args.repeat, rng, tiled=False)
    smollm2_token_estimate(args.repeat, rng, tiled=True)


if __name__ == "__main__":
    main()
