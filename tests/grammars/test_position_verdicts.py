"""Which schema positions accept some value, saved on disk by position name (compiled_cache.py,
json_schema/position_names.py): a name must mean the same subschema whatever order the positions
were compiled in, so a later process that reads the verdicts gets exactly the masks of a compile
without them."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from constrain.grammars import compiled_cache, json_schema
from constrain.grammars.json_schema.json_parser import JsonParser
from constrain.grammars.json_schema.node_compiler import SchemaCompiler
from constrain.grammars.json_schema.position_names import PositionNames
from constrain.grammars.lexemes.terms import TermStore
from constrain.grammars.vocabulary import TokenVocabulary
from tests.grammars.process_state import fresh_process

NEVER = {"allOf": [{"type": "string"}, {"type": "integer"}]}

# every way the compiler makes a position: document paths and $refs, the schemas it writes (an
# allOf's other keywords, dependentSchemas' parts, enum objects' members, unevaluatedProperties'
# branch) and derived nodes (and, or, not, oneOf), with a position that accepts nothing in each
SCHEMAS = {
    "refs": {"type": "object", "properties": {"a": {"$ref": "#/$defs/never"}, "b": {"$ref": "#/$defs/item"},
                                              "c": {"type": "array", "items": {"$ref": "#/$defs/item"}}},
             "$defs": {"never": NEVER, "item": {"type": "object", "properties": {"x": {"type": "integer"},
                                                                                  "y": {"$ref": "#/$defs/never"}}}}},
    "dependent": {"type": "object", "properties": {"p": {"type": "string"}, "q": {"type": "integer"}},
                  "dependentSchemas": {"p": {"required": ["q"], "properties": {"q": {"minimum": 3}}},
                                       "q": {"properties": {"r": NEVER}}}},
    "allOf-rest": {"type": "object", "properties": {"a": {"type": "integer"}, "z": NEVER},
                   "allOf": [{"properties": {"a": {"maximum": 10}}}, {"properties": {"b": {"type": "string"}}}]},
    "oneOf": {"type": "object", "properties": {
        "v": {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 0}, {"const": "x"}]},
        "w": {"oneOf": [{"type": "string"}, {"type": "string"}]}}},
    "enum-objects": {"type": "object", "properties": {
        "e": {"enum": [{"k": 1, "m": "a"}, {"k": "s", "m": "b"}, [1, {"k": 2}]]},
        "f": {"enum": [{"k": 1}], "properties": {"k": {"type": "string"}}}}},
    "unevaluated": {"type": "object", "allOf": [{"properties": {"a": {"type": "string"}}}],
                    "properties": {"b": {"not": {"type": "string"}}, "c": {"not": {}}},
                    "unevaluatedProperties": False},
    "recursive": {"type": "object", "properties": {"name": {"type": "string"}, "kids": {
        "type": "array", "items": {"$ref": "#"}}, "bad": {"$ref": "#/$defs/loop"}},
        "$defs": {"loop": {"type": "object", "required": ["again"],
                           "properties": {"again": {"$ref": "#/$defs/loop"}}}}},
    "if-then-else": {"type": "object", "properties": {"t": {"type": "string"}, "n": {"type": "integer"}},
                     "if": {"properties": {"t": {"const": "a"}}, "required": ["t"]},
                     "then": {"required": ["n"]}, "else": {"properties": {"n": NEVER}}},
    "draft-04": {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
                 "definitions": {"pos": {"type": "number", "minimum": 0, "exclusiveMinimum": True}},
                 "properties": {"a": {"$ref": "#/definitions/pos"}, "b": {"type": "string"}},
                 "dependencies": {"a": ["b"], "b": {"properties": {"c": NEVER}}}},
}
INSTANCES = {
    "refs": [{"b": {"x": 1}, "c": [{}, {"x": 2}]}, {"a": 1}, {"b": {"y": 1}}],
    "dependent": [{"p": "x", "q": 4}, {"p": "x", "q": 1}, {"q": 2}, {"q": 2, "r": 1}],
    "allOf-rest": [{"a": 3, "b": "s"}, {"a": 11}, {"z": 1}],
    "oneOf": [{"v": -1, "w": 1}, {"v": 2}, {"v": "x"}, {"w": "s"}],
    "enum-objects": [{"e": {"k": 1, "m": "a"}}, {"e": [1, {"k": 2}]}, {"e": {"k": 1, "m": "b"}}, {"f": {"k": 1}}],
    "unevaluated": [{"a": "s", "b": 1}, {"a": "s", "q": 1}, {"c": 1}],
    "recursive": [{"name": "a", "kids": [{"kids": []}]}, {"bad": {}}],
    "if-then-else": [{"t": "a", "n": 1}, {"t": "a"}, {"t": "b"}, {"t": "b", "n": 1}],
    "draft-04": [{"a": 1, "b": "s"}, {"a": 0, "b": "s"}, {"a": 1}, {"b": "s", "c": 1}],
}


def _vocab() -> TokenVocabulary:
    pieces = [bytes([b]) for b in range(32, 127)] + [b'{"', b'":', b'"', b'"a', b'"b', b'"c', b"<eos>"]
    return TokenVocabulary(tuple(pieces), frozenset(), frozenset({len(pieces) - 1}))


def _masks_along(schema, vocab: TokenVocabulary, instances) -> list[np.ndarray]:
    """The mask before every byte of each instance (one-byte tokens), until it is refused."""
    grammar = json_schema(schema)
    one_byte = {piece[0]: i for i, piece in enumerate(vocab.token_bytes) if len(piece) == 1}
    out = []
    for instance in instances:
        matcher = grammar.matcher(vocab)
        out.append(matcher.mask_bits().copy())
        for byte in json.dumps(instance, separators=(",", ":")).encode():
            if not matcher.is_allowed(one_byte[byte]):
                break
            matcher.advance(one_byte[byte])
            out.append(matcher.mask_bits().copy())
        out.append(np.array([matcher.is_accepting()]))
    return out


def _every_verdict(comp: SchemaCompiler, parser: JsonParser, order) -> dict[bytes, bool]:
    """Compile and decide every position, visiting the ids in the order `order(ids)` gives, until
    no new position appears; the verdicts by name."""
    done = 0
    while done < len(comp.nodes):
        done = len(comp.nodes)
        for nid in order(range(done)):
            comp.node(nid)
            parser.empty.nonempty(nid)
    assert not comp.names.conflict
    return parser.empty.decided()


def _compiler(schema) -> SchemaCompiler:
    return SchemaCompiler(schema, store=TermStore(), whitespace=None, strict=True, lenient=False)


def _shuffled(seed: int):
    rng = random.Random(seed)
    return lambda ids: rng.sample(list(ids), len(ids))


def _compiles(schema) -> list[SchemaCompiler]:
    """The eager compile of a first process, then lazy ones in shuffled orders."""
    eager = _compiler(schema)
    eager.compile_reachable()
    _every_verdict(eager, JsonParser(eager), lambda ids: ids)
    out = [eager]
    for seed in range(4):
        lazy = _compiler(schema)
        _every_verdict(lazy, JsonParser(lazy), _shuffled(seed))
        out.append(lazy)
    return out


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_a_name_means_the_same_position_in_any_compile_order(name):
    verdicts = []
    for comp in _compiles(SCHEMAS[name]):
        decided = _every_verdict(comp, JsonParser(comp), lambda ids: ids)
        verdicts.append(decided)
    first = verdicts[0]
    assert False in first.values()  # each schema holds a position that accepts nothing
    for other in verdicts[1:]:
        # a subschema reached by two paths has a name per path: some names are met by one order only
        common = first.keys() & other.keys()
        assert len(common) >= 3
        assert {n: first[n] for n in common} == {n: other[n] for n in common}


def test_the_orders_above_do_differ():
    differ = 0
    for schema in SCHEMAS.values():
        eager, *lazy = _compiles(schema)
        for comp in lazy:
            n = min(len(eager.nodes), len(comp.nodes))
            differ += any(eager.names.name(i) != comp.names.name(i) for i in range(n))
    assert differ >= len(SCHEMAS) // 2  # compiling a node names its children at once: orders differ deeper down


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_a_later_process_reads_the_verdicts_and_gets_the_same_masks(name, cache_dir, monkeypatch):
    vocab = _vocab()
    first = _masks_along(SCHEMAS[name], vocab, INSTANCES[name])
    assert list(cache_dir.glob("*.positions")), "the first mask saved its verdicts"
    fresh_process(monkeypatch)
    grammar = json_schema(SCHEMAS[name])
    assert grammar.engine.parser.empty._remembered  # read back
    later = _masks_along(SCHEMAS[name], vocab, INSTANCES[name])
    fresh_process(monkeypatch)
    monkeypatch.setenv("CONSTRAIN_CACHE_DIR", str(cache_dir.parent / "elsewhere"))
    uncached = _masks_along(SCHEMAS[name], vocab, INSTANCES[name])
    assert len(first) == len(later) == len(uncached)
    for a, b, c in zip(first, later, uncached):
        assert np.array_equal(a, b) and np.array_equal(b, c)


def test_the_saved_verdicts_decide_the_mask(cache_dir, monkeypatch):
    """What is read back is trusted (a name is exact), so the file must be the compiler's own:
    a flipped verdict shows in the mask, and a file from another compiler is not read."""
    vocab = _vocab()
    schema = SCHEMAS["refs"]
    key_a = vocab.token_bytes.index(b'"a')
    after_brace = json_schema(schema).matcher(vocab)
    after_brace.advance(vocab.token_bytes.index(b"{"))
    assert not after_brace.is_allowed(key_a)  # "a" holds a schema that accepts nothing
    (path,) = cache_dir.glob("*.positions")
    data = bytearray(path.read_bytes())
    head = len(compiled_cache.VERDICT_MAGIC) + 32
    for i in range(head + 16, len(data), compiled_cache.VERDICT_RECORD):
        data[i] = 1
    path.write_bytes(bytes(data))
    fresh_process(monkeypatch)
    flipped = json_schema(schema).matcher(vocab)
    flipped.advance(vocab.token_bytes.index(b"{"))
    assert flipped.is_allowed(key_a)
    fresh_process(monkeypatch)
    monkeypatch.setattr(compiled_cache, "_position_meaning_digest", b"\x02" * 32)  # another compiler's files
    fresh = json_schema(schema).matcher(vocab)
    fresh.advance(vocab.token_bytes.index(b"{"))
    assert not fresh.is_allowed(key_a) and not fresh.engine.parser.empty._remembered


def test_a_name_given_to_two_positions_saves_nothing():
    names = PositionNames()
    names.add_unnamed()
    names.add_position(1, None, "#/a", ("", (), True, "2020-12"), {"type": "string"})
    assert not names.conflict
    names.add_position(2, None, "#/a", ("", (), True, "2020-12"), {"type": "string"})
    assert names.conflict
    comp = _compiler(SCHEMAS["refs"])
    parser = JsonParser(comp)
    assert parser.empty.decided()
    comp.names.conflict = True
    assert parser.empty.decided() == {}
