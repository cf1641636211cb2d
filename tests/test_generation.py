"""create_completion / score / classify against a deterministic fake model."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from constrain.errors import ContextOverflowError, SamplingError
from constrain.generation import build_pipeline, classify, create_completion, score
from constrain.generation.logprobs import log_softmax
from constrain.samplers import Dist, Greedy, MirostatV2, Pipeline, TopK
from tests.generation_fakes import FakeGrammar, FakeLlama


class Script:
    """A processor that forces a fixed token sequence after the prompt (then EOS)."""

    def __init__(self, n_prompt, tokens, eos):
        self.n_prompt, self.tokens, self.eos = n_prompt, list(tokens), eos

    def __call__(self, ids, logits):
        step = len(ids) - self.n_prompt
        out = np.full_like(logits, -np.inf)
        target = self.tokens[step] if step < len(self.tokens) else self.eos
        out[target] = 0.0
        return out


def greedy_reference(llm, prompt_ids, n):
    context = list(prompt_ids)
    out = []
    for _ in range(n):
        token = int(np.argmax(llm.fresh_logits(context)))
        if token in llm.tokenizer.eog_ids:
            break
        out.append(token)
        context.append(token)
    return out


def test_completion_shape_and_usage():
    llm = FakeLlama()
    result = create_completion(llm, "Hello", max_tokens=7, seed=1)
    assert set(result) == {"id", "object", "created", "model", "choices", "usage"}
    assert result["object"] == "text_completion" and result["id"].startswith("cmpl-")
    assert result["model"] == "fake-bigram" and isinstance(result["created"], int)
    (choice,) = result["choices"]
    assert set(choice) == {"text", "index", "logprobs", "finish_reason"}
    assert choice["index"] == 0 and choice["logprobs"] is None
    usage = result["usage"]
    assert usage["prompt_tokens"] == len(llm.tokenize(b"Hello", special=True))
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["completion_tokens"] <= 7
    assert choice["finish_reason"] == ("length" if usage["completion_tokens"] == 7 else "stop")


def test_greedy_matches_step_by_step_reference():
    llm = FakeLlama(eog_bias=-50.0)
    prompt_ids = llm.tokenize(b"the", special=True)
    result = create_completion(llm, "the", max_tokens=12, temperature=0.0)
    expected = greedy_reference(llm, prompt_ids, 12)
    assert result["choices"][0]["text"] == llm.detokenize(expected).decode("utf-8", errors="replace")
    assert result["choices"][0]["finish_reason"] == "length"


def test_prompt_is_one_batch_and_shared_prefix_is_reused():
    llm = FakeLlama(eog_bias=-50.0)
    create_completion(llm, "hello there", max_tokens=3, temperature=0)
    first_batch = llm.eval_calls[0]
    assert first_batch == (len(llm.tokenize(b"hello there", special=True)), False)
    assert all(n == 1 for n, _ in llm.eval_calls[1:])
    # a prompt extending the evaluated context only evaluates its new tokens
    llm.eval_calls.clear()
    base = llm.tokenize(b"hello there", special=True)
    longer = base + llm.tokenize(b" and more", add_bos=False)
    out_reused = create_completion(llm, longer, max_tokens=4, temperature=0)
    assert llm.eval_calls[0] == (len(longer) - len(base), False)
    # and gives what a fresh model gives
    fresh = FakeLlama(eog_bias=-50.0)
    assert create_completion(fresh, longer, max_tokens=4, temperature=0)["choices"] == out_reused["choices"]


def test_same_prompt_twice_reevaluates_only_the_last_token():
    llm = FakeLlama(eog_bias=-50.0)
    a = create_completion(llm, "hello", max_tokens=2, temperature=0)
    llm.eval_calls.clear()
    b = create_completion(llm, "hello", max_tokens=2, temperature=0)
    assert llm.eval_calls[0] == (1, False)
    assert a["choices"] == b["choices"]


def test_context_overflow_and_max_tokens_truncation():
    llm = FakeLlama(n_ctx=16, eog_bias=-50.0)
    with pytest.raises(ContextOverflowError, match="context window holds 16"):
        create_completion(llm, "x" * 40, max_tokens=1)
    prompt = "abcdefghij"  # 10 tokens
    result = create_completion(llm, prompt, max_tokens=100, temperature=0)
    assert result["usage"]["completion_tokens"] == 16 - 10
    assert result["choices"][0]["finish_reason"] == "length"
    assert create_completion(llm, prompt, max_tokens=None, temperature=0)["usage"]["completion_tokens"] == 6


def test_stream_equals_whole():
    for seed in range(4):
        for stop in (None, ["e", "or"], "zz"):
            kwargs = dict(max_tokens=30, seed=seed, stop=stop, logprobs=2)
            whole = create_completion(FakeLlama(), "Hello", **kwargs)["choices"][0]
            chunks = list(create_completion(FakeLlama(), "Hello", stream=True, **kwargs))
            assert all(c["object"] == "text_completion" for c in chunks)
            assert len({c["id"] for c in chunks}) == 1
            assert "".join(c["choices"][0]["text"] for c in chunks) == whole["text"]
            assert [c["choices"][0]["finish_reason"] for c in chunks[:-1]] == [None] * (len(chunks) - 1)
            assert chunks[-1]["choices"][0]["finish_reason"] == whole["finish_reason"]
            merged = {k: sum((c["choices"][0]["logprobs"][k] for c in chunks), []) for k in whole["logprobs"]}
            assert merged == whole["logprobs"]


def test_stop_string_is_cut_and_finish_is_stop():
    llm = FakeLlama()
    ids = llm.tokenize(b"Hi", special=True)
    script = Script(len(ids), llm.tokenize(b"one two three", add_bos=False), llm.token_eos())
    full = create_completion(llm, "Hi", max_tokens=30, logits_processor=[script], temperature=0)
    assert full["choices"][0]["text"] == "one two three"
    cut = create_completion(llm, "Hi", max_tokens=30, logits_processor=[script], temperature=0, stop=["two", "ne t"])
    assert cut["choices"][0]["text"] == "o"
    assert cut["choices"][0]["finish_reason"] == "stop"
    chunks = [c["choices"][0]["text"] for c in create_completion(
        llm, "Hi", max_tokens=30, logits_processor=[script], temperature=0, stop=" tw", stream=True)]
    assert "".join(chunks) == "one"


def test_streamed_text_never_splits_a_character():
    llm = FakeLlama()
    text = "héllo wörld ✓ 😀"
    ids = llm.tokenize(b"Hi", special=True)
    tokens = llm.tokenize(text.encode(), add_bos=False)
    assert len(tokens) > len(text)  # byte tokens: the multi-byte characters are split
    script = Script(len(ids), tokens, llm.token_eos())
    chunks = [c["choices"][0]["text"] for c in create_completion(
        llm, "Hi", max_tokens=60, logits_processor=[script], temperature=0, stream=True)]
    assert "".join(chunks) == text
    assert not any("\ufffd" in c for c in chunks)


def test_eos_stops_with_finish_reason_stop_and_is_not_in_the_text():
    llm = FakeLlama(eog_bias=50.0)
    result = create_completion(llm, "Hello", max_tokens=10, seed=0)
    assert result["choices"][0]["text"] == ""
    assert result["choices"][0]["finish_reason"] == "stop"
    assert result["usage"]["completion_tokens"] == 0


def test_grammar_output_is_one_of_the_choices():
    for seed in range(6):
        llm = FakeLlama()
        grammar = FakeGrammar(["yes", "no", " and the"])
        result = create_completion(llm, "Q", grammar=grammar, max_tokens=10, seed=seed)
        assert result["choices"][0]["text"] in ("yes", "no", " and the")
        assert result["choices"][0]["finish_reason"] == "stop"


def test_grammar_allows_eos_only_when_accepting():
    # the model wants EOS above everything; "ab" must still be completed ...
    llm = FakeLlama(eog_bias=50.0)
    result = create_completion(llm, "Q", grammar=FakeGrammar(["ab"]), max_tokens=10, temperature=0)
    assert result["choices"][0]["text"] == "ab"
    # ... while "a" (a complete choice that could go on to "ab") may end there
    result = create_completion(llm, "Q", grammar=FakeGrammar(["a", "ab"]), max_tokens=10, temperature=0)
    assert result["choices"][0]["text"] == "a"
    assert result["choices"][0]["finish_reason"] == "stop"
    # without the EOS preference the grammar's finished state ends it
    llm = FakeLlama(eog_bias=-50.0)
    result = create_completion(llm, "Q", grammar=FakeGrammar(["a", "ab"]), max_tokens=10, temperature=0)
    assert result["choices"][0]["text"] in ("a", "ab")


def test_grammar_matcher_is_advanced_with_every_token_and_reset():
    llm = FakeLlama(eog_bias=-50.0)
    grammar = FakeGrammar(["hello"])
    result = create_completion(llm, "Q", grammar=grammar, max_tokens=20, seed=0)
    assert result["choices"][0]["text"] == "hello"
    (matcher,) = grammar.matchers
    assert llm.detokenize(matcher.advanced) == b"hello"


def test_default_pipelines():
    assert isinstance(build_pipeline().sampler, MirostatV2)                    # free text
    assert isinstance(build_pipeline(constrained=True).sampler, Dist)          # under a grammar
    assert isinstance(build_pipeline(temperature=0).sampler, Greedy)
    assert isinstance(build_pipeline(mirostat_mode=0).processors[0], TopK)
    custom = Pipeline([], Greedy())
    assert build_pipeline(sampler=custom) is custom
    with pytest.raises(SamplingError):
        build_pipeline(mirostat_mode=3)


def test_logprobs_come_from_the_raw_model_distribution():
    llm = FakeLlama(eog_bias=-50.0)
    prompt_ids = llm.tokenize(b"the", special=True)
    result = create_completion(llm, "the", max_tokens=5, temperature=0, logprobs=3)
    lp = result["choices"][0]["logprobs"]
    tokens = greedy_reference(llm, prompt_ids, 5)
    context = list(prompt_ids)
    for i, token in enumerate(tokens):
        expected = log_softmax(llm.fresh_logits(context))
        assert lp["token_logprobs"][i] == pytest.approx(float(expected[token]), abs=1e-5)
        assert len(lp["top_logprobs"][i]) <= 4
        context.append(token)
    assert lp["text_offset"][0] == len("the")
    assert lp["tokens"] == [llm.tokenizer.token_bytes(t).decode("utf-8", "ignore") for t in tokens]


def test_echo_prepends_the_prompt_and_its_logprobs():
    llm = FakeLlama(eog_bias=-50.0)
    result = create_completion(llm, "the end", max_tokens=2, temperature=0, echo=True, logprobs=1)
    choice = result["choices"][0]
    assert choice["text"].startswith("the end")
    n_prompt = len(llm.tokenize(b"the end", special=True))
    assert choice["logprobs"]["token_logprobs"][0] is None
    assert len(choice["logprobs"]["tokens"]) == n_prompt + 2
    prompt_ids = llm.tokenize(b"the end", special=True)
    expected = log_softmax(llm.fresh_logits(prompt_ids[:1]))[prompt_ids[1]]
    assert choice["logprobs"]["token_logprobs"][1] == pytest.approx(float(expected), abs=1e-5)


_CHILD = """
import sys
sys.path.insert(0, {root!r})
from tests.generation_fakes import FakeLlama
from constrain.generation import create_completion
for mode in (0, 1, 2):
    out = create_completion(FakeLlama(), "Hello", max_tokens=20, seed=1234, mirostat_mode=mode)
    print(repr(out["choices"][0]["text"]))
