"""JSON Schema (draft 2020-12) or a pydantic model -> an exact LALR(1) lark grammar.

    text = json_schema_to_lark(schema)          # lark grammar text, start rule "start"
    grammar = json_schema(schema)               # the engine's Grammar, ready for .matcher(tokenizer)

The grammar's language is exactly the compact JSON texts valid under the schema, or the schema is
refused with a JsonSchemaError naming the keyword and its JSON path. See docs/json_schema.md for
the decisions (property order, strict mode, formats, whitespace, limits).
"""

from __future__ import annotations

from constrain.grammars.json_schema.compiler import SchemaCompiler
from constrain.grammars.json_schema.errors import (
    InvalidSchemaError,
    JsonSchemaError,
    SchemaTooLargeError,
    UnsupportedSchemaError,
)
from constrain.grammars.json_schema.validation import check_lalr, schema_of

__all__ = [
    "InvalidSchemaError",
    "JsonSchemaError",
    "SchemaTooLargeError",
    "UnsupportedSchemaError",
    "json_schema",
    "json_schema_to_lark",
]


def json_schema_to_lark(schema, *, whitespace: int | None = None, strict: bool = True, lenient: bool = False,
                        registry=None) -> str:
    """Lark grammar text (LALR(1), start rule `start`) whose sentences are the valid JSON texts.

    schema: a JSON Schema (dict or bool), a JSON string of one, or a pydantic BaseModel subclass.
    whitespace: None or 0 for compact JSON (json.dumps(separators=(",", ":"))); an int n allows up
        to n whitespace characters on each side of every `{ } [ ] , :`.
    strict: objects that list `properties` forbid other keys unless `additionalProperties` says
        otherwise (OpenAI's strict mode); False follows the spec (other keys allowed).
    lenient: drop keywords that cannot be enforced exactly, warning once per keyword and path,
        instead of raising UnsupportedSchemaError.
    registry: a `referencing.Registry` holding documents that remote `$ref`s point to.
    """
    if whitespace is not None and (isinstance(whitespace, bool) or not isinstance(whitespace, int)
                                   or whitespace < 0):
        raise JsonSchemaError(f"whitespace must be None or a non-negative int, not {whitespace!r}")
    root = schema_of(schema)
    compiler = SchemaCompiler(root, whitespace=whitespace or None, strict=strict, lenient=lenient,
                              registry=registry)
    text = compiler.compile()
    check_lalr(text, compiler.builder.rule_paths)
    return text


def json_schema(schema, *, whitespace: int | None = None, strict: bool = True, lenient: bool = False,
                registry=None):
    """The engine's `Grammar` for `schema` (see json_schema_to_lark for the arguments)."""
    from constrain.grammars.grammar import Grammar

    return Grammar.from_lark(json_schema_to_lark(schema, whitespace=whitespace, strict=strict, lenient=lenient,
                                                 registry=registry))
