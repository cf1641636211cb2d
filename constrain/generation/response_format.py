"""OpenAI / llama-cpp-python `response_format` -> a grammar.

Accepted forms:
  {"type": "text"}                                        no constraint
  {"type": "json_object"}                                 any JSON object
  {"type": "json_object", "schema": {...}}                llama-cpp-python's form
  {"type": "json_schema", "json_schema": {"name", "schema", "strict"}}   OpenAI's form
"""

from __future__ import annotations

from constrain.errors import SamplingError


def grammar_for(grammar, response_format):
    """The grammar a request runs under: `grammar` or the one `response_format` implies."""
    if response_format is None:
        return grammar
    if grammar is not None:
        raise SamplingError("pass either grammar or response_format, not both")
    if not isinstance(response_format, dict) or "type" not in response_format:
        raise SamplingError(f'response_format must be a dict with a "type", got {response_format!r}')
    from constrain import grammars

    kind = response_format["type"]
    if kind == "text":
        return None
    if kind == "json_object":
        schema = response_format.get("schema")
        if schema is None:
            return grammars.json_schema({"type": "object"}, strict=False)
        return grammars.json_schema(schema)
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        if not isinstance(spec, dict) or "schema" not in spec:
            raise SamplingError('response_format {"type": "json_schema"} needs "json_schema": {"name", "schema"}')
        return grammars.json_schema(spec["schema"], strict=bool(spec.get("strict", True)))
    raise SamplingError(f"response_format type {kind!r} is not one of text, json_object, json_schema")
