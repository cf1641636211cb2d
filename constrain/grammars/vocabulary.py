"""The tokenizer's vocabulary as bytes, and as a flat trie cached on disk.

The trie lists nodes in depth-first order; `subtree_end[i]` is the index after node i's subtree,
so a byte the grammar refuses skips every token that starts with that prefix at once.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from constrain.protocols import VocabularySource

CACHE_FORMAT = 1


@dataclass(frozen=True)
class TokenVocabulary:
    """What the grammar engine needs from a tokenizer, and nothing else."""

    token_bytes: tuple[bytes, ...]
    forbidden: frozenset[int]  # control/special tokens: never allowed as text
    eos_ids: frozenset[int]  # end of generation: allowed only where the grammar accepts

    @classmethod
    def from_tokenizer(cls, tokenizer: VocabularySource | TokenVocabulary) -> TokenVocabulary:
        if isinstance(tokenizer, TokenVocabulary):
            return tokenizer
        cached = getattr(tokenizer, "_constrain_token_vocabulary", None)
        if cached is not None:
            return cached
        vocab = cls(
            tuple(bytes(b) for b in tokenizer.vocab_bytes()),
            frozenset(int(i) for i in tokenizer.control_ids),
            frozenset(int(i) for i in tokenizer.eog_ids),
        )
        try:
            tokenizer._constrain_token_vocabulary = vocab
        except AttributeError:
            pass
        return vocab

    @property
    def n_vocab(self) -> int:
        return len(self.token_bytes)

    @functools.cached_property
    def _fingerprint(self) -> str:
        digest = hashlib.sha256()
        for b in self.token_bytes:
            digest.update(len(b).to_bytes(4, "little"))
            digest.update(b)
        digest.update(repr(sorted(self.forbidden)).encode())
        digest.update(repr(sorted(self.eos_ids)).encode())
        return digest.hexdigest()

    def fingerprint(self) -> str:
        """Content hash: the key of the vocabulary index on disk and of per-vocabulary caches."""
        return self._fingerprint

    def text_ids(self) -> list[int]:
        """Tokens that may appear as grammar text."""
        skip = self.forbidden | self.eos_ids
        return [i for i, b in enumerate(self.token_bytes) if b and i not in skip]

    @functools.cached_property
    def _text_token_of_bytes(self) -> dict[bytes, int]:
        table: dict[bytes, int] = {}
        for i in self.text_ids():
            table.setdefault(self.token_bytes[i], i)
        return table

    @functools.cached_property
    def _longest_text_token(self) -> int:
        return max((len(b) for b in self._text_token_of_bytes), default=0)

    def greedy_tokens(self, data: bytes) -> list[int] | None:
        """`data` as text tokens, longest match first: a spelling the grammar mask always allows
        for text the grammar allows (masks are byte-exact), though not always the tokenizer's own.
        None when some byte has no token."""
        table, longest = self._text_token_of_bytes, self._longest_text_token
        out: list[int] = []
        i = 0
        while i < len(data):
            for j in range(min(len(data), i + longest), i, -1):
                token = table.get(data[i:j])
                if token is not None:
                    out.append(token)
                    i = j
                    break
            else:
                return None
        return out


@dataclass(frozen=True)
class VocabularyTrie:
    node_byte: np.ndarray  # uint8 (n_nodes,); node 0 is the root (empty prefix)
    node_depth: np.ndarray  # int32
    subtree_end: np.ndarray  # int32
    token_start: np.ndarray  # int32 (n_nodes + 1,): tokens ending at node i are
    token_ids: np.ndarray  # int32 token_ids[token_start[i]:token_start[i+1]]
    n_vocab: int

    @property
    def n_nodes(self) -> int:
        return len(self.node_byte)

    @property
    def max_depth(self) -> int:
        return int(self.node_depth.max())


def build_trie(vocab: TokenVocabulary) -> VocabularyTrie:
    ids = vocab.text_ids()
    ids.sort(key=lambda i: vocab.token_bytes[i])
    node_byte, node_depth, node_tokens = [0], [0], [[]]
    path: list[int] = [0]  # node index per depth along the current prefix
    prev = b""
    for tid in ids:
        data = vocab.token_bytes[tid]
        common = 0
        limit = min(len(prev), len(data))
        while common < limit and prev[common] == data[common]:
            common += 1
        del path[common + 1 :]
        for depth in range(common + 1, len(data) + 1):
            node_byte.append(data[depth - 1])
            node_depth.append(depth)
            node_tokens.append([])
            path.append(len(node_byte) - 1)
        node_tokens[path[len(data)]].append(tid)
        prev = data
    depth = np.array(node_depth, dtype=np.int32)
    subtree_end = _subtree_ends(depth)
    counts = np.array([len(t) for t in node_tokens], dtype=np.int32)
    token_start = np.zeros(len(counts) + 1, dtype=np.int32)
    np.cumsum(counts, out=token_start[1:])
    token_ids = np.array([t for ts in node_tokens for t in ts], dtype=np.int32)
    return VocabularyTrie(np.array(node_byte, dtype=np.uint8), depth, subtree_end,
                          token_start, token_ids, vocab.n_vocab)


def _subtree_ends(depth: np.ndarray) -> np.ndarray:
    n = len(depth)
    ends = np.full(n, n, dtype=np.int32)
    open_nodes: list[int] = []
    for i in range(n):
        d = depth[i]
        while open_nodes and depth[open_nodes[-1]] >= d:
            ends[open_nodes.pop()] = i
        open_nodes.append(i)
    return ends


# -- disk cache --------------------------------------------------------------------------------
def cache_dir() -> Path:
    root = os.environ.get("CONSTRAIN_CACHE_DIR")
    return Path(root) if root else Path.home() / ".cache" / "constrain"


_TRIES: dict[str, VocabularyTrie] = {}


def load_trie(vocab: TokenVocabulary) -> VocabularyTrie:
    """The trie of `vocab`: from memory, else from the disk cache, else built and cached."""
    key = vocab.fingerprint()
    trie = _TRIES.get(key)
    if trie is None:
        path = cache_dir() / f"vocab-trie-v{CACHE_FORMAT}-{key[:32]}.npz"
        trie = read_trie_cache(path, key, vocab)
        if trie is None:
            trie = build_trie(vocab)
            _write_cache(path, key, trie)
        _TRIES[key] = trie
    return trie


def forget_loaded_tries() -> None:
    """Drop the tries this process holds; the next load_trie reads the disk cache again."""
    _TRIES.clear()


TRIE_FIELDS = ("node_byte", "node_depth", "subtree_end", "token_start", "token_ids")


def read_trie_cache(path: Path, key: str, vocab: TokenVocabulary) -> VocabularyTrie | None:
    """A corrupt, foreign or edited cache file is ignored (and later overwritten), never trusted:
    the mask kernel indexes with these arrays without bounds checks, so the trie must be exactly
    the one `vocab` spells before any kernel sees it (an in-file checksum can be recomputed by
    whoever edits the file)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["key"]) != key or int(data["n_vocab"]) != vocab.n_vocab:
                return None
            arrays = {f: data[f] for f in TRIE_FIELDS}
            if str(data["checksum"]) != trie_checksum(arrays):
                return None
    except Exception:  # noqa: BLE001 - any unreadable file means "rebuild"
        return None
    trie = VocabularyTrie(n_vocab=vocab.n_vocab, **arrays)
    return trie if trie_matches(trie, vocab) else None


