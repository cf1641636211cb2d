"""numba kernel: walk the vocabulary trie with one lazily built lexer state.

Marks every token whose bytes keep the current lexeme alive, and reports two kinds of nodes for
the caller: where a lexeme could end (boundaries: what follows depends on the parser) and where
the walk entered a state whose row is not built yet (frontier: the caller builds it and resumes).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from constrain.grammars.walk_trie import mark_node_tokens


@njit(cache=True)
def walk_lazy(roots, root_state, node_byte, node_depth, subtree_end, first_token, multi_token, token_start,
              token_ids, node_orig, max_depth, lex_next, built, accepting, reach, reach_other, allowed,
              out_bits, boundary_out, frontier_out):
    """Walk the subtrees below the trie nodes `roots` (node 0: the whole vocabulary) starting in
    lexer state `root_state` (its row must be built).

    out_bits: packed uint32 allowed tokens, with spare words past the vocabulary for padding bits.
    boundary_out[k] = (full-trie node, state): a lexeme can end after that node's bytes.
    frontier_out[k] = (full-trie node, state): state's row is missing; the subtree was skipped.
    reach[state] / reach_other[state]: which filtered lexemes (bit words) / whether another lexeme
    can still end from a state; a state whose reachable lexemes are all outside `allowed` is dead.
    Returns (n_boundary, n_frontier).
    """
    n_words = reach.shape[1]
    n_boundary = 0
    n_frontier = 0
    state_at = np.zeros(max_depth + 1, dtype=np.int32)
    for r in range(roots.shape[0]):
        root = roots[r]
        stop = subtree_end[root]
        state_at[node_depth[root]] = root_state
        i = root + 1
        while i < stop:
            d = node_depth[i]
            s = lex_next[state_at[d - 1], node_byte[i]]
            if s < 0 or not _reachable(s, reach, reach_other, allowed, n_words):
                i = subtree_end[i]
                continue
            mark_node_tokens(i, first_token, multi_token, token_start, token_ids, out_bits)
            end = subtree_end[i]
            if end > i + 1:  # the node has children
                if accepting[s]:
                    boundary_out[n_boundary, 0] = node_orig[i]
                    boundary_out[n_boundary, 1] = s
                    n_boundary += 1
                if not built[s]:
                    frontier_out[n_frontier, 0] = node_orig[i]
                    frontier_out[n_frontier, 1] = s
                    n_frontier += 1
                    i = end
                    continue
            state_at[d] = s
            i += 1
    return n_boundary, n_frontier


@njit(cache=True, inline="always")
def _reachable(s, reach, reach_other, allowed, n_words):
    if reach_other[s]:
        return True
    for w in range(n_words):
        if reach[s, w] & allowed[w]:
            return True
    return False
