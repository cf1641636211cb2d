"""create_completion: llama-cpp-python's text completion, streamed or whole.

Both forms come from the same event stream, so the streamed text deltas always concatenate to the
whole text, and stop strings are cut before any of their characters is released.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from constrain.errors import SamplingError
from constrain.generation.context import check_fits, evaluate_prompt
from constrain.generation.logprobs import LogprobRecorder, token_bytes
from constrain.generation.loop import Generation, generate_tokens
from constrain.generation.response_format import grammar_for
from constrain.generation.settings import SamplingArgs
from constrain.generation.text import TextAssembler, normalize_stops
from constrain.protocols import GrammarSource, Matcher, Model
from constrain.samplers import Pipeline


@dataclass
class TextDelta:
    """Text released at one point, with the logprob entries of the tokens that begin in it."""

    text: str
    logprobs: dict | None = None


@dataclass
class Finish:
    reason: str
    prompt_tokens: int
    completion_tokens: int


def utf8(text: str, argument: str) -> bytes:
    """`text` as UTF-8, or a SamplingError naming the argument (a lone surrogate cannot be encoded)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SamplingError(f"{argument} holds {text[exc.start]!r} at index {exc.start}, which UTF-8 cannot "
                            f"encode ({exc.reason}): a lone surrogate is not text") from None


def tokenize_prompt(llm: Model, prompt) -> tuple[list[int], str]:
    """Prompt ids (with BOS, special tokens parsed) and the prompt as text."""
    if isinstance(prompt, str):
        return list(llm.tokenize(utf8(prompt, "prompt"), add_bos=True, special=True)), prompt
    if isinstance(prompt, (bytes, bytearray)):
        return (list(llm.tokenize(bytes(prompt), add_bos=True, special=True)),
                bytes(prompt).decode("utf-8", errors="replace"))
    try:
        ids = [int(t) for t in prompt]
    except TypeError:
        raise SamplingError(f"prompt must be str, bytes or a list of token ids, got {type(prompt).__name__}") from None
    n_vocab = llm.n_vocab()
    bad = [t for t in ids if not 0 <= t < n_vocab]
    if bad:
        raise SamplingError(f"prompt token ids {bad[:5]} are outside the vocabulary (0..{n_vocab - 1})")
    return ids, llm.detokenize(ids).decode("utf-8", errors="replace")


def grammar_matcher(llm: Model, grammar: GrammarSource | Matcher | None) -> Matcher | None:
    """A fresh matcher from a grammar object (grammar.matcher(tokenizer)), or a matcher as given."""
    if grammar is None:
        return None
    if isinstance(grammar, GrammarSource):
        return grammar.matcher(llm.tokenizer)
    if isinstance(grammar, Matcher):
        return grammar
    raise SamplingError(f"grammar {grammar!r} has no matcher(tokenizer) method and is not a matcher")


@dataclass
class Request:
    """A validated completion request: everything that can fail on bad input is built here."""

    prompt_ids: list[int]
    prompt_text: str
    pipeline: Pipeline
    matcher: Matcher | None
    stops: list[str]


def prepare_request(llm: Model, prompt, *, stop, grammar, sampling: SamplingArgs) -> Request:
    prompt_ids, prompt_text = tokenize_prompt(llm, prompt)
    check_fits(llm, len(prompt_ids))
    matcher = grammar_matcher(llm, grammar)
    pipeline = sampling.pipeline(constrained=matcher is not None, n_vocab=llm.n_vocab())
    return Request(prompt_ids, prompt_text, pipeline, matcher, normalize_stops(stop))


def completion_events(llm: Model, request: Request, *, max_tokens, logprobs, echo,
                      finish_within_budget: bool = True,
                      fast_forward: bool = True) -> Iterator[TextDelta | Finish]:
    """Deltas of released text (each with the logprob entries of the tokens that begin in it), then one Finish."""
    prompt_ids, prompt_text = request.prompt_ids, request.prompt_text
    pipeline, matcher = request.pipeline, request.matcher
    assembler = TextAssembler(request.stops)
    recorder = LogprobRecorder(llm, logprobs) if logprobs is not None else None
    base = len(prompt_text)  # completion tokens start after the prompt, echoed or not (llama-cpp-python)

    if recorder is not None and echo:
        _record_prompt(llm, prompt_ids, recorder)
    if echo:
        yield TextDelta(prompt_text, recorder.section(0, len(recorder)) if recorder is not None else None)
    first_entry = len(recorder) if recorder is not None else 0
    released = first_entry  # logprob entries handed out so far

    def section(n_tokens_shown: int) -> dict | None:
        nonlocal released
        if recorder is None:
            return None
        upto = max(released, first_entry + n_tokens_shown)
        out = recorder.section(released, upto)
        released = upto
        return out

    state = Generation(prompt_ids)
    starts: list[int] = []  # character offset in the completion where each token begins
    raw_logits: list = []
    on_logits = (lambda raw, token: raw_logits.append(raw.copy())) if recorder is not None else None
    tokens = generate_tokens(llm, prompt_ids, pipeline, max_tokens, matcher, on_logits, state,
                             finish_within_budget=finish_within_budget, fast_forward=fast_forward)
    for token in tokens:
        starts.append(len(assembler.text))
        if recorder is not None:
            recorder.add(raw_logits.pop(), token, base + starts[-1])
        new_text = assembler.feed(token_bytes(llm, token))
        if assembler.stopped:
            tokens.close()
            yield TextDelta(new_text, section(sum(1 for s in starts if s < len(assembler.text))))
            break
        if new_text:
            yield TextDelta(new_text, section(sum(1 for s in starts if s < assembler.released)))
    else:
        yield TextDelta(assembler.finish(), section(len(starts)))
    reason = "stop" if assembler.stopped else (state.finish_reason or "stop")
    yield Finish(reason, len(prompt_ids), len(state.tokens))


