"""Emptiness-search verdicts saved on disk per JSON Schema (compiled_cache.py, lexemes/verdicts.py):
a later process (here: a fresh term store and grammar cache) reads them instead of searching, its
masks are the masks of a compile without them, and damaged, foreign or surplus files are ignored
or removed, never trusted."""

from __future__ import annotations

import json
import os
import threading
import time

import numpy as np
import pytest

from constrain.grammars import compiled_cache, json_schema
from constrain.grammars.compiled_cache import ENGINES
from constrain.grammars.lexemes import shared
from constrain.grammars.lexemes import terms as T
from constrain.grammars.lexemes.verdicts import VerdictBook
from constrain.grammars.vocabulary import TokenVocabulary
from tests.grammars.process_state import fresh_process

# each needs at least one emptiness search (an intersection with a complement)
SCHEMAS = {
    "substrings": {"type": "string", "allOf": [{"pattern": "ab"}, {"pattern": "cd"}], "not": {"pattern": "abcd"},
                   "maxLength": 12},
    "anyOf-minus": {"anyOf": [{"type": "string", "pattern": "^x+y$"}, {"type": "integer"}],
                    "not": {"type": "string", "pattern": "xxy"}},
    "object-key": {"type": "object", "required": ["k"],
                   "properties": {"k": {"type": "string", "pattern": "[0-9]{3}", "not": {"pattern": "^1"}}}},
}
INSTANCES = {
    "substrings": ["abxcd", "cdab", "zzabcd"],  # the last is invalid (contains abcd)
    "anyOf-minus": ["xy", 12, "xxy", "xxxy"],
    "object-key": [{"k": "234"}, {"k": "1234"}, {"k": "x999y"}],
}


def _vocab() -> TokenVocabulary:
    pieces = [bytes([b]) for b in range(32, 127)] + [b'{"', b'":', b'"', b"ab", b"cd", b"xx", b"12", b"<eos>"]
    return TokenVocabulary(tuple(pieces), frozenset(), frozenset({len(pieces) - 1}))


def _masks_along(name: str, vocab: TokenVocabulary) -> list[np.ndarray]:
    """The mask at every byte of each instance, fed one-byte token at a time."""
    grammar = json_schema(SCHEMAS[name])
    out = []
    for instance in INSTANCES[name]:
        matcher = grammar.matcher(vocab)
        out.append(matcher.mask_bits().copy())
        for byte in json.dumps(instance, separators=(",", ":")).encode():
            if not matcher.is_allowed(vocab.token_bytes.index(bytes([byte]))):
                break
            matcher.advance(vocab.token_bytes.index(bytes([byte])))
            out.append(matcher.mask_bits().copy())
        out.append(np.array([matcher.is_accepting()]))
    return out


def _count_searches(monkeypatch) -> list[int]:
    count = [0]
    search = T.TermStore._search

    def counted(self, *args, **kwargs):
        count[0] += 1
        return search(self, *args, **kwargs)

    monkeypatch.setattr(T.TermStore, "_search", counted)
    return count


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_a_later_process_reads_the_verdicts_and_gets_the_same_masks(name, cache_dir, monkeypatch):
    vocab = _vocab()
    first = _masks_along(name, vocab)
    assert list(cache_dir.glob("*.verdicts")), "the first compile saved its searches"
    fresh_process(monkeypatch)
    searches = _count_searches(monkeypatch)
    grammar = json_schema(SCHEMAS[name])
    grammar.matcher(vocab).mask_bits()
    assert searches[0] == 0  # compile and first mask: every verdict came from disk
    assert grammar.engine.store.verdicts.known
    later = _masks_along(name, vocab)
    fresh_process(monkeypatch)
    monkeypatch.setenv("CONSTRAIN_CACHE_DIR", str(cache_dir.parent / "elsewhere"))  # no saved verdicts
    uncached = _masks_along(name, vocab)
    assert len(first) == len(later) == len(uncached)
    for a, b, c in zip(first, later, uncached):
        assert np.array_equal(a, b) and np.array_equal(b, c)


def _saved_file(cache_dir, monkeypatch):
    json_schema(SCHEMAS["substrings"]).matcher(_vocab()).mask_bits()
    (path,) = cache_dir.glob("*.verdicts")
    fresh_process(monkeypatch)
    return path


@pytest.mark.parametrize("damage", ["garbage", "truncated", "bad verdict", "empty body", "other version"])
def test_damaged_or_foreign_files_are_removed_and_the_search_runs(damage, cache_dir, monkeypatch):
    path = _saved_file(cache_dir, monkeypatch)
    data = path.read_bytes()
    head = len(compiled_cache.VERDICT_MAGIC) + 32
    damaged = {
        "garbage": b"\x00" * len(data),
        "truncated": data[:-1],
        "bad verdict": data[:-1] + b"\x07",
        "empty body": data[:head],
        "other version": data[:len(compiled_cache.VERDICT_MAGIC)] + b"\xff" * 32 + data[head:],
    }[damage]
    path.write_bytes(damaged)
    searches = _count_searches(monkeypatch)
    grammar = json_schema(SCHEMAS["substrings"])
    grammar.matcher(_vocab()).mask_bits()
    assert searches[0] > 0 and not grammar.engine.store.verdicts.known
    assert path.read_bytes() != damaged  # removed, and written anew after the first mask
    assert grammar.accepts('"abxcd"') and not grammar.accepts('"zzabcd"')


