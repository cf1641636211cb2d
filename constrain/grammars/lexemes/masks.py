"""Token masks of a lexeme engine's hypothesis sets, by numba trie walks.

mask(set) = OR of its hypotheses' masks. For one hypothesis the kernel walks the trie from its
lexer state, marking tokens that keep the lexeme alive and reporting the nodes where the lexeme
could end. Below those nodes the parser's next configurations start their lexemes (one more walk
per configuration, below all nodes that end in the same way). States whose rows are missing are
built when a walk reaches them (lazy_dfa.py).

Lexer states are clamped to the longest token (terms.clamp) before walking, so states that differ
only in a count no token can reach ("character 17 of at most 255" and "character 18") share one
walk. Walks are memoized by (trie nodes, state), hypothesis masks by the hypothesis, set masks by
set; all three are bounded.
"""

from __future__ import annotations

import numpy as np

from constrain.grammars.lexemes.engine import LexemeEngine, allowed_tags
from constrain.grammars.lexemes.shared import MAX_WALKS as MAX_SHARED_WALKS
from constrain.grammars.lexemes.terms import ALT
from constrain.grammars.lexemes.walk_kernel import walk_lazy
from constrain.grammars.recognizer import union_of_masks
from constrain.grammars.vocabulary import VocabularyTrie
from constrain.grammars.walk_trie import PAD_WORDS, byte_slice, full_walk_trie

MIN_LOOP_BYTES = 64  # a state looping on fewer bytes is not worth a slice of the vocabulary
MAX_MEMO_ENTRIES = 4096  # per grammar and vocabulary; each entry holds a packed mask (6 KiB for 49k tokens)