def _record_prompt(llm: Model, prompt_ids: list[int], recorder: LogprobRecorder) -> None:
    """Logprobs of the prompt's own tokens (echo): one batched eval with all-position logits.

    As llama-cpp-python: BOS is left out and the first entry has no logprob (OpenAI's format).
    """
    evaluate_prompt(llm, prompt_ids, logits_all=True)
    rows = llm.all_logits
    if rows is None:
        raise SamplingError(f"{type(llm).__name__}.eval(..., logits_all=True) left all_logits empty")
    offset = 0
    for i, token in enumerate(prompt_ids):
        if i == 0 and token == llm.token_bos():
            continue
        recorder.add(rows[i - 1] if len(recorder) and i > 0 else None, token, offset)
        offset += len(recorder.tokens[-1])


def _new_id() -> str:
    return f"cmpl-{uuid.uuid4()}"


def create_completion(llm: Model, prompt, max_tokens: int | None = 16, temperature: float = 0.8, top_p: float = 0.95,
                      top_k: int = 40, min_p: float = 0.05, typical_p: float = 1.0, repeat_penalty: float = 1.0,
                      frequency_penalty: float = 0.0, presence_penalty: float = 0.0,
                      mirostat_mode: int | None = None, mirostat_tau: float = 5.0, mirostat_eta: float = 0.1,
                      seed: int | None = None, stop=None, logprobs: int | None = None, echo: bool = False,
                      stream: bool = False, logit_bias: dict | None = None, logits_processor=None,
                      sampler=None, grammar=None, penalty_last_n: int = 64,
                      response_format: dict | None = None, finish_within_budget: bool = True,
                      fast_forward: bool = True):
    """Complete `prompt` the way llama-cpp-python's Llama.create_completion does.

    Returns {"id", "object": "text_completion", "created", "model", "choices": [{"text",
    "index", "logprobs", "finish_reason"}], "usage"}; with stream=True an iterator of chunks of
    that shape whose texts concatenate to the whole text (the last carries finish_reason).
    Under a grammar, `finish_within_budget` (on by default) keeps room to complete a sentence
    before max_tokens or the context end, and `fast_forward` (on by default) appends the text
    the grammar forces without sampling it (docs/grammars.md). See constrain.generation.settings for how
    the sampling arguments become a Pipeline.
    """
    sampling = SamplingArgs.of(locals())
    request = prepare_request(llm, prompt, stop=stop, grammar=grammar_for(grammar, response_format),
                              sampling=sampling)
    events = completion_events(llm, request, max_tokens=max_tokens, logprobs=logprobs, echo=echo,
                               finish_within_budget=finish_within_budget, fast_forward=fast_forward)
    header = {"id": _new_id(), "object": "text_completion", "created": int(time.time()),
              "model": llm.model_name}
    if stream:
        return _stream_chunks(events, header)
    return _whole(events, header, logprobs is not None)


def collect(events) -> tuple[str, dict, Finish]:
    """Drain a non-streamed generation: its whole text, its merged logprob entries, its Finish."""
    texts: list[str] = []
    merged: dict[str, list] = {"tokens": [], "text_offset": [], "token_logprobs": [], "top_logprobs": []}
    for event in events:
        if isinstance(event, Finish):
            return "".join(texts), merged, event
        texts.append(event.text)
        if event.logprobs is not None:
            for key in merged:
                merged[key].extend(event.logprobs[key])
    raise RuntimeError("generation events ended without a Finish")


def usage_of(finish: Finish) -> dict:
    return {"prompt_tokens": finish.prompt_tokens, "completion_tokens": finish.completion_tokens,
            "total_tokens": finish.prompt_tokens + finish.completion_tokens}


def _whole(events, header: dict, want_logprobs: bool) -> dict:
    text, merged, finish = collect(events)
    return {**header, "choices": [{"text": text, "index": 0,
                                   "logprobs": merged if want_logprobs else None,
                                   "finish_reason": finish.reason}],
            "usage": usage_of(finish)}


def _stream_chunks(events, header: dict) -> Iterator[dict]:
    """Chunks as llama-cpp-python streams them; the last one carries finish_reason (and the
    token counts, "usage")."""
    held: TextDelta | None = None
    for event in events:
        if isinstance(event, Finish):
            last = held or TextDelta("")
            yield {**header, "choices": [{"text": last.text, "index": 0, "logprobs": last.logprobs,
                                          "finish_reason": event.reason}], "usage": usage_of(event)}
            return
        if held is not None:
            yield {**header, "choices": [{"text": held.text, "index": 0, "logprobs": held.logprobs,
                                          "finish_reason": None}]}
        held = event
