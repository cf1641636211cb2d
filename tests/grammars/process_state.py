"""What a new process starts from, for tests of what compiles leave on disk for the next one."""

from __future__ import annotations

from constrain.grammars.compiled_cache import ENGINES
from constrain.grammars.lexemes import shared


def fresh_process(monkeypatch) -> None:
    """An empty term store and an empty in-memory grammar cache, as in a new process."""
    monkeypatch.setattr(shared, "_current", None)
    ENGINES.clear()
