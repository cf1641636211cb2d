"""llama-cpp-python's constructor keywords and create_chat_completion_openai_v1."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from constrain import Llama

pytestmark = pytest.mark.slow


def test_founding_notes_constructor_runs_with_one_warning(default_model_file):
    with pytest.warns(UserWarning, match=r"ignores these llama-cpp-python arguments: n_gpu_layers=-1, use_mlock=True"):
        llm = Llama(default_model_file, n_gpu_layers=-1, use_mlock=True, verbose=False, n_ctx=256)
    assert llm.create_completion("2 + 2 =", max_tokens=2, temperature=0)["choices"][0]["text"]


def test_keywords_that_ask_for_nothing_missing_do_not_warn(default_model_file):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Llama(default_model_file, n_ctx=64, n_gpu_layers=0, use_mmap=True, embedding=False)


def test_unknown_keyword_is_a_type_error(default_model_file):
    with pytest.raises(TypeError, match="n_gpu_layer"):
        Llama(default_model_file, n_gpu_layer=-1)


def test_n_batch_and_logits_all_are_honoured(default_model_file):
    ids = list(range(100, 130))
    small = Llama(default_model_file, n_ctx=64, n_batch=8, logits_all=True)
    small.eval(ids)
    assert small.n_batch == 8 and small.all_logits.shape == (30, small.n_vocab())
    whole = Llama(default_model_file, n_ctx=64)
    whole.eval(ids)
    assert whole.all_logits is None
    np.testing.assert_allclose(small.logits, whole.logits, rtol=0.05, atol=0.05 * np.abs(whole.logits).max())
    with pytest.raises(ValueError, match="n_batch"):
        Llama(default_model_file, n_batch=0)


def test_openai_v1_types(default_model_file):
    openai = pytest.importorskip("openai")
    llm = Llama(default_model_file, n_ctx=256, n_threads=2)  # fixed threads: the two calls are compared
    messages = [{"role": "user", "content": "What is 2 + 2?"}]
    answer = llm.create_chat_completion_openai_v1(messages, max_tokens=8, temperature=0)
    assert isinstance(answer, openai.types.chat.ChatCompletion) and answer.choices[0].message.content
    llm.reset()  # the same prompt again from an empty context, not from the cached one
    chunks = list(llm.create_chat_completion_openai_v1(messages, max_tokens=8, temperature=0, stream=True))
    assert all(isinstance(c, openai.types.chat.ChatCompletionChunk) for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == answer.choices[0].message.content
