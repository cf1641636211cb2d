"""numba kernel: walk the vocabulary trie with one lexer state and one shadow state.

It marks every token whose bytes extend the current token (without ending it), and records
the nodes where a terminal could end (boundary nodes): what follows a token end depends on
the parser stack, so the caller explores it from there.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from constrain.grammars.walk_trie import mark_node_tokens


@njit(cache=True)
def walk_inside(roots, root_lex, root_shadow, max_depth, node_byte, node_depth, subtree_end, first_token,
                multi_token, token_start, token_ids, node_orig, lex_next, lex_ok, lex_acc, lex_end_bytes,
                shadow_next, out_bits, boundary_out):
    """Walk the subtrees below the trie nodes `roots` (node 0: the whole vocabulary), each
    starting in lexer state `root_lex` and shadow state `root_shadow`.

    Fill out_bits (packed uint32, with spare words past the vocabulary for `first_token`'s
    padding bits) and boundary_out rows (full-trie node, lex, shadow); return the row count.
    lex_next[l, byte] -> next lexer state or -1 (dead).
    shadow_next[s, byte] -> next shadow state or < 0 (lark would lex differently).
    lex_ok[l]: some type the parser takes can still come out of this token.
    lex_acc[l]: a terminal could end right after this byte.
    lex_end_bytes[l, byte]: after such an end, `byte` does not make lark lex a longer token.
    """
    n_boundary = 0
    lex_at = np.zeros(max_depth + 1, dtype=np.int32)
    shadow_at = np.zeros(max_depth + 1, dtype=np.int32)
    for r in range(roots.shape[0]):
        root = roots[r]
        stop = subtree_end[root]
        lex_at[node_depth[root]] = root_lex
        shadow_at[node_depth[root]] = root_shadow
        i = root + 1
        while i < stop:
            d = node_depth[i]
            b = node_byte[i]
            lex = lex_next[lex_at[d - 1], b]
            if lex < 0:
                i = subtree_end[i]
                continue
            shadow = shadow_next[shadow_at[d - 1], b]
            if shadow < 0 or not lex_ok[lex]:
                i = subtree_end[i]
                continue
            mark_node_tokens(i, first_token, multi_token, token_start, token_ids, out_bits)
            if lex_acc[lex] and _some_child_byte(i, lex, lex_end_bytes, node_byte, subtree_end):
                # the token could end here: the caller explores that choice below this node
                boundary_out[n_boundary, 0] = node_orig[i]
                boundary_out[n_boundary, 1] = lex
                boundary_out[n_boundary, 2] = shadow
                n_boundary += 1
            lex_at[d] = lex
            shadow_at[d] = shadow
            i += 1
    return n_boundary


@njit(cache=True, inline="always")
def _some_child_byte(i, lex, lex_end_bytes, node_byte, subtree_end):
    j = i + 1
    stop = subtree_end[i]
    while j < stop:
        if lex_end_bytes[lex, node_byte[j]]:
            return True
        j = subtree_end[j]
    return False
