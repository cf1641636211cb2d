"""The caches of compiled grammars: one in memory, bounded by bytes and entries, least recently
used first out; and on disk, what a previous process learned about a grammar.

A compiled grammar holds its parser tables, lexer states and mask memos (which grow while
matchers generate); a server that compiles a schema per request would otherwise keep every one
of them. `CONSTRAIN_GRAMMAR_CACHE_BYTES` bounds the bytes the cache holds (default 64 MiB; size
suffixes K, M, G are read), `CONSTRAIN_GRAMMAR_CACHE_SIZE` the entries (default 64); 0 turns the
cache off. Sizes are estimated by `estimated_bytes` (numpy arrays by their size, containers by
their entries) when an entry is stored, and re-estimated as memos grow after the compile: an
entry handed out since its last estimate is walked again at a later store (the entry used last,
and the one handed out longest ago: REMEASURE_PER_STORE in all) and every REMEASURE_EVERY_HITS
lookups of it. Entries not used since their estimate are not walked again: an estimate walks up
to 200,000 objects, and re-walking every entry made compiles in a process that had cached a
hundred large schemas 30x slower. Most of what a JSON Schema grammar owns is its compiler (the
document, its positions and shapes), which rarely grows after the compile: its estimate is kept
while its `size_token` stays the same (GrowsRarely), so a re-estimate walks only the memos; the
JSON Schema dialects and `referencing` registries (every draft's meta-schemas) count as shared.
On 60 grammars of MaskBench's sample that took an estimate from 1.65 ms to 1.04 ms for a first
walk and 0.14 ms for a later one (before, every walk was a first walk: two or three per compile). A grammar
object in use keeps its engine alive whatever the cache drops.

On disk (`$CONSTRAIN_CACHE_DIR/grammars`, else ~/.cache/constrain/grammars), per JSON Schema,
keyed by its content, options and the compiler's version (not with a `registry`, which is known
only by id, nor `lenient`, which warns at each compile):

- `<key>.ok`: the schema compiled without a refusal; a later process then compiles it lazily,
  position by position as generation reaches them, instead of checking every position for
  refusals first. At most `MAX_DISK_ENTRIES` marks are kept.
- `<key>.verdicts`: the verdicts of every emptiness question its compile and first mask asked
  (lexemes/verdicts.py: "is this intersection of patterns empty?", keyed by a digest of the term's
  structure, so valid in any process), which a later process reads instead of searching: the
  searches are the multi-second part of a compile (`not` over an `allOf` of `anyOf` patterns),
  and rebuilding the rest is milliseconds. Plain bytes (no pickle): a magic line, a fingerprint of
  what the digests mean (compiler and package versions, the term algebra's source), 17-byte
  records; a file that does not match, is truncated or holds a byte other than 0/1 is removed and
  ignored. Written to a temporary file and moved into place with os.replace, so concurrent writers
  never leave a torn file. At most MAX_VERDICT_FILES files and MAX_VERDICT_BYTES bytes, the least
  recently read or written removed first.
- `<key>.positions`: which of the schema's positions accept some value, as its compile and first
  mask found them, by position name (json_schema/position_names.py: a name means the same
  subschema in every process). A later process reads them instead of compiling every property's
  schema to learn whether its key may be offered. Same format and bounds as `.verdicts`, with a
  fingerprint of the whole schema compiler.

The in-memory cache stays the only owner of compiled engines: nothing on disk is an engine.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import numpy as np

T = TypeVar("T")
DEFAULT_ENTRIES = 64
DEFAULT_BYTES = 64 << 20
REMEASURE_PER_STORE = 2
REMEASURE_EVERY_HITS = 8
_SUFFIXES = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def _configured_size() -> int:
    raw = os.environ.get("CONSTRAIN_GRAMMAR_CACHE_SIZE")
    if raw is None:
        return DEFAULT_ENTRIES
    try:
        return max(0, int(raw))
    except ValueError:
        return DEFAULT_ENTRIES


def _configured_bytes() -> int:
    raw = os.environ.get("CONSTRAIN_GRAMMAR_CACHE_BYTES", "").strip().lower().rstrip("ib")
    if not raw:
        return DEFAULT_BYTES
    scale = _SUFFIXES.get(raw[-1], 1)
    try:
        return max(0, int(float(raw[:-1] if scale > 1 else raw) * scale))
    except ValueError:
        return DEFAULT_BYTES


# Objects a compiled grammar refers to but does not own: shared by every grammar of the process
# (the vocabulary trie and its walk form, the shared lexeme store and its DFA, the tokenizer's
# vocabulary), so they are not counted against one entry. A class lists its attributes that point
# at shared state in NOT_OWNED.
# The JSON Schema dialects and `referencing`'s registries are shared too: a registry holds every
# meta-schema of every draft (walking them was over a third of each estimate), and what a grammar's
# own registry adds (its document's resources) the compiler also holds directly.
_SHARED_TYPES = ("VocabularyTrie", "WalkTrie", "TermStore", "JsonTerms", "LazyDFA", "TokenVocabulary", "Lark",
                 "ModuleType", "Dialect", "Registry", "Resolver", "Specification")
CONTAINER_ENTRY_BYTES = 64  # bytes per dict/list entry beyond what the entry refers to (pointers, hash slots)


_SCALARS = (bool, int, float, complex, type(None), type, np.generic)
_PLAIN_SCALARS = frozenset((bool, int, float, complex, type(None), type))  # exact types, skipped before a push
_shared_by_type: dict[type, bool] = {}


def _is_shared(kind: type) -> bool:
    shared = _shared_by_type.get(kind)
    if shared is None:
        shared = _shared_by_type[kind] = any(cls.__name__ in _SHARED_TYPES for cls in kind.__mro__)
    return shared


class GrowsRarely(Protocol):
    """An object whose estimate is kept between walks: most of what it owns is built once (a
    schema compiler's document, positions and shapes) while the memos around it grow with every
    mask, so re-walking it at each re-measure of its grammar is wasted work."""

    def size_token(self) -> Hashable:
        """A cheap value that changes whenever what the object owns may have grown."""


# (token, bytes) of the objects with a size_token, from their last walk
_KEPT_ESTIMATES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def estimated_bytes(obj, *, max_objects: int = 200_000) -> int:
    """Bytes held by `obj` and what it owns: numpy arrays by their buffers, containers by their
    entries, other objects by their attributes; shared objects are skipped and every object is
    counted once. Walks at most `max_objects` objects (then the estimate is a lower bound).

    An object with a `size_token` (GrowsRarely) whose token is unchanged since its last walk counts
    its last estimate without being walked; what it shares with the rest of the entry may then be
    counted twice (an estimate too high, never too low)."""
    return _walk(obj, set(), max_objects, root=True)


def _walk(obj, seen: set[int], max_objects: int, root: bool = False) -> int:
    # Exact-type tests first and scalars filtered before they are pushed: most objects are the
    # schema document's strings and small tuples, and this loop is most of what an estimate costs.
    plain = _PLAIN_SCALARS
    getsizeof = sys.getsizeof
    stack = [obj]
    total = 0
    while stack and len(seen) < max_objects:
        item = stack.pop()
        key = id(item)
        if key in seen:
            continue
        seen.add(key)
        kind = type(item)
        if kind is str or kind is bytes:
            total += getsizeof(item)
        elif kind is tuple or kind is list or kind is set or kind is frozenset:
            total += getsizeof(item) + CONTAINER_ENTRY_BYTES * len(item)
            stack.extend([v for v in item if type(v) not in plain])
        elif kind is dict:
            total += getsizeof(item) + CONTAINER_ENTRY_BYTES * len(item)
            stack.extend([k for k in item if type(k) not in plain])
            stack.extend([v for v in item.values() if type(v) not in plain])
        elif kind is np.ndarray:
            owner = item
            while isinstance(owner.base, np.ndarray):
                owner = owner.base
            if owner is item or id(owner) not in seen:
                seen.add(id(owner))
                total += owner.nbytes
        elif isinstance(item, _SCALARS) or _is_shared(kind) or callable(item):
            continue
        elif _grows_rarely(kind) and not (root and item is obj):
            token = item.size_token()
            kept = _KEPT_ESTIMATES.get(item)
            if kept is None or kept[0] != token:
                seen.discard(key)
                kept = (token, _walk(item, seen, max_objects, root=True))
                _KEPT_ESTIMATES[item] = kept
            total += kept[1]
        elif hasattr(item, "__dict__"):
            total += getsizeof(item)
            not_owned = getattr(kind, "NOT_OWNED", ())
            stack.extend([v for k, v in vars(item).items() if k not in not_owned and type(v) not in plain])
        elif hasattr(kind, "__slots__"):
            total += getsizeof(item)
            stack.extend([getattr(item, name, None) for name in kind.__slots__])
    return total


_grows_rarely_by_type: dict[type, bool] = {}


def _grows_rarely(kind: type) -> bool:
    known = _grows_rarely_by_type.get(kind)
    if known is None:
        known = _grows_rarely_by_type[kind] = callable(getattr(kind, "size_token", None))
    return known


class CompiledGrammarCache(Generic[T]):
    """Compiled grammars by content key, least recently used out first past either bound."""

    def __init__(self, max_entries: int | None = None, max_bytes: int | None = None,
                 measure: Callable[[object], int] = estimated_bytes):
        self.max_entries = _configured_size() if max_entries is None else max_entries
        self.max_bytes = _configured_bytes() if max_bytes is None else max_bytes
        self._measure = measure
        self._items: OrderedDict[str, T] = OrderedDict()
        self._sizes: dict[str, int] = {}
        self._hits: dict[str, int] = {}
        # entries handed out since they were last measured (their memos may have grown), oldest
        # first: the others are not walked again, however many entries the cache holds
        self._dirty: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, key: str, build: Callable[[], T]) -> T:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
                self._dirty[key] = None
                self._hits[key] = self._hits.get(key, 0) + 1
                if self._hits[key] % REMEASURE_EVERY_HITS == 0:
                    self._remeasure(key, item)
                    self._evict()
                return item
        item = build()  # outside the lock: compiles may be slow, and may raise
        size = self._measure(item) if self.max_entries and self.max_bytes else 0
        with self._lock:
            if self.max_entries and self.max_bytes and size <= self.max_bytes:
                # the entry used last (its memos grew in that use) and the one handed out longest ago
                last = next(reversed(self._items)) if self._items else None
                stale = [last] if last in self._dirty else []
                others = [k for k in list(self._dirty)[:REMEASURE_PER_STORE] if k != last]
                stale += others[:REMEASURE_PER_STORE - len(stale)]
                for old in stale:
                    self._remeasure(old, self._items[old])
                self._items[key] = item
                self._items.move_to_end(key)
                self._sizes[key] = size
                self._dirty[key] = None  # its first use comes after this measure
                self._evict()
        return item

    def _remeasure(self, key: str, item) -> None:
        self._sizes[key] = self._measure(item)
        self._dirty.pop(key, None)

    def _evict(self) -> None:
        while self._items and (len(self._items) > self.max_entries or self.nbytes > self.max_bytes):
            key, _ = self._items.popitem(last=False)
            self._sizes.pop(key, None)
            self._hits.pop(key, None)
            self._dirty.pop(key, None)

    @property
    def nbytes(self) -> int:
        """The estimated bytes of the entries held (as last measured)."""
        return sum(self._sizes.values())

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._sizes.clear()
            self._hits.clear()
            self._dirty.clear()


ENGINES: CompiledGrammarCache = CompiledGrammarCache()


MAX_DISK_ENTRIES = 20_000
COMPILER_VERSION = "1"  # bump when a change could turn an accepted schema into a refused one


def _disk_dir() -> Path:
    from constrain.grammars.vocabulary import cache_dir

    return cache_dir() / "grammars"


def known_good(key: str) -> bool:
    """A previous process compiled this grammar without a refusal."""
    try:
        return _record_path(key, ".ok").is_file()
    except OSError:
        return False


def mark_good(key: str) -> None:
    """Remember that this grammar compiles (an unwritable cache only costs the check next time)."""
    path = _record_path(key, ".ok")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            return
        path.touch()
        if int(hashlib.sha256(key.encode()).hexdigest()[:4], 16) % 256 == 0:  # now and then, keep it bounded
            prune_folder(path.parent)
    except OSError:
        pass


def prune_folder(folder: Path, pattern: str = "*.ok", max_entries: int = MAX_DISK_ENTRIES,
           max_bytes: int | None = None) -> None:
    """Oldest first (by modification time; a read refreshes a verdict file's), until at most
    `max_entries` files and `max_bytes` bytes match `pattern`."""
    entries = []
    for path in folder.glob(pattern):
        try:
            info = path.stat()
        except OSError:
            continue
        entries.append((info.st_mtime, info.st_size, path))
    entries.sort()
    total = sum(size for _, size, _ in entries)
    count = len(entries)
    for _, size, stale in entries:
        if count <= max_entries and (max_bytes is None or total <= max_bytes):
            break
        try:
            stale.unlink()
        except OSError:
            pass
        count -= 1
        total -= size


# -- verdicts of long emptiness searches (lexemes/verdicts.py), per grammar ------------------------
# A file holds the digests and verdicts of the long searches one grammar needed from its compile to
# its first mask: MAGIC, then the 32-byte fingerprint of what the digests mean (compiler version,
# package version, the term algebra's source), then 17-byte records (digest, verdict 0 or 1). Plain
# bytes, no pickle: a damaged, truncated or foreign file is detected, removed and ignored.
VERDICT_MAGIC = b"constrain-verdicts\n"
VERDICT_RECORD = 17
MAX_VERDICT_FILES = 4096
MAX_VERDICT_BYTES = 64 << 20
_meaning: bytes | None = None


def _verdict_meaning() -> bytes:
    """What the digests and verdicts depend on: a different term algebra writes other files."""
    global _meaning
    if _meaning is None:
        import constrain
        from constrain.grammars.lexemes import term_kinds, terms, verdicts

        h = hashlib.sha256(f"{COMPILER_VERSION}:{constrain.__version__}".encode())
        for module in (term_kinds, terms, verdicts):
            try:
                h.update(Path(module.__file__ or "").read_bytes())
            except OSError:
                h.update(module.__name__.encode())
        _meaning = h.digest()
    return _meaning


def _position_meaning() -> bytes:
    """What a position's name and verdict depend on: the whole schema compiler (its sources by
    size and modification time, read once per process) besides the term algebra."""
    global _position_meaning_digest
    if _position_meaning_digest is None:
        h = hashlib.sha256(_verdict_meaning())
        for package in ("json_schema", "lexemes"):
            for source in sorted((Path(__file__).parent / package).glob("*.py")):
                try:
                    info = source.stat()
                except OSError:
                    continue
                h.update(f"{source.name}:{info.st_size}:{info.st_mtime_ns};".encode())
        _position_meaning_digest = h.digest()
    return _position_meaning_digest


_position_meaning_digest: bytes | None = None


def _record_path(key: str, suffix: str) -> Path:
    digest = hashlib.sha256(f"{COMPILER_VERSION}:{key}".encode()).hexdigest()[:40]
    return _disk_dir() / f"{digest}{suffix}"


def _read_records(path: Path, meaning: bytes) -> dict[bytes, bool] | None:
    """The (digest, verdict) records of a verdict file; None if there is none, and for a damaged,
    truncated or foreign one, which is removed."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = len(VERDICT_MAGIC) + 32
    body = memoryview(data)[head:]
    if (not data.startswith(VERDICT_MAGIC) or data[len(VERDICT_MAGIC):head] != meaning
            or len(body) % VERDICT_RECORD or not body):
        _remove(path)
        return None
    records = {}
    for i in range(0, len(body), VERDICT_RECORD):
        verdict = body[i + 16]
        if verdict > 1:
            _remove(path)
            return None
        records[bytes(body[i:i + 16])] = verdict == 1
    try:
        os.utime(path)  # recently used: pruned last
    except OSError:
        pass
    return records


def _write_records(key: str, path: Path, meaning: bytes, records: dict[bytes, bool]) -> None:
    """Atomically (a temporary file moved into place), so a concurrent writer or reader never sees
    half a file; an unwritable cache costs only the work next time."""
    body = b"".join(digest + bytes((verdict,)) for digest, verdict in records.items())
    if not body:
        return
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(VERDICT_MAGIC + meaning + body)
        os.replace(tmp, path)
        if int(hashlib.sha256(key.encode()).hexdigest()[:4], 16) % 64 == 0:  # now and then
            prune_folder(path.parent, f"*{path.suffix}", MAX_VERDICT_FILES, MAX_VERDICT_BYTES)
            remove_stale_temporaries(path.parent)
    except OSError:
        _remove(tmp)


def load_verdicts(key: str, store) -> bool:
    """Add the verdicts a previous process saved for this grammar to `store`'s book; False if it
    saved none (or its file is unreadable, damaged or from another version, which is removed)."""
    book = store.verdicts
    if book is None:
        return False
    records = _read_records(_record_path(key, ".verdicts"), _verdict_meaning())
    if records is None:
        return False
    book.learn(records)
    return True


def save_verdicts(key: str, store, terms: list[int]) -> None:
    """Write the verdicts of `terms` (those decided)."""
    decided = ((store.digest(t), store.known_live(t)) for t in terms)
    records = {digest: verdict for digest, verdict in decided if verdict is not None}
    _write_records(key, _record_path(key, ".verdicts"), _verdict_meaning(), records)


def load_position_verdicts(key: str) -> dict[bytes, bool]:
    """Which positions of this schema accept some value, by position name
    (json_schema/position_names.py), as a previous process found them; empty if none saved."""
    return _read_records(_record_path(key, ".positions"), _position_meaning()) or {}


def save_position_verdicts(key: str, verdicts: dict[bytes, bool]) -> None:
    _write_records(key, _record_path(key, ".positions"), _position_meaning(), verdicts)


def remove_stale_temporaries(folder: Path, age: float = 3600.0) -> None:
    """Temporary files a process left when it died between writing and renaming."""
    now = time.time()
    for tmp in [*folder.glob("*.verdicts.*.tmp"), *folder.glob("*.positions.*.tmp")]:
        try:
            if now - tmp.stat().st_mtime > age:
                tmp.unlink()
        except OSError:
            pass


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
