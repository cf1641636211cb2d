"""Budget-aware endings: the way to finish is a real completion, the budget mask never lets
through what the grammar forbids, and generations that have room for a sentence end with one."""

from __future__ import annotations

import json
from pathlib import Path

import lark
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constrain import grammars
from constrain.generation import create_completion
from constrain.grammars.budget import BudgetedEnding

ROOT = Path(__file__).resolve().parents[2]
ARITHMETIC = ROOT / "examples" / "custom_grammar" / "arithmetic.lark"  # unbounded recursion
TREE = {
    "$defs": {"node": {"type": "object", "properties": {
        "value": {"type": "string"},
        "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
        "required": ["value", "children"]}},
    "$ref": "#/$defs/node",
}

# every spelling of an item is a state of its own (uniqueness): breadth-first searches drown
PODS = {"type": "object", "properties": {
    "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63},
    "images": {"type": "array", "items": {"type": "string", "maxLength": 60}, "uniqueItems": True, "minItems": 1,
               "maxItems": 4},
    "replicas": {"type": "integer", "minimum": 1, "maximum": 10}},
    "required": ["name", "images", "replicas"]}


def _grammars() -> dict:
    return {
        "arithmetic": grammars.Grammar.from_file(str(ARITHMETIC)),
        "tree": grammars.json_schema(TREE),
        "pods": grammars.json_schema(PODS),
        "json": grammars.json(),
        "date": grammars.regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"),
    }


GRAMMARS = _grammars()


def _accepts(name: str, text: str) -> bool:
    if name == "arithmetic":
        try:
            lark.Lark(ARITHMETIC.read_text(), parser="lalr").parse(text)
        except lark.exceptions.LarkError:
            return False
        return True
    if name in ("tree", "pods"):
        import jsonschema
        try:
            return jsonschema.Draft202012Validator(TREE if name == "tree" else PODS).is_valid(json.loads(text))
        except json.JSONDecodeError:
            return False
    return True


def _random_walk(matcher, rng: np.random.Generator, steps: int) -> None:
    for _ in range(steps):
        if matcher.is_finished():
            return
        allowed = np.flatnonzero(matcher.mask())
        allowed = [t for t in allowed.tolist() if t not in matcher.vocab.eos_ids]
        if not allowed:
            return
        matcher.advance(int(rng.choice(allowed)))


walks = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@walks
@given(name=st.sampled_from(sorted(GRAMMARS)), seed=st.integers(0, 2**32 - 1), steps=st.integers(0, 30))
def test_way_to_finish_completes_the_sentence(smollm2_tokenizer, name, seed, steps):
    matcher = GRAMMARS[name].matcher(smollm2_tokenizer)
    _random_walk(matcher, np.random.default_rng(seed), steps)
    plan = BudgetedEnding(matcher).way_to_finish(matcher.state)
    assert plan is not None
    for token in plan:
        assert matcher.is_allowed(token)
        matcher.advance(token)
    assert matcher.is_finished()


@walks
@given(name=st.sampled_from(sorted(GRAMMARS)), seed=st.integers(0, 2**32 - 1), steps=st.integers(0, 30),
       tokens_left=st.integers(1, 40))
def test_budget_mask_is_a_subset_of_the_grammar_mask(smollm2_tokenizer, name, seed, steps, tokens_left):
    rng = np.random.default_rng(seed)
    matcher = GRAMMARS[name].matcher(smollm2_tokenizer)
    _random_walk(matcher, rng, steps)
    allowed = matcher.mask()
    logits = rng.standard_normal(allowed.shape).astype(np.float32) * 3
    logits[~allowed] = -np.inf
    ending = BudgetedEnding(matcher)
    kept = np.flatnonzero(np.isfinite(ending.restrict(logits, tokens_left)))
    assert kept.size >= 1
    assert allowed[kept].all()
    cost = ending.cost_to_finish(matcher.state)
    if cost <= tokens_left and kept.size > 1:
        assert all(ending.fits(matcher.state, int(t), tokens_left) for t in kept)


def _fake_runs(name: str, finish_within_budget: bool, max_tokens: int):
    from tests.generation_fakes import FakeLlama

    llm = FakeLlama(n_ctx=512, eog_bias=-6.0)
    grammar = GRAMMARS[name]
    for seed in range(10):
        kwargs = dict(temperature=1.0, mirostat_mode=2, seed=seed) if seed % 2 else dict(temperature=1.0, seed=seed)
        out = create_completion(llm, "x", grammar=grammar, max_tokens=max_tokens,
                                finish_within_budget=finish_within_budget, **kwargs)
        yield out["choices"][0]


@pytest.mark.parametrize("name", ["arithmetic", "tree", "pods"])
def test_generations_end_with_a_sentence_within_the_budget(name):
    for choice in _fake_runs(name, True, 48):
        assert choice["finish_reason"] == "stop", choice
        assert _accepts(name, choice["text"]), choice["text"]


def test_switched_off_the_budget_runs_out_as_before():
    reasons = [choice["finish_reason"] for choice in _fake_runs("tree", False, 48)]
    assert "length" in reasons
