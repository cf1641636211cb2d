"""The process's shared lexer store: terms, their lazily built DFA and trie walks, for all grammars.

Lexemes recur across grammars: every JSON Schema has strings, numbers and keys, a `maxLength: 50`
string has the same states in every schema, and formats such as `date-time` are the same
automaton wherever they appear. Grammars therefore build their terms in one shared TermStore, the
rows of those states are built once (LazyDFA), and a walk of the vocabulary from a state is memoized
per vocabulary (it depends on nothing else). Only what depends on a grammar's parser stays with
the grammar.

The store is bounded: past `MAX_TERMS` terms a fresh store becomes the current one for grammars
compiled from then on, and the old one lives exactly as long as some grammar still uses it.
"""

from __future__ import annotations

import threading

from constrain.grammars.lexemes.lazy_dfa import LazyDFA
from constrain.grammars.lexemes.terms import TermStore

MAX_TERMS = 400_000
MAX_WALKS = 4096  # memoized walks per vocabulary (each holds a packed mask, 6 KiB for 49k tokens)


class LexerStore(TermStore):
    """A TermStore with its DFA and per-vocabulary walk memos."""

    def __init__(self):
        super().__init__()
        self.dfa = LazyDFA(self)
        self.lock = threading.RLock()
        self._walks: dict[str, dict] = {}
        self.helpers: dict = {}  # builders of terms cached per store (e.g. JSON text pieces)

    def walks(self, vocabulary_key: str) -> dict:
        memo = self._walks.get(vocabulary_key)
        if memo is None:
            memo = self._walks[vocabulary_key] = {}
        if len(memo) > MAX_WALKS:
            memo.clear()
        return memo


_current: LexerStore | None = None
_lock = threading.Lock()


def shared_store() -> LexerStore:
    """The store new grammars compile into."""
    global _current
    with _lock:
        if _current is None or len(_current) > MAX_TERMS:
            _current = LexerStore()
        return _current
