"""The regexes numbers.py builds its bounds from: the fixed-width digit spellings of an integer
range, and regex text for code point sets (sets themselves are `constrain.grammars.charsets.CharSet`)."""

from __future__ import annotations

from constrain.grammars.charsets import CharSet

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
