"""What the on-disk grammar cache gives a schema seen before, in a new process.

    python benchmarks/grammar_disk_cache.py DATA_DIR [--sample 150 --seed 0] [--runs 2]

DATA_DIR is a checkout of JSONSchemaBench's maskbench/data (see maskbench.py). The same sample of
schemas (random.Random(seed).sample over the sorted file names, as maskbench.py draws it) is
compiled in `--runs` processes one after the other, all with one fresh CONSTRAIN_CACHE_DIR: the
first sees every schema for the first time, the later ones find what it saved. For each process:
schema to first mask (`json_schema(schema, strict=False).matcher(tokenizer).mask_bits()`, SmolLM2's
vocabulary; one small schema is compiled to its first mask before timing starts, which loads
numba's kernels and builds or reads the vocabulary's trie, after which the heap is frozen
(gc.freeze, as the server does once loaded and maskbench.py's workers do: a full collection of the
~120,000 objects numba and the tokenizer leave costs 25-45 ms, which would land on whichever
schema it interrupts; `--no-gc-freeze` keeps them in) p50 / p95 / max and the slowest schemas;
then the later processes against the first, as ratios.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def sample_files(data_dir: Path, sample: int, seed: int) -> list[Path]:
    files = sorted(data_dir.glob("*.json"))
    if sample < len(files):
        files = random.Random(seed).sample(files, sample)
    return files


def worker(data_dir: Path, sample: int, seed: int, freeze: bool) -> None:
    """One process: compile every schema of the sample to its first mask; print JSON timings."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from maskbench_engines import load_smollm2_tokenizer

    from constrain.grammars import json_schema

    tokenizer = load_smollm2_tokenizer()
    warm_up = {"type": "object", "properties": {"a": {"type": "string"}}}
    json_schema(warm_up, strict=False).matcher(tokenizer).mask_bits()
    if freeze:
        gc.collect()
        gc.freeze()
    out = {}
    for path in sample_files(data_dir, sample, seed):
        schema = json.loads(path.read_text())["schema"]
        started = time.perf_counter()
        try:
            json_schema(schema, strict=False).matcher(tokenizer).mask_bits()
        except Exception:  # refusals and invalid schemas are not timed
            continue
        out[path.name] = (time.perf_counter() - started) * 1e3
    print(json.dumps(out))


def summary(name: str, times: dict[str, float]) -> np.ndarray:
    t = np.array(list(times.values()))
    print(f"{name}: {len(t)} schemas, schema to first mask p50 {np.median(t):.2f} ms, "
          f"p95 {np.percentile(t, 95):.2f} ms, max {t.max():.1f} ms")
    for file, ms in sorted(times.items(), key=lambda kv: -kv[1])[:5]:
        print(f"    {ms:9.2f} ms  {file}")
    return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--sample", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=2, help="processes, one after the other (default 2)")
    parser.add_argument("--no-gc-freeze", action="store_true", help="keep the start-up heap in the collector's walks")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.data_dir, args.sample, args.seed, not args.no_gc_freeze)
        return
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "CONSTRAIN_CACHE_DIR": cache}
        runs = []
        for _ in range(args.runs):
            flags = ["--no-gc-freeze"] if args.no_gc_freeze else []
            command = [sys.executable, __file__, str(args.data_dir), "--sample", str(args.sample),
                       "--seed", str(args.seed), "--worker", *flags]
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(done.stderr)
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    first = summary("process 1 (fresh cache)", runs[0])
    for i, later in enumerate(runs[1:], start=2):
        t = summary(f"process {i} (same cache)", later)
        print(f"    process {i} / process 1: p50 {np.median(t) / np.median(first):.2f}x, "
              f"p95 {np.percentile(t, 95) / np.percentile(first, 95):.2f}x, max {t.max() / first.max():.3f}x")


if __name__ == "__main__":
    main()
