"""Sets of Unicode code points as sorted disjoint ranges (patterns, formats and string values speak
about decoded code points; json_terms.py spells them as JSON string bytes), and the digit-range
regexes numbers.py builds its bounds from."""

from __future__ import annotations

MAX_CODE_POINT = 0x10FFFF
SURROGATES = (0xD800, 0xDFFF)

SHORT_ESCAPES = {0x22: '"', 0x5C: "\\", 0x2F: "/", 0x08: "b", 0x0C: "f", 0x0A: "n", 0x0D: "r", 0x09: "t"}


class CharSet:
    """An immutable set of code points stored as sorted, disjoint, non-adjacent inclusive ranges."""

    __slots__ = ("ranges",)

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
        self.ranges = tuple(merged)

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
        return any(lo <= code_point <= hi for lo, hi in self.ranges)

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
        return CharSet(out).minus(CharSet([SURROGATES]))

    def intersect(self, other: CharSet) -> CharSet:
        out = []
        for a_lo, a_hi in self.ranges:
            for b_lo, b_hi in other.ranges:
                lo, hi = max(a_lo, b_lo), min(a_hi, b_hi)
                if lo <= hi:
                    out.append((lo, hi))
        return CharSet(out)

    def minus(self, other: CharSet) -> CharSet:
        out = []
        for lo, hi in self.ranges:
            pieces = [(lo, hi)]
            for b_lo, b_hi in other.ranges:
                next_pieces = []
                for p_lo, p_hi in pieces:
                    if b_hi < p_lo or b_lo > p_hi:
                        next_pieces.append((p_lo, p_hi))
                        continue
                    if p_lo < b_lo:
                        next_pieces.append((p_lo, b_lo - 1))
                    if b_hi < p_hi:
                        next_pieces.append((b_hi + 1, p_hi))
                pieces = next_pieces
            out.extend(pieces)
        return CharSet(out)

    def size(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self.ranges)


ANY_CHAR = CharSet([(0, MAX_CODE_POINT)]).minus(CharSet([SURROGATES]))


# ---------------------------------------------------------------- regex text for code points
_REGEX_SPECIAL = set("\\^$.|?*+()[]{}-/\"'#&~ ")


def regex_char(code_point: int) -> str:
    """One code point as regex text that survives lark's grammar-literal unescaping."""
    c = chr(code_point)
    if c.isascii() and c.isalnum():
        return c
    if c in _REGEX_SPECIAL:
        return "\\" + c
    if code_point < 0x80:
        return f"\\x{code_point:02x}"
    if code_point <= 0xFFFF:
        return f"\\u{code_point:04x}"
    return f"\\U{code_point:08x}"


def regex_class(charset: CharSet) -> str:
    """A regex matching one raw code point of `charset` (which must be non-empty)."""
    ranges = charset.ranges
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return regex_char(ranges[0][0])
    parts = []
    for lo, hi in ranges:
        if lo == hi:
            parts.append(regex_char(lo))
        elif hi == lo + 1:
            parts.append(regex_char(lo) + regex_char(hi))
        else:
            parts.append(regex_char(lo) + "-" + regex_char(hi))
    return "[" + "".join(parts) + "]"


# ---------------------------------------------------------------- fixed-width digit ranges
def _hex_digit_class(lo: int, hi: int) -> str:
    chars = set()
    for d in range(lo, hi + 1):
        h = f"{d:x}"
        chars.add(h)
        chars.add(h.upper())
    return regex_class(CharSet.of("".join(chars)))


def fixed_width_range(lo: int, hi: int, width: int, base: int) -> str:
    """Regex for the `width`-digit spellings (leading zeros kept) of integers in [lo, hi].

    Base 16 digits match in either case; base 10 digits are plain.
    """
    digit_class = _hex_digit_class if base == 16 else (lambda a, b: regex_class(CharSet([(48 + a, 48 + b)])))
    return _fixed_width(lo, hi, width, base, digit_class)


def _fixed_width(lo, hi, width, base, digit_class) -> str:
    if width == 0:
        return ""
    unit = base ** (width - 1)
    full = unit - 1
    lo_d, lo_rest = divmod(lo, unit)
    hi_d, hi_rest = divmod(hi, unit)
    if lo_rest == 0 and hi_rest == full:
        return digit_class(lo_d, hi_d) + _any_digits(width - 1, base, digit_class)
    if lo_d == hi_d:
        return digit_class(lo_d, lo_d) + _fixed_width(lo_rest, hi_rest, width - 1, base, digit_class)
    alternatives = [digit_class(lo_d, lo_d) + _fixed_width(lo_rest, full, width - 1, base, digit_class)]
    if hi_d - lo_d > 1:
        alternatives.append(digit_class(lo_d + 1, hi_d - 1) + _any_digits(width - 1, base, digit_class))
    alternatives.append(digit_class(hi_d, hi_d) + _fixed_width(0, hi_rest, width - 1, base, digit_class))
    return "(?:" + "|".join(alternatives) + ")"


def _any_digits(count: int, base: int, digit_class) -> str:
    if count == 0:
        return ""
    one = digit_class(0, base - 1)
    return one if count == 1 else f"{one}{{{count}}}"


RAW_ALLOWED = CharSet([(0x20, MAX_CODE_POINT)]).minus(CharSet([SURROGATES])).minus(CharSet.of('"\\'))
# Code points json.dumps may spell as \\uXXXX: controls always, non-ASCII with ensure_ascii=True.
ESCAPABLE = CharSet([(0, 0x1F), (0x7F, MAX_CODE_POINT)]).minus(CharSet([SURROGATES]))
