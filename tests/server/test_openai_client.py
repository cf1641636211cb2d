"""`constrain serve` on a free local port, driven by the official `openai` client over real
HTTP: chat plain and streamed, response_format json_schema, a tool call, eight requests at
once (each answer the same as alone), a client that hangs up mid-stream, malformed requests."""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import jsonschema
import pytest

openai = pytest.importorskip("openai", reason="these tests drive the server with the official openai client")
uvicorn = pytest.importorskip("uvicorn", reason="the server needs uvicorn (pip install 'constrain[server]')")

from constrain.server import create_app  # noqa: E402
from tests.server.server_cases import CHAT, PERSON, WEATHER  # noqa: E402

pytestmark = pytest.mark.slow

PARALLEL = 8
QUESTIONS = ["What is 2 + 2?", "Name a colour.", "What is the capital of Italy?", "Say hello in French.",
             "How many legs has a spider?", "Name a planet.", "What is ice made of?", "Who wrote Hamlet?"]


@pytest.fixture(scope="module")
def server(default_model_file):
    from constrain import Llama

    # a fixed thread count: a prompt pass's result must not depend on the machine's load
    llm = Llama(default_model_file, n_ctx=2048, n_threads=2, n_seq_max=PARALLEL)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(llm)
    live = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=live.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not live.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    api = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0, timeout=300)
    yield api, llm
    live.should_exit = True
    thread.join(timeout=10)


@contextmanager
def _passes(llm):
    """The number of sequences each model pass advanced, while the block runs."""
    widths = []
    original = llm.model.forward_sequences

    def spy(requests, **kwargs):
        widths.append(len(requests))
        return original(requests, **kwargs)

    llm.model.forward_sequences = spy
    try:
        yield widths
    finally:
        del llm.model.forward_sequences


def _health(api):
    import httpx

    return httpx.get(str(api.base_url).removesuffix("/v1/") + "/health", timeout=10).json()


def test_chat_plain_and_streamed(server):
    api, llm = server
    answer = api.chat.completions.create(model=llm.model_name, messages=CHAT, max_tokens=12, temperature=0)
    assert answer.choices[0].message.content and answer.usage.completion_tokens > 0
    pieces = [c.choices[0].delta.content or "" for c in api.chat.completions.create(
        model=llm.model_name, messages=CHAT, max_tokens=12, temperature=0, stream=True)]
    assert "".join(pieces) == answer.choices[0].message.content


def test_streamed_usage_when_asked(server):
    api, llm = server
    chunks = list(api.chat.completions.create(model=llm.model_name, messages=CHAT, max_tokens=6, temperature=0,
                                              stream=True, stream_options={"include_usage": True}))
    *content, last = chunks
    assert last.choices == [] and last.usage.completion_tokens == 6 and last.usage.prompt_tokens > 0
    assert all(c.usage is None and c.choices for c in content)
    completion = list(api.completions.create(model=llm.model_name, prompt="Once upon a time", max_tokens=5,
                                             temperature=0, stream=True, stream_options={"include_usage": True}))
    assert completion[-1].choices == [] and completion[-1].usage.total_tokens > 5


def test_json_schema_response_validates(server):
    api, llm = server
    answer = api.chat.completions.create(
        model=llm.model_name, messages=[{"role": "user", "content": "Describe Ada Lovelace as JSON."}],
        max_tokens=64, temperature=0.8, seed=11,
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON, "strict": True}})
    jsonschema.validate(json.loads(answer.choices[0].message.content), PERSON)


def test_tool_call_arguments_validate(server):
    api, llm = server
    for choice in ("required", {"type": "function", "function": {"name": "get_weather"}}):
        answer = api.chat.completions.create(
            model=llm.model_name, messages=[{"role": "user", "content": "What is the weather in Paris?"}],
            max_tokens=64, temperature=0, tools=WEATHER, tool_choice=choice)
        message = answer.choices[0].message
        assert answer.choices[0].finish_reason == "tool_calls" and message.tool_calls
        call = message.tool_calls[0]
        assert call.function.name == "get_weather" and call.id
        jsonschema.validate(json.loads(call.function.arguments), WEATHER[0]["function"]["parameters"])


def test_eight_requests_at_once_each_answer_as_alone(server):
    """Greedy answers do not depend on which other sequences share the model's passes."""
    api, llm = server

    def ask(question):
        answer = api.chat.completions.create(model=llm.model_name, messages=[{"role": "user", "content": question}],
                                             max_tokens=24, temperature=0)
        return answer.choices[0].message.content, answer.choices[0].finish_reason

    alone = [ask(q) for q in QUESTIONS]
    with _passes(llm) as widths, ThreadPoolExecutor(PARALLEL) as pool:
        together = list(pool.map(ask, QUESTIONS))
    assert together == alone
    assert all(text and reason in ("stop", "length") for text, reason in together)
    assert max(widths) > 1  # the sequences did share passes


def test_a_client_that_hangs_up_frees_its_slot(server):
    api, llm = server
    with _passes(llm) as steps:
        stream = api.chat.completions.create(
            model=llm.model_name, messages=CHAT, max_tokens=1500, temperature=1.0, seed=1, stream=True,
            logit_bias={str(llm.token_eos()): -100})
        for _ in zip(range(3), stream):
            pass
        stream.close()
        deadline = time.monotonic() + 60
        while _health(api)["slots_processing"]:
            assert time.monotonic() < deadline, "the abandoned generation kept its slot"
            time.sleep(0.05)
    assert len(steps) < 200  # stopped soon after the hang-up, far from 1500 tokens
    after = api.chat.completions.create(model=llm.model_name, messages=CHAT, max_tokens=4, temperature=0)
    assert after.choices[0].message.content is not None


@pytest.mark.parametrize("kwargs,error", [
    ({"n": 3}, "BadRequestError"),
    ({"temperature": "hot"}, "BadRequestError"),
    ({"model": "gpt-4o"}, "NotFoundError"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "strnig"}}}},
     "BadRequestError"),
    ({"tools": WEATHER, "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "BadRequestError"),
])
def test_malformed_requests_are_client_errors(server, kwargs, error):
    api, llm = server
    request = {"model": llm.model_name, "messages": CHAT, "max_tokens": 4, **kwargs}
    with pytest.raises(getattr(openai, error)) as caught:
        api.chat.completions.create(**request)
    assert 400 <= caught.value.status_code < 500 and caught.value.body["message"]
