"""The OpenAI-compatible server (constrain/server/) on the default model: the routes, streaming,
response_format, tools, OpenAI-shaped errors and an abandoned stream, through FastAPI's test client
(test_openai_client.py drives a live server with the official client)."""

from __future__ import annotations

import json
import time

import jsonschema
import pytest

fastapi = pytest.importorskip("fastapi", reason="the server needs fastapi (pip install 'constrain[server]')")
from fastapi.testclient import TestClient  # noqa: E402

from constrain.server import create_app  # noqa: E402
from tests.server.server_cases import CHAT, PERSON, WEATHER  # noqa: E402

pytestmark = pytest.mark.slow



@pytest.fixture(scope="module")
def served(default_model_file):
    from constrain import Llama

    # a fixed thread count: a prompt batch's last bits can depend on it, and the server's
    # answers are compared with the Python API's
    return Llama(default_model_file, n_ctx=1024, n_threads=2, n_seq_max=2)


@pytest.fixture(scope="module")
def client(served):
    return TestClient(create_app(served))


def _error_of(response, status):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return error


def _events(response):
    lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    return [json.loads(line[len("data: "):]) for line in lines[:-1]]


def test_health_and_models(client, served):
    assert client.get("/health").json()["status"] == "ok"
    models = client.get("/v1/models").json()
    assert models["object"] == "list" and models["data"][0]["id"] == served.model_name


def test_completion_matches_the_python_api(client, served):
    body = {"prompt": "The capital of France is", "max_tokens": 8, "temperature": 0}
    got = client.post("/v1/completions", json=body).json()
    served.reset()  # the server's sequence starts from an empty context too
    want = served.create_completion("The capital of France is", max_tokens=8, temperature=0, top_k=0, min_p=0.0,
                                     top_p=1.0)
    assert got["object"] == "text_completion" and got["choices"][0]["text"] == want["choices"][0]["text"]
    assert got["usage"]["completion_tokens"] == want["usage"]["completion_tokens"]


def test_chat_stream_spells_the_same_answer(client):
    body = {"messages": CHAT, "max_tokens": 16, "temperature": 0}
    whole = client.post("/v1/chat/completions", json=body).json()
    message = whole["choices"][0]["message"]
    assert whole["object"] == "chat.completion" and message["role"] == "assistant" and message["content"]
    with client.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        chunks = _events(response)
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == message["content"]
    assert chunks[-1]["choices"][0]["finish_reason"] == whole["choices"][0]["finish_reason"]


def test_response_format_json_schema(client):
    body = {"messages": [{"role": "user", "content": "Describe Ada Lovelace as JSON."}], "max_tokens": 64,
            "temperature": 0.7, "seed": 3,
            "response_format": {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}}}
    content = client.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]["content"]
    jsonschema.validate(json.loads(content), PERSON)


def test_required_tool_call_follows_the_parameters(client):
    body = {"messages": [{"role": "user", "content": "What is the weather in Paris?"}], "max_tokens": 64,
            "temperature": 0, "tools": WEATHER, "tool_choice": "required"}
    choice = client.post("/v1/chat/completions", json=body).json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    call = choice["message"]["tool_calls"][0]
    assert call["type"] == "function" and call["function"]["name"] == "get_weather"
    jsonschema.validate(json.loads(call["function"]["arguments"]), WEATHER[0]["function"]["parameters"])
    with client.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as response:
        chunks = _events(response)
    assert chunks[0]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("body,status,param", [
    ({"max_tokens": 4}, 400, "messages"),
    ({"messages": CHAT, "n": 2}, 400, "n"),
    ({"messages": CHAT, "temperature": "hot"}, 400, "temperature"),
    ({"messages": CHAT, "model": "gpt-4o"}, 404, None),
    ({"messages": CHAT, "response_format": {"type": "yaml"}}, 400, None),
    ({"messages": CHAT, "response_format": {"type": "json_schema",
                                            "json_schema": {"name": "x", "schema": {"type": "strnig"}}}}, 400, None),
    ({"messages": CHAT, "tools": WEATHER,
      "tool_choice": {"type": "function", "function": {"name": "nope"}}}, 400, None),
    ({"messages": CHAT, "logit_bias": {"the": 5}}, 400, None),
    ({"messages": "hello"}, 400, "messages"),
])
def test_bad_requests_get_openai_errors(client, body, status, param):
    error = _error_of(client.post("/v1/chat/completions", json=body), status)
    if param is not None:
        assert error["param"] == param


def test_bad_json_and_unknown_routes(client):
    _error_of(client.post("/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"}),
              400)
    _error_of(client.get("/v1/engines"), 404)


def test_an_abandoned_stream_frees_the_model(client):
    body = {"messages": CHAT, "max_tokens": 200, "temperature": 1.0, "seed": 1, "stream": True}
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        next(response.iter_lines())  # read one event, then hang up
    started = time.monotonic()
    got = client.post("/v1/chat/completions", json={"messages": CHAT, "max_tokens": 4, "temperature": 0})
    assert got.status_code == 200 and time.monotonic() - started < 60


def test_tokenize(client, served):
    got = client.post("/v1/tokenize", json={"input": "hello world"}).json()
    assert got["tokens"] == list(served.tokenize(b"hello world")) and got["count"] == len(got["tokens"])
