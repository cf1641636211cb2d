"""The term algebra's shortcuts against their slow definitions: byte classes of the symbolic
character terms, the bound on how far from done a pattern state can be, the horizon clamp of
length bounds, the emptiness rules of intersections and the witness search."""

from __future__ import annotations

import itertools
import random

import pytest

from constrain.grammars.json_schema.json_terms import JsonTerms
from constrain.grammars.json_schema.regex_translate import parse_pattern
from constrain.grammars.lexemes import terms as T


def _lowest(mask: int) -> int:
    return (mask & -mask).bit_length() - 1


def _explored_max_min_length(store, t, limit=50_000):
    """The largest shortest completion over every state reachable from t, by visiting them."""
    seen, order = {t}, [t]
    for state in order:
        for mask in store.classes(state):
            d = store.deriv(state, _lowest(mask))
            if d != store.empty and d not in seen:
                seen.add(d)
                order.append(d)
                assert len(order) < limit
    return max(store.min_length(s) for s in order)


def test_symbolic_classes_group_bytes_by_their_derivative():
    store = T.TermStore()
    rng = random.Random(0)
    for _ in range(1500):
        n = rng.randint(1, 3)
        kind = rng.choice(["cont", "hex"])
        top = (64 if kind == "cont" else 16) ** n
        ranges = []
        for _ in range(rng.randint(1, 6)):
            lo = rng.randrange(top)
            ranges.append((lo, min(top - 1, lo + rng.choice([0, 1, 5, 63, 64, 200, 4095, 5000]))))
        t = store.cont(T.normalize_ranges(ranges), n) if kind == "cont" else store.hex_digits(ranges, n)
        classes = store.classes(t)
        assert sum(m.bit_count() for m in classes) == 256 and len(set(classes)) == len(classes)
        by_derivative: dict[int, int] = {}
        for b in range(256):
            d = store.deriv(t, b)
            by_derivative[d] = by_derivative.get(d, 0) | 1 << b
        live_classes = sorted(m for m in classes if store.deriv(t, _lowest(m)) != store.empty)
        assert live_classes == sorted(m for d, m in by_derivative.items() if d != store.empty), (kind, n, ranges)


