"""Matrix kernel speed per GGML type, before and after the integer dot products.

    python benchmarks/bench_kernels.py [--threads 2] [--repeat 30] [--types Q4_K,Q6_K]

For each type, the matrix-vector product (one generated token) of TinyLlama-1.1B's
ffn_up (5632x2048) and ffn_down (2048x5632) shapes, in three forms:
  rows        the GGUF row layout, float32 products on dequantized values (block_kernels.py)
  float tiles the 64-row tiles that came before, float32 products on dequantized values
              (benchmarks/baseline_row_tiles.py; Q4_0, Q4_1, Q8_0 and Q4_K only)
  int tiles   quants/tiles.py: the input quantized to int8 per 32 values, integer dot
              products (vpmaddubsw / vpmaddwd), what the model runs now
and the batched product of a 200-token prompt (2048x2048) on the rows and on the tiles.
Weights are random blocks with small finite scales; speed does not depend on values.
GB/s counts the bytes of the GGUF matrix read once per call.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numba
import numpy as np
from gguf import GGML_QUANT_SIZES
from gguf import GGMLQuantizationType as T

from constrain.runtime.quants import QuantMatrix, row_nbytes, tile_packing, tiles
from constrain.runtime.quants.type_traits import TYPE_TRAITS

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import baseline_row_tiles  # noqa: E402

SHAPES = {"ffn_up 5632x2048": (5632, 2048), "ffn_down 2048x5632": (2048, 5632)}
BATCH_SHAPE, BATCH = (2048, 2048), 200
DEFAULT_TYPES = "Q4_0,Q4_1,Q5_0,Q5_1,Q8_0,Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,F16"


def random_matrix(ggml_type, rows, cols, rng):
    traits = TYPE_TRAITS[ggml_type]
    if traits.is_float:
        values = rng.standard_normal(rows * cols).astype(np.float32)
        raw = (values.astype(np.float16).view(np.uint8) if ggml_type == T.F16 else values.view(np.uint8))
    else:
        block_values, block_bytes = GGML_QUANT_SIZES[ggml_type]
        blocks = rng.integers(0, 256, (rows * cols // block_values, block_bytes), dtype=np.uint8)
        for field in traits.f16_scale_offsets:
            blocks[:, field:field + 2] = np.full(len(blocks), 0.01, np.float16).view(np.uint8).reshape(-1, 2)
        raw = blocks.reshape(-1)
    raw = np.frombuffer(raw.tobytes(), np.uint8)  # read-only, like an mmap view
    return QuantMatrix(f"{ggml_type.name}_{rows}x{cols}", ggml_type, raw, rows, cols)


def timed(fn, repeat):
    """(best, median) seconds of `repeat` calls after a warm-up call: the best shows what
    the kernel can do, the median what it did amid a shared machine's load."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.min(times)), float(np.median(times))


def forms(ggml_type, rows, cols, rng):
    """{form: callable computing one matrix-vector product} for one random matrix."""
    matrix = random_matrix(ggml_type, rows, cols, rng)
    x = rng.standard_normal(cols).astype(np.float32)
    out = np.empty(rows, np.float32)
    out_forms = {"rows": lambda: matrix.matmul(x, out)}
    if baseline_row_tiles.can_tile(ggml_type, rows):
        old = baseline_row_tiles.repack(ggml_type, matrix.data, rows, cols)
        kernel = baseline_row_tiles.KERNELS[int(ggml_type)][0]
        out_forms["float tiles"] = lambda: kernel(*old, x, out)
    role = tile_packing.frozen(tile_packing.build_role([[matrix]]))
    padded = np.empty((1, tiles.padded_rows(rows)), np.float32)
    out_forms["int tiles"] = lambda: tiles.matvec_rows(role, 0, x[None], padded)
    return matrix, out_forms


def bench_type(ggml_type, repeat, rng, batch=True):
    for label, (rows, cols) in SHAPES.items():
        matrix, kernels = forms(ggml_type, rows, cols, rng)
        results = {name: timed(fn, repeat) for name, fn in kernels.items()}
        nbytes = rows * row_nbytes(ggml_type, cols)
        parts = [f"{ggml_type.name:5s} {label}"]
        for name, (best, median) in results.items():
            parts.append(f"{name}: {best * 1e3:6.3f} ms (median {median * 1e3:6.3f}) {nbytes / best / 1e9:5.1f} GB/s")
        base = results.get("float tiles", results["rows"])[0]
        parts.append(f"int tiles speed-up {base / results['int tiles'][0]:.2f}x over "
                     f"{'float tiles' if 'float tiles' in results else 'rows'}")
        print(" | ".join(parts), flush=True)
    if not batch:
        return
    rows, cols = BATCH_SHAPE
    matrix = random_matrix(ggml_type, rows, cols, rng)
    xb = rng.standard_normal((BATCH, cols)).astype(np.float32)
    flops = 2 * BATCH * rows * cols
    row_best, _ = timed(lambda: matrix.matmul(xb), max(3, repeat // 10))
    matrix.tile_rows()
    tile_best, _ = timed(lambda: matrix.matmul(xb), max(3, repeat // 10))
    print(f"{ggml_type.name:5s} n={BATCH} {rows}x{cols}: rows {row_best * 1e3:6.1f} ms {flops / row_best / 1e9:5.1f} "
          f"GFLOP/s | tiles {tile_best * 1e3:6.1f} ms {flops / tile_best / 1e9:5.1f} GFLOP/s", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--types", default=DEFAULT_TYPES)
    parser.add_argument("--no-batch", action="store_true", help="skip the batched (prompt) products")
    args = parser.parse_args()
    numba.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"threads={numba.get_num_threads()}: best of {args.repeat} calls (median in parentheses); "
          "GB/s and GFLOP/s from the best")
    for name in args.types.split(","):
        bench_type(T[name], args.repeat, rng, batch=not args.no_batch)


if __name__ == "__main__":
    main()
