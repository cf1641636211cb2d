"""Token-level acceptance tests under SmolLM2's BPE and a small SPM tokenizer.

completeness: every sentence, tokenized, is accepted token by token with the mask allowing
each token and end-of-generation at the end. soundness: random walks over allowed tokens end
as text lark parses. exactness of the fast path: mask() == the reference mask on random states.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constrain.testing import assert_masks_agree, sentences, token_walks
from tests.grammars.grammar_zoo import ALL_NAMES, grammar

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


def encode(tokenizer, text: str) -> list[int] | None:
    ids = tokenizer.encode(text, add_bos=False)
    vocab = tokenizer.vocab_bytes()
    if b"".join(vocab[i] for i in ids) != text.encode("utf-8"):
        return None  # the tokenizer normalizes this text; not a path the model can produce
    return ids


@pytest.mark.parametrize("name", ALL_NAMES)
def test_completeness(name, any_tokenizer):
    g = grammar(name)
    eos = sorted(any_tokenizer.eog_ids)

    @SETTINGS
    @given(sentences(g))
    def check(text):
        ids = encode(any_tokenizer, text)
        if ids is None:
            return
        matcher = g.matcher(any_tokenizer)
        for token_id in ids:
            assert matcher.is_allowed(token_id), (text, token_id)
            matcher.advance(token_id)
        assert matcher.is_accepting(), text
        assert matcher.mask()[eos].all()

    check()


@pytest.mark.parametrize("name", ALL_NAMES)
def test_soundness(name, any_tokenizer):
    g = grammar(name)

    @SETTINGS
    @given(token_walks(g, any_tokenizer, max_tokens=30))
    def check(walk):
        vocab = any_tokenizer.vocab_bytes()
        control = any_tokenizer.control_ids | any_tokenizer.eog_ids
        text_ids = walk.token_ids[:-1] if walk.ended else walk.token_ids
        assert not any(i in control for i in text_ids)  # control tokens never appear as text
        if walk.ended:
            text = walk.text.decode("utf-8")  # never invalid UTF-8
            assert g.accepts(text), text
        else:
            assert b"".join(vocab[i] for i in walk.token_ids) == walk.text

    check()


# Walks per grammar and their length, per tokenizer: a reference mask over SmolLM2's 49k tokens
# is slow, so fewer, shorter walks there, and only in the slow run.
REFERENCE_WALKS = {"spm": (12, 25), "smollm2": (4, 15)}


@pytest.mark.parametrize("tokenizer_name", ["spm", pytest.param("smollm2", marks=pytest.mark.slow)])
@pytest.mark.parametrize("name", ALL_NAMES)
def test_fast_mask_equals_reference(name, tokenizer_name, request):
    g = grammar(name)
    tokenizer = request.getfixturevalue(f"{tokenizer_name}_tokenizer")
    examples, max_tokens = REFERENCE_WALKS[tokenizer_name]

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(token_walks(g, tokenizer, max_tokens=max_tokens, stop_bias=0.0), st.data())
    def check(walk, data):
        matcher = g.matcher(tokenizer)
        cut = data.draw(st.integers(0, len(walk.token_ids)))
        for token_id in walk.token_ids[:cut]:
            matcher.advance(token_id)
        assert_masks_agree(matcher)

    check()


def test_fast_mask_equals_reference_along_json_document(smollm2_tokenizer):
    g = grammar("json")
    doc = '{"name": "Ada Lovelace", "age": 36, "skills": ["math", "poetry"]}'
    matcher = g.matcher(smollm2_tokenizer)
    ids = smollm2_tokenizer.encode(doc, add_bos=False)
    for k, token_id in enumerate(ids):
        if k in (0, 4, 14, 15, len(ids) - 1):  # value start, in a string, in a number, the end
            assert_masks_agree(matcher)
        matcher.advance(token_id)
    assert_masks_agree(matcher)
    assert matcher.is_accepting()
    mask = matcher.mask()
    assert mask[sorted(smollm2_tokenizer.eog_ids)].all()
    assert np.flatnonzero(mask).size < 200  # only whitespace may still follow
