"""The default model against llama.cpp's recorded outputs (tests/data/smollm2_llamacpp_greedy.json)."""

import json
import os

import pytest

from tests.runtime.reference_check import compare_prompt

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "smollm2_llamacpp_greedy.json")
RECORD = json.load(open(DATA))


@pytest.mark.slow
@pytest.mark.parametrize("case", RECORD["prompts"], ids=[c["name"] for c in RECORD["prompts"]])
def test_matches_llama_cpp(smollm2, case):
    result = compare_prompt(smollm2, case)
    assert result.prompt_ids_equal
    assert result.top10_shared >= 8
    assert result.max_top10_logit_diff < 1.0
    assert result.divergence_margin is None or result.divergence_margin < 0.5, result


@pytest.mark.slow
def test_end_of_generation_ids(smollm2):
    assert sorted(smollm2.tokenizer.eog_ids) == RECORD["eog_ids"]
    assert smollm2.token_bos() == RECORD["bos_id"]
    assert smollm2.token_eos() == RECORD["eos_id"]
