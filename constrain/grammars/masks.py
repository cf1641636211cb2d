"""Token masks for hypothesis sets, by repeated numba trie walks.

mask(set) = OR over its hypotheses. For one hypothesis the kernel walks the trie with the
hypothesis' lexer state, marking tokens that extend the current token, and records the nodes
where a terminal could end (boundary nodes). Below the boundary nodes a second walk (one kernel
call for all nodes whose endings lead to the same hypothesis) covers the other choice, the token ended there
(parser stack updated exactly, next context's lexer started): the same two choices the exact
engine makes byte by byte. Kernel results are memoized by (nodes, lexer state, shadow, which
lexer states the parser can use), which is what recurs from step to step (e.g. "inside a JSON
string" is one walk whatever the nesting); whole masks are memoized by state.

The lexer tables are built when the grammar is compiled (lexer_tables.py), and a walk of the
whole vocabulary into a state that loops on many bytes (a string body) takes the tokens made of
those bytes from a slice precomputed at compile time and walks only the rest (walk_trie.py).
"""

from __future__ import annotations

import numpy as np

from constrain.grammars.engine import GrammarEngine
from constrain.grammars.recognizer import union_of_masks
from constrain.grammars.vocabulary import VocabularyTrie
from constrain.grammars.walk_trie import PAD_WORDS, WalkTrie, byte_slice, full_walk_trie

MAX_MEMO_ENTRIES = 20_000  # each entry holds a packed mask (6 KiB for 49k tokens)
MIN_LOOP_BYTES = 64  # a lexer state looping on fewer bytes is not worth a slice of the vocabulary
MAX_SLICES = 8  # distinct byte sets sliced per grammar (about 1 ms each, once per vocabulary)


