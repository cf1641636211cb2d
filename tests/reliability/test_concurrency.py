"""One Llama shared by threads and by interleaved streams: calls serialize, streams own their context."""

import threading

import pytest

from constrain import Llama, grammars
from tests.runtime.tiny_models import tiny_model

PROMPTS = [
    "Alpha beta gamma delta epsilon zeta eta theta",
    "Quick brown foxes jump over lazy sleeping dogs",
    "Seven silver swans swam silently southward today",
    "Numbers: one two three four five six seven eight",
]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return tiny_model(str(tmp_path_factory.mktemp("tiny_models")), "llama3", "Q8_0")


def _kwargs(i: int) -> dict:
    # greedy and seeded sampling, free text and a grammar: every path of the loop
    return [dict(temperature=0.0, max_tokens=12), dict(temperature=0.9, seed=7, max_tokens=12),
            dict(temperature=0.0, max_tokens=16, grammar=grammars.regex(r"[a-z ]{3,12}")),
            dict(temperature=0.8, seed=3, max_tokens=10, mirostat_mode=2)][i % 4]


def _alone(model_path, prompt, kwargs) -> str:
    """The text a call gives on a Llama of its own."""
    return Llama(model_path, n_ctx=256)(prompt, **kwargs)["choices"][0]["text"]


@pytest.fixture(scope="module")
def expected(model_path):
    return {(p, i): _alone(model_path, p, _kwargs(i)) for p in PROMPTS for i in range(4)}


def test_two_threads_sharing_a_llama_get_the_single_threaded_outputs(model_path, expected):
    llm = Llama(model_path, n_ctx=256)
    results: dict[tuple, list[str]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker(name: str, jobs: list[tuple[str, int]]):
        try:
            start.wait()
            for prompt, i in jobs * 2:  # several calls each, alternating prompts
                text = llm(prompt, **_kwargs(i))["choices"][0]["text"]
                results.setdefault((prompt, i), []).append(text)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    jobs_a = [(PROMPTS[0], 0), (PROMPTS[1], 1), (PROMPTS[0], 2), (PROMPTS[1], 3)]
    jobs_b = [(PROMPTS[2], 0), (PROMPTS[3], 1), (PROMPTS[2], 2), (PROMPTS[3], 3)]
    threads = [threading.Thread(target=worker, args=(n, j)) for n, j in (("a", jobs_a), ("b", jobs_b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert sum(len(v) for v in results.values()) == 16
    for key, texts in results.items():
        assert texts == [expected[key]] * len(texts), key


def _stream_text(chunks) -> str:
    return "".join(c["choices"][0]["text"] for c in chunks)


def test_interleaved_streams_each_continue_their_own_context(model_path, expected):
    llm = Llama(model_path, n_ctx=256)
    streams = {(p, i): iter(llm(p, stream=True, **_kwargs(i))) for p, i in
               [(PROMPTS[0], 0), (PROMPTS[1], 1), (PROMPTS[2], 2)]}
    texts = {key: [] for key in streams}
    live = dict(streams)
    while live:
        for key in list(live):  # one chunk of each in turn
            chunk = next(live[key], None)
            if chunk is None:
                del live[key]
            else:
                texts[key].append(chunk["choices"][0]["text"])
    for key, pieces in texts.items():
        assert "".join(pieces) == expected[key], key


def test_a_stream_resumed_after_other_calls_restores_its_state(model_path, expected):
    llm = Llama(model_path, n_ctx=256)
    stream = iter(llm(PROMPTS[0], stream=True, **_kwargs(1)))
    pieces = [next(stream)["choices"][0]["text"], next(stream)["choices"][0]["text"]]
    # everything that can change the context in between
    assert llm(PROMPTS[3], **_kwargs(0))["choices"][0]["text"] == expected[(PROMPTS[3], 0)]
    llm.score(PROMPTS[2], [" x", " yz"])
    llm.eval(llm.tokenize(b" and more", add_bos=False))
    pieces.append(next(stream)["choices"][0]["text"])
    llm.reset()
    chat = llm.create_chat_completion([{"role": "user", "content": "hi"}], max_tokens=4, stream=True)
    next(iter(chat))  # another stream, left open
    pieces += [c["choices"][0]["text"] for c in stream]
    assert "".join(pieces) == expected[(PROMPTS[0], 1)]


def test_streams_in_two_threads(model_path, expected):
    llm = Llama(model_path, n_ctx=256)
    out: dict[tuple, str] = {}
    errors: list[BaseException] = []

    def worker(jobs):
        try:
            for prompt, i in jobs:
                out[(prompt, i)] = _stream_text(llm(prompt, stream=True, **_kwargs(i)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(jobs,)) for jobs in
               ([(PROMPTS[0], 0), (PROMPTS[1], 2)], [(PROMPTS[2], 1), (PROMPTS[3], 3)])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert out == {key: expected[key] for key in out} and len(out) == 4


def test_restore_context_replays_only_what_differs(model_path):
    llm = Llama(model_path, n_ctx=256)
    ids = llm.tokenize(PROMPTS[0].encode())
    llm.eval(ids)
    llm.eval(ids[1:3])
    state, logits = llm.context_state(), llm.logits.copy()
    llm.rewind(len(ids))
    llm.eval(llm.tokenize(b" other words", add_bos=False))
    llm.restore_context(state)
    assert llm.input_ids == list(state.ids) and llm.context_state() == state
    assert (llm.logits == logits).all()