class LexemeMaskBuilder:
    # shared by every grammar of the store or per vocabulary (compiled_cache counts only what a grammar owns)
    NOT_OWNED = ("engine", "parser", "store", "trie", "dfa", "_full", "_parents", "_walks")

    def __init__(self, engine: LexemeEngine, trie: VocabularyTrie):
        self.engine = engine
        self.parser = engine.parser
        self.store = engine.store
        self.trie = trie
        self.n_words = (trie.n_vocab + 31) // 32
        self.horizon = int(trie.max_depth) + 1
        self.dfa = self.store.dfa  # shared by every grammar of the store
        self._full = full_walk_trie(trie)
        self._parents = trie_parents(trie)
        self._set_masks: dict[int, np.ndarray] = {}
        self._hyp_masks: dict[tuple, np.ndarray] = {}
        self._walks = self.store.walks(trie_key(trie))
        self._loops: dict[int, int] = {}  # state -> the looping state (or branch) its slice comes from
        n = trie.n_nodes
        self._boundary_buffer = np.empty((n, 2), dtype=np.int32)
        self._frontier_buffer = np.empty((n, 2), dtype=np.int32)
        self.set_mask(engine.start)  # every generation asks for it first

    # -- masks -----------------------------------------------------------------------------
    def set_mask(self, hid: int) -> np.ndarray:
        """Packed uint32 bits of the text tokens allowed after hypothesis set `hid` (read-only)."""
        bits = self._set_masks.get(hid)
        if bits is None:
            self._limit_memory()
            bits = union_of_masks(self.n_words, self.engine.hypotheses(hid), self.hypothesis_mask)
            self._set_masks[hid] = bits
        return bits

    def hypothesis_mask(self, hyp) -> np.ndarray:
        config, term, text = hyp
        key = (config, self._clamp(term), text)
        bits = self._hyp_masks.get(key)
        if bits is None:
            acc = np.zeros(self.n_words + PAD_WORDS, dtype=np.uint32)
            self._mask_group(key[1], self.parser.allowed(config), {0: (config, text, 0)}, acc)
            bits = acc[: self.n_words]
            bits.setflags(write=False)
            self._hyp_masks[key] = bits
        return bits

    def _mask_group(self, term: int, allowed: int | None, starts: dict, acc: np.ndarray) -> None:
        """Mark tokens below the trie nodes of `starts` whose bytes continue a lexeme in state
        `term`, and follow every place where the lexeme can end.

        starts: {root node: (configuration, text before the root or None, depth where the lexeme
        began)}; several configurations whose lexemes are the same term (and allowed mask) share
        one walk, and only what follows a lexeme's end depends on the configuration (and on the
        text, when the parser asks for it)."""
        state = self.dfa.state(term)
        roots = tuple(sorted(starts))
        inside, boundaries = self._walk(roots, state, allowed)
        acc |= inside
        if self.dfa.accepting[state]:  # the lexeme may also end right at the roots
            boundaries = dict(boundaries)
            boundaries[state] = tuple(sorted(set(boundaries.get(state, ())) | set(roots)))
        parser, store = self.parser, self.store
        following: dict[int, list[dict]] = {}  # next lexeme term -> groups of starts
        for end_state, nodes in boundaries.items():
            tags = allowed_tags(store.tags(self.dfa.term(end_state)), allowed)
            if not tags:
                continue
            for root, members in self._by_root(nodes, starts).items():
                config, text, begin = starts[root]
                if text is None:
                    for nxt in parser.after(config, tags, None):
                        self._follow(nxt, members, following)
                else:
                    for node in members:  # the lexeme's text differs per node
                        full = text + self._path(node)[begin:]
                        for nxt in parser.after(config, tags, full):
                            self._follow(nxt, (node,), following)
        for (nxt_term, nxt_allowed), groups in following.items():
            for group in groups:
                self._mask_group(nxt_term, nxt_allowed, group, acc)

    def _follow(self, config: int, nodes, following: dict) -> None:
        term = self._clamp(self.parser.lexemes(config))
        if term == self.store.empty:
            return
        groups = following.setdefault((term, self.parser.allowed(config)), [{}])
        needs_text = self.parser.needs_text(config)
        depth = self.trie.node_depth
        for node in nodes:
            start = (config, b"" if needs_text else None, int(depth[node]))
            for group in groups:  # a node already taken by another configuration goes to another walk
                if group.get(node, start) == start:
                    group[node] = start
                    break
            else:
                groups.append({node: start})

    def _by_root(self, nodes, starts: dict) -> dict:
        """Boundary nodes grouped by the start root they lie below."""
        if len(starts) == 1:
            return {next(iter(starts)): nodes}
        parents = self._parents
        out: dict[int, list] = {}
        for node in nodes:
            up = node
            while up not in starts:
                up = int(parents[up])
            out.setdefault(up, []).append(node)
        return out

    def _clamp(self, term: int) -> int:
        return self.store.clamp(term, self.horizon)

    # -- walks -----------------------------------------------------------------------------
    def _walk(self, roots: tuple, state: int, allowed: int | None):
        """(packed bits incl. padding words, {accepting state: nodes}) below `roots` from `state`,
        through states that still reach a lexeme `allowed` lets through."""
        key = (roots, state, allowed, self.dfa.generation)
        cached = self._walks.get(key)
        if cached is not None:
            return cached
        dfa = self.dfa
        out = np.zeros(self.n_words + PAD_WORDS, dtype=np.uint32)
        boundaries: dict[int, list] = {}
        pending = [(roots, state)]
        w = self._full
        if roots == (0,):
            if not dfa.built[state]:
                dfa.build(state)
            trie_slice = self._slice(state, allowed)
            if trie_slice is not None:  # tokens made of the bytes the state loops on: allowed as a block
                out[: self.n_words] = trie_slice.bits
                w = trie_slice.residual
        first = True
        while pending:
            nodes, s = pending.pop()
            if not first:
                w = self._full
            first = False
            if not dfa.built[s]:
                dfa.build(s)
            n_b, n_f = walk_lazy(np.array(nodes, dtype=np.int64), s, w.node_byte, w.node_depth, w.subtree_end,
                                 w.first_token, w.multi_token, w.token_start, w.token_ids, w.node_orig, w.max_depth,
                                 dfa.next, dfa.built, dfa.accepting, dfa.reach, dfa.reach_other,
                                 dfa.allowed_words(allowed), out, self._boundary_buffer, self._frontier_buffer)
            for node, st in self._boundary_buffer[:n_b].tolist():
                boundaries.setdefault(st, []).append(node)
            if n_f:
                frontier: dict[int, list] = {}
                for node, st in self._frontier_buffer[:n_f].tolist():
                    frontier.setdefault(st, []).append(node)
                for st, fnodes in frontier.items():
                    dfa.build(st)
                    pending.append((tuple(fnodes), st))
        result = (out, {s: tuple(sorted(n)) for s, n in boundaries.items()})
        out.setflags(write=False)
        if len(self._walks) >= MAX_SHARED_WALKS:
            self._walks.clear()
        self._walks[key] = result
        return result

    def _slice(self, state: int, allowed: int | None):
        """The vocabulary slice of a state that loops on many bytes and cannot end a lexeme (a
        string body): its tokens made only of those bytes, and the residual trie of the rest
        (llguidance's "slicer"; walk_trie.py). A union whose branch is such a loop (a key that may
        be listed or any other string) takes the slice of that branch: its loop bytes keep the
        branch, and so the union, alive. None when it would not save enough."""
        loop = self._loop_branch(state)
        if loop < 0 or not self.store.reachable(self.dfa.term(loop), allowed):
            return None
        loops = self.dfa.loops[loop]
        return byte_slice(self.trie, loops, loops)

    def _loop_branch(self, state: int) -> int:
        found = self._loops.get(state)
        if found is None:
            found = -1
            dfa, store = self.dfa, self.store
            term = dfa.term(state)
            candidates = [state]
            if store.kind[term] == ALT:
                candidates += [dfa.state(c) for c in store.arg[term] if store.is_live(c)]
            best = MIN_LOOP_BYTES - 1
            for idx in candidates:
                if not dfa.built[idx]:
                    dfa.build(idx, ahead=0)
                size = int(dfa.loops[idx].sum())
                if size > best and not dfa.accepting[idx]:
                    found, best = idx, size
            self._loops[state] = found
        return found

    def _path(self, node: int) -> bytes:
        """The bytes from the trie root to `node`."""
        out = []
        parents, node_byte = self._parents, self.trie.node_byte
        while node > 0:
            out.append(int(node_byte[node]))
            node = int(parents[node])
        return bytes(reversed(out))

    def _limit_memory(self) -> None:
        # Pure caches: dropping them only costs recomputation. Long generations keep meeting
        # new states, so memory is bounded by starting over rather than growing forever.
        if len(self._set_masks) + len(self._hyp_masks) > MAX_MEMO_ENTRIES:
            self._set_masks.clear()
            self._hyp_masks.clear()
        if self.dfa.over_budget():
            self._walks.clear()
            self._loops.clear()
            self.dfa.clear()


def trie_key(trie: VocabularyTrie) -> str:
    key = trie.__dict__.get("_key")
    if key is None:
        key = trie.__dict__["_key"] = f"{id(trie)}:{trie.n_nodes}:{trie.n_vocab}"
    return key


def trie_parents(trie: VocabularyTrie) -> np.ndarray:
    """parent[i]: the node one byte above node i (cached on the trie, which lives per process)."""
    parents = trie.__dict__.get("_parents")
    if parents is None:
        depth = trie.node_depth
        parents = np.zeros(len(depth), dtype=np.int32)
        last_at: list[int] = [0] * (int(depth.max()) + 2 if len(depth) else 2)
        for i, d in enumerate(depth.tolist()):
            if i:
                parents[i] = last_at[d - 1]
            last_at[d] = i
        trie.__dict__["_parents"] = parents
    return parents