_DTYPES = {"node_byte": np.uint8, "node_depth": np.int32, "subtree_end": np.int32,
           "token_start": np.int32, "token_ids": np.int32}
_HASH_MULTIPLIER = np.uint64(int.from_bytes(os.urandom(8), "little") | 1)  # per process: no crafted collisions


def trie_matches(trie: VocabularyTrie, vocab: TokenVocabulary) -> bool:
    """Whether `trie` is a well-formed trie of exactly `vocab`'s text tokens: dtypes, shapes,
    depths, subtree ends, token offsets and ids in range, and every token spelled by its path.
    Vectorized per trie depth (a few tens of passes over the arrays)."""
    for name, dtype in _DTYPES.items():
        array = getattr(trie, name)
        if not isinstance(array, np.ndarray) or array.dtype != dtype or array.ndim != 1:
            return False
    n = trie.n_nodes
    depth, ends, starts, ids = trie.node_depth, trie.subtree_end, trie.token_start, trie.token_ids
    if n == 0 or len(depth) != n or len(ends) != n or len(starts) != n + 1 or depth[0] != 0:
        return False
    if n > 1 and (depth[1:].min() < 1 or np.diff(depth).max() > 1):
        return False  # depths: a child is exactly one deeper than the node before it, or shallower
    if starts[0] != 0 or starts[-1] != len(ids) or (np.diff(starts) < 0).any():
        return False
    if len(ids) and (ids.min() < 0 or ids.max() >= vocab.n_vocab):
        return False
    text = np.zeros(vocab.n_vocab, dtype=np.int64)
    text[vocab.text_ids()] = 1
    if not np.array_equal(np.bincount(ids, minlength=vocab.n_vocab), text):
        return False  # each text token exactly once, nothing else
    parent, expected_ends = _parents_and_ends(depth)
    if not np.array_equal(ends, expected_ends):
        return False
    path_hash = np.zeros(n, dtype=np.uint64)
    byte_value = trie.node_byte.astype(np.uint64) + np.uint64(1)
    by_depth = np.argsort(depth, kind="stable")
    level_starts = np.searchsorted(depth[by_depth], np.arange(int(depth.max()) + 2))
    with np.errstate(over="ignore"):
        for level in range(1, int(depth.max()) + 1):
            nodes = by_depth[level_starts[level]:level_starts[level + 1]]
            path_hash[nodes] = path_hash[parent[nodes]] * _HASH_MULTIPLIER + byte_value[nodes]
    index = np.arange(n, dtype=np.int64)
    node_of_token = np.repeat(index, np.diff(starts))
    lengths = np.array([len(vocab.token_bytes[t]) for t in ids.tolist()], dtype=np.int64)
    if not np.array_equal(lengths, depth[node_of_token]):
        return False
    return bool(np.array_equal(_bytes_hash([vocab.token_bytes[t] for t in ids.tolist()], lengths),
                               path_hash[node_of_token]))


