"""Whatever a user hands an integration as "the grammar", as a compiled grammar.

Accepted: a compiled grammar (grammars.json_schema(...), regex(...), choice(...), Grammar), a JSON
Schema (dict, bool, or its JSON text), a pydantic model class, or lark grammar text. A string is
JSON Schema text when it starts with "{" (no lark grammar can), lark text otherwise.
"""

from __future__ import annotations

from constrain.grammars import Grammar, GrammarError, json_schema
from constrain.grammars.grammar import CompiledGrammar


def _is_pydantic_model(value) -> bool:
    try:
        from pydantic import BaseModel
    except ImportError:  # pragma: no cover - pydantic is a dependency
        return False
    return isinstance(value, type) and issubclass(value, BaseModel)


def as_grammar(grammar) -> CompiledGrammar:
    if isinstance(grammar, CompiledGrammar):
        return grammar
    if isinstance(grammar, (dict, bool)) or _is_pydantic_model(grammar):
        return json_schema(grammar)
    if isinstance(grammar, str):
        if grammar.lstrip().startswith("{"):
            return json_schema(grammar)
        return Grammar.from_lark(grammar)
    raise GrammarError(
        f"expected a compiled grammar, a JSON Schema (dict or JSON text), a pydantic model class or lark "
        f"grammar text, got {type(grammar).__name__}")


__all__ = ["as_grammar"]
