"""Generation on the default model (SmolLM2-135M-Instruct), compared with llama.cpp's outputs."""

import json
from pathlib import Path

import pytest

from constrain.generation import classify, create_chat_completion, create_completion

REFERENCE = json.loads((Path(__file__).parent / "data" / "smollm2_llamacpp_greedy.json").read_text())


@pytest.mark.slow
def test_greedy_completion_matches_llama_cpp(smollm2):
    moon = next(p for p in REFERENCE["prompts"] if p["name"] == "moon")
    result = create_completion(smollm2, moon["prompt"], max_tokens=8, temperature=0)
    text = result["choices"][0]["text"]
    # the first steps have clear margins; later ones are near-ties even for llama.cpp itself
    assert moon["completion_text"].startswith(text) and len(text) > 10
    assert result["usage"]["prompt_tokens"] == len(moon["prompt_ids"])


@pytest.mark.slow
def test_chat_answers_and_stops_at_end_of_turn(smollm2):
    # llama.cpp, greedy on this file: "The answer to this classic math problem is 4." then end of turn
    # (the 135M model answers "What is the capital of France?" with "L'Étoile, ..." there and here)
    result = create_chat_completion(smollm2, [{"role": "user", "content": "What is 2 + 2?"}],
                                    max_tokens=32, temperature=0)
    choice = result["choices"][0]
    assert "4" in choice["message"]["content"]
    assert choice["finish_reason"] == "stop"
    assert "<|im_end|>" not in choice["message"]["content"]


@pytest.mark.slow
def test_classify_prefers_the_right_label(smollm2):
    probs = classify(smollm2, "The capital of France is", [" Paris", " London", " Berlin"])
    assert max(probs, key=probs.get) == " Paris"


@pytest.mark.slow
def test_grammar_constrained_answer_parses(smollm2):
    from constrain.grammars.grammar import Grammar

    grammar = Grammar.from_lark('start: "The answer is " ("yes" | "no") "."')
    result = create_completion(smollm2, "Is the sky blue? ", grammar=grammar, max_tokens=20, seed=3)
    text = result["choices"][0]["text"]
    assert grammar.accepts(text), text
    assert result["choices"][0]["finish_reason"] == "stop"
