"""Lexer states as dense arrays for the mask kernel, built only where a walk goes.

Each lexer state is a term (terms.py); here it gets a dense index and, once a walk needs its
transitions, a row of 256 next-state indices (-1: the text can no longer be completed). The kernel
walks rows that exist and reports the trie nodes where it met a state without one (the frontier);
`build` fills those rows and a few levels below them, and the walk resumes there. A grammar whose
strings never reach a state never pays for it: a `maxLength: 100000` string builds the states of
the characters generated, not a hundred thousand up front.

The arrays are reserved for `max_states` rows up front, zeroed (the system hands out zero pages as
rows are first written, so an unused reserve costs address space, not memory): growing by doubling
copied the whole table inside whichever mask crossed a power of two (90 ms at 65,536 states).
Past `max_states` everything is dropped and numbering starts over (`generation` tells callers
holding indices that they are stale); a walk that goes past it before the drop grows the arrays.
A row is read only once built, so unbuilt rows may hold anything.
"""

from __future__ import annotations

import numpy as np

from constrain.grammars.lexemes.terms import TermStore

EXPAND_AHEAD = 8  # rows built past each frontier state, breadth first, per kernel round


class LazyDFA:
    def __init__(self, store: TermStore, max_states: int = 100_000):
        self.store = store
        self.max_states = max_states
        self.generation = 0
        self._reset()

    def _reset(self) -> None:
        self._index: dict[int, int] = {}
        self.terms: list[int] = []
        capacity = self.max_states + 1
        self.next = np.zeros((capacity, 256), dtype=np.int32)
        self.built = np.zeros(capacity, dtype=np.bool_)
        self.accepting = np.zeros(capacity, dtype=np.bool_)
        self.loops = np.zeros((capacity, 256), dtype=np.bool_)  # byte keeps the state where it is
        # which FilterTag lexemes can still end from each state (bit words), and whether any other
        # tag can: the kernel skips states a configuration's allowed mask rules out
        self.reach = np.zeros((capacity, 1), dtype=np.uint64)
        self.reach_other = np.zeros(capacity, dtype=np.bool_)

    def clear(self) -> None:
        self.generation += 1
        self._reset()

    @property
    def n_states(self) -> int:
        return len(self.terms)

    def state(self, term: int) -> int:
        """Dense index of a (live) term."""
        idx = self._index.get(term)
        if idx is None:
            idx = len(self.terms)
            if idx >= len(self.built):
                self._grow()
            self._index[term] = idx
            self.terms.append(term)
            self.accepting[idx] = bool(self.store.tags(term))  # some lexeme may end here
            bits, other = self.store.reach(term)
            self.reach_other[idx] = other
            if bits:
                words = _words(bits)
                if len(words) > self.reach.shape[1]:
                    wider = np.zeros((self.reach.shape[0], len(words)), dtype=np.uint64)
                    wider[:, : self.reach.shape[1]] = self.reach
                    self.reach = wider
                self.reach[idx, : len(words)] = words
        return idx

    def term(self, idx: int) -> int:
        return self.terms[idx]

    def _grow(self) -> None:
        cap = len(self.built) * 2
        nxt = np.zeros((cap, 256), dtype=np.int32)
        nxt[: len(self.next)] = self.next
        built = np.zeros(cap, dtype=np.bool_)
        built[: len(self.built)] = self.built
        acc = np.zeros(cap, dtype=np.bool_)
        acc[: len(self.accepting)] = self.accepting
        loops = np.zeros((cap, 256), dtype=np.bool_)
        loops[: len(self.loops)] = self.loops
        reach = np.zeros((cap, self.reach.shape[1]), dtype=np.uint64)
        reach[: len(self.reach)] = self.reach
        other = np.zeros(cap, dtype=np.bool_)
        other[: len(self.reach_other)] = self.reach_other
        self.next, self.built, self.accepting, self.loops = nxt, built, acc, loops
        self.reach, self.reach_other = reach, other

    def allowed_words(self, allowed: int | None) -> np.ndarray:
        """An allowed mask as the kernel reads it (all ones: no filter)."""
        width = self.reach.shape[1]
        if allowed is None:
            return np.full(width, np.iinfo(np.uint64).max, dtype=np.uint64)
        words = _words(allowed)[:width]
        out = np.zeros(width, dtype=np.uint64)
        out[: len(words)] = words
        return out

    def over_budget(self) -> bool:
        return len(self.terms) > self.max_states

    def build(self, idx: int, ahead: int = EXPAND_AHEAD) -> None:
        """Rows for state `idx` and, breadth first, up to `ahead` states below it. States with
        intersections or complements are not built ahead: their rows may need emptiness searches,
        and which of them a walk reaches depends on the walk only, so another process that reads
        the verdicts saved for a grammar (verdicts.py) asks the same questions."""
        queue = [idx]
        made = 0
        boolean = self.store.boolean
        while queue and made <= ahead:
            s = queue.pop(0)
            if self.built[s] or (s != idx and boolean[self.terms[s]]):
                continue
            self._build_row(s)
            made += 1
            for t in set(self.next[s].tolist()):
                if t >= 0 and not self.built[t]:
                    queue.append(t)

    def _build_row(self, idx: int) -> None:
        store = self.store
        term = self.terms[idx]
        row = np.full(256, -1, dtype=np.int32)
        for mask in store.classes(term):
            first = (mask & -mask).bit_length() - 1
            target = store.deriv(term, first)
            if not store.is_live(target):
                continue
            t_idx = self.state(target)
            row[_mask_array(mask)] = t_idx
        self.next[idx] = row
        self.loops[idx] = row == idx
        self.built[idx] = True


def _words(bits: int) -> np.ndarray:
    n = max(1, (bits.bit_length() + 63) // 64)
    return np.frombuffer(bits.to_bytes(8 * n, "little"), dtype=np.uint64)


_MASK_ARRAYS: dict[int, np.ndarray] = {}


def _mask_array(mask: int) -> np.ndarray:
    """bool[256] of a 256-bit byte mask (cached: the same few classes recur everywhere)."""
    arr = _MASK_ARRAYS.get(mask)
    if arr is None:
        arr = np.unpackbits(np.frombuffer(mask.to_bytes(32, "little"), dtype=np.uint8), bitorder="little").astype(bool)
        if len(_MASK_ARRAYS) < 65536:
            _MASK_ARRAYS[mask] = arr
    return arr