class MaskBuilder:
    # shared per vocabulary (compiled_cache counts only what a grammar owns)
    NOT_OWNED = ("engine", "trie", "_full", "_slices", "_kernel")

    def __init__(self, engine: GrammarEngine, trie: VocabularyTrie):
        self.engine = engine
        self.trie = trie
        self.n_words = (trie.n_vocab + 31) // 32
        self.tables = engine.lexer_tables()
        self._full = full_walk_trie(trie)
        self._slices = self._prepare_slices()
        self._set_masks: dict[int, np.ndarray] = {}
        self._hyp_masks: dict[tuple, np.ndarray] = {}
        self._walks: dict[tuple, tuple] = {}
        self._boundary_buffer = np.empty((trie.n_nodes, 3), dtype=np.int32)
        from constrain.grammars.mask_kernel import (
            walk_inside,  # numba loads on first matcher
        )

        self._kernel = walk_inside
        # every generation asks for this mask first, so it is part of building the matcher
        self.set_mask(engine.start)

    def _prepare_slices(self) -> dict[int, tuple]:
        """Per lexer state L: (M, bytes, slice) when the bytes F lead from L to a state M that loops
        on the bytes C and cannot end a token, so every token of an F byte then C bytes is allowed
        as soon as M is (`bytes` = F | C, which the shadow must let through). Such L are string
        bodies (L = M) and the states right after an opening byte (where keywords may still be
        alive): the states a whole-vocabulary walk starts from. Built with the grammar (slices
        are shared per vocabulary and byte sets), and capped."""
        tables, lexer = self.tables, self.engine.lexer
        after_start = set()
        for sid in range(tables.n_states):
            if lexer.is_fresh(sid):
                after_start.update(tables.lex_next[sid].tolist())
        found = []
        for sid in range(tables.n_states):
            row = tables.lex_next[sid]
            targets = row[row >= 0]
            if len(targets) < MIN_LOOP_BYTES:
                continue
            target = int(np.bincount(targets).argmax())
            if tables.lex_acc[target] or (target != sid and sid not in after_start):
                continue
            first = (row == target) & tables.loops[target]
            if first.sum() >= MIN_LOOP_BYTES:
                found.append((target != sid, -int(first.sum()), sid, target, first))
        found.sort(key=lambda f: f[:3])
        slices, built = {}, {}
        for *_, sid, target, first in found:
            loops = tables.loops[target]
            key = first.tobytes() + loops.tobytes()
            if key not in built:
                if len(built) >= MAX_SLICES:
                    continue
                built[key] = byte_slice(self.trie, first, loops)
            if built[key] is not None:
                slices[sid] = (target, first | loops, built[key])
        return slices

    def set_mask(self, hid: int) -> np.ndarray:
        """Packed uint32 bits of the text tokens allowed after hypothesis set `hid` (read-only)."""
        bits = self._set_masks.get(hid)
        if bits is None:
            bits = union_of_masks(self.n_words, self.engine.hypotheses(hid), self.hypothesis_mask)
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
            acc = np.zeros(self.n_words + PAD_WORDS, dtype=np.uint32)
            self._continuing_below((0,), hyp, acc)
            stack, lex, shadow = hyp
            self._ending_at(stack, {(lex, shadow): (0,)}, acc)
            bits = acc[: self.n_words]
            bits.setflags(write=False)
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
        if boundaries:
            self._ending_at(stack, boundaries, bits)

    def _ending_at(self, stack: tuple, boundaries: dict, bits: np.ndarray) -> None:
        """Mark tokens below the boundary nodes whose bytes start a new token where the current
        one ends. Boundaries whose endings lead to the same hypothesis share one walk (the kernel
        records only nodes with children, so no leaf gets here but the root)."""
        follow: dict[tuple, list] = {}
        for (lex, shadow), nodes in boundaries.items():
            ended = self.engine.ending((stack, lex, shadow))
            if ended is not None:
                follow.setdefault(ended, []).extend(nodes)
        for ended, nodes in follow.items():
            self._continuing_below(tuple(sorted(nodes)), ended, bits)

    def _walk(self, nodes: tuple, lex: int, shadow: int, viable: int):
        """Kernel walk below `nodes`: (packed bits incl. padding words, {(lexer, shadow): nodes})."""
        tables = self.tables
        tables.cover(lex, shadow)
        # keyed by what the kernel sees: every state the walk can reach only makes token types
        # the root can make, so parser contexts with the same effect share a walk
        key = (nodes, lex, shadow, self.engine.lexer.winnable(lex) & viable)
        cached = self._walks.get(key)
        if cached is not None:
            return cached
        lex_ok = tables.lex_ok(viable)
        out = np.zeros(self.n_words + PAD_WORDS, dtype=np.uint32)
        walk = self._full
        sliced = self._slices.get(lex) if nodes == (0,) else None
        if sliced is not None:
            target, byte_set, trie_slice = sliced
            if lex_ok[target] and tables.shadow_keeps(shadow, byte_set):
                out[: self.n_words] = trie_slice.bits
                walk = trie_slice.residual
        n = self._run(walk, np.array(nodes, dtype=np.int64), lex, shadow, lex_ok, out)
        boundaries: dict[tuple, list] = {}
        for node, lx, sh in self._boundary_buffer[:n].tolist():
            boundaries.setdefault((lx, sh), []).append(node)
        boundaries = {k: tuple(v) for k, v in boundaries.items()}
        out.setflags(write=False)
        self._walks[key] = (out, boundaries)
        return out, boundaries

    def _run(self, w: WalkTrie, roots: np.ndarray, lex: int, shadow: int, lex_ok: np.ndarray, out: np.ndarray) -> int:
        t = self.tables
        return self._kernel(roots, lex, shadow, w.max_depth, w.node_byte, w.node_depth, w.subtree_end,
                            w.first_token, w.multi_token, w.token_start, w.token_ids, w.node_orig,
                            t.lex_next, lex_ok, t.lex_acc, t.lex_end_bytes, t.shadow_next, out,
                            self._boundary_buffer)