def _parents_and_ends(depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parent and subtree end of every node, as the depth sequence defines them (depth-first)."""
    n = len(depth)
    parent = np.zeros(n, dtype=np.int64)
    ends = np.full(n, n, dtype=np.int32)
    stack: list[int] = []  # the open nodes along the current path; depths 0, 1, 2, ...
    for i, d in enumerate(depth.tolist()):
        while len(stack) > d:
            ends[stack.pop()] = i
        if stack:
            parent[i] = stack[-1]
        stack.append(i)
    return parent, ends


def _bytes_hash(items: list[bytes], lengths: np.ndarray) -> np.ndarray:
    """The path hash of each byte string, vectorized over the strings position by position."""
    out = np.zeros(len(items), dtype=np.uint64)
    if not items:
        return out
    width = int(lengths.max())
    padded = np.zeros((len(items), width), dtype=np.uint64)
    flat = np.frombuffer(b"".join(items), dtype=np.uint8).astype(np.uint64) + np.uint64(1)
    rows = np.repeat(np.arange(len(items)), lengths)
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    cols = np.arange(len(flat)) - np.repeat(offsets, lengths)
    padded[rows, cols] = flat
    with np.errstate(over="ignore"):
        for k in range(width):
            live = lengths > k
            out[live] = out[live] * _HASH_MULTIPLIER + padded[live, k]
    return out


def trie_checksum(arrays: dict) -> str:
    """Content hash of a trie's arrays, stored in its cache file and checked on reading."""
    digest = hashlib.sha256()
    for f in TRIE_FIELDS:
        digest.update(np.ascontiguousarray(arrays[f]).tobytes())
    return digest.hexdigest()


def _write_cache(path: Path, key: str, trie: VocabularyTrie) -> None:
    arrays = {f: getattr(trie, f) for f in TRIE_FIELDS}
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, key=key, n_vocab=trie.n_vocab, checksum=trie_checksum(arrays), **arrays)
        os.replace(tmp, path)  # atomic: readers see the old file or the whole new one
        tmp = None
    except OSError:
        pass  # an unwritable cache only costs a rebuild next time
    finally:
        if tmp is not None:  # a full disk or a failed rename leaves no partial file behind
            try:
                os.unlink(tmp)
            except OSError:
                pass
