"""Ready-made grammars: JSON, one regular expression, a choice among fixed strings."""

from __future__ import annotations

import re

from constrain.grammars.errors import GrammarError
from constrain.grammars.grammar import Grammar, LexemeGrammar, content_hash
from constrain.grammars.lark_text import lark_regex_literal
from constrain.grammars.lexemes.from_regex import regex_term
from constrain.grammars.lexemes.shared import shared_store
from constrain.grammars.lexemes.single import SingleLexemeParser

JSON_STRING = r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"'
JSON_NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"

_JSON_TEMPLATE = r"""
start: _ow value _ow
?value: object | array | STRING | NUMBER | TRUE | FALSE | NULL
object: "{" _ow "}" | "{" member ("," member)* "}"
member: _ow STRING _ow ":" _ow value _ow
array: "[" _ow "]" | "[" element ("," element)* "]"
?element: _ow value _ow
_ow: WS?
TRUE: "true"
FALSE: "false"
NULL: "null"
STRING: /%(string)s/
NUMBER: /%(number)s/
WS: /%(ws)s/
"""


def json_lark(max_whitespace: int | None = 16) -> str:
    """lark text of JSON (RFC 8259). Whitespace runs are at most `max_whitespace` characters
    (None: unbounded), so a model cannot loop on spaces forever."""
    if max_whitespace is not None and max_whitespace < 1:
        raise GrammarError("max_whitespace must be >= 1 or None")
    ws = r"[ \t\n\r]+" if max_whitespace is None else r"[ \t\n\r]{1,%d}" % max_whitespace
    return _JSON_TEMPLATE % {"string": lark_regex_literal(JSON_STRING),
                             "number": lark_regex_literal(JSON_NUMBER), "ws": ws}


def json(max_whitespace: int | None = 16) -> Grammar:
    """Any JSON value: objects, arrays, strings with all escapes and \\u sequences, numbers."""
    return Grammar(json_lark(max_whitespace))


_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "l": 0, "u": re.UNICODE, "x": re.VERBOSE}


def regex(pattern: str, flags: str = "") -> LexemeGrammar:
    """Text that `re.fullmatch(pattern, text, flags)` accepts: the language of one Python regular
    expression (flags as letters from 'imsux'; classes such as \\w keep Python's Unicode meaning)."""
    if not isinstance(pattern, str):
        raise GrammarError(f"regex() takes a pattern str, got {type(pattern).__name__}")
    if flags and not set(flags) <= set(_REGEX_FLAGS):
        raise GrammarError(f"unknown regex flags {flags!r}: use letters from 'imsux'")
    value = 0
    for letter in flags:
        value |= _REGEX_FLAGS[letter]
    try:
        re.compile(pattern, value)
    except re.error as exc:
        raise GrammarError(f"invalid regular expression {pattern[:200]!r}: {exc}") from None
    except RecursionError:
        raise GrammarError(f"regular expression {pattern[:60]!r}... nests too deeply") from None

    def build():
        store = shared_store()
        term = regex_term(store, pattern, value, what="regex()")
        if not store.is_live(term):
            raise GrammarError(f"regex() {pattern!r} matches no text")
        return SingleLexemeParser(store, term)

    return LexemeGrammar(content_hash("regex", flags, pattern), build, f"regex({pattern!r})")


def choice(options) -> LexemeGrammar:
    """Exactly one of the given strings."""
    options = list(options)
    if not options:
        raise GrammarError("choice() needs at least one option")
    for opt in options:
        if not isinstance(opt, str) or not opt:
            raise GrammarError(f"choice() options must be non-empty strings, got {opt!r}")
    unique = sorted(set(options))

    def build():
        store = shared_store()
        return SingleLexemeParser(store, store.union([store.literal(o.encode("utf-8")) for o in unique]))

    return LexemeGrammar(content_hash("choice", *unique), build, f"choice({unique[:4]!r})")


__all__ = ["json", "regex", "choice", "json_lark", "lark_regex_literal"]
