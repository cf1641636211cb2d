"""extract(): a validated instance or a typed ExtractionError, and partial values when streamed."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from constrain.extraction import ExtractionError, extract
from constrain.generation import create_chat_completion
from tests.generation_fakes import FakeLlama


class Person(BaseModel):
    name: str
    age: int
    tags: list[str]


class ChatFake(FakeLlama):
    def create_chat_completion(self, messages, **kwargs):
        return create_chat_completion(self, messages, **kwargs)


def _consistent(partial, final) -> bool:
    """`partial` could grow into `final`: containers are prefixes, the last string may be cut."""
    if isinstance(partial, dict):
        return isinstance(final, dict) and all(k in final and _consistent(v, final[k]) for k, v in partial.items())
    if isinstance(partial, list):
        return (isinstance(final, list) and len(partial) <= len(final)
                and all(_consistent(p, f) for p, f in zip(partial, final)))
    if isinstance(partial, str):
        return isinstance(final, str) and final.startswith(partial)
    return partial == final


@pytest.mark.parametrize("seed", range(4))
def test_streamed_partials_grow_into_the_final_instance(seed):
    llm = ChatFake(n_ctx=512, eog_bias=-6.0)
    parts = list(extract(llm, Person, "Bob is 3.", stream=True, max_tokens=160, temperature=1.0, seed=seed))
    final = parts[-1]
    assert isinstance(final, Person)
    assert len(parts) >= 3
    for partial in parts[:-1]:
        assert _consistent(partial.model_dump(exclude_unset=True), final.model_dump())


def test_a_budget_too_small_for_any_instance_raises_with_the_raw_text():
    llm = ChatFake(n_ctx=512, eog_bias=-6.0)
    with pytest.raises(ExtractionError) as caught:
        extract(llm, Person, "Bob is 3.", max_tokens=5, temperature=1.0, seed=0)
    assert caught.value.reason == "length"
    assert caught.value.raw_text.startswith("{")
    with pytest.raises(ExtractionError):
        list(extract(llm, Person, "Bob is 3.", max_tokens=5, temperature=1.0, seed=0, stream=True))
