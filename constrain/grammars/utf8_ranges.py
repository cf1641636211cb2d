"""Code point intervals -> sequences of byte ranges that encode exactly those code points in UTF-8.

Surrogates (U+D800..U+DFFF) are never encodable, so they are cut out first: whatever a grammar
allows is then always valid UTF-8.
"""

from __future__ import annotations

MAX_CODE_POINT = 0x10FFFF
SURROGATES = (0xD800, 0xDFFF)


def remove_surrogates(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for lo, hi in intervals:
        if hi < SURROGATES[0] or lo > SURROGATES[1]:
            out.append((lo, hi))
            continue
        if lo < SURROGATES[0]:
            out.append((lo, SURROGATES[0] - 1))
        if hi > SURROGATES[1]:
            out.append((SURROGATES[1] + 1, hi))
    return out


def utf8_sequences(lo: int, hi: int) -> list[list[tuple[int, int]]]:
    """Byte-range sequences whose concatenated products are exactly the UTF-8 encodings of lo..hi."""
    result = []
    stack = [(lo, hi)]
    while stack:
        start, end = stack.pop()
        if _split_at_length_boundary(start, end, stack):
            continue
        if end <= 0x7F:
            result.append([(start, end)])
            continue
        if _split_at_continuation_boundary(start, end, stack):
            continue
        first, last = chr(start).encode("utf-8"), chr(end).encode("utf-8")
        result.append([(a, b) for a, b in zip(first, last)])
    result.sort()
    return result


def _split_at_length_boundary(start, end, stack) -> bool:
    for boundary in (0x7F, 0x7FF, 0xFFFF):
        if start <= boundary < end:
            stack.append((boundary + 1, end))
            stack.append((start, boundary))
            return True
    return False


def _split_at_continuation_boundary(start, end, stack) -> bool:
    # A range is a clean product of byte ranges only when, at every level, the low bits of
    # start are all zeros and those of end all ones (or the high parts are equal).
    for level in range(1, 4):
        low_bits = (1 << (6 * level)) - 1
        if (start & ~low_bits) != (end & ~low_bits):
            if start & low_bits:
                stack.append(((start | low_bits) + 1, end))
                stack.append((start, start | low_bits))
                return True
            if (end & low_bits) != low_bits:
                stack.append((end & ~low_bits, end))
                stack.append((start, (end & ~low_bits) - 1))
                return True
    return False
