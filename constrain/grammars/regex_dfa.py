"""Byte-level DFA of one terminal, with Python `re.match` semantics.

A DFA state is the ordered list of live threads of the program. When the closure reaches the
match instruction, every lower-priority thread is cut (leftmost-first, as RE2 does), so for any
input the last accepting position of this DFA is where `re.match` ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from constrain.grammars.errors import GrammarError
from constrain.grammars.regex_program import ByteRange, Program, Split, compile_regex

MATCH = -1
MAX_DFA_STATES = 20_000


@dataclass(frozen=True)
class ByteDFA:
    """transitions[state, byte] -> next state or -1 (dead); state 0 is the start."""

    transitions: np.ndarray  # int32 (n_states, 256)
    accepting: np.ndarray  # bool (n_states,)

    @property
    def n_states(self) -> int:
        return len(self.accepting)

    def longest_match(self, data: bytes) -> int:
        """Length of the prefix `re.match` would return, or -1 if none (used by tests)."""
        state, best = 0, -1
        for i, byte in enumerate(data):
            state = int(self.transitions[state, byte])
            if state < 0:
                break
            if self.accepting[state]:
                best = i + 1
        return best


def regex_to_dfa(pattern: str, what: str) -> ByteDFA:
    program = compile_regex(pattern, what)
    return _Determinizer(program, what).run()


class _Determinizer:
    def __init__(self, program: Program, what: str):
        self.code = program.code
        self.start = program.start
        self.what = what
        self._closures: dict[tuple, tuple] = {}

    def closure(self, pcs) -> tuple:
        key = tuple(pcs)
        cached = self._closures.get(key)
        if cached is not None:
            return cached
        out, seen = [], set()
        for pc in pcs:
            stack = [pc]
            while stack:
                cur = stack.pop()
                if cur in seen:
                    continue
                seen.add(cur)
                instr = self.code[cur]
                if type(instr) is ByteRange:
                    out.append(cur)
                elif type(instr) is Split:
                    stack.append(instr.second)
                    stack.append(instr.first)
                else:  # Match: everything of lower priority is cut
                    out.append(MATCH)
                    self._closures[key] = tuple(out)
                    return self._closures[key]
        self._closures[key] = tuple(out)
        return self._closures[key]

    def run(self) -> ByteDFA:
        start = self.closure([self.start])
        index = {start: 0}
        states = [start]
        rows = []
        i = 0
        while i < len(states):
            threads = states[i]
            per_byte: list[list[int]] = [[] for _ in range(256)]
            for pc in threads:
                if pc == MATCH:
                    continue
                lo, hi, nxt = self.code[pc]
                for b in range(lo, hi + 1):
                    per_byte[b].append(nxt)
            row = np.full(256, -1, dtype=np.int32)
            for b in range(256):
                if not per_byte[b]:
                    continue
                target = self.closure(per_byte[b])
                if not target:
                    continue
                if target not in index:
                    if len(states) >= MAX_DFA_STATES:
                        raise GrammarError(f"{self.what}: regular expression needs more than "
                                           f"{MAX_DFA_STATES} DFA states")
                    index[target] = len(states)
                    states.append(target)
                row[b] = index[target]
            rows.append(row)
            i += 1
        accepting = np.array([MATCH in s for s in states], dtype=bool)
        return _prune_dead(ByteDFA(np.stack(rows), accepting))


def _prune_dead(dfa: ByteDFA) -> ByteDFA:
    """Drop states from which no accepting state is reachable, so "alive" means "can still match"."""
    n = dfa.n_states
    useful = dfa.accepting.copy()
    changed = True
    while changed:
        reach = np.zeros(n, dtype=bool)
        safe = np.where(dfa.transitions >= 0, dfa.transitions, 0)
        reach = (useful[safe] & (dfa.transitions >= 0)).any(axis=1)
        new_useful = useful | reach
        changed = bool((new_useful != useful).any())
        useful = new_useful
    if not useful[0]:
        return ByteDFA(np.full((1, 256), -1, dtype=np.int32), np.zeros(1, dtype=bool))
    new_index = np.cumsum(useful) - 1
    trans = dfa.transitions[useful]
    trans = np.where((trans >= 0) & useful[np.maximum(trans, 0)], new_index[np.maximum(trans, 0)], -1)
    return ByteDFA(trans.astype(np.int32), dfa.accepting[useful])
