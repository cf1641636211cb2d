"""What json_schema() accepts as a schema: a dict or bool, JSON text, or a pydantic model class."""

from __future__ import annotations

import json

from constrain.grammars.json_schema.errors import InvalidSchemaError


def schema_of(schema):
    """A JSON Schema (dict or bool) from a dict, a bool, JSON text, or a pydantic model class.

    There is no meta-schema check here: on real schemas it costs more than the whole compile
    (47 ms median, 0.9 s for a 165 KB Kubernetes schema). Each keyword's value is checked where the
    compiler reads it, with an InvalidSchemaError naming the keyword and its path."""
    if isinstance(schema, type) and hasattr(schema, "model_json_schema"):
        return schema.model_json_schema()
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError as exc:
            raise InvalidSchemaError(f"schema text is not JSON: {exc}") from None
    if not isinstance(schema, (dict, bool)):
        raise InvalidSchemaError(f"a schema must be a dict, a bool, JSON text or a pydantic model class, "
                                 f"not {type(schema).__name__}")
    return schema

