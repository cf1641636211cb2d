"""Structured extraction: text in, validated JSON (or a pydantic instance) out.

The schema becomes a grammar, so the model can only write JSON that the schema accepts;
the result is still validated afterwards (pydantic or jsonschema), because a grammar
cannot see everything a validator checks (e.g. a generation cut short by max_tokens).
"""

from __future__ import annotations

import json
from typing import Any

from constrain.errors import ConstrainError

DEFAULT_INSTRUCTIONS = (
    "Extract the information from the user's text as JSON that follows this JSON Schema. "
    "Use only facts stated in the text."
)


class ExtractionError(ConstrainError):
    """The model's output could not be turned into a valid instance.

    `reason`: "length" (the budget ended before the JSON did), "json" (not JSON) or "schema"
    (JSON the validator refused); `raw_text`: everything the model wrote."""

    def __init__(self, message: str, *, raw_text: str, reason: str):
        super().__init__(message)
        self.raw_text = raw_text
        self.reason = reason


def _schema_and_model(model_or_schema) -> tuple[dict, type | None]:
    try:
        from pydantic import BaseModel
    except ImportError:  # pragma: no cover - pydantic is a dependency
        BaseModel = None
    if BaseModel is not None and isinstance(model_or_schema, type) and issubclass(model_or_schema, BaseModel):
        return model_or_schema.model_json_schema(), model_or_schema
    if isinstance(model_or_schema, str):
        model_or_schema = json.loads(model_or_schema)
    if not isinstance(model_or_schema, (dict, bool)):
        raise ConstrainError(
            f"expected a pydantic model class or a JSON Schema (dict), got {type(model_or_schema).__name__}"
        )
    return model_or_schema, None


def extraction_messages(schema: dict, text: str, instructions: str | None = None) -> list[dict]:
    system = (instructions or DEFAULT_INSTRUCTIONS) + "\n\nJSON Schema:\n" + json.dumps(schema, separators=(",", ":"))
    return [{"role": "system", "content": system}, {"role": "user", "content": text}]


def extract(llm, model_or_schema, text: str, *, instructions: str | None = None, max_tokens: int = 512,
            temperature: float = 0.0, seed: int | None = None, grammar=None, stream: bool = False,
            **sampling) -> Any:
    """Extract `model_or_schema` from `text` with `llm`.

    Returns a pydantic instance for a pydantic model class, else the decoded JSON value
    (validated with jsonschema); never anything else: an output that is cut off, not JSON or
    not valid raises ExtractionError with the raw text and the reason. The prompt goes through
    the model's own chat template. Greedy by default; pass temperature/mirostat arguments as
    for create_chat_completion. A precompiled `grammar` for the schema may be passed to skip
    compiling it per call.

    stream=True returns an iterator of partial values as the JSON grows (dicts, or pydantic
    objects built without validation), each consistent with the final one, which comes last,
    validated (or ExtractionError is raised in its place).
    """
    from constrain.grammars import json_schema

    schema, pydantic_model = _schema_and_model(model_or_schema)
    if grammar is None:
        grammar = json_schema(pydantic_model or schema)
    request = dict(grammar=grammar, max_tokens=max_tokens, temperature=temperature, seed=seed, **sampling)
    messages = extraction_messages(schema, text, instructions)
    if stream:
        return _stream(llm, messages, request, schema, pydantic_model)
    choice = llm.create_chat_completion(messages, **request)["choices"][0]
    return _validated(choice["message"]["content"] or "", choice["finish_reason"], max_tokens, schema, pydantic_model)


def extract_many(llm, model_or_schema, texts, *, grammar=None, **kwargs) -> list:
    """extract() for each text, up to llm's n_seq_max decoded together (Llama(n_seq_max=B)).
    Returns one entry per text, in order: the value, or the ExtractionError (or other
    ConstrainError) that text ended in; one bad text never stops the others."""
    from constrain.grammars import json_schema

    if kwargs.get("stream"):
        raise ValueError("extract_many does not stream")
    if grammar is None:  # compiled once for every text
        schema, pydantic_model = _schema_and_model(model_or_schema)
        grammar = json_schema(pydantic_model or schema)
    jobs = [lambda view, text=text: extract(view, model_or_schema, text, grammar=grammar, **kwargs) for text in texts]
    results = llm.run_sequences(jobs)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, ConstrainError):
            raise result
    return results


def _stream(llm, messages: list[dict], request: dict, schema, pydantic_model):
    from pydantic_core import from_json

    content, reason, last = "", "stop", None
    for chunk in llm.create_chat_completion(messages, stream=True, **request):
        choice = chunk["choices"][0]
        content += choice["delta"].get("content") or ""
        reason = choice.get("finish_reason") or reason
        # a number or literal at the very end may still grow ("12" -> "123"): wait for its end
        if not content or (content[-1].isalnum() or content[-1] in ".+-") and not _inside_string(content):
            continue
        try:
            partial = from_json(content, allow_partial="trailing-strings")
        except ValueError:
            continue
        if partial != last:
            last = partial
            yield pydantic_model.model_construct(**partial) if pydantic_model and isinstance(partial, dict) else partial
    yield _validated(content, reason, request["max_tokens"], schema, pydantic_model)


def _inside_string(text: str) -> bool:
    inside = escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = inside
        elif ch == '"':
            inside = not inside
    return inside


def _validated(content: str, finish_reason: str, max_tokens: int, schema, pydantic_model):
    if finish_reason != "stop":
        raise ExtractionError(
            f"the model stopped ({finish_reason}) before finishing the JSON after {max_tokens} tokens; "
            f"raise max_tokens. Partial output: {content[:200]!r}", raw_text=content, reason="length")
    try:
        value = json.loads(content)
    except json.JSONDecodeError as e:
        raise ExtractionError(f"the output is not JSON ({e}): {content[:200]!r}", raw_text=content,
                              reason="json") from None
    if pydantic_model is not None:
        from pydantic import ValidationError

        try:
            return pydantic_model.model_validate(value)
        except ValidationError as e:
            raise ExtractionError(f"the output does not validate as {pydantic_model.__name__}: {e}",
                                  raw_text=content, reason="schema") from None
    import jsonschema

    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as e:
        raise ExtractionError(f"the output does not validate against the schema: {e.message}",
                              raw_text=content, reason="schema") from None
    return value
