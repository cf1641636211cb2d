"""JSON Schema (draft-04, -06, -07, 2019-09 or 2020-12, by `$schema`; none: 2020-12 with the legacy
spellings) or a pydantic model -> a grammar whose texts are exactly the valid JSON documents, or a
refusal naming the keyword and its JSON path.

    grammar = json_schema(schema)               # ready for grammar.matcher(tokenizer)

The pipeline, in order: schema_input.py (dicts, JSON text, pydantic models; the meta-schema check),
dialects.py and schema_dialect.py (the draft `$schema` names; each draft's keywords in 2020-12
terms, per subschema), node_compiler.py
(positions -> nodes, lazily; refs and combinators, with node_algebra.py, and
object_shapes.py / array_shapes.py / scalar_terms.py for the keywords), json_terms.py (JSON text
as byte terms), emptiness.py and json_parser.py (the parser the lexeme engine drives). See
docs/json_schema.md for the decisions (property order, strict mode, formats, whitespace).
"""

from __future__ import annotations

import json
import weakref

from constrain.grammars.compiled_cache import (
    known_good,
    load_position_verdicts,
    load_verdicts,
    mark_good,
    save_position_verdicts,
    save_verdicts,
)
from constrain.grammars.json_schema.errors import (
    InvalidSchemaError,
    JsonSchemaError,
    SchemaTooLargeError,
    UnsupportedSchemaError,
)
from constrain.grammars.json_schema.json_parser import JsonParser
from constrain.grammars.json_schema.node_compiler import SchemaCompiler
from constrain.grammars.json_schema.schema_input import schema_of
from constrain.grammars.lexemes.shared import shared_store
from constrain.grammars.lexemes.terms import TermBudgetError

__all__ = [
    "InvalidSchemaError",
    "JsonSchemaError",
    "SchemaTooLargeError",
    "UnsupportedSchemaError",
    "json_schema",
]


def json_schema(schema, *, whitespace: int | None = None, strict: bool = True, lenient: bool = False,
                registry=None):
    """The grammar of the JSON texts valid under `schema`.

    schema: a JSON Schema (dict or bool), a JSON string of one, or a pydantic BaseModel subclass.
    whitespace: None or 0 for compact JSON (json.dumps(separators=(",", ":"))); an int n allows up
        to n whitespace characters on each side of every `{ } [ ] , :`.
    strict: objects that list `properties` forbid other keys unless `additionalProperties` says
        otherwise (OpenAI's strict mode); False follows the spec (other keys allowed).
    lenient: drop keywords that cannot be enforced exactly, warning once per keyword and path,
        instead of raising UnsupportedSchemaError.
    registry: a `referencing.Registry` holding documents that remote `$ref`s point to.
    """
    from constrain.grammars.grammar import LexemeGrammar, content_hash

    if whitespace is not None and (isinstance(whitespace, bool) or not isinstance(whitespace, int)
                                   or whitespace < 0):
        raise JsonSchemaError(f"whitespace must be None or a non-negative int, not {whitespace!r}")
    root = schema_of(schema)
    try:
        text = json.dumps(root, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidSchemaError(f"schema is not JSON data: {exc}") from None
    options = f"ws={whitespace or 0};strict={strict};lenient={lenient};registry={id(registry) if registry else 0}"

    key = content_hash("json-schema", options, text)
    persisted = registry is None and not lenient  # a registry is known by id(); lenient warns once per compile
    windows = []
    parsers = []

    def build():
        store = shared_store()
        if persisted and store.verdicts is not None:
            loaded = load_verdicts(key, store)
            windows.append((store.verdicts.open(), loaded, store))
        compiler = SchemaCompiler(root, store=store, whitespace=whitespace or None, strict=strict, lenient=lenient,
                                  registry=registry, text=text)
        try:
            seen_before = registry is None and known_good(key)
            if not seen_before:  # find every refusal now rather than mid-generation
                compiler.compile_reachable()
            remembered = load_position_verdicts(key) if persisted and seen_before else {}
            parser = JsonParser(compiler, remembered)
            parsers.append((parser, remembered))
            if not seen_before and registry is None and not lenient:
                mark_good(key)
            return parser
        except TermBudgetError as exc:
            raise SchemaTooLargeError(str(exc)) from None
        except RecursionError:
            raise SchemaTooLargeError("schema nests too deeply") from None

    try:
        grammar = LexemeGrammar(key, build, f"json_schema({text[:50]})")
    except BaseException:
        for window, _, _ in windows:
            window.close()
        raise
    if persisted and parsers:  # compiled here, not found in the cache: what it learned goes to disk
        parser, remembered = parsers[0]
        window, loaded, store = windows[0] if windows else (None, True, None)

        def save() -> None:
            # a cache that cannot be written costs the work next time, nothing more
            if window is not None:
                window.close()
                if not loaded or window.searched():
                    try:
                        save_verdicts(key, store, window.terms())
                    except Exception:
                        pass
            decided = parser.empty.decided()
            if any(name not in remembered for name in decided):
                try:
                    save_position_verdicts(key, {**remembered, **decided})
                except Exception:
                    pass

        grammar.engine.after_first_mask = save
        if window is not None:
            weakref.finalize(grammar.engine, window.close)  # no matcher ever asked: stop logging with it
    return grammar
