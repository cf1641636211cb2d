"""The lexer automaton: lark's contextual lexer, byte by byte, as interned states.

A lexer state tracks one token in progress: the terminals of the context that can still win,
each with its DFA state, in lark's order. lark picks the first terminal in its order that
matches any prefix, with that terminal's own match; so when a terminal accepts, every terminal
after it is dropped for good. A token may end here as the first accepting terminal (or, through
lark's "unless" rule, as a keyword embedded in it); the terminals up to it then become a
*shadow* that must never match again, or lark would have lexed a longer/earlier token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from constrain.grammars.errors import GrammarError
from constrain.grammars.lark_frontend import ParsedGrammar
from constrain.grammars.regex_dfa import ByteDFA, regex_to_dfa

VIOLATION = -2  # shadow outcome: lark would have lexed differently, the hypothesis dies
# Terminal DFAs by regex, shared by every grammar of the process (a JSON string or a number is
# the same automaton in every grammar that has one); the oldest go first past the bound.
MAX_SHARED_DFAS = 512
_TERMINAL_DFAS: dict[str, ByteDFA] = {}


@dataclass(frozen=True)
class _Context:
    active: tuple[int, ...]  # terminal ids, lark order
    passive: tuple[int, ...]  # embedded keywords, only watched for the "unless" rule
    unless: tuple  # ((regex terminal id, (keyword ids in order)), ...)


class LexerAutomaton:
    def __init__(self, grammar: ParsedGrammar):
        self.grammar = grammar
        self.names = [t.name for t in grammar.terminals]
        self.tid = {n: i for i, n in enumerate(self.names)}
        self.ignore_ids = frozenset(self.tid[n] for n in grammar.ignore)
        self.dfas: list[ByteDFA] = [self._dfa(t) for t in grammar.terminals]
        self.byte_class, self.class_bytes = _byte_classes(self.dfas)
        # per terminal: transitions by byte class, as lists (the product is built in Python)
        self._by_class = [d.transitions[:, self.class_bytes].tolist() for d in self.dfas]
        self._accepting = [d.accepting.tolist() for d in self.dfas]
        self._contexts: dict[frozenset, int] = {}
        self._context_list: list[_Context] = []
        self._context_start: list[int] = []
        # lexer states
        self._keys: dict[tuple, int] = {}
        self.state_keys: list[tuple] = []
        self.accept_type: list[int] = []
        self.shadow_cut: list[tuple] = []
        self._next: list[np.ndarray | None] = []
        self._winnable: list[int | None] = []
        self._live: list[bool | None] = []
        self._succ: list[list[int] | None] = []
        # shadows: id 0 is "no constraint"
        self._shadow_keys: dict[frozenset, int] = {frozenset(): 0}
        self.shadow_members: list[frozenset] = [frozenset()]
        self._shadow_next: list[np.ndarray | None] = [np.zeros(256, dtype=np.int32)]
        self._shadow_after: dict[tuple[int, int], int] = {}
        self._ending_bytes: dict[int, np.ndarray] = {}
        self._can_continue_dfa = [(d.transitions >= 0).any(axis=1).tolist() for d in self.dfas]

    def _dfa(self, term) -> ByteDFA:
        where = f"terminal {term.name}" + (f" (grammar line {term.line})" if term.line else "")
        dfa = _TERMINAL_DFAS.get(term.regexp)
        if dfa is None:
            dfa = regex_to_dfa(term.regexp, where)
            if len(_TERMINAL_DFAS) >= MAX_SHARED_DFAS:
                _TERMINAL_DFAS.pop(next(iter(_TERMINAL_DFAS)))
            _TERMINAL_DFAS[term.regexp] = dfa
        if not dfa.accepting.any():
            raise GrammarError(f"{where}: its pattern {term.regexp!r} matches no text")
        return dfa

    # -- contexts --------------------------------------------------------------------------
    def context_start(self, names: frozenset) -> int:
        """Start lexer state for the terminals lark's contextual lexer tries in a parser state."""
        key = names | self.grammar.ignore
        cid = self._contexts.get(key)
        if cid is None:
            cid = len(self._context_list)
            self._contexts[key] = cid
            ctx = self._build_context(key)
            self._context_list.append(ctx)
            active = tuple((t, 0) for t in ctx.active)
            passive = tuple((t, 0) for t in ctx.passive)
            self._context_start.append(self._intern((ctx.unless, active, passive, True)))
        return self._context_start[cid]

    def _build_context(self, names: frozenset) -> _Context:
        # Same steps as lark's BasicLexer + _create_unless for this set of terminals.
        terms = sorted((t for t in self.grammar.terminals if t.name in names), key=lambda t: t.sort_key)
        embedded, unless = set(), []
        for retok in terms:
            if retok.is_string:
                continue
            keywords = []
            for strtok in terms:
                if not strtok.is_string or strtok.priority != retok.priority:
                    continue
                value = strtok.value
                if self._re_match(retok.regexp, value) == value:
                    keywords.append(self.tid[strtok.name])
                    if strtok.flags <= retok.flags:
                        embedded.add(strtok.name)
            if keywords:
                unless.append((self.tid[retok.name], tuple(keywords)))
        active = tuple(self.tid[t.name] for t in terms if t.name not in embedded)
        passive = tuple(sorted({k for _, ks in unless for k in ks} - set(active)))
        return _Context(active, passive, tuple(unless))

    @staticmethod
    def _re_match(regexp: str, value: str):
        m = re.match(regexp, value)
        return m.group(0) if m else None

    # -- lexer states ----------------------------------------------------------------------
    def _intern(self, key: tuple) -> int:
        sid = self._keys.get(key)
        if sid is not None:
            return sid
        sid = len(self.state_keys)
        self._keys[key] = sid
        self.state_keys.append(key)
        unless, active, passive, _fresh = key
        accept, cut = -1, ()
        for i, (t, s) in enumerate(active):
            if self.dfas[t].accepting[s]:
                accept, cut = t, active[: i + 1]
                break
        if accept >= 0:
            accept = self._apply_unless(accept, unless, passive)
        self.accept_type.append(accept)
        self.shadow_cut.append(cut)
        self._next.append(None)
        self._winnable.append(None)
        self._live.append(None)
        self._succ.append(None)
        return sid

    def _apply_unless(self, accept: int, unless: tuple, passive: tuple) -> int:
        if accept in self.ignore_ids:
            # lark runs the callback on an ignored token but drops the token whatever its new type
            return accept
        for retok, keywords in unless:
            if retok != accept:
                continue
            done = {t for t, s in passive if self.dfas[t].accepting[s]}
            for k in keywords:
                if k in done:
                    return k
        return accept

    def is_fresh(self, sid: int) -> bool:
        """True for a context's start state: no byte of the token consumed yet."""
        return self.state_keys[sid][3]

    def can_continue(self, sid: int) -> bool:
        """Some byte extends the current token."""
        live = self._live[sid]
        if live is None:
            live = self._live[sid] = bool((self.next_row(sid) >= 0).any())
        return live

    def next_row(self, sid: int) -> np.ndarray:
        row = self._next[sid]
        if row is None:
            row = self._compute_next(sid)
            self._next[sid] = row
            self._succ[sid] = sorted(n for n in set(row.tolist()) if n >= 0)
        return row

    def successors(self, sid: int) -> list[int]:
        """Distinct lexer states one byte away."""
        if self._next[sid] is None:
            self.next_row(sid)
        return self._succ[sid]

    def _compute_next(self, sid: int) -> np.ndarray:
        unless, active, passive, _fresh = self.state_keys[sid]
        if not active:
            return np.full(256, -1, dtype=np.int32)
        by_class, accepting = self._by_class, self._accepting
        targets = np.empty(len(self.class_bytes), dtype=np.int32)
        for c in range(len(self.class_bytes)):
            new_active = []
            for t, s in active:
                nxt = by_class[t][s][c]
                if nxt >= 0:
                    new_active.append((t, nxt))
                    if accepting[t][nxt]:
                        break  # lark would never pick a terminal after this one
            if not new_active:
                targets[c] = -1
                continue
            new_passive = []
            for t, s in passive:
                nxt = by_class[t][s][c]
                if nxt >= 0:
                    new_passive.append((t, nxt))
            targets[c] = self._intern((unless, tuple(new_active), tuple(new_passive), False))
        return targets[self.byte_class]

    def reachable(self, sid: int) -> list[int]:
        seen, order = {sid}, [sid]
        i = 0
        while i < len(order):
            for nxt in self.successors(order[i]):
                if nxt not in seen:
                    seen.add(nxt)
                    order.append(nxt)
            i += 1
        return order

    def winnable(self, sid: int) -> int:
        """Bitset of token types that can still come out of this token (including ending here)."""
        w = self._winnable[sid]
        if w is not None:
            return w
        states = self.reachable(sid)
        succ = {s: self.successors(s) for s in states}
        value = {s: (1 << self.accept_type[s]) if self.accept_type[s] >= 0 else 0 for s in states}
        changed = True
        while changed:
            changed = False
            for s in states:
                v = value[s]
                for n in succ[s]:
                    v |= value[n]
                if v != value[s]:
                    value[s] = v
                    changed = True
        for s in states:
            self._winnable[s] = value[s]
        return value[sid]

    # -- shadows ---------------------------------------------------------------------------
    def shadow_after_ending(self, shadow: int, sid: int) -> int:
        """Shadow once the token of lexer state `sid` ends: old constraint plus the new one."""
        key = (shadow, sid)
        result = self._shadow_after.get(key)
        if result is None:
            members = self.shadow_members[shadow] | frozenset(self.shadow_cut[sid])
            members = frozenset((t, s) for t, s in members if self._can_continue_dfa[t][s])
            result = self._shadow_after[key] = self._intern_shadow(members)
        return result

    def ending_first_bytes(self, sid: int) -> np.ndarray:
        """bool[256]: bytes that may follow if the token ends in state `sid` (the shadow of
        the ending alone does not forbid them). A cheap filter before the exact work."""
        row = self._ending_bytes.get(sid)
        if row is None:
            violation = np.zeros(256, dtype=bool)
            for t, s in self.shadow_cut[sid]:
                nxt = self.dfas[t].transitions[s]
                violation |= (nxt >= 0) & self.dfas[t].accepting[np.maximum(nxt, 0)]
            row = self._ending_bytes[sid] = ~violation
        return row

    def _intern_shadow(self, members: frozenset) -> int:
        sid = self._shadow_keys.get(members)
        if sid is None:
            sid = len(self.shadow_members)
            self._shadow_keys[members] = sid
            self.shadow_members.append(members)
            self._shadow_next.append(None)
        return sid

    def shadow_row(self, shadow: int) -> np.ndarray:
        """Next shadow per byte: an id, or VIOLATION when a shadowed terminal would match."""
        row = self._shadow_next[shadow]
        if row is not None:
            return row
        members = sorted(self.shadow_members[shadow])
        by_class, accepting = self._by_class, self._accepting
        per_class = np.empty(len(self.class_bytes), dtype=np.int32)
        for c in range(len(self.class_bytes)):
            alive = []
            violated = False
            for t, s in members:
                nxt = by_class[t][s][c]
                if nxt >= 0:
                    if accepting[t][nxt]:
                        violated = True
                        break
                    alive.append((t, nxt))
            per_class[c] = VIOLATION if violated else self._intern_shadow(frozenset(alive))
        row = per_class[self.byte_class]
        self._shadow_next[shadow] = row
        return row


def _byte_classes(dfas: list[ByteDFA]) -> tuple[np.ndarray, np.ndarray]:
    """Bytes no terminal tells apart share a class: (class of each byte, one byte per class)."""
    if not dfas:  # a grammar of the empty text only (GBNF `root ::= ""`): no terminal at all
        return np.zeros(256, dtype=np.intp), np.zeros(1, dtype=np.intp)
    columns = np.concatenate([d.transitions for d in dfas], axis=0).T  # (256, total states)
    _, first, inverse = np.unique(columns, axis=0, return_index=True, return_inverse=True)
    return inverse.reshape(-1).astype(np.intp), first.astype(np.intp)
