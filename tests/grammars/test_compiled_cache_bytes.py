"""The compiled-grammar cache is bounded by its own byte accounting (and by entries)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from constrain.grammars import compiled_cache, json_schema
from constrain.grammars.compiled_cache import CompiledGrammarCache, estimated_bytes
from constrain.grammars.vocabulary import TokenVocabulary


def test_least_recently_used_go_first_past_the_byte_bound():
    cache = CompiledGrammarCache(max_entries=100, max_bytes=1000, measure=len)
    for key in "abc":
        cache.get_or_build(key, lambda: b"x" * 300)
    assert cache.nbytes == 900 and len(cache) == 3
    cache.get_or_build("a", lambda: pytest.fail("a is cached"))  # a is now the most recent
    cache.get_or_build("d", lambda: b"y" * 300)
    assert cache.nbytes <= 1000
    built = []
    cache.get_or_build("b", lambda: built.append("b") or b"z")  # b was the least recent: dropped
    assert built == ["b"]
    cache.get_or_build("a", lambda: pytest.fail("a stays"))


def test_an_entry_larger_than_the_bound_is_not_kept():
    cache = CompiledGrammarCache(max_entries=100, max_bytes=100, measure=len)
    cache.get_or_build("big", lambda: b"x" * 101)
    assert len(cache) == 0 and cache.nbytes == 0


def test_entries_are_remeasured_as_they_grow():
    cache = CompiledGrammarCache(max_entries=100, max_bytes=1000, measure=len)
    growing = bytearray(b"x" * 10)
    cache.get_or_build("g", lambda: growing)
    growing.extend(b"x" * 2000)
    cache.get_or_build("k", lambda: b"")  # g, measured longest ago, is measured again at this store
    assert cache.nbytes <= 1000 and len(cache) == 1  # g went out
    looked_up = bytearray(b"x" * 10)
    cache.get_or_build("l", lambda: looked_up)
    looked_up.extend(b"x" * 2000)
    for _ in range(compiled_cache.REMEASURE_EVERY_HITS):  # an entry in use is measured again too
        cache.get_or_build("l", lambda: pytest.fail("l is cached"))
    assert cache.nbytes <= 1000 and "l" not in cache._items


@pytest.mark.parametrize("raw, expected", [("8M", 8 << 20), ("8MiB", 8 << 20), ("512k", 512 << 10),
                                           ("1000", 1000), ("0", 0), ("nonsense", compiled_cache.DEFAULT_BYTES)])
def test_byte_bound_knob(monkeypatch, raw, expected):
    monkeypatch.setenv("CONSTRAIN_GRAMMAR_CACHE_BYTES", raw)
    assert CompiledGrammarCache().max_bytes == expected


def test_estimate_counts_arrays_and_memos_but_not_shared_state():
    class Owner:
        NOT_OWNED = ("shared",)

        def __init__(self):
            self.table = np.zeros(10_000, dtype=np.int32)
            self.view = self.table[:10]  # the same buffer: counted once
            self.memo = {i: (i, i + 1) for i in range(100)}
            self.shared = np.zeros(1_000_000, dtype=np.uint8)

    size = estimated_bytes(Owner())
    assert 40_000 + 100 * compiled_cache.CONTAINER_ENTRY_BYTES <= size < 200_000


def _small_vocab() -> TokenVocabulary:
    pieces = [bytes([b]) for b in range(32, 127)] + [b'{"', b'":', b'",', b"true", b"false", b"null", b"<eos>"]
    return TokenVocabulary(tuple(pieces), frozenset(), frozenset({len(pieces) - 1}))


def test_real_grammars_stay_within_the_byte_bound(monkeypatch):
    bound = 2 << 20
    cache = CompiledGrammarCache(max_entries=1000, max_bytes=bound)
    monkeypatch.setattr(compiled_cache, "ENGINES", cache)
    import constrain.grammars.grammar as grammar_module

    monkeypatch.setattr(grammar_module, "ENGINES", cache)
    vocab = _small_vocab()
    sizes = []
    for i in range(40):
        schema = {"type": "object", "properties": {f"k{i}": {"type": "integer", "maximum": i}, "s": {"type": "string"}},
                  "required": [f"k{i}", "s"]}
        matcher = json_schema(schema).matcher(vocab)
        for byte in json.dumps({f"k{i}": i, "s": "ab"}, separators=(",", ":")).encode():
            matcher.mask_bits()
            matcher.advance(byte - 32)
        assert cache.nbytes <= bound
        sizes.append(cache.nbytes)
    # the cache filled up to its bound and then dropped old grammars
    assert 0 < len(cache) < 40 and max(sizes) > bound // 2


def test_shared_term_builders_are_not_counted_per_grammar():
    """Every JSON Schema grammar of the process shares one store's term builders: they grow with
    every compile and must not make each later entry look (and measure) as big as all of them."""
    small = {"type": "object", "properties": {"a": {"type": "integer"}}}
    json_schema(small)
    first = estimated_bytes(compiled_cache.ENGINES._items[next(reversed(compiled_cache.ENGINES._items))])
    for i in range(30):
        json_schema({"type": "object", "properties": {f"key-{i}-{j}": {"type": "string"} for j in range(40)}})
    json_schema(dict(small, title="again"))
    again = estimated_bytes(compiled_cache.ENGINES._items[next(reversed(compiled_cache.ENGINES._items))])
    assert abs(again - first) < 10_000  # the same shape costs the same, whatever was compiled before
