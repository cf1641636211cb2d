"""create_chat_completion: render the model's chat template, complete, answer as the assistant."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

from constrain.errors import SamplingError
from constrain.generation import tools as tool_calls
from constrain.generation.completion import Finish, collect, completion_events, prepare_request, usage_of, utf8
from constrain.generation.response_format import grammar_for
from constrain.generation.settings import SamplingArgs
from constrain.protocols import Model
from constrain.runtime.chat_template import ChatTemplate, special_token_texts


def chat_prompt_ids(llm: Model, messages, chat_template: str | None = None, tools: list | None = None) -> list[int]:
    """Token ids of the rendered conversation, ending with the assistant's turn opener."""
    template = (ChatTemplate.from_metadata(llm.metadata) if chat_template is None
                else ChatTemplate(chat_template, *special_token_texts(llm.metadata)))
    text = template.render(messages, add_generation_prompt=True, tools=tools)
    # a template that writes the BOS text itself must not get a second BOS
    add_bos = not (template.bos_token and text.startswith(template.bos_token))
    return list(llm.tokenize(utf8(text, "the rendered messages"), add_bos=add_bos, special=True))


def _chat_logprobs(section: dict | None) -> dict | None:
    """Completion-style logprobs -> OpenAI chat style ({"content": [{token, logprob, bytes, top_logprobs}]})."""
    if section is None:
        return None
    content = []
    for token, logprob, top in zip(section["tokens"], section["token_logprobs"], section["top_logprobs"]):
        content.append({
            "token": token, "logprob": logprob, "bytes": list(token.encode("utf-8")),
            "top_logprobs": [{"token": t, "logprob": lp, "bytes": list(t.encode("utf-8"))}
                             for t, lp in (top or {}).items()],
        })
    return {"content": content}


def create_chat_completion(llm: Model, messages, temperature: float = 0.2, top_p: float = 0.95, top_k: int = 40,
                           min_p: float = 0.05, typical_p: float = 1.0, stream: bool = False, stop=None,
                           seed: int | None = None, max_tokens: int | None = None, presence_penalty: float = 0.0,
                           frequency_penalty: float = 0.0, repeat_penalty: float = 1.0,
                           mirostat_mode: int | None = None, mirostat_tau: float = 5.0, mirostat_eta: float = 0.1,
                           logit_bias: dict | None = None, logits_processor=None, sampler=None, grammar=None,
                           logprobs: bool = False, top_logprobs: int | None = None,
                           chat_template: str | None = None, penalty_last_n: int = 64,
                          response_format: dict | None = None, finish_within_budget: bool = True,
                           fast_forward: bool = True, tools: list | None = None, tool_choice=None):
    """Answer `messages` as llama-cpp-python's Llama.create_chat_completion does.

    Returns {"id", "object": "chat.completion", "created", "model", "choices": [{"index",
    "message": {"role": "assistant", "content"}, "logprobs", "finish_reason"}], "usage"}; with
    stream=True, "chat.completion.chunk" dicts carrying `delta`s (role first, then content,
    then an empty delta with finish_reason). Generation stops at the model's end-of-generation
    tokens. `chat_template` overrides the GGUF's template. Under a grammar, `finish_within_budget`
    (on by default) keeps room to complete a sentence before max_tokens or the context end, and
    `fast_forward` (on by default) appends the text the grammar forces without sampling it.
    `tools` and `tool_choice` as OpenAI's (generation/tools.py): a call comes back as the
    message's `tool_calls` with finish_reason "tool_calls".
    """
    if top_logprobs is not None and not logprobs:
        raise SamplingError("top_logprobs needs logprobs=True")
    tools, choice = tool_calls.check_tools(tools, tool_choice)
    if choice not in ("none", "auto"):
        if grammar is not None or response_format is not None:
            raise SamplingError("a required tool call sets the grammar: pass no grammar or response_format with it")
        response_format = {"type": "json_schema",
                           "json_schema": {"name": "tool_call", "schema": tool_calls.call_schema(tools, choice)}}
    prompt_ids = chat_prompt_ids(llm, messages, chat_template, tools if choice != "none" else None)
    sampling = SamplingArgs.of(locals())
    request = prepare_request(llm, prompt_ids, stop=stop, grammar=grammar_for(grammar, response_format),
                              sampling=sampling)
    events = completion_events(llm, request, max_tokens=max_tokens,
                               logprobs=(top_logprobs or 0) if logprobs else None, echo=False,
                               finish_within_budget=finish_within_budget, fast_forward=fast_forward)
    header = {"id": f"chatcmpl-{uuid.uuid4()}", "created": int(time.time()), "model": llm.model_name}
    callable_tools = tools if choice != "none" else None
    if stream:
        return _chunks(events, header) if callable_tools is None else _buffered_chunks(events, header, callable_tools)
    return _whole(events, header, logprobs, callable_tools)


def _whole(events, header: dict, want_logprobs: bool, tools=None) -> dict:
    text, merged, finish = collect(events)
    message, reason = {"role": "assistant", "content": text}, finish.reason
    call = tool_calls.parse_call(text, tools) if tools else None
    if call is not None:
        message, reason = tool_calls.tool_calls_message(call), "tool_calls"
    return {**header, "object": "chat.completion",
            "choices": [{"index": 0, "message": message,
                         "logprobs": _chat_logprobs(merged) if want_logprobs else None,
                         "finish_reason": reason}],
            "usage": usage_of(finish)}


def _buffered_chunks(events, header: dict, tools) -> Iterator[dict]:
    """With tools, a stream learns only at the end whether the answer was a call: the whole
    answer is generated first, then sent as one delta (the content, or the call)."""
    whole = _whole(events, header, False, tools)
    choice = whole["choices"][0]
    base = {**header, "object": "chat.completion.chunk"}
    message = choice["message"]
    if message.get("tool_calls"):
        delta = {"role": "assistant", "content": None,
                 "tool_calls": [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]}
    else:
        delta = {"role": "assistant", "content": message["content"]}
    yield {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}]}
    yield {**base, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": choice["finish_reason"]}],
           "usage": whole["usage"]}


def _chunks(events, header: dict) -> Iterator[dict]:
    def chunk(delta: dict, logprobs=None, finish_reason=None, **extra) -> dict:
        return {**header, "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish_reason}],
                **extra}

    yield chunk({"role": "assistant"})
    for event in events:
        if isinstance(event, Finish):
            yield chunk({}, finish_reason=event.reason, usage=usage_of(event))  # the last chunk counts the tokens
            return
        if event.text:
            yield chunk({"content": event.text}, _chat_logprobs(event.logprobs))
