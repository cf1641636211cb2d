"""Helpers that keep a memo per grammar engine, owned by the engine's lifetime.

Searches over a grammar's states (ways to finish, forced text) are worth remembering across
generations with the same grammar, and worthless once the grammar is gone: keyed weakly by the
engine, one helper of each kind per engine, each bounding its own memo.
"""

from __future__ import annotations

import weakref

_MEMOS: weakref.WeakKeyDictionary[object, dict[type, object]] = weakref.WeakKeyDictionary()


def engine_memo(engine, kind: type):
    """The engine's one `kind(engine)`, made on first use."""
    memos = _MEMOS.get(engine)
    if memos is None:
        memos = _MEMOS[engine] = {}
    found = memos.get(kind)
    if found is None:
        found = memos[kind] = kind(engine)
    return found
