"""Several sequences decoded together (generation/batching.py, Llama.*_batch) on the default model."""

from __future__ import annotations

import json

import jsonschema
import pytest

from constrain import Llama
from constrain.errors import ContextOverflowError

pytestmark = pytest.mark.slow

PROMPTS = ["The capital of France is", "Once upon a time", "def fibonacci(n):", "The three primary colors are",
           "My favourite food is"]
PERSON = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20},
                                           "age": {"type": "integer", "minimum": 0, "maximum": 130}},
          "required": ["name", "age"], "additionalProperties": False}


@pytest.fixture(scope="module")
def llm(default_model_file):
    # a fixed thread count: the batch path's last bits depend on how rows split among threads
    return Llama(default_model_file, n_ctx=256, n_seq_max=2, n_threads=2)


def _first_token(llm, text):
    return llm.tokenize(text.encode(), add_bos=False)[:1]


def test_batch_keeps_order_and_starts_as_alone(llm):
    alone = [llm.create_completion(p, max_tokens=12, temperature=0)["choices"][0]["text"] for p in PROMPTS]
    batch = llm.create_completion_batch(PROMPTS, max_tokens=12, temperature=0, echo=True)
    assert len(batch) == len(PROMPTS)
    for prompt, single, result in zip(PROMPTS, alone, batch):
        text = result["choices"][0]["text"]
        assert text.startswith(prompt)
        # the prompt's logits do not depend on the other rows of the pass: the first token is the same
        assert _first_token(llm, text[len(prompt):]) == _first_token(llm, single)
        assert result["usage"]["completion_tokens"] <= 12


def test_batch_leaves_the_context_usable(llm):
    results = llm.create_completion_batch(PROMPTS[:3], max_tokens=10, temperature=0.9, seed=7)
    assert all(r["choices"][0]["text"] for r in results)
    assert llm.n_tokens == 0 and llm.create_completion("2 + 2 =", max_tokens=2, temperature=0)["choices"][0]["text"]


def test_each_sequence_keeps_its_own_grammar(llm):
    conversations = [[{"role": "user", "content": f"Describe {who} as JSON."}] for who in ("Ada", "Alan", "Grace")]
    person = {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}}
    results = llm.create_chat_completion_batch(conversations, max_tokens=48, temperature=0.8, seed=3,
                                               response_format=person)
    for result in results:
        assert result["choices"][0]["finish_reason"] == "stop"
        jsonschema.validate(json.loads(result["choices"][0]["message"]["content"]), PERSON)


def test_a_failing_prompt_does_not_stop_the_others(llm):
    too_long = "word " * 400
    results = llm.create_completion_batch([PROMPTS[0], too_long, PROMPTS[1]], max_tokens=4, temperature=0,
                                          return_exceptions=True)
    assert isinstance(results[1], ContextOverflowError)
    assert results[0]["choices"][0]["text"] and results[2]["choices"][0]["text"]
    with pytest.raises(ContextOverflowError):
        llm.create_completion_batch([too_long], max_tokens=4)


def test_extract_many_returns_values_and_errors_in_order(llm):
    from constrain import extract_many

    texts = ["Ada Lovelace was 36.", "word " * 400, "Alan Turing was 41."]
    results = extract_many(llm, PERSON, texts, max_tokens=48)
    assert isinstance(results[1], ContextOverflowError)
    for value in (results[0], results[2]):
        jsonschema.validate(value, PERSON)
