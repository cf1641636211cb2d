"""What json_schema() accepts as a schema: a dict or bool, JSON text, or a pydantic model class."""

from __future__ import annotations

import json

from constrain.grammars.json_schema.errors import InvalidSchemaError, SchemaTooLargeError

# JSON containers (objects and arrays) inside one another. Real schemas stay far below; deeper
# ones would exhaust Python's recursion in the decoder or the compiler.
MAX_SCHEMA_NESTING = 256


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
        except RecursionError:
            raise SchemaTooLargeError(f"schema text nests more than {MAX_SCHEMA_NESTING} levels deep") from None
    if not isinstance(schema, (dict, bool)):
        raise InvalidSchemaError(f"a schema must be a dict, a bool, JSON text or a pydantic model class, "
                                 f"not {type(schema).__name__}")
    if isinstance(schema, dict):
        _check_nesting(schema)
    return schema


def _check_nesting(schema) -> None:
    """Refuse, naming where, a schema nested deeper than MAX_SCHEMA_NESTING (iteratively: no
    recursion to exhaust here). Paths are spelled only for a schema that is refused: every
    compile runs this check, and spelling one per value was most of its cost."""
    if _deeper_than(schema, MAX_SCHEMA_NESTING):
        stack = [(schema, 0, "#")]
        while stack:
            node, depth, path = stack.pop()
            if depth > MAX_SCHEMA_NESTING:
                shown = path if len(path) <= 120 else path[:60] + "/.../" + path[-50:]
                raise SchemaTooLargeError(f"schema nests more than {MAX_SCHEMA_NESTING} levels deep", path=shown)
            if isinstance(node, dict):
                stack.extend((v, depth + 1, f"{path}/{k}") for k, v in node.items())
            elif isinstance(node, list):
                stack.extend((v, depth + 1, f"{path}/{i}") for i, v in enumerate(node))


def _deeper_than(schema, limit: int) -> bool:
    """Whether some value sits more than `limit` containers below the root (root at depth 0)."""
    stack = [(schema, 0)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth >= limit and children:
            return True
        stack.extend([(v, depth + 1) for v in children if isinstance(v, (dict, list))])
    return False