"""


def test_same_seed_same_text_in_a_new_process():
    here = "\n".join(repr(create_completion(FakeLlama(), "Hello", max_tokens=20, seed=1234, mirostat_mode=m)
                          ["choices"][0]["text"]) for m in (0, 1, 2))
    child = _CHILD.format(root=str(Path(__file__).parents[1]))
    there = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True).stdout
    assert there.strip() == here
    other = create_completion(FakeLlama(), "Hello", max_tokens=20, seed=99)["choices"][0]["text"]
    assert other != create_completion(FakeLlama(), "Hello", max_tokens=20, seed=1234)["choices"][0]["text"]


def test_bad_prompts():
    llm = FakeLlama()
    with pytest.raises(SamplingError, match="outside the vocabulary"):
        create_completion(llm, [1, 99999])
    with pytest.raises(SamplingError, match="empty"):
        create_completion(llm, [])
    with pytest.raises(SamplingError, match="stop strings"):
        create_completion(llm, "x", stop=[1])


# ---------------------------------------------------------------- scoring

def _reference_score(llm, prompt_ids, cont_ids):
    context = list(prompt_ids)
    total = 0.0
    for token in cont_ids:
        total += float(log_softmax(llm.fresh_logits(context))[token])
        context.append(token)
    return total


def test_score_sums_token_logprobs_with_one_batch_per_continuation():
    llm = FakeLlama()
    prompt_ids = llm.tokenize(b"Hello", special=True)
    conts = [" and the", "x", " hello world"]
    llm.eval_calls.clear()
    got = score(llm, "Hello", conts)
    for value, cont in zip(got, conts):
        expected = _reference_score(llm, prompt_ids, llm.tokenize(cont.encode(), add_bos=False))
        assert value == pytest.approx(expected, abs=1e-4)
    # prompt once, then one all-position batch per multi-token continuation (none for "x")
    batches = [(n, all_) for n, all_ in llm.eval_calls]
    assert batches[0] == (len(prompt_ids), False)
    assert batches[1:] == [(len(llm.tokenize(c.encode(), add_bos=False)) - 1, True)
                           for c in conts if len(llm.tokenize(c.encode(), add_bos=False)) > 1]
    # the prompt's cache is reused by the next call
    llm.eval_calls.clear()
    score(llm, "Hello", ["xy"])
    assert llm.eval_calls == [(1, False), (1, True)]


def test_classify_normalizes_over_labels():
    llm = FakeLlama()
    probs = classify(llm, "Is it?", [" yes", " no", " maybe"])
    assert set(probs) == {" yes", " no", " maybe"}
    assert sum(probs.values()) == pytest.approx(1.0)
    logp = score(llm, "Is it?", [" yes", " no", " maybe"])
    assert max(probs, key=probs.get) == [" yes", " no", " maybe"][int(np.argmax(logp))]
    with pytest.raises(SamplingError):
        classify(llm, "x", [])
    with pytest.raises(SamplingError):
        score(llm, "x", "single string")


def test_response_format_forms_map_to_grammars():
    from constrain.errors import SamplingError
    from constrain.generation.response_format import grammar_for

    assert grammar_for(None, None) is None
    assert grammar_for(None, {"type": "text"}) is None
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    for form in ({"type": "json_object"}, {"type": "json_object", "schema": schema},
                 {"type": "json_schema", "json_schema": {"name": "x", "schema": schema, "strict": True}}):
        assert hasattr(grammar_for(None, form), "matcher")
    with pytest.raises(SamplingError, match="not both"):
        grammar_for(object(), {"type": "json_object"})
    with pytest.raises(SamplingError, match="json_schema"):
        grammar_for(None, {"type": "json_schema"})
    with pytest.raises(SamplingError, match="not one of"):
        grammar_for(None, {"type": "yaml"})
