"""Sets of code points: one type, `CharSet` (sorted disjoint ranges), with the exact classes of
Python's `re`.

Every front end speaks of characters as code point sets: lark terminals and regex lexemes read
through `re`'s parser (python_regex.py), JSON Schema patterns, formats and string values
(json_schema/), and all of them end as UTF-8 byte ranges (utf8_ranges.py). lark matches terminals
with Python's `re` on `str`, so \\d, \\w, \\s and IGNORECASE must mean what they mean there. The
category tables are computed once per process by running `re` itself over every code point, which
makes them exact by construction.
"""

from __future__ import annotations

import bisect
import functools
import json
import os
import re
import sys
import tempfile
import unicodedata

import numpy as np

from constrain.grammars.utf8_ranges import MAX_CODE_POINT, SURROGATES


class CharSet:
    """An immutable set of code points stored as sorted, disjoint, non-adjacent inclusive ranges.

    The constructor takes ranges in any order (overlapping, adjacent, empty `lo > hi` ones
    dropped). Set operations are linear merges of the two range lists."""

    __slots__ = ("ranges", "_starts")

    def __init__(self, ranges=()):
        merged: list[tuple[int, int]] = []
        for lo, hi in sorted(ranges):
            if lo > hi:
                continue
            if merged and lo <= merged[-1][1] + 1:
                if hi > merged[-1][1]:
                    merged[-1] = (merged[-1][0], hi)
            else:
                merged.append((lo, hi))
        self.ranges: tuple[tuple[int, int], ...] = tuple(merged)
        self._starts: list[int] | None = None

    @classmethod
    def of(cls, text: str) -> CharSet:
        return cls((ord(c), ord(c)) for c in text)

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def __eq__(self, other) -> bool:
        return isinstance(other, CharSet) and self.ranges == other.ranges

    def __hash__(self) -> int:
        return hash(self.ranges)

    def __contains__(self, code_point: int) -> bool:
        if self._starts is None:
            self._starts = [lo for lo, _ in self.ranges]
        i = bisect.bisect_right(self._starts, code_point) - 1
        return i >= 0 and code_point <= self.ranges[i][1]

    def __repr__(self) -> str:
        return f"CharSet({list(self.ranges)!r})"

    def union(self, other: CharSet) -> CharSet:
        return CharSet(self.ranges + other.ranges)

    def complement(self) -> CharSet:
        """Complement within valid scalar values (surrogates are never characters)."""
        out, start = [], 0
        for lo, hi in self.ranges:
            if lo > start:
                out.append((start, lo - 1))
            start = hi + 1
        if start <= MAX_CODE_POINT:
            out.append((start, MAX_CODE_POINT))
        return CharSet(out).minus(_SURROGATE_SET)

    def intersect(self, other: CharSet) -> CharSet:
        out = []
        a, b = self.ranges, other.ranges
        i = j = 0
        while i < len(a) and j < len(b):
            lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
            if lo <= hi:
                out.append((lo, hi))
            if a[i][1] < b[j][1]:
                i += 1
            else:
                j += 1
        return CharSet(out)

    def minus(self, other: CharSet) -> CharSet:
        out = []
        b = other.ranges
        j = 0
        for lo, hi in self.ranges:
            while j < len(b) and b[j][1] < lo:
                j += 1
            k = j
            while k < len(b) and b[k][0] <= hi:
                if b[k][0] > lo:
                    out.append((lo, b[k][0] - 1))
                lo = max(lo, b[k][1] + 1)
                k += 1
            if lo <= hi:
                out.append((lo, hi))
        return CharSet(out)

    def size(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self.ranges)


_SURROGATE_SET = CharSet([SURROGATES])
ANY_CHAR = CharSet([(0, MAX_CODE_POINT)]).minus(_SURROGATE_SET)


@functools.cache
def _all_code_points() -> str:
    # decoding UTF-32 takes milliseconds; a million chr() calls took most of a second
    return np.arange(MAX_CODE_POINT + 1, dtype="<u4").tobytes().decode("utf-32-le", errors="surrogatepass")


@functools.cache
def category(pattern: str, ascii_only: bool) -> tuple[tuple[int, int], ...]:
    """Ranges matched by a one-character class such as r'\\w' under Python's re.

    Running `re` over every code point takes ~0.1 s, so the tables are kept on disk, keyed by
    the Python and Unicode versions that define them."""
    path = _tables_path()
    tables = _read_tables(path)
    key = f"{pattern}:{int(ascii_only)}"
    if key in tables:
        return tuple(tuple(pair) for pair in tables[key])
    flags = re.ASCII if ascii_only else 0
    runs = re.finditer("(?:%s)+" % pattern, _all_code_points(), flags)
    result = tuple((m.start(), m.end() - 1) for m in runs)
    tables[key] = [list(pair) for pair in result]
    _write_tables(path, tables)
    return result


def _tables_path():
    from constrain.grammars.vocabulary import cache_dir

    version = f"py{sys.version_info[0]}.{sys.version_info[1]}-unicode{unicodedata.unidata_version}"
    return cache_dir() / f"re-classes-{version}.json"


def _read_tables(path) -> dict:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}  # missing or damaged: recomputed


def _write_tables(path, tables: dict) -> None:
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            json.dump(tables, handle)
        os.replace(tmp, path)  # atomic: readers see the old file or the whole new one
        tmp = None
    except OSError:
        pass  # an unwritable cache only costs the computation next time
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


@functools.cache
def _case_groups(ascii_only: bool) -> dict[int, tuple[int, ...]]:
    """For every cased code point, the code points IGNORECASE treats as the same letter."""
    by_lower: dict[int, list[int]] = {}
    for cp in range(MAX_CODE_POINT + 1 if not ascii_only else 128):
        ch = chr(cp)
        lower = ch.lower()
        if len(lower) != 1 or (lower == ch and ch.upper() == ch):
            continue
        by_lower.setdefault(ord(lower), []).append(cp)
    groups: dict[int, tuple[int, ...]] = {}
    for low, members in by_lower.items():
        group = tuple(sorted(set(members) | {low}))
        for cp in group:
            groups[cp] = group
    return groups


def ignore_case(chars: CharSet, ascii_only: bool) -> CharSet:
    """Close a set under case: what a class matches when IGNORECASE is on."""
    extra = []
    for cp, group in _case_groups(ascii_only).items():
        if cp in chars:
            extra.extend((g, g) for g in group)
    return CharSet(chars.ranges + tuple(extra))
