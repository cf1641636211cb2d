"""Input normalisation (pydantic models, JSON text) and the LALR(1) check of the finished grammar."""

from __future__ import annotations

import json
import logging
import re

import jsonschema
import lark

from constrain.grammars.json_schema.errors import InvalidSchemaError, SchemaTooLargeError, UnsupportedSchemaError


def schema_of(schema):
    """A JSON Schema (dict or bool) from a dict, a bool, JSON text, or a pydantic model class."""
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
    try:
        error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(
            jsonschema.Draft202012Validator.META_SCHEMA).iter_errors(schema))
    except RecursionError:
        raise SchemaTooLargeError("schema nests too deeply to be checked against the meta-schema") from None
    if error is not None:
        path = "#" + "".join(f"/{part}" for part in error.absolute_path)
        raise InvalidSchemaError(f"not a valid 2020-12 schema: {error.message}", path=path)
    return schema


class _ConflictCapture(logging.Handler):
    """Collects lark's 'Shift/Reduce conflict ... (resolving as shift)' debug messages."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record):
        message = record.getMessage()
        if "conflict" in message.lower() or (self.messages and message.startswith(" * ")):
            self.messages.append(message.strip())


def _paths_in(message: str, rule_paths: dict) -> str:
    names = re.findall(r"\b([a-z]+\d+)(?:_\w*)?\b", message)
    paths = sorted({rule_paths[n] for n in names if n in rule_paths})
    return ", ".join(paths) if paths else "#"


def check_lalr(text: str, rule_paths: dict) -> lark.Lark:
    """Build lark's LALR(1) parser; any conflict is refused with the schema paths involved.

    lark resolves shift/reduce conflicts silently by shifting, which would reject some valid
    values; both kinds of conflict are refused instead. Unions whose alternatives cannot be told
    apart with one token of lookahead (two object shapes with the same first key and the same kind
    of value, say) end up here.
    """
    capture = _ConflictCapture()
    logger = logging.getLogger("lark")
    old_level, old_handlers = logger.level, list(logger.handlers)
    for handler in old_handlers:  # lark's own stderr handler would print every debug line
        logger.removeHandler(handler)
    logger.addHandler(capture)
    logger.setLevel(logging.DEBUG)
    try:
        parser = lark.Lark(text, parser="lalr", lexer="contextual")
    except lark.exceptions.GrammarError as exc:
        message = str(exc)
        raise UnsupportedSchemaError(f"alternatives are not LALR(1)-separable: {message.splitlines()[0]}",
                                     keyword="anyOf", path=_paths_in(message, rule_paths)) from None
    finally:
        logger.removeHandler(capture)
        for handler in old_handlers:
            logger.addHandler(handler)
        logger.setLevel(old_level)
    if capture.messages:
        message = "\n".join(capture.messages)
        raise UnsupportedSchemaError(f"alternatives are not LALR(1)-separable: {capture.messages[0]}",
                                     keyword="anyOf", path=_paths_in(message, rule_paths))
    return parser
