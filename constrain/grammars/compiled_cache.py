"""The one cache of compiled grammars in a process: bounded, least recently used first out.

A compiled grammar holds its parser tables, lexer states and mask memos; a server that compiles a
schema per request would otherwise keep every one of them. `CONSTRAIN_GRAMMAR_CACHE_SIZE` sets how
many stay (default 64); a grammar object in use keeps its engine alive whatever the cache drops.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Callable, Generic, TypeVar

T = TypeVar("T")
DEFAULT_ENTRIES = 64


def _configured_size() -> int:
    raw = os.environ.get("CONSTRAIN_GRAMMAR_CACHE_SIZE")
    if raw is None:
        return DEFAULT_ENTRIES
    try:
        return max(0, int(raw))
    except ValueError:
        return DEFAULT_ENTRIES


class CompiledGrammarCache(Generic[T]):
    def __init__(self, max_entries: int | None = None):
        self.max_entries = _configured_size() if max_entries is None else max_entries
        self._items: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, key: str, build: Callable[[], T]) -> T:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
                return item
        item = build()  # outside the lock: compiles may be slow, and may raise
        with self._lock:
            if self.max_entries:
                self._items[key] = item
                self._items.move_to_end(key)
                while len(self._items) > self.max_entries:
                    self._items.popitem(last=False)
        return item

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


ENGINES: CompiledGrammarCache = CompiledGrammarCache()
