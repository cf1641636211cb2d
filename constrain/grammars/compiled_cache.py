"""The caches of compiled grammars: one in memory, bounded, least recently used first out; and
on disk, what a previous process learned about a grammar.

A compiled grammar holds its parser tables, lexer states and mask memos; a server that compiles a
schema per request would otherwise keep every one of them. `CONSTRAIN_GRAMMAR_CACHE_SIZE` sets how
many stay (default 64); a grammar object in use keeps its engine alive whatever the cache drops.

On disk (`$CONSTRAIN_CACHE_DIR/grammars`, else ~/.cache/constrain/grammars) a JSON Schema that
compiled once is marked as known-good, keyed by its content, options and the compiler's version:
a later process then compiles it lazily, position by position as generation reaches them, instead
of checking every position for refusals first. At most `MAX_DISK_ENTRIES` marks are kept.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path
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


MAX_DISK_ENTRIES = 20_000
COMPILER_VERSION = "1"  # bump when a change could turn an accepted schema into a refused one


def _disk_dir() -> Path:
    from constrain.grammars.vocabulary import cache_dir

    return cache_dir() / "grammars"


def _mark_path(key: str) -> Path:
    digest = hashlib.sha256(f"{COMPILER_VERSION}:{key}".encode()).hexdigest()[:40]
    return _disk_dir() / f"{digest}.ok"


def known_good(key: str) -> bool:
    """A previous process compiled this grammar without a refusal."""
    try:
        return _mark_path(key).is_file()
    except OSError:
        return False


def mark_good(key: str) -> None:
    """Remember that this grammar compiles (an unwritable cache only costs the check next time)."""
    path = _mark_path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            return
        path.touch()
        if hash(key) % 256 == 0:  # now and then, keep the folder bounded
            _prune(path.parent)
    except OSError:
        pass


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("*.ok"), key=lambda p: p.stat().st_mtime)
    for stale in entries[: max(0, len(entries) - MAX_DISK_ENTRIES)]:
        try:
            stale.unlink()
        except OSError:
            pass
    _ = time  # (mtime order: the oldest marks go first)
