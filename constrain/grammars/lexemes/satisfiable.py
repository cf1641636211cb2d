"""Whether a term with intersections and complements accepts some string: a best-first search
for an accepting derivative, run on the term's negation normal form.

Why the normal form: JSON Schema's `not` and `anyOf` nest complements of unions of
intersections ("not any of: not all of ..."), and a complement hides everything below it: a
derivative of NOT(x) is dead only when x's derivative is everything, and the shortest-length
bound of NOT(x) says nothing. Pushed down (De Morgan) until complements sit only on terms free
of AND/NOT, the constraints become conjuncts the search sees: a byte that breaks one kills the
derivative at once, and each conjunct's shortest completion is counted.

Inside a conjunction, an alternative that contradicts a conjunct (NOT(q) beside q) is dropped,
and a union that holds one of the conjuncts itself is implied and dropped: what
`{"type": "string", "not": {"anyOf": [{"not": ...}]}}` comes to, since each `not` is taken
within the string type (AND(string, NOT(...))).
"""

from __future__ import annotations

import heapq

from constrain.grammars.lexemes.term_kinds import ALT, AND, CAT, NOT, REP, TermBudgetError

MAX_SIMPLIFY_ROUNDS = 64  # unions re-simplified after a conjunction changed (stopping early only simplifies less)


def negation_normal_form(store, t: int) -> int:
    """A term with the language of `t` whose complements apply only to AND/NOT-free terms.
    Memoized in `store.normal_forms` (the store owns it, so it lives as long as the terms)."""
    return _normal(store, t, True, store.normal_forms)


def _normal(store, t: int, positive: bool, memo: dict) -> int:
    key = (t, positive)
    out = memo.get(key)
    if out is not None:
        return out
    kind, arg = store.kind[t], store.arg[t]
    if not store.boolean[t]:
        out = t if positive else store.neg(t)
    elif kind == NOT:
        out = _normal(store, arg, not positive, memo)
    elif kind in (ALT, AND):
        children = [_normal(store, c, positive, memo) for c in arg]
        out = store.union(children) if (kind == ALT) == positive else _conjunction(store, children)
    else:  # CAT, REP: a complement cannot pass a concatenation; normalize what is inside
        if kind == CAT:
            inner = store.cat(_normal(store, arg[0], True, memo), _normal(store, arg[1], True, memo))
        elif kind == REP:
            inner = store.rep(_normal(store, arg[0], True, memo), arg[1], arg[2])
        else:
            inner = t
        out = inner if positive else store.neg(inner)
    memo[key] = out
    return out


def _conjunction(store, children: list[int]) -> int:
    """AND(children), with unions simplified by what the other conjuncts already assert."""
    t = store.intersection(children)
    kind, arg = store.kind, store.arg
    for _ in range(MAX_SIMPLIFY_ROUNDS):  # each round drops something; a bound keeps that obvious
        if kind[t] != AND:
            break
        facts = set(arg[t])
        kept, changed = [], False
        for c in arg[t]:
            if kind[c] != ALT:
                kept.append(c)
                continue
            options = [x for x in arg[c] if not _contradicts(store, x, facts)]
            if any(x in facts for x in options):  # implied by the conjunction
                changed = True
                continue
            changed = changed or len(options) != len(arg[c])
            kept.append(store.union(options))
        if not changed:
            break
        t = store.intersection(kept)
    return t


def _contradicts(store, t: int, facts: set[int]) -> bool:
    """`t` is NOT(q), or AND(..., NOT(q), ...), for a q among the facts."""
    kind, arg = store.kind, store.arg
    if kind[t] == NOT:
        return arg[t] in facts
    return kind[t] == AND and any(kind[c] == NOT and arg[c] in facts for c in arg[t])


def find_accepting(store, start: int, budget: int) -> tuple[bool, list[int]]:
    """(whether `start` accepts some string, the terms that verdict also holds for: the states on
    the way to an accepting one, or every state explored when none accepts).

    Best-first: depth plus a lower bound of the bytes still needed, deeper first among equals
    (a length bound like REP(char, 5000, 6000) is met by going deep, not wide), then the fewest
    bytes summed over the conjuncts (a byte that brings several "contains ..." patterns closer
    goes first). A child that accepts ends the search before its siblings are stepped, lowest
    byte first (ASCII steps are cheap; a lead byte makes new terms). More than `budget` states
    stepped raises TermBudgetError."""
    root = negation_normal_form(store, start)
    parent = {root: -1}
    heap = [(store.min_length(root), 0, _spread(store, root), root)]
    steps = 0
    while heap:
        _, negative_depth, _, t = heapq.heappop(heap)
        depth = -negative_depth
        known = store.known_live(t)
        if _surely_live(store, t) or known:
            return True, [start, *_path(parent, t)]
        if known is False:
            continue
        for b in sorted(_lowest_byte(mask) for mask in store.classes(t)):
            d = store.deriv(t, b)
            if d != store.empty and d not in parent:
                parent[d] = t
                if _surely_live(store, d) or store.known_live(d):
                    return True, [start, *_path(parent, d)]
                heapq.heappush(heap, (depth + 1 + store.min_length(d), -depth - 1, _spread(store, d), d))
        steps += 1
        if steps > budget:
            raise TermBudgetError("deciding whether an intersection of patterns is empty took too long")
    return False, [start, *parent]


def _surely_live(store, t: int) -> bool:
    return store.nullable[t] or not store.boolean[t]


def _spread(store, t: int) -> int:
    if store.kind[t] == AND:
        return sum(store.min_length(c) for c in store.arg[t])
    return store.min_length(t)


def _path(parent: dict[int, int], t: int) -> list[int]:
    out = []
    while t != -1:
        out.append(t)
        t = parent[t]
    return out


def _lowest_byte(mask: int) -> int:
    return (mask & -mask).bit_length() - 1
