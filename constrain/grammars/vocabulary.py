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

CACHE_FORMAT = 1


@dataclass(frozen=True)
class TokenVocabulary:
    """What the grammar engine needs from a tokenizer, and nothing else."""

    token_bytes: tuple[bytes, ...]
    forbidden: frozenset[int]  # control/special tokens: never allowed as text
    eos_ids: frozenset[int]  # end of generation: allowed only where the grammar accepts

    @classmethod
    def from_tokenizer(cls, tokenizer) -> "TokenVocabulary":
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
        trie = _read_cache(path, key, vocab.n_vocab)
        if trie is None:
            trie = build_trie(vocab)
            _write_cache(path, key, trie)
        _TRIES[key] = trie
    return trie


_FIELDS = ("node_byte", "node_depth", "subtree_end", "token_start", "token_ids")


def _read_cache(path: Path, key: str, n_vocab: int) -> VocabularyTrie | None:
    """A corrupt or foreign cache file is ignored (and later overwritten), never trusted."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["key"]) != key or int(data["n_vocab"]) != n_vocab:
                return None
            arrays = {f: data[f] for f in _FIELDS}
            if str(data["checksum"]) != _checksum(arrays):
                return None
    except Exception:  # noqa: BLE001 - any unreadable file means "rebuild"
        return None
    trie = VocabularyTrie(n_vocab=n_vocab, **arrays)
    return trie if _plausible(trie) else None


def _plausible(trie: VocabularyTrie) -> bool:
    n = trie.n_nodes
    return (
        len(trie.node_depth) == n and len(trie.subtree_end) == n and len(trie.token_start) == n + 1
        and trie.token_start[-1] == len(trie.token_ids)
        and bool(np.all(trie.subtree_end > np.arange(n))) and bool(np.all(trie.subtree_end <= n))
        and bool(np.all((trie.token_ids >= 0) & (trie.token_ids < trie.n_vocab)))
    )


def _checksum(arrays: dict) -> str:
    digest = hashlib.sha256()
    for f in _FIELDS:
        digest.update(np.ascontiguousarray(arrays[f]).tobytes())
    return digest.hexdigest()


def _write_cache(path: Path, key: str, trie: VocabularyTrie) -> None:
    arrays = {f: getattr(trie, f) for f in _FIELDS}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, key=key, n_vocab=trie.n_vocab, checksum=_checksum(arrays), **arrays)
        os.replace(tmp, path)  # atomic: readers see the old file or the whole new one
    except OSError:
        pass  # an unwritable cache only costs a rebuild next time