def test_a_changed_term_algebra_does_not_read_old_files(cache_dir, monkeypatch):
    path = _saved_file(cache_dir, monkeypatch)
    monkeypatch.setattr(compiled_cache, "_meaning", b"\x01" * 32)  # what a new terms.py would hash to
    assert not compiled_cache.load_verdicts("anything", shared.shared_store())
    json_schema(SCHEMAS["substrings"])
    assert not shared.shared_store().verdicts.known and not path.exists()


def test_writes_are_atomic_under_concurrent_writers(cache_dir, monkeypatch):
    path = _saved_file(cache_dir, monkeypatch)
    good = path.read_bytes()
    store = T.TermStore()
    store.verdicts = VerdictBook()
    a, b = store.byte(0x61), store.byte(0x62)
    term = store.minus(store.star(store.union((a, b))), store.star(a))
    assert store.is_live(term)

    def write():
        for _ in range(50):
            compiled_cache.save_verdicts("same key", store, [term])

    threads = [threading.Thread(target=write) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (written,) = [p for p in cache_dir.glob("*.verdicts") if p != path]
    fresh = T.TermStore()
    fresh.verdicts = VerdictBook()
    assert compiled_cache.load_verdicts("same key", fresh)
    assert fresh.verdicts.known == {store.digest(term): True}
    assert not list(cache_dir.glob("*.tmp")) and path.read_bytes() == good


def test_the_folder_is_pruned_oldest_first(tmp_path):
    for i in range(6):
        p = tmp_path / f"{i}.verdicts"
        p.write_bytes(b"x" * 100)
        os.utime(p, (time.time() - 100 + i, time.time() - 100 + i))
    compiled_cache.prune_folder(tmp_path, "*.verdicts", max_entries=4)
    assert sorted(p.name for p in tmp_path.glob("*.verdicts")) == [f"{i}.verdicts" for i in range(2, 6)]
    compiled_cache.prune_folder(tmp_path, "*.verdicts", max_entries=100, max_bytes=250)
    assert sorted(p.name for p in tmp_path.glob("*.verdicts")) == ["4.verdicts", "5.verdicts"]


def test_digests_name_structure_in_any_store():
    def build(store, order):
        x, y = store.literal(b"xy"), store.star(store.byte(0x7A))
        parts = (x, y) if order else (y, x)
        return store.minus(store.union(parts), store.literal(b"zz"))

    one, two = T.TermStore(), T.TermStore()
    two.literal(b"unrelated terms first, so the ids differ")
    a, b = build(one, True), build(two, False)
    assert one.digest(a) == two.digest(b)
    assert one.digest(a) != one.digest(one.minus(one.literal(b"xy"), one.literal(b"zz")))
    assert one.digest(one.rep(one.byte(1), 2, 3)) != one.digest(one.rep(one.byte(1), 2, 4))


def test_a_kept_estimate_is_reused_until_the_token_changes():
    walks = []

    class Compiler:
        def __init__(self):
            self.table = list(range(1000))

        def size_token(self):
            walks.append(1)
            return len(self.table)

    class Entry:
        def __init__(self):
            self.compiler = Compiler()
            self.memo = {}

    entry = Entry()
    first = compiled_cache.estimated_bytes(entry)
    assert compiled_cache.estimated_bytes(entry) == first
    entry.memo.update({i: str(i) for i in range(100)})
    assert compiled_cache.estimated_bytes(entry) > first  # the memos around it are walked every time
    grown = compiled_cache.estimated_bytes(entry)
    entry.compiler.table.extend(range(5000))
    assert compiled_cache.estimated_bytes(entry) > grown + 5000 * compiled_cache.CONTAINER_ENTRY_BYTES


def test_logging_stops_with_the_compile_that_asked_for_it(cache_dir):
    import gc

    from constrain.grammars.json_schema import JsonSchemaError

    book = shared.shared_store().verdicts
    grammar = json_schema(SCHEMAS["object-key"])
    assert book.windows == 1  # open until its first mask, or until the grammar is dropped
    del grammar
    ENGINES.clear()
    gc.collect()
    assert book.windows == 0
    with pytest.raises(JsonSchemaError):
        json_schema({"type": "string", "pattern": "a", "not": {"pattern": "a"}, "minLength": 1})
    with pytest.raises(JsonSchemaError):
        json_schema({"type": "string", "pattern": "("})
    assert book.windows == 0
    json_schema(SCHEMAS["substrings"]).matcher(_vocab())
    assert book.windows == 0


def test_temporaries_left_by_a_dead_writer_are_removed(tmp_path):
    stale, fresh = tmp_path / "k.verdicts.12.34.tmp", tmp_path / "k.verdicts.56.78.tmp"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"being written")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    compiled_cache.remove_stale_temporaries(tmp_path)
    assert not stale.exists() and fresh.exists()
