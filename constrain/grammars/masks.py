"""Token masks for hypothesis sets, by repeated numba trie walks.

mask(set) = OR over its hypotheses. For one hypothesis the kernel walks the trie with the
hypothesis' lexer state, marking tokens that extend the current token, and records the nodes
where a terminal could end (boundary nodes). Below the boundary nodes a second walk (one kernel
call for all nodes that share a lexer state) covers the other choice, the token ended there
(parser stack updated exactly, next context's lexer started): the same two choices the exact
engine makes byte by byte. Kernel results are memoized by (nodes, lexer state, shadow, which
lexer states the parser can use), which is what recurs from step to step (e.g. "inside a JSON
string" is one walk whatever the nesting); whole masks are memoized by state.
"""

from __future__ import annotations

import numpy as np

from constrain.grammars.engine import GrammarEngine
from constrain.grammars.lexer_states import VIOLATION
from constrain.grammars.vocabulary import VocabularyTrie

MAX_MEMO_ENTRIES = 20_000  # each entry holds a packed mask (6 KiB for 49k tokens)


class MaskBuilder:
    def __init__(self, engine: GrammarEngine, trie: VocabularyTrie):
        self.engine = engine
        self.trie = trie
        self.n_words = (trie.n_vocab + 31) // 32
        self._set_masks: dict[int, np.ndarray] = {}
        self._hyp_masks: dict[tuple, np.ndarray] = {}
        self._walks: dict[tuple, tuple] = {}
        self._lex_tables: dict[int, tuple] = {}
        self._lex_ok: dict[tuple, tuple] = {}
        self._shadow_tables: dict[int, tuple] = {}
        self._boundary_buffer = np.empty((trie.n_nodes, 3), dtype=np.int32)
        from constrain.grammars.mask_kernel import walk_inside  # numba loads on first matcher

        self._kernel = walk_inside
        self._leaf = trie.leaves
        self._max_depth = trie.max_depth

    def set_mask(self, hid: int) -> np.ndarray:
        """Packed uint32 bits of the text tokens allowed after hypothesis set `hid` (read-only)."""
        bits = self._set_masks.get(hid)
        if bits is None:
            bits = np.zeros(self.n_words, dtype=np.uint32)
            for hyp in self.engine.hypotheses(hid):
                bits |= self.hypothesis_mask(hyp)
            bits.setflags(write=False)
            self._limit_memory()
            self._set_masks[hid] = bits
        return bits

    def _limit_memory(self) -> None:
        # Pure caches: dropping them only costs recomputation. Long generations keep meeting
        # new states, so memory is bounded by starting over rather than growing forever.
        if len(self._set_masks) + len(self._hyp_masks) > MAX_MEMO_ENTRIES:
            self._set_masks.clear()
            self._hyp_masks.clear()
        if len(self._walks) > MAX_MEMO_ENTRIES:
            self._walks.clear()

    def hypothesis_mask(self, hyp) -> np.ndarray:
        bits = self._hyp_masks.get(hyp)
        if bits is None:
            bits = np.zeros(self.n_words, dtype=np.uint32)
            self._continuing_below((0,), hyp, bits)
            self._ending_below((0,), hyp, bits)
            self._hyp_masks[hyp] = bits
        return bits

    def _continuing_below(self, nodes: tuple, hyp, bits: np.ndarray) -> None:
        """Mark tokens below the trie `nodes` that extend the current token of `hyp` (one kernel
        call), then follow every place below where that token could end."""
        stack, lex, shadow = hyp
        if not self.engine.lexer.can_continue(lex):
            return
        inside, boundaries = self._walk(nodes, lex, shadow, self.engine.viable(stack))
        bits |= inside
        for (lex_b, shadow_b), nodes_b in boundaries.items():
            self._ending_below(nodes_b, (stack, lex_b, shadow_b), bits)

    def _ending_below(self, nodes: tuple, hyp, bits: np.ndarray) -> None:
        """Mark tokens below `nodes` whose bytes start a new token where `hyp`'s token ends."""
        nodes = tuple(n for n in nodes if not self._leaf[n])
        if not nodes:
            return
        ended = self.engine.ending(hyp)
        if ended is not None:
            self._continuing_below(nodes, ended, bits)

    def _walk(self, nodes: tuple, lex: int, shadow: int, viable: int):
        """Kernel walk below `nodes`: (packed bits, {(lexer, shadow): boundary nodes})."""
        lex_ok, ok_key = self._lex_ok_for(lex, viable)
        # keyed by what the kernel sees: parser contexts with the same effect share a walk
        key = (nodes, lex, shadow, ok_key)
        cached = self._walks.get(key)
        if cached is not None:
            return cached
        lex_ids, lex_next, lex_acc, lex_end_bytes = self._lex_table(lex)
        shadow_ids, shadow_next = self._shadow_table(shadow)
        out = np.zeros(self.n_words, dtype=np.uint32)
        t = self.trie
        n = self._kernel(np.array(nodes, dtype=np.int64), self._max_depth, t.node_byte, t.node_depth, t.subtree_end,
                         t.token_start, t.token_ids, lex_next, lex_ok, lex_acc, lex_end_bytes,
                         shadow_next, out, self._boundary_buffer)
        boundaries: dict[tuple, list] = {}
        for node, lx, sh in self._boundary_buffer[:n].tolist():
            boundaries.setdefault((lex_ids[lx], shadow_ids[sh]), []).append(node)
        boundaries = {k: tuple(v) for k, v in boundaries.items()}
        out.setflags(write=False)
        self._walks[key] = (out, boundaries)
        return out, boundaries

    def _lex_table(self, root: int):
        """Lexer states reachable from `root` as a dense local table (root is local state 0)."""
        table = self._lex_tables.get(root)
        if table is None:
            lexer = self.engine.lexer
            ids = lexer.reachable(root)
            lookup = np.full(max(ids) + 2, -1, dtype=np.int32)
            lookup[ids] = np.arange(len(ids), dtype=np.int32)
            rows = np.stack([lexer.next_row(g) for g in ids])
            lex_next = np.where(rows >= 0, lookup[rows], -1).astype(np.int32)
            lex_acc = np.array([lexer.accept_type[g] >= 0 for g in ids], dtype=np.bool_)
            lex_end_bytes = np.stack([lexer.ending_first_bytes(g) for g in ids])
            table = (ids, lex_next, lex_acc, lex_end_bytes)
            self._lex_tables[root] = table
        return table

    def _lex_ok_for(self, root: int, viable: int) -> tuple[np.ndarray, bytes]:
        key = (root, viable)
        entry = self._lex_ok.get(key)
        if entry is None:
            winnable = self.engine.lexer.winnable
            ok = np.array([bool(winnable(g) & viable) for g in self._lex_table(root)[0]], dtype=np.bool_)
            entry = self._lex_ok[key] = (ok, ok.tobytes())
        return entry

    def _shadow_table(self, root: int):
        table = self._shadow_tables.get(root)
        if table is None:
            lexer = self.engine.lexer
            ids = lexer.shadow_reachable(root)
            lookup = {g: i for i, g in enumerate(ids)}
            lookup[VIOLATION] = -1
            rows = [lexer.shadow_row(g).tolist() for g in ids]
            shadow_next = np.array([[lookup[g] for g in row] for row in rows], dtype=np.int32)
            table = (ids, shadow_next)
            self._shadow_tables[root] = table
        return table
