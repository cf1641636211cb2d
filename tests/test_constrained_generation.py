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


@pytest.mark.slow
def test_unbounded_grammars_finish_within_a_small_budget(smollm2):
    """The unbounded arithmetic grammar and a recursive tree schema at max_tokens=48: every run
    ends as a sentence; with finish_within_budget=False the budget runs out as before."""
    import json

    import jsonschema
    import lark

    from constrain import grammars

    arithmetic = os.path.join(os.path.dirname(__file__), "..", "examples", "custom_grammar", "arithmetic.lark")
    tree = {"$defs": {"node": {"type": "object", "properties": {
        "value": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
        "required": ["value", "children"]}}, "$ref": "#/$defs/node"}
    lark_parser = lark.Lark(open(arithmetic, encoding="utf-8").read(), parser="lalr")
    cases = [("Write a long arithmetic expression.", grammars.Grammar.from_file(arithmetic), lark_parser.parse),
             ("Describe a family tree as JSON.", grammars.json_schema(tree),
              lambda text: jsonschema.validate(json.loads(text), tree))]
    ran_out = 0
    for question, grammar, check in cases:
        for seed in range(20):
            sampling = dict(mirostat_mode=2, seed=seed) if seed % 2 else dict(seed=seed)
            out = smollm2.create_chat_completion([{"role": "user", "content": question}], grammar=grammar,
                                                 max_tokens=48, temperature=1.0, **sampling)
            choice = out["choices"][0]
            assert choice["finish_reason"] == "stop", (seed, choice)
            check(choice["message"]["content"])
        for seed in range(3):
            out = smollm2.create_chat_completion([{"role": "user", "content": question}], grammar=grammar,
                                                 max_tokens=48, temperature=1.0, seed=seed,
                                                 finish_within_budget=False)
            ran_out += out["choices"][0]["finish_reason"] == "length"
    assert ran_out >= 1
