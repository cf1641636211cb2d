"""Constrained generation and extraction on the default model: every output finishes and validates.

These run a reduced version of benchmarks/constrained_generations.py and
benchmarks/extraction_eval.py (the benchmarks run the full counts and print them).
"""

import importlib.util
import os
import sys

import pytest

BENCHMARKS = os.path.join(os.path.dirname(__file__), "..", "benchmarks")


def load_benchmark(name: str):
    spec = importlib.util.spec_from_file_location(name, os.path.join(BENCHMARKS, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_constrained_generations_finish_and_parse(smollm2):
    bench = load_benchmark("constrained_generations")
    passed, total, failures = bench.run(smollm2, seeds=1, prompts_per_case=1, log=lambda *a: None)
    assert total == 7 * 2
    assert not failures


@pytest.mark.slow
def test_extractions_validate(smollm2):
    bench = load_benchmark("extraction_eval")
    passed, total, failures, compile_ms = bench.run(smollm2, seeds=1, log=lambda *a: None)
    assert total == len(bench.SCHEMAS) * 2 * 2
    assert not failures


@pytest.mark.slow
def test_extractions_with_any_of_objects_patterns_with_lengths_and_unique_items_validate(smollm2):
    bench = load_benchmark("extraction_eval")
    schemas = bench.FEATURE_SCHEMAS
    assert len(schemas) >= 10
    passed, total, failures, compile_ms = bench.run(smollm2, seeds=1, log=lambda *a: None, schemas=schemas)
    assert total == len(schemas) * 2 * 2
    assert not failures
