"""The vocabulary trie in the form the mask kernel walks, and its slices by byte set.

Two additions to the flat trie, both for the kernel's speed:

- `first_token[i]`: one token ending at node i, or a padding bit past the vocabulary when none
  does, so the kernel marks a node without a branch (a data-dependent branch per node costs as
  much as the rest of the walk). `multi_token[i]` flags the rare nodes with more tokens
  (tokenizers with duplicate byte strings, e.g. sentencepiece byte fallback).
- slices (llguidance's "slicer"): for a first-byte set F and a byte set C, the tokens whose
  first byte is in F and other bytes in C as a ready bitmask, and the *residual* trie that keeps
  only subtrees holding some other token. A lexer state whose F bytes lead to a state looping on
  C (a string body) accepts the whole first part without a walk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from constrain.grammars.vocabulary import VocabularyTrie

PAD_WORDS = 16  # mask words past the vocabulary that absorb `first_token` of token-less nodes


@dataclass(frozen=True)
class WalkTrie:
    node_byte: np.ndarray  # uint8
    node_depth: np.ndarray  # int32
    subtree_end: np.ndarray  # int32
    first_token: np.ndarray  # int32: a token id, or a padding bit when the node ends no token
    multi_token: np.ndarray  # bool: more tokens end here (token_ids[token_start[i] + 1 : ...])
    token_start: np.ndarray  # int32
    token_ids: np.ndarray  # int32
    node_orig: np.ndarray  # int32: the node's index in the full trie (what boundaries report)
    max_depth: int

    @property
    def n_nodes(self) -> int:
        return len(self.node_byte)


def _walk_trie(node_byte, node_depth, subtree_end, token_start, token_ids, node_orig, n_words) -> WalkTrie:
    counts = np.diff(token_start)
    n = len(node_byte)
    first = (token_ids[np.minimum(token_start[:-1], max(len(token_ids) - 1, 0))] if len(token_ids)
             else np.zeros(n, np.int32))
    # token-less nodes write to one of PAD_WORDS spare words in turn: no store-to-load chain
    pad = n_words * 32 + (np.arange(n, dtype=np.int32) % PAD_WORDS) * 32
    first_token = np.where(counts > 0, first, pad).astype(np.int32)
    return WalkTrie(node_byte, node_depth, subtree_end, first_token, counts > 1, token_start, token_ids,
                    node_orig.astype(np.int32), int(node_depth.max()) if n else 0)


def full_walk_trie(trie: VocabularyTrie) -> WalkTrie:
    # stored on the trie itself: it lives as long as the (process-wide) trie does
    walk = trie.__dict__.get("_walk_trie")
    if walk is None:
        n_words = (trie.n_vocab + 31) // 32
        walk = trie.__dict__["_walk_trie"] = _walk_trie(
            trie.node_byte, trie.node_depth, trie.subtree_end, trie.token_start, trie.token_ids,
            np.arange(trie.n_nodes, dtype=np.int32), n_words)
    return walk


@dataclass(frozen=True)
class Slice:
    bits: np.ndarray  # packed uint32: tokens with the first byte in F and the others in C
    residual: WalkTrie  # the nodes whose subtree holds a token with some byte outside the set


MAX_SLICES_PER_TRIE = 64  # about 1 ms and a packed mask each
MIN_SAVING = 0.5  # a slice is only kept if its residual trie has at most this share of the nodes


def byte_slice(trie: VocabularyTrie, first: np.ndarray, allowed: np.ndarray) -> Slice | None:
    """The slice of `trie` for first bytes `first` and later bytes `allowed` (bool[256] each),
    or None when it would not save enough of the walk. Cached per trie and byte sets."""
    slices = trie.__dict__.setdefault("_byte_slices", {})
    key = np.packbits(first).tobytes() + np.packbits(allowed).tobytes()
    if key not in slices:
        if len(slices) >= MAX_SLICES_PER_TRIE:
            return None  # bounded: byte sets this rare are walked
        slices[key] = _build_slice(trie, first, allowed)
    return slices[key]


def _build_slice(trie: VocabularyTrie, first: np.ndarray, allowed: np.ndarray) -> Slice | None:
    n_words = (trie.n_vocab + 31) // 32
    keep, inside_bits = _slice_marks(trie.node_byte, trie.node_depth, trie.token_start, trie.token_ids,
                                     first, allowed, int(trie.node_depth.max()), n_words)
    if keep.sum() > MIN_SAVING * trie.n_nodes:
        return None
    inside_bits.setflags(write=False)
    node_byte, node_depth, subtree_end, token_start, token_ids, old = compact_trie(
        keep, trie.node_byte, trie.node_depth, trie.subtree_end, trie.token_start, trie.token_ids)
    return Slice(inside_bits, _walk_trie(node_byte, node_depth, subtree_end, token_start, token_ids, old, n_words))


@njit(inline="always", cache=True)
def mark_node_tokens(i, first_token, multi_token, token_start, token_ids, out_bits):
    """Set the bits of the tokens that end at walk-trie node i in the mask `out_bits`. The first
    is set whether or not a token ends there: nodes where none does carry a padding id past the
    vocabulary, so the hot loop needs no test."""
    t = first_token[i]
    out_bits[t >> 5] |= np.uint32(1) << np.uint32(t & 31)
    if multi_token[i]:
        for k in range(token_start[i] + 1, token_start[i + 1]):
            t = token_ids[k]
            out_bits[t >> 5] |= np.uint32(1) << np.uint32(t & 31)


@njit(cache=True)
def _slice_marks(node_byte, node_depth, token_start, token_ids, first, allowed, max_depth, n_words):
    """keep[i]: node i's subtree holds a token outside the slice; and the packed bits of the
    tokens inside it (first byte in `first`, the others in `allowed`)."""
    n = node_byte.shape[0]
    outside_at = np.zeros(max_depth + 1, dtype=np.bool_)
    node_at = np.zeros(max_depth + 1, dtype=np.int64)
    parent = np.zeros(n, dtype=np.int64)
    keep = np.zeros(n, dtype=np.bool_)
    bits = np.zeros(n_words, dtype=np.uint32)
    for i in range(1, n):
        d = node_depth[i]
        if d == 1:
            outside = not first[node_byte[i]]
        else:
            outside = outside_at[d - 1] or not allowed[node_byte[i]]
        outside_at[d] = outside
        node_at[d] = i
        parent[i] = node_at[d - 1]
        keep[i] = outside
        if not outside:
            for k in range(token_start[i], token_start[i + 1]):
                t = token_ids[k]
                bits[t >> 5] |= np.uint32(1) << np.uint32(t & 31)
    for i in range(n - 1, 0, -1):  # children come after their parent: one backward pass
        if keep[i]:
            keep[parent[i]] = True
    keep[0] = True
    return keep, bits


@njit(cache=True)
def compact_trie(keep, node_byte, node_depth, subtree_end, token_start, token_ids):
    """The kept nodes in the same depth-first order, with subtree ends and tokens renumbered."""
    n = keep.shape[0]
    kept_before = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        kept_before[i + 1] = kept_before[i] + keep[i]
    m = kept_before[n]
    old = np.empty(m, dtype=np.int32)
    out_byte = np.empty(m, dtype=np.uint8)
    out_depth = np.empty(m, dtype=np.int32)
    out_end = np.empty(m, dtype=np.int32)
    out_start = np.zeros(m + 1, dtype=np.int32)
    n_tokens = 0
    for i in range(n):
        if keep[i]:
            n_tokens += token_start[i + 1] - token_start[i]
    out_tokens = np.empty(n_tokens, dtype=np.int32)
    k = 0
    for i in range(n):
        if keep[i]:
            j = kept_before[i]
            old[j] = i
            out_byte[j] = node_byte[i]
            out_depth[j] = node_depth[i]
            out_end[j] = kept_before[subtree_end[i]]
            for s in range(token_start[i], token_start[i + 1]):
                out_tokens[k] = token_ids[s]
                k += 1
            out_start[j + 1] = k
    return out_byte, out_depth, out_end, out_start, out_tokens, old