PATTERNS = [r"^(?:\S+\s+){0,3}\S+$", r"\w", r"^a{30}|b$", r"^abc$", r"^x*y{10}$", r"^.{1,25}$",
            r"^[a-z]+(-[a-z]+)*$", r"(ab|c)*d?e{2,3}", r"^\d{3}-\d{4}$", r"^(\+|-)?[0-9]+(\.[0-9]{1,2})?$",
            r"^[é-ā]{2}$", r"^$|x", r"Normal|Fire|Water", r"[\w\-]+"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_max_min_length_bounds_every_state(pattern):
    store = T.TermStore()
    body = JsonTerms(store).pattern_body(parse_pattern(pattern))
    assert store.max_min_length(body) >= _explored_max_min_length(store, body)


def _strings(alphabet: bytes, max_len: int):
    for n in range(max_len + 1):
        for letters in itertools.product(alphabet, repeat=n):
            yield bytes(letters)


@pytest.mark.parametrize("pattern,lo,hi", [(r"^[a-c]+$", 3, 40), (r"[ab]", 2, 30), (r"^(?:\S+\s+){0,3}\S+$", 2, 60),
                                           (r"^[a-c]+$", 0, 40), (r"^a(bc)*$", 4, 25)])
def test_clamped_length_bound_keeps_membership_and_liveness_within_the_horizon(pattern, lo, hi):
    """AND(P, chars{lo,hi}) clamped to a horizon below hi: the same strings up to the horizon and
    the same live states (a walk never offers a dead end, nor hides a live one)."""
    store = T.TermStore()
    terms = JsonTerms(store)
    original = store.both(terms.pattern_body(parse_pattern(pattern)), terms.length(lo, hi))
    horizon = 6
    clamped = store.clamp(original, horizon)
    assert clamped != original  # the bound was dropped (else the test says nothing)
    for text in _strings(b"abc ", horizon):
        a, b = store.deriv_bytes(original, text), store.deriv_bytes(clamped, text)
        assert store.nullable[a] == store.nullable[b], text
        assert store.is_live(a) == store.is_live(b), text


def test_an_intersection_with_the_complement_of_a_union_holding_it_is_empty():
    store = T.TermStore()
    terms = JsonTerms(store)
    x, y = terms.pattern_body(parse_pattern(r"\w")), terms.pattern_body(parse_pattern(r"^-"))
    assert store.both(x, store.neg(store.alt(x, y))) == store.empty
    assert store.both(x, store.neg(store.alt(x, y)), terms.any_body) == store.empty
    assert store.both(x, store.neg(y)) != store.empty  # only a union holding x itself


def test_the_witness_search_finds_deep_completions_and_proves_emptiness():
    store = T.TermStore()
    terms = JsonTerms(store)

    def body(p):
        return terms.pattern_body(parse_pattern(p))

    # every "contains" at once, within 16 characters: a puzzle, but it has solutions
    puzzle = store.intersection([body("^.{16}$"), body("ab1"), body("b12"), body("bc1"), body("c12"), body("ca1")])
    assert store.is_live(puzzle)
    # a completion that must first finish an escape: \u00e9 and then a word character
    escape = store.deriv_bytes(store.both(body(r"\w"), store.neg(body("^-"))), b"\\u00")
    assert store.is_live(escape)
    assert not store.is_live(store.both(body("^a+$"), body("b")))
    assert not store.is_live(store.intersection([body("^.{3}$"), body("abcd")]))


@pytest.mark.parametrize("pattern", [r"^.{1,40}$", r"^[a-c]{2,30}$", r"^(ab|c){1,20}x?$"])
def test_clamped_complement_of_a_bounded_pattern_keeps_membership_and_liveness(pattern):
    """Bodies outside a pattern of bounded length (the keys additionalProperties takes beside
    `^.{1,255}$`): the clamp stops counting characters, yet agrees up to the horizon."""
    store = T.TermStore()
    terms = JsonTerms(store)
    original = store.minus(terms.any_body, terms.pattern_body(parse_pattern(pattern)))
    horizon = 6
    clamped = store.clamp(original, horizon)
    assert clamped != original
    for text in _strings(b"abcx\n", horizon):
        a, b = store.deriv_bytes(original, text), store.deriv_bytes(clamped, text)
        assert store.nullable[a] == store.nullable[b], text
        assert store.is_live(a) == store.is_live(b), text


def test_contained_class_reads_contains_a_character_patterns():
    from constrain.grammars.json_schema.regex_translate import contained_class

    def cls(p):
        found = contained_class(parse_pattern(p, wide=True))
        return None if found is None else found.ranges

    assert cls(r"\w+") == cls(r"(\w+)") == cls(r"\w{1,16}") == cls(r"[\w]")
    assert cls("(a|b)") == ((97, 98),)
    for other in ("^a", "ab", "Normal|Fire", "[a-z]{2,}", "a$"):
        assert cls(other) is None, other


def _random_boolean_term(store, leaves, rng, depth):
    if depth == 0 or rng.random() < 0.2:
        return rng.choice(leaves)
    op = rng.choice(["and", "or", "not", "cat"])
    if op == "not":
        return store.neg(_random_boolean_term(store, leaves, rng, depth - 1))
    parts = [_random_boolean_term(store, leaves, rng, depth - 1) for _ in range(rng.randint(2, 3))]
    if op == "cat":
        return store.seq(*parts)
    return store.intersection(parts) if op == "and" else store.union(parts)


def _complement_sits_on_plain_terms(store, t, seen):
    if t in seen:
        return True
    seen.add(t)
    k, arg = store.kind[t], store.arg[t]
    if k == T.NOT:  # above a term free of AND/NOT, or a concatenation (a complement cannot pass one)
        return not store.boolean[arg] or \
            (store.kind[arg] in (T.CAT, T.REP) and _complement_sits_on_plain_terms(store, arg, seen))
    children = arg if k in (T.ALT, T.AND) else arg if k == T.CAT else (arg[0],) if k == T.REP else ()
    return all(_complement_sits_on_plain_terms(store, c, seen) for c in children)


def test_negation_normal_form_keeps_the_language_and_pushes_complements_down():
    from constrain.grammars.lexemes.satisfiable import negation_normal_form

    store = T.TermStore()
    terms = JsonTerms(store)
    leaves = [terms.pattern_body(parse_pattern(p)) for p in (r"^a+$", "ab", r"^.{2}$", "b", r"^(ab)*$", "^$")]
    leaves.append(store.literal(b"ba"))
    rng = random.Random(7)
    checked = 0
    for _ in range(300):
        t = _random_boolean_term(store, leaves, rng, 4)
        normal = negation_normal_form(store, t)
        assert _complement_sits_on_plain_terms(store, normal, set())
        for text in _strings(b"ab", 5):
            assert store.nullable[store.deriv_bytes(t, text)] == store.nullable[store.deriv_bytes(normal, text)]
        checked += normal != t
    assert checked > 100  # most random terms had a complement to push


def test_the_witness_search_sees_through_nested_complements():
    """not(anyOf(not(allOf(...)))) taken within a string type, as JSON Schema writes "all of these
    groups": the search runs on the conjunction it comes to, so a few steps per character find a
    60-character witness. (On the nested form it met the step budget: every constraint hid under a
    complement, so neither a dead byte nor the distance to a match showed.)"""
    store = T.TermStore()
    terms = JsonTerms(store)

    def body(p):
        return terms.pattern_body(parse_pattern(p))

    def within(t):  # what a schema's `not` means under "type": "string"
        return store.both(terms.any_body, t)

    def all_of(*patterns):
        return store.intersection([body(p) for p in patterns])

    groups = [[all_of("^.{60}$", "xy1", "y12"), all_of("^.{60}$", "yz1", "z12")],
              [all_of(r"^\w*$", r"\d\d", "[x|y]"), all_of(r"^\w*$", r"\d\d", "[y|z]")],
              [all_of(r"^\w+", "1.*2", "xz"), all_of(r"^\w+", "1.*2", "x2")]]
    conjuncts = [within(store.neg(store.union([within(store.neg(g)) for g in group]))) for group in groups]
    puzzle = store.intersection([*conjuncts, body("[xX][12].*[zZ]")])
    assert store.is_live(puzzle, budget=2_000)
    assert store.is_live(store.intersection([*conjuncts, body("^[a-w]")]), budget=2_000)
    assert not store.is_live(store.intersection([*conjuncts, body("^[a-w]*$")]), budget=2_000)  # no x, no digits
