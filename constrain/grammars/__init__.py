"""Grammar engine: exact byte-level token masks from lark grammars.

    g = Grammar.from_lark(text)          # or json(), regex(p), choice([...]), Grammar.from_gbnf(t)
    m = g.matcher(tokenizer)             # mask(), advance(id), is_accepting(), rollback(n), reset()
"""

from constrain.grammars.builders import choice, json, regex
from constrain.grammars.check import GrammarReport, check_grammar
from constrain.grammars.errors import GrammarError
from constrain.grammars.grammar import Grammar
from constrain.grammars.matcher import GrammarMatcher
from constrain.grammars.processor import GrammarMask
from constrain.grammars.vocabulary import TokenVocabulary

# isort: split
# JSON Schema front end (its own subpackage). Imported last, and rebinding the name to the
# function: `from constrain.grammars import json_schema` gives the callable json_schema(schema).
from constrain.grammars.json_schema import json_schema  # noqa: E402

__all__ = [
    "Grammar",
    "GrammarError",
    "GrammarMask",
    "GrammarMatcher",
    "GrammarReport",
    "TokenVocabulary",
    "check_grammar",
    "choice",
    "json",
    "json_schema",
    "regex",
]
