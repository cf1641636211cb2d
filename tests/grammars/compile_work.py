"""How much work a compile does, counted instead of timed: the terms it adds to the shared lexer
store and the lexer DFA states it builds. Counts do not depend on the machine or its load, and a
schema whose compile blows up (a size keyword unrolled, a nesting that multiplies) shows in them."""

from __future__ import annotations

from dataclasses import dataclass

from constrain.grammars.compiled_cache import ENGINES
from constrain.grammars.lexemes.shared import shared_store


@dataclass
class Work:
    terms: int = 0
    states: int = 0


def counted(build):
    """(build(), Work): what `build` added to the store new grammars compile into. Compiled grammars
    are forgotten first so that `build` compiles; terms already in the store are shared, so the
    counts are at most what a fresh process would add (plus what went into a store that filled
    up on the way)."""
    ENGINES.clear()
    store = shared_store()  # the store `build` compiles into (a full one is replaced here)
    terms, states = len(store), store.dfa.n_states
    result = build()
    work = Work(len(store) - terms, store.dfa.n_states - states)
    fresh = shared_store()
    if fresh is not store:  # the store filled up during the build and a new one took over: count both
        work.terms += len(fresh)
        work.states += fresh.dfa.n_states
    return result, work
