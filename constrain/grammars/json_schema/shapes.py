"""What a schema position accepts, as the JSON parser needs it: scalar terms and structural shapes.

A `Node` is one schema position (a subschema with its resolution context) compiled to a union:
one term per scalar kind (strings with their quotes, numbers, true/false/null) and a list of
object and array shapes. Unions (`anyOf`, type lists) concatenate shape lists: the parser then
carries one hypothesis per shape that is still possible, so alternatives may overlap and share
prefixes. Intersections and complements of scalars are term operations; of shapes, merges.

Shapes refer to child positions by node id, and nodes compile when the parser first reaches
them, so a 30 KB schema costs nothing for the parts a generation never enters.
"""

from __future__ import annotations

from dataclasses import dataclass


def key_indices(mask: int):
    """The indices of a key mask's set bits (keys seen, required, ...), lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


@dataclass
class Node:
    path: str
    string: int = 0  # term of the whole quoted string (0: the empty term, no string)
    number: int = 0
    literal: int = 0  # true / false / null
    objects: tuple[int, ...] = ()  # ObjectShape ids
    arrays: tuple[int, ...] = ()  # ArrayShape ids
    # the number term accepts every JSON spelling of its values (else: exponent-free only)
    number_complete: bool = True
    # the values when the node is a finite set of scalars (enum/const), for uniqueItems
    values: tuple | None = None


@dataclass
class ObjectShape:
    path: str
    keys: tuple[str, ...] = ()  # listed keys: properties, required, dependentRequired
    key_terms: tuple[int, ...] = ()  # their quoted spellings
    key_values: tuple[int, ...] = ()  # node id per listed key (-1: the key can never appear)
    required: int = 0  # bitmask over `keys`
    dependent: tuple[int, ...] = ()  # per key: bitmask of keys it requires when present
    # other keys: (quoted key term, value node id, is_default), one per pattern and one for
    # additionalProperties; a listed key in a term is still read as listed; a key in several
    # terms takes all their value schemas. is_default marks the entry of an absent additionalProperties, which
    # strict mode drops when the object is closed at its position.
    others: tuple[tuple[int, int, bool], ...] = ()
    # key terms of `others` entries that share no key with any other entry (additionalProperties
    # beside patterns, by construction): their pairs need no overlap test, which for unanchored
    # Unicode patterns costs a search through thousands of UTF-8 states
    exclusive_others: frozenset[int] = frozenset()
    min_properties: int = 0
    max_properties: int | None = None
    min_others: int = 0  # at least this many members with keys outside `keys` (from a complement)


@dataclass
class ArrayShape:
    path: str
    prefix: tuple[int, ...] = ()  # node ids by position
    items: int = -1  # node id past the prefix, -1: nothing more
    min_items: int = 0
    max_items: int | None = None
    unique: bool = False
    contains: int = -1  # node id of `contains`, -1: none
    min_contains: int = 0  # items matching `contains`: at least ...
    max_contains: int | None = None  # ... and at most

    def item(self, index: int) -> int:
        return self.prefix[index] if index < len(self.prefix) else self.items
