"""Typed errors naming the offending keyword and its JSON path (e.g. #/properties/tags/uniqueItems).

All derive from the grammar engine's GrammarError (a ConstrainError and ValueError).
"""

from __future__ import annotations

from constrain.grammars.errors import GrammarError

MAX_MESSAGE = 2000


class JsonSchemaError(GrammarError):
    """A schema cannot be turned into an exact grammar; `keyword` and `path` say where."""

    def __init__(self, message: str, *, keyword: str | None = None, path: str = "#"):
        if len(message) > MAX_MESSAGE:  # a message quoting a generated regex could run to megabytes
            message = f"{message[:MAX_MESSAGE]}... ({len(message)} characters in all)"
        self.keyword = keyword
        self.path = path
        self.reason = message
        where = f"{path}/{keyword}" if keyword and not path.endswith("/" + keyword) else path
        super().__init__(f"{where}: {message}")


class UnsupportedSchemaError(JsonSchemaError):
    """A keyword (or combination) that a context-free grammar cannot enforce exactly."""


class SchemaTooLargeError(JsonSchemaError):
    """The exact grammar would exceed a size limit (long strings, huge arrays, deep nesting)."""


class InvalidSchemaError(JsonSchemaError):
    """The schema itself is malformed (wrong keyword types, unresolvable $ref, ...)."""
