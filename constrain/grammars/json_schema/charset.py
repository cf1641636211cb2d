"""Sets of Unicode code points as sorted disjoint ranges, and their spelling inside a JSON string.

A JSON string constraint (pattern, enum value, format) speaks about decoded code points, but the
grammar sees the escaped wire form. `json_char_regex` turns a code point set into a regex that
matches exactly one *encoded* character of the set: its raw UTF-8 form, its short escape (\\n, \\"),
or its \\uXXXX escape (a surrogate pair for code points above U+FFFF), hex digits in either case.
"""

from __future__ import annotations

from functools import lru_cache

MAX_CODE_POINT = 0x10FFFF
SURROGATES = (0xD800, 0xDFFF)
# Above this many ranges a set's \\uXXXX spellings would bloat the regex; such sets keep raw
# spellings plus the escapes json.dumps itself needs (control characters, quote, backslash).
MAX_RANGES_WITH_UNICODE_ESCAPES = 48

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
    def of(cls, text: str) -> "CharSet":
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

    def union(self, other: "CharSet") -> "CharSet":
        return CharSet(self.ranges + other.ranges)

    def complement(self) -> "CharSet":
        """Complement within valid scalar values (surrogates are never characters)."""
        out, start = [], 0
        for lo, hi in self.ranges:
            if lo > start:
                out.append((start, lo - 1))
            start = hi + 1
        if start <= MAX_CODE_POINT:
            out.append((start, MAX_CODE_POINT))
        return CharSet(out).minus(CharSet([SURROGATES]))

    def intersect(self, other: "CharSet") -> "CharSet":
        out = []
        for a_lo, a_hi in self.ranges:
            for b_lo, b_hi in other.ranges:
                lo, hi = max(a_lo, b_lo), min(a_hi, b_hi)
                if lo <= hi:
                    out.append((lo, hi))
        return CharSet(out)

    def minus(self, other: "CharSet") -> "CharSet":
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


# ---------------------------------------------------------------- JSON string spellings
def _unicode_escape_regex(charset: CharSet) -> list[str]:
    """Alternatives spelling code points of `charset` as \\uXXXX (surrogate pairs above U+FFFF)."""
    alternatives = []
    for lo, hi in charset.ranges:
        bmp_lo, bmp_hi = lo, min(hi, 0xFFFF)
        if bmp_lo <= bmp_hi:
            alternatives.append(r"\\u" + fixed_width_range(bmp_lo, bmp_hi, 4, 16))
        astral_lo, astral_hi = max(lo, 0x10000), hi
        if astral_lo <= astral_hi:
            alternatives.extend(_surrogate_pair_regex(astral_lo, astral_hi))
    return alternatives


def _surrogate_pair_regex(lo: int, hi: int) -> list[str]:
    def split(cp):
        v = cp - 0x10000
        return 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF)

    (hi_lo, lo_lo), (hi_hi, lo_hi) = split(lo), split(hi)

    def pair(h_lo, h_hi, l_lo, l_hi):
        return r"\\u" + fixed_width_range(h_lo, h_hi, 4, 16) + r"\\u" + fixed_width_range(l_lo, l_hi, 4, 16)

    if hi_lo == hi_hi:
        return [pair(hi_lo, hi_lo, lo_lo, lo_hi)]
    out = [pair(hi_lo, hi_lo, lo_lo, 0xDFFF)]
    if hi_hi - hi_lo > 1:
        out.append(pair(hi_lo + 1, hi_hi - 1, 0xDC00, 0xDFFF))
    out.append(pair(hi_hi, hi_hi, 0xDC00, lo_hi))
    return out


RAW_ALLOWED = CharSet([(0x20, MAX_CODE_POINT)]).minus(CharSet([SURROGATES])).minus(CharSet.of('"\\'))
CONTROL = CharSet([(0, 0x1F)])


# Code points json.dumps may spell as \\uXXXX: controls always, non-ASCII with ensure_ascii=True.
ESCAPABLE = CONTROL.union(CharSet([(0x7F, MAX_CODE_POINT)])).minus(CharSet([SURROGATES]))
ASCII_ESCAPABLE = CharSet([(0, 0x1F), (0x7F, 0x7F)])
NON_ASCII = CharSet([(0x80, MAX_CODE_POINT)]).minus(CharSet([SURROGATES]))
# Escape spellings of a huge set other than "any character" (complements, \\S, `.`) would make
# regexes slow to compile for spellings nobody writes: those sets keep control escapes only.
MAX_ESCAPED_CODE_POINTS = 0x1000


@lru_cache(maxsize=4096)
def json_char_regex(charset: CharSet) -> str:
    """Regex matching one encoded JSON-string character whose decoded value is in `charset`.

    Accepted spellings: the raw character (except quote, backslash and controls), the short
    escapes, and \\uXXXX (surrogate pairs above U+FFFF) for controls and non-ASCII characters -
    everything json.dumps writes with ensure_ascii either way. ASCII letters spelled as \\u0041
    are not accepted (no encoder writes them).
    """
    alternatives = []
    raw = charset.intersect(RAW_ALLOWED)
    if raw:
        alternatives.append(regex_class(raw))
    short = [SHORT_ESCAPES[cp] for cp in sorted(SHORT_ESCAPES) if cp in charset]
    if short:
        alternatives.append(r"\\" + regex_class(CharSet.of("".join(short))))
    escaped = charset.intersect(ESCAPABLE)
    if charset != ANY_CHAR and (escaped.size() > MAX_ESCAPED_CODE_POINTS
                                or len(escaped.ranges) > MAX_RANGES_WITH_UNICODE_ESCAPES):
        # Keep what json.dumps(ensure_ascii=True) writes for ASCII, and all of non-ASCII when the
        # set has all of it (one short regex); drop only escapes of scattered non-ASCII subsets.
        kept = escaped.intersect(ASCII_ESCAPABLE)
        if NON_ASCII.minus(charset).size() == 0:
            kept = kept.union(NON_ASCII)
        escaped = kept
    if escaped:
        alternatives.extend(_unicode_escape_regex(escaped))
    if not alternatives:
        raise ValueError("empty character set")
    if len(alternatives) == 1:
        return alternatives[0]
    return "(?:" + "|".join(alternatives) + ")"


# Any run of encoded characters, when nothing counts them: lone-surrogate escapes included, which
# every JSON parser accepts inside an unconstrained string.
ANY_CHARS_RUN = r'(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9A-Fa-f]{4})*'


def json_literal_regex(text: str) -> str:
    """Regex matching every JSON spelling of the string `text`, including its quotes."""
    return '"' + "".join(json_char_regex(CharSet.of(c)) for c in text) + '"'
