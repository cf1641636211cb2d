"""The vocabulary trie and its slices (walk_trie.py) against a plain filter over the token list:
the seam between the vocabulary and every mask kernel."""

from __future__ import annotations

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st

from constrain.grammars.vocabulary import TokenVocabulary, build_trie
from constrain.grammars.walk_trie import MIN_SAVING, PAD_WORDS, byte_slice, full_walk_trie

ALPHABET = b"ab{}\"x\xc3"
tokens = st.lists(st.binary(min_size=0, max_size=4).map(lambda b: bytes(ALPHABET[c % len(ALPHABET)] for c in b)),
                  min_size=1, max_size=40)
byte_sets = st.sets(st.sampled_from(list(ALPHABET)))


def vocabulary(spellings: list[bytes]) -> TokenVocabulary:
    # the last id stands for end of generation, as in a real vocabulary: never text
    return TokenVocabulary(tuple(spellings) + (b"</s>",), frozenset(), frozenset({len(spellings)}))


def as_bool(byte_set: set[int]) -> np.ndarray:
    out = np.zeros(256, dtype=np.bool_)
    out[list(byte_set)] = True
    return out


def unpack(bits: np.ndarray, n_vocab: int) -> set[int]:
    flags = np.unpackbits(bits.view(np.uint8), bitorder="little")[:n_vocab]
    return set(np.flatnonzero(flags).tolist())


def spelled(walk) -> dict[int, bytes]:
    """Every token of a walk trie with the bytes of the path to its node."""
    out, path = {}, []
    for i in range(walk.n_nodes):
        depth = int(walk.node_depth[i])
        del path[max(depth - 1, 0):]
        if depth:
            path.append(int(walk.node_byte[i]))
        for k in range(walk.token_start[i], walk.token_start[i + 1]):
            out[int(walk.token_ids[k])] = bytes(path)
    return out


@settings(max_examples=200, deadline=None)
@given(tokens)
def test_the_full_walk_trie_spells_every_text_token(spellings):
    vocab = vocabulary(spellings)
    walk = full_walk_trie(build_trie(vocab))
    assert spelled(walk) == {i: vocab.token_bytes[i] for i in vocab.text_ids()}
    n_words = (vocab.n_vocab + 31) // 32
    for i in range(walk.n_nodes):
        ending = walk.token_ids[walk.token_start[i]:walk.token_start[i + 1]].tolist()
        assert bool(walk.multi_token[i]) == (len(ending) > 1)
        if ending:
            assert walk.first_token[i] == ending[0]
        else:  # a padding bit past the vocabulary, so that the kernel marks every node alike
            assert n_words * 32 <= walk.first_token[i] < (n_words + PAD_WORDS) * 32
        assert walk.subtree_end[i] > i and all(walk.node_depth[j] > walk.node_depth[i]
                                               for j in range(i + 1, walk.subtree_end[i]))


@settings(max_examples=300, deadline=None)
@given(tokens, byte_sets, byte_sets)
def test_a_slice_is_the_plain_filter_and_its_residual_keeps_the_rest(spellings, first, allowed):
    vocab = vocabulary(spellings)
    trie = build_trie(vocab)
    inside = {i for i in vocab.text_ids()
              if vocab.token_bytes[i][0] in first and all(b in allowed for b in vocab.token_bytes[i][1:])}
    outside = set(vocab.text_ids()) - inside
    # nodes a walk still needs: the root and every prefix of a token outside the slice
    prefixes = {b""} | {vocab.token_bytes[i][:k] for i in outside for k in range(len(vocab.token_bytes[i]) + 1)}
    cut = byte_slice(trie, as_bool(first), as_bool(allowed))
    event("refused" if cut is None else "sliced")
    if cut is None:
        assert len(prefixes) > MIN_SAVING * trie.n_nodes  # refused only when it saves too little
        return
    assert unpack(cut.bits, vocab.n_vocab) == inside
    residual = spelled(cut.residual)
    assert outside <= set(residual)
    assert all(residual[i] == vocab.token_bytes[i] for i in residual)
    assert cut.residual.n_nodes == len(prefixes)
    full = full_walk_trie(trie)
    for j in range(cut.residual.n_nodes):  # boundaries are reported in the full trie's numbering
        orig = cut.residual.node_orig[j]
        assert full.node_byte[orig] == cut.residual.node_byte[j]
        assert full.node_depth[orig] == cut.residual.node_depth[j]
