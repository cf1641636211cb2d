"""Sets of code points as sorted disjoint intervals, with the exact classes of Python's `re`.

lark matches terminals with Python's `re` on `str`, so \\d, \\w, \\s and IGNORECASE must mean what
they mean there. The category tables are computed once per process by running `re` itself over
every code point, which makes them exact by construction.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import tempfile
import unicodedata

import numpy as np

from constrain.grammars.utf8_ranges import MAX_CODE_POINT

Intervals = list[tuple[int, int]]


def normalize(intervals) -> Intervals:
    out: Intervals = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def complement(intervals: Intervals) -> Intervals:
    out, nxt = [], 0
    for lo, hi in normalize(intervals):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= MAX_CODE_POINT:
        out.append((nxt, MAX_CODE_POINT))
    return out


def contains(intervals: Intervals, cp: int) -> bool:
    lo_i, hi_i = 0, len(intervals)
    while lo_i < hi_i:
        mid = (lo_i + hi_i) // 2
        lo, hi = intervals[mid]
        if cp < lo:
            hi_i = mid
        elif cp > hi:
            lo_i = mid + 1
        else:
            return True
    return False


@functools.cache
def _all_code_points() -> str:
    # decoding UTF-32 takes milliseconds; a million chr() calls took most of a second
    return np.arange(MAX_CODE_POINT + 1, dtype="<u4").tobytes().decode("utf-32-le", errors="surrogatepass")


@functools.cache
def category(pattern: str, ascii_only: bool) -> tuple[tuple[int, int], ...]:
    """Intervals matched by a one-character class such as r'\\w' under Python's re.

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


def ignore_case(intervals: Intervals, ascii_only: bool) -> Intervals:
    """Close a set under case: what a class matches when IGNORECASE is on."""
    extra = []
    for cp, group in _case_groups(ascii_only).items():
        if contains(intervals, cp):
            extra.extend((g, g) for g in group)
    return normalize(list(intervals) + extra)
