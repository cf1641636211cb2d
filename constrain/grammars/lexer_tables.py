"""The lexer automaton as dense arrays for the mask kernel, built when a grammar is compiled.

Every lexer state reachable from every parser context, and the shadows that follow a first
token, are built up front (up to a budget, for grammars with huge format automata): building
them lazily in Python between kernel calls is what made the first generation through a new
grammar slow. What is still met later (deeper shadows, states past the budget) is added on
demand; state ids are the lexer's own, so nothing is renumbered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the engine builds its tables: at run time only it imports the other
    from constrain.grammars.engine import GrammarEngine

EAGER_STATES = 300  # beyond this many lexer states (big formats), the rest are built when met


class LexerTables:
    def __init__(self, engine: GrammarEngine):
        self.engine = engine
        self.lexer = engine.lexer
        self._n_bytes = (len(self.lexer.names) + 7) // 8
        self._covered: set[int] = set()  # roots whose reachable states all have rows
        self._filled: list[bool] = []
        self._next_rows: list[np.ndarray] = []
        self._end_rows: list[np.ndarray] = []
        self._acc: list[bool] = []
        self._winnable: list[bytes] = []
        self._shadow_rows: list[np.ndarray] = []
        self._ok: dict[int, np.ndarray] = {}
        self._intern_eagerly()
        self._refresh()

    # -- building --------------------------------------------------------------------------
    def _intern_eagerly(self) -> None:
        engine, lexer = self.engine, self.lexer
        starts = {engine.context_start((state,)) for state in range(len(engine.grammar.contexts))}
        for start in sorted(starts):
            if len(lexer.state_keys) > EAGER_STATES:
                break
            self._fill(start)
        # the shadows a first token leaves; what later tokens add to them comes in `cover`
        for sid, token in enumerate(list(lexer.accept_type)):
            if token >= 0 and sid < len(self._filled) and self._filled[sid]:
                lexer.shadow_after_ending(0, sid)

    def _fill(self, root: int) -> bool:
        """Rows for every lexer state reachable from `root` (the kernel may meet any of them)."""
        if root in self._covered:
            return False
        lexer = self.lexer
        grew = False
        for sid in lexer.reachable(root):
            while len(self._filled) < len(lexer.state_keys):
                self._filled.append(False)
                self._next_rows.append(None)
                self._end_rows.append(None)
                self._acc.append(False)
                self._winnable.append(bytes(self._n_bytes))
                grew = True
            if not self._filled[sid]:
                self._filled[sid] = True
                self._next_rows[sid] = lexer.next_row(sid)
                self._end_rows[sid] = lexer.ending_first_bytes(sid)
                self._acc[sid] = lexer.accept_type[sid] >= 0
                self._winnable[sid] = lexer.winnable(sid).to_bytes(self._n_bytes, "little")
                grew = True
        self._covered.add(root)
        return grew

    def _refresh(self) -> None:
        """Rebuild the arrays; states not filled yet get dead rows (no walk can reach them)."""
        lexer = self.lexer
        while len(self._shadow_rows) < len(lexer.shadow_members):
            self._shadow_rows.append(lexer.shadow_row(len(self._shadow_rows)))
        n = len(lexer.state_keys)
        while len(self._filled) < n:
            self._filled.append(False)
            self._next_rows.append(None)
            self._end_rows.append(None)
            self._acc.append(False)
            self._winnable.append(bytes(self._n_bytes))
        dead = np.full(256, -1, dtype=np.int32)
        never = np.zeros(256, dtype=np.bool_)
        self.lex_next = np.stack([r if r is not None else dead for r in self._next_rows]).astype(np.int32)
        self.lex_end_bytes = np.stack([r if r is not None else never for r in self._end_rows]).astype(np.bool_)
        self.lex_acc = np.array(self._acc, dtype=np.bool_)
        self.winnable = np.frombuffer(b"".join(self._winnable), dtype=np.uint8).reshape(n, -1)
        self.shadow_next = np.ascontiguousarray(np.stack(self._shadow_rows), dtype=np.int32)
        filled = np.array(self._filled, dtype=np.bool_)
        self.loops = (self.lex_next == np.arange(n, dtype=np.int32)[:, None]) & filled[:, None]
        self._ok.clear()

    def cover(self, lex: int, shadow: int) -> None:
        """Make sure the tables hold every lexer state reachable from `lex`, and shadow `shadow`
        with every shadow it leads to."""
        grew = self._fill(lex)
        if grew or shadow >= len(self._shadow_rows) or len(self.lex_next) < len(self.lexer.state_keys):
            self._refresh()

    # -- queries ---------------------------------------------------------------------------
    @property
    def n_states(self) -> int:
        return len(self._next_rows)

    def lex_ok(self, viable: int) -> np.ndarray:
        """bool per lexer state: some token type the parser takes (`viable`) can still come out."""
        ok = self._ok.get(viable)
        if ok is None:
            wanted = np.frombuffer(viable.to_bytes(self._n_bytes, "little"), dtype=np.uint8)
            ok = self._ok[viable] = (self.winnable & wanted).any(axis=1)
        return ok

    def shadow_keeps(self, shadow: int, byte_set: np.ndarray) -> bool:
        """Every byte of `byte_set` leaves `shadow` as it is (shadow 0, no constraint, always does)."""
        return shadow == 0 or bool((self.shadow_next[shadow][byte_set] == shadow).all())
