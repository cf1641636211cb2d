"""Verdicts of emptiness searches, by the structure of the term, so other processes skip them.

Whether an intersection of patterns (AND, NOT) is empty is decided by a search
(TermStore._search) that can take seconds: `not` of an `allOf` of `anyOf`s whose witnesses must
contain six substrings at once. A term id means nothing outside its store, so a verdict is kept
under the term's *digest* (TermStore.digest): a hash of its structure, children by their digests
(ALT and AND children as a sorted set, as the store treats them). Equal digests are equal
structures, hence equal languages, so a verdict read back is the verdict a search would reach.

A store's `VerdictBook` holds the verdicts read from disk (`known`) and, while some grammar's
compile is open (a `Window`, from its compile to its first mask), logs every term whose verdict
is asked for: which questions a compile asks depends on term ids (the order in which `any` tries
children, where a search meets earlier verdicts), so a question cheap here may be a long search
in another process. The grammar saves what its window logged (compiled_cache.py).
"""

from __future__ import annotations

import threading

MAX_LOG = 1 << 20  # logged terms kept per store (the oldest half goes past it)
MAX_KNOWN = 1 << 20  # verdicts read back and kept per store (all dropped past it; files stay)


class VerdictBook:
    def __init__(self) -> None:
        self.known: dict[bytes, bool] = {}
        self.windows = 0  # compiles logging now
        self.searches = 0  # emptiness searches run in this store
        self._log: list[int] = []
        self._dropped = 0  # log entries dropped from the front
        self._lock = threading.Lock()

    def open(self) -> Window:
        return Window(self)

    def learn(self, verdicts: dict[bytes, bool]) -> None:
        """Add verdicts read back from disk."""
        if len(self.known) + len(verdicts) > MAX_KNOWN:
            self.known.clear()
        self.known.update(verdicts)

    def record(self, term: int) -> None:
        if len(self._log) >= MAX_LOG:
            half = len(self._log) // 2
            del self._log[:half]
            self._dropped += half
        self._log.append(term)

    def position(self) -> int:
        return self._dropped + len(self._log)

    def since(self, position: int) -> list[int]:
        """Terms logged since `position`, each once."""
        return list(dict.fromkeys(self._log[max(0, position - self._dropped):]))


class Window:
    """One compile's stretch of the log; closing it more than once is harmless."""

    def __init__(self, book: VerdictBook):
        self.book = book
        self.start = book.position()
        self.searches_at_start = book.searches
        self.open = True
        with book._lock:
            book.windows += 1

    def terms(self) -> list[int]:
        return self.book.since(self.start)

    def searched(self) -> bool:
        """Some verdict in this window took a search (the saved ones did not cover it)."""
        return self.book.searches > self.searches_at_start

    def close(self) -> None:
        with self.book._lock:
            if self.open:
                self.open = False
                self.book.windows -= 1
