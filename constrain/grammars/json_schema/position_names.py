"""Names of schema positions that mean the same in every process, so what one process learned
about a position (is it empty?) can be read back by the next one compiling the same schema.

A node id is an index in order of creation, which depends on the order generation asks for
positions (the first process checks every position eagerly, later ones compile lazily). A node
from the schema document is named instead by how the compiler reached it: its JSON path
(`#/properties/a/$ref/items`), base URI, dynamic scope, strictness and dialect, and the keywords
it holds. Within one document (the cache files are per schema content) that path leads to the
same subschema whatever the order: each step is a document key or the target of the `$ref` found
there. Schemas the compiler writes (an `allOf`'s remaining keywords, the parts of a
`dependentSchemas` entry) sit at their parent's path and carry a tag naming the recipe. Nodes
computed from others (intersection, union, complement, oneOf, a literal value) are named by the
operation and their operands' names, sorted where the operation is symmetric.

Two positions with the same name but different memo keys (the same subschema reached under two
ids, which should not happen) make the whole table unusable for this compile: `conflict` is set
and nothing is saved.
"""

from __future__ import annotations

import hashlib

SYMMETRIC = frozenset({"and", "or"})


def _digest(raw) -> bytes:
    return hashlib.blake2b(repr(raw).encode(), digest_size=16).digest()


class PositionNames:
    def __init__(self):
        self._names: list[bytes | None] = []
        self._owner: dict[bytes, int] = {}
        self.conflict = False

    def __len__(self) -> int:
        return len(self._names)

    def name(self, nid: int) -> bytes | None:
        """The 16-byte name of node `nid`; None for a node that has none (reserved ids, or built
        from one without a name)."""
        return self._names[nid]

    def add_unnamed(self) -> None:
        self._names.append(None)

    def add_position(self, nid: int, tag: object, path: str, key: tuple, schema) -> None:
        """A node compiled from a subschema. `tag`: None for the document's own, else the recipe
        of a schema the compiler wrote; `key`: the compiler's memo key without the object's id
        (base URI, dynamic scope, strict, dialect)."""
        keywords = tuple(sorted(map(str, schema))) if isinstance(schema, dict) else repr(schema)
        self._add(nid, _digest(("position", tag, path, key, keywords)))

    def add_derived(self, nid: int, key: tuple) -> None:
        """A node computed from others; `key` is the compiler's memo key: (operation, operand ids)
        or ("value", canonical key of the value)."""
        operation, operands = key
        if operation == "value":
            name = _digest(key)
        else:
            ids = operands if isinstance(operands, tuple) else (operands,)
            names = [n for n in (self._names[i] for i in ids) if n is not None]
            if len(names) < len(ids):
                self._names.append(None)
                return
            name = _digest((operation, tuple(sorted(names) if operation in SYMMETRIC else names)))
        self._add(nid, name)

    def _add(self, nid: int, name: bytes) -> None:
        owner = self._owner.get(name)
        if owner is not None and owner != nid:
            self.conflict = True
        self._owner.setdefault(name, nid)
        self._names.append(name)
