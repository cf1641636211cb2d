"""The parser of a grammar that is one lexeme: a regular expression, a choice among strings."""

from __future__ import annotations

from constrain.grammars.lexemes.terms import TermStore

START, DONE = 0, 1


class SingleLexemeParser:
    """The whole text is one lexeme of `build(store)`'s language."""

    def __init__(self, store: TermStore, term: int):
        self.store = store
        self._lexemes = store.cat(term, store.tag(0))

    def start_configs(self) -> tuple[int, ...]:
        return (START,)

    def lexemes(self, config: int) -> int:
        return self._lexemes if config == START else self.store.empty

    def after(self, config: int, tags: frozenset, text) -> tuple[int, ...]:
        return (DONE,) if config == START else ()

    def accepting(self, config: int) -> bool:
        return config == DONE

    def needs_text(self, config: int) -> bool:
        return False

    def allowed(self, config: int) -> None:
        return None
