"""Bad arguments get a typed ConstrainError that names the argument, not a raw Python exception."""


import numpy as np
import pytest

from constrain import Llama
from constrain.errors import ConstrainError, ContextError, SamplingError
from tests.runtime.tiny_models import tiny_model


@pytest.fixture(scope="module")
def llm(tmp_path_factory):
    return Llama(tiny_model(str(tmp_path_factory.mktemp("tiny_models")), "llama3", "Q8_0"), n_ctx=64)


def test_lone_surrogate_in_a_prompt_names_the_argument(llm):
    with pytest.raises(SamplingError, match=r"prompt holds '\\ud800' at index 3"):
        llm("abc\ud800def", max_tokens=2)
    with pytest.raises(SamplingError, match="rendered messages"):
        llm.create_chat_completion([{"role": "user", "content": "x\udfff"}], max_tokens=2)
    with pytest.raises(SamplingError, match="continuation"):
        llm.score("a prompt", ["ok", "bad\ud800"])
    with pytest.raises(ConstrainError, match="UTF-8 cannot encode"):
        llm.tokenize("\ud800")


@pytest.mark.parametrize("name, value", [("temperature", "0.5"), ("temperature", None), ("top_p", "high"),
                                         ("temperature", float("nan")), ("min_p", [0.1]), ("top_k", 4.5),
                                         ("repeat_penalty", "1.1"), ("mirostat_tau", float("inf"))])
def test_bad_sampling_argument_types_name_the_argument(llm, name, value):
    with pytest.raises(SamplingError, match=name):
        llm("hello", max_tokens=2, **{name: value})
    with pytest.raises(SamplingError, match=name):
        llm.create_chat_completion([{"role": "user", "content": "hi"}], max_tokens=2, **{name: value})


def test_eval_and_rewind_arguments(llm):
    llm.reset()
    with pytest.raises(ContextError, match=r"eval\(ids\) needs at least one token"):
        llm.eval([])
    with pytest.raises(ContextError, match="eval"):
        llm.eval("hello")
    with pytest.raises(ContextError, match="integer token ids"):
        llm.eval([1.5, 2.0])
    llm.eval([1, 2, 3])
    for bad in (-1, 4, 10**12):
        with pytest.raises(ContextError, match=rf"rewind\(n_keep={bad}\)"):
            llm.rewind(bad)
    with pytest.raises(ContextError, match="needs an int"):
        llm.rewind("1")
    assert llm.n_tokens == 3 and llm.input_ids == [1, 2, 3]  # nothing changed on the way
    llm.rewind(np.int64(1))
    assert llm.input_ids == [1]
    assert issubclass(ContextError, ConstrainError) and issubclass(ContextError, ValueError)
