"""The vocabulary-trie cache file is input: an edited file whose in-file checksum still matches
is rebuilt, never handed to the mask kernel (which indexes without bounds checks)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from constrain.grammars import regex, vocabulary
from constrain.grammars.vocabulary import TokenVocabulary, build_trie, load_trie, trie_matches

WORDS = [b"a", b"b", b"c", b"ab", b"abc", b"abd", b"b c", b"ca", b"cab", b"d", b"\xc3\xa9", b" ", b"x", b"xy"]


@pytest.fixture
def vocab(tmp_path, monkeypatch):
    monkeypatch.setenv("CONSTRAIN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(vocabulary, "_TRIES", {})
    tokens = tuple(WORDS) + (b"<eos>",)
    return TokenVocabulary(tokens, frozenset(), frozenset({len(tokens) - 1}))


def _cache_file(tmp_path):
    files = [f for f in os.listdir(tmp_path) if f.startswith("vocab-trie")]
    assert len(files) == 1, files
    return tmp_path / files[0]


def _rewrite(path, **changes):
    """Edit the arrays and recompute the in-file checksum, as a careful vandal would."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {f: data[f].copy() for f in vocabulary.TRIE_FIELDS}
        key, n_vocab = str(data["key"]), int(data["n_vocab"])
    for name, edit in changes.items():
        arrays[name] = edit(arrays[name])
    with open(path, "wb") as handle:
        np.savez(handle, key=key, n_vocab=n_vocab, checksum=vocabulary.trie_checksum(arrays), **arrays)


def _set(i, value):
    def edit(a):
        a[i] = value
        return a
    return edit


EDITS = {
    "token_start past the ids": {"token_start": _set(3, 2**31 - 1)},
    "token_start decreasing": {"token_start": _set(4, 0)},
    "subtree_end pointing back": {"subtree_end": _set(2, 1)},
    "subtree_end past the end": {"subtree_end": _set(2, 10**6)},
    "depth jump": {"node_depth": _set(3, 60)},
    "depth negative": {"node_depth": _set(3, -1)},
    "node byte changed": {"node_byte": _set(4, ord("z"))},
    "token id out of range": {"token_ids": _set(0, 10**6)},
    "token id negative": {"token_ids": _set(0, -5)},
    "token ids swapped": {"token_ids": lambda a: a[::-1].copy()},
    "token duplicated": {"token_ids": _set(1, 0)},
    "wider dtype": {"node_depth": lambda a: a.astype(np.int64)},
    "2-d array": {"node_byte": lambda a: a.reshape(1, -1)},
    "arrays cut short": {"subtree_end": lambda a: a[:-1]},
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_edited_cache_with_matching_checksum_is_rebuilt(vocab, tmp_path, edit):
    good = load_trie(vocab)
    _rewrite(_cache_file(tmp_path), **EDITS[edit])
    vocabulary.forget_loaded_tries()
    loaded = load_trie(vocab)
    for field in vocabulary.TRIE_FIELDS:
        assert np.array_equal(getattr(loaded, field), getattr(good, field)), field
    # the kernel runs on it: masks as a fresh build gives them
    g = regex("(ab|c)+ ?x?")
    allowed = {i for i, ok in enumerate(g.matcher(vocab).mask()) if ok}
    assert allowed == {WORDS.index(w) for w in (b"a", b"c", b"ab", b"abc", b"ca", b"cab")}
    # and the file on disk is whole again
    vocabulary.forget_loaded_tries()
    assert trie_matches(vocabulary.read_trie_cache(_cache_file(tmp_path), vocab.fingerprint(), vocab), vocab)


def test_good_cache_is_read_back(vocab, tmp_path):
    built = load_trie(vocab)
    vocabulary.forget_loaded_tries()
    calls = []
    real = vocabulary.build_trie
    vocabulary.build_trie = lambda v: calls.append(v) or real(v)
    try:
        again = load_trie(vocab)
    finally:
        vocabulary.build_trie = real
    assert calls == [] and np.array_equal(again.token_ids, built.token_ids)


def test_trie_matches_refuses_a_trie_of_another_vocabulary(vocab):
    other = TokenVocabulary(tuple(WORDS[:-1]) + (b"xz", b"<eos>"), frozenset(), frozenset({len(WORDS) + 1 - 1}))
    assert trie_matches(build_trie(vocab), vocab)
    assert not trie_matches(build_trie(other), vocab)


def test_failed_cache_write_leaves_no_temporary_file(vocab, tmp_path, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full_disk)
    load_trie(vocab)
    assert [f for f in os.listdir(tmp_path)] == []


def test_failed_rename_leaves_no_temporary_file(vocab, tmp_path, monkeypatch):
    def no_rename(*args, **kwargs):
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(vocabulary.os, "replace", no_rename)
    load_trie(vocab)
    assert [f for f in os.listdir(tmp_path)] == []
