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
    """The model's output could not be turned into a valid instance (e.g. it ran out of tokens)."""


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
            temperature: float = 0.0, seed: int | None = None, grammar=None, **sampling) -> Any:
    """Extract `model_or_schema` from `text` with `llm`.

    Returns a pydantic instance for a pydantic model class, else the decoded JSON value
    (validated with jsonschema). The prompt goes through the model's own chat template.
    Greedy by default; pass temperature/mirostat arguments as for create_chat_completion.
    A precompiled `grammar` for the schema may be passed to skip compiling it per call.
    """
    from constrain.grammars import json_schema

    schema, pydantic_model = _schema_and_model(model_or_schema)
    if grammar is None:
        grammar = json_schema(pydantic_model or schema)
    result = llm.create_chat_completion(
        extraction_messages(schema, text, instructions), grammar=grammar, max_tokens=max_tokens,
        temperature=temperature, seed=seed, **sampling,
    )
    choice = result["choices"][0]
    content = choice["message"]["content"] or ""
    if choice["finish_reason"] != "stop":
        raise ExtractionError(
            f"the model stopped ({choice['finish_reason']}) before finishing the JSON after {max_tokens} tokens; "
            f"raise max_tokens. Partial output: {content[:200]!r}"
        )
    try:
        value = json.loads(content)
    except json.JSONDecodeError as e:
        raise ExtractionError(f"the output is not JSON ({e}): {content[:200]!r}") from None
    if pydantic_model is not None:
        from pydantic import ValidationError

        try:
            return pydantic_model.model_validate(value)
        except ValidationError as e:
            raise ExtractionError(f"the output does not validate as {pydantic_model.__name__}: {e}") from None
    import jsonschema

    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as e:
        raise ExtractionError(f"the output does not validate against the schema: {e.message}") from None
    return value
