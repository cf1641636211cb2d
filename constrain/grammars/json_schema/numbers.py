"""Regexes for JSON numbers inside bounds: exact over the decimal digits.

Integers are spelled `-?(0|[1-9][0-9]*)` optionally followed by up to 16 zeros `.0{1,16}` (2020-12 counts 1.0 as an
integer). Bounded non-integers are spelled without an exponent (json.dumps uses one only for very
large or very small floats); exponent spellings are then rejected, never wrongly accepted.

Bounds are compared against the *float* the validator will see: an exclusive bound b becomes the
inclusive bound "largest double below b" (exact decimal), so that a long decimal which rounds onto
b is not accepted; an inclusive bound uses the shortest decimal of the schema's double.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from constrain.grammars.json_schema.digit_ranges import fixed_width_range

ANY_NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+\-]?[0-9]+)?"
# An integer may also be spelled n.0, n.00, ... (2020-12 counts 1.0 as an integer; json.dumps
# writes integer-valued floats as n.0). At most 16 zeros, as whitespace runs are at most 16 in
# grammars.json(): an unbounded `.0+` lets a sampled integer run on as -1.0000000... until
# max_tokens.
MAX_ZERO_FRACTION_DIGITS = 16
ZERO_FRACTION = r"(?:\.0{1,%d})?" % MAX_ZERO_FRACTION_DIGITS
# Digits beyond this in a bound make the regex long for no realistic gain: refused by the caller.
MAX_BOUND_DIGITS = 400


class NumberRangeError(ValueError):
    """The bounds cannot be enforced exactly."""


class InvalidNumberKeyword(NumberRangeError):
    """A number keyword's value is not what the spec allows (a string, a non-positive multipleOf)."""


def to_decimal(value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NumberRangeError(f"bound {value!r} is not a number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NumberRangeError(f"bound {value!r} is not finite")
        return Decimal(repr(value))
    return Decimal(value)


# ---------------------------------------------------------------- integers
def _nonneg_integer_range(lo: int, hi: int | None) -> str:
    """Canonical spellings of integers in [lo, hi] (hi None = unbounded), lo >= 0."""
    alternatives = []
    lo_len = len(str(lo))
    max_len = len(str(hi)) if hi is not None else None
    # Longest spellings first so Python's first-match alternation never stops early.
    if max_len is None:
        alternatives.append(r"[1-9][0-9]{%d,}" % lo_len)
        top = lo_len
    else:
        top = max_len
    for width in range(top, lo_len - 1, -1):
        first = 10 ** (width - 1) if width > 1 else 0
        last = 10 ** width - 1
        a = max(lo, first)
        b = last if hi is None else min(hi, last)
        if a > b:
            continue
        alternatives.append(fixed_width_range(a, b, width, 10))
    if len(str(hi if hi is not None else "")) > MAX_BOUND_DIGITS or lo_len > MAX_BOUND_DIGITS:
        raise NumberRangeError("bound has too many digits")
    if not alternatives:
        raise NumberRangeError("empty integer range")
    return alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"


def integer_range_regex(lo: int | None, hi: int | None, *, allow_zero_fraction: bool = True) -> str | None:
    """Spellings of integers in [lo, hi] (None = unbounded); None when the range is empty."""
    if lo is not None and hi is not None and lo > hi:
        return None
    suffix = ZERO_FRACTION if allow_zero_fraction else ""
    alternatives = []
    # non-negative part
    if hi is None or hi >= 0:
        alternatives.append(_nonneg_integer_range(max(lo, 0) if lo is not None else 0, hi))
    # negative part: -x with x in [max(1,-hi), -lo]
    if lo is None or lo < 0:
        neg_lo = max(1, -hi) if hi is not None else 1
        neg_hi = -lo if lo is not None else None
        if neg_hi is None or neg_lo <= neg_hi:
            alternatives.append("-" + _nonneg_integer_range(neg_lo, neg_hi))
    body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
    return body + suffix


def integer_bounds(minimum, maximum, exclusive_minimum, exclusive_maximum) -> tuple[int | None, int | None]:
    """Tightest integer bounds implied by the (possibly fractional) schema bounds."""
    lo = hi = None
    for value, exclusive in ((minimum, False), (exclusive_minimum, True)):
        if value is None:
            continue
        f = Fraction(to_decimal(value))
        bound = math.floor(f) + 1 if exclusive else math.ceil(f)
        lo = bound if lo is None else max(lo, bound)
    for value, exclusive in ((maximum, False), (exclusive_maximum, True)):
        if value is None:
            continue
        f = Fraction(to_decimal(value))
        bound = math.ceil(f) - 1 if exclusive else math.floor(f)
        hi = bound if hi is None else min(hi, bound)
    return lo, hi


# ---------------------------------------------------------------- decimals
# Fraction digit strings S compare as the decimals 0.S; every helper below is inclusive.
# Alternatives that end early (a bare prefix) come last: Python's alternation takes the first
# branch that lets the whole terminal match, and a short branch would leave digits unlexed.
def _fraction_digits(value: Decimal) -> str:
    """Fraction digits of a non-negative decimal, without trailing zeros ('' for integers)."""
    text = format(value, "f")
    return text.split(".")[1].rstrip("0") if "." in text else ""


def _digits_at_least(r: str) -> str:
    """Digit strings S (possibly empty only when r is empty) with 0.S >= 0.r."""
    if not r:
        return "[0-9]*"
    alternatives = [r[:i] + "[%s-9][0-9]*" % chr(ord(d) + 1) for i, d in enumerate(r) if d != "9"]
    alternatives.insert(0, r + "[0-9]*")
    return "(?:" + "|".join(alternatives) + ")"


def _digits_at_most_nonempty(r: str) -> str:
    """Non-empty digit strings S with 0.S <= 0.r."""
    if not r:
        return "0+"
    alternatives = [r + "0*"]
    alternatives += [r[:i] + "[0-%s][0-9]*" % chr(ord(d) - 1) for i, d in enumerate(r) if d != "0"]
    alternatives += [r[:i] for i in range(len(r) - 1, 0, -1)]
    return "(?:" + "|".join(alternatives) + ")"


def _fraction_at_least(digits: str) -> str:
    return r"(?:\.[0-9]+)?" if not digits else r"\." + _digits_at_least(digits)


def _fraction_at_most(digits: str) -> str:
    return r"(?:\." + _digits_at_most_nonempty(digits) + ")?"


def _fraction_between(low: str, high: str) -> str:
    """Optional fraction .F with 0.low <= 0.F <= 0.high (low <= high)."""
    if not low:
        return _fraction_at_most(high)
    common = 0
    while common < min(len(low), len(high)) and low[common] == high[common]:
        common += 1
    prefix, low_rest, high_rest = low[:common], low[common:], high[common:]
    if not low_rest:  # low is a prefix of high
        return r"\." + prefix + "(?:" + _digits_at_most_nonempty(high_rest) + ")?"
    a, b = low_rest[0], high_rest[0]
    alternatives = [prefix + b + "(?:" + _digits_at_most_nonempty(high_rest[1:]) + ")?"]
    if ord(b) - ord(a) > 1:
        alternatives.append(prefix + "[%s-%s][0-9]*" % (chr(ord(a) + 1), chr(ord(b) - 1)))
    alternatives.append(prefix + a + _digits_at_least(low_rest[1:]))
    return r"\.(?:" + "|".join(alternatives) + ")"


def _nonneg_decimal_range(lo: Decimal, hi: Decimal | None) -> list[str]:
    """Exponent-free spellings `I(.F)?` of decimals in [lo, hi], 0 <= lo."""
    lo_int = int(lo)
    lo_frac = _fraction_digits(lo - lo_int)
    if hi is not None:
        hi_int = int(hi)
        hi_frac = _fraction_digits(hi - hi_int)
        if lo_int == hi_int:
            return [str(lo_int) + _fraction_between(lo_frac, hi_frac)]
    alternatives = []
    if hi is not None:
        alternatives.append(str(hi_int) + _fraction_at_most(hi_frac))
    middle_hi = hi_int - 1 if hi is not None else None
    if middle_hi is None or lo_int + 1 <= middle_hi:
        alternatives.append(_nonneg_integer_range(lo_int + 1, middle_hi) + r"(?:\.[0-9]+)?")
    alternatives.append(str(lo_int) + _fraction_at_least(lo_frac))
    return alternatives


# Around 0 the neighbouring doubles are subnormals with hundreds of digits; there the exclusive
# bound becomes +-10^-40 instead (values closer to 0 than that are rejected, never accepted).
ZERO_MARGIN = Decimal("1e-40")
MAX_NEIGHBOUR_DIGITS = 120


def _exclusive_as_inclusive(value, direction: float) -> Decimal:
    """The tightest short decimal d beyond which rounding can never reach `value`.

    d is the shortest spelling of the double next to `value` (towards `direction`), so every
    decimal on d's side of it rounds to a double that is strictly on that side of `value`.
    """
    bound = to_decimal(value)
    if bound == 0:
        return ZERO_MARGIN if direction > 0 else -ZERO_MARGIN
    neighbour = Decimal(repr(math.nextafter(float(bound), direction)))
    if (neighbour - bound) * Decimal(direction) <= 0:
        raise NumberRangeError(f"exclusive bound {value!r} is beyond double precision")
    if len(format(neighbour, "f")) > MAX_NEIGHBOUR_DIGITS:
        raise NumberRangeError(f"exclusive bound {value!r} needs too many digits")
    return neighbour


def _inclusive_bounds(minimum, maximum, exclusive_minimum, exclusive_maximum):
    """All four keywords as one inclusive decimal interval (None = unbounded)."""
    lo = hi = None
    if minimum is not None:
        lo = to_decimal(minimum)
    if exclusive_minimum is not None:
        above = _exclusive_as_inclusive(exclusive_minimum, math.inf)
        lo = above if lo is None else max(lo, above)
    if maximum is not None:
        hi = to_decimal(maximum)
    if exclusive_maximum is not None:
        below = _exclusive_as_inclusive(exclusive_maximum, -math.inf)
        hi = below if hi is None else min(hi, below)
    for bound in (lo, hi):
        if bound is not None and len(format(bound, "f")) > MAX_BOUND_DIGITS:
            raise NumberRangeError("bound has too many digits")
    return lo, hi


def number_range_regex(minimum, maximum, exclusive_minimum, exclusive_maximum) -> str | None:
    """Exponent-free spellings of numbers within the bounds; None when no number fits."""
    lo, hi = _inclusive_bounds(minimum, maximum, exclusive_minimum, exclusive_maximum)
    if lo is not None and hi is not None and lo > hi:
        return None
    alternatives = []
    if hi is None or hi >= 0:
        alternatives += _nonneg_decimal_range(max(lo, Decimal(0)) if lo is not None else Decimal(0), hi)
    if lo is None or lo < 0:
        # -x with x in [max(0, -hi), -lo]; "-0" spellings are harmless (they equal 0).
        neg_lo = max(Decimal(0), -hi) if hi is not None else Decimal(0)
        neg_hi = -lo if lo is not None else None
        alternatives += ["-" + a for a in _nonneg_decimal_range(neg_lo, neg_hi)]
    return "(?:" + "|".join(alternatives) + ")"


# ---------------------------------------------------------------- multipleOf and dispatch
MAX_ENUMERATED_MULTIPLES = 2000
MAX_SUFFIX_DIGITS = 4


def _alternation_longest_first(spellings: list[str]) -> str:
    return "(?:" + "|".join(sorted(spellings, key=len, reverse=True)) + ")"


def _suffix_digits(m: int) -> int:
    for digits in range(1, MAX_SUFFIX_DIGITS + 1):
        if 10 ** digits % m == 0:
            return digits
    raise NumberRangeError(f"multipleOf {m} with an open range: it does not divide a power of ten "
                           f"up to 10^{MAX_SUFFIX_DIGITS}")


def _nonneg_multiples(m: int, lo: int, hi: int | None) -> list[str]:
    """Spellings of multiples of m in [lo, hi] (hi None: unbounded), lo >= 0."""
    first = -((-lo) // m) * m
    if hi is not None:
        if first > hi:
            return []
        if (hi - first) // m + 1 > MAX_ENUMERATED_MULTIPLES:
            raise NumberRangeError("multipleOf over a wide range has no compact exact regex")
        return [str(v) for v in range(first, hi + 1, m)]
    # Below 10^width enumerate; from there on a multiple of m is any number ending in one of the
    # `digits`-long suffixes that are multiples of m (m divides 10^digits).
    digits = _suffix_digits(m)
    width = max(len(str(lo)), digits)
    if (10 ** width - first) // m > MAX_ENUMERATED_MULTIPLES:
        raise NumberRangeError("multipleOf with a large bound has no compact exact regex")
    suffixes = [str(v).zfill(digits) for v in range(0, 10 ** digits, m)]
    open_ended = "[1-9][0-9]{%d,}" % (width - digits) + _alternation_longest_first(suffixes)
    return [open_ended] + [str(v) for v in range(first, 10 ** width, m)]


def integer_multiple_regex(m: int, lo: int | None, hi: int | None) -> str | None:
    """Integers that are multiples of m within [lo, hi]: enumerated when few, else by last digits."""
    if m == 1:
        return integer_range_regex(lo, hi)
    spellings = []
    if hi is None or hi >= 0:
        spellings += _nonneg_multiples(m, max(lo, 0) if lo is not None else 0, hi)
    if lo is None or lo < 0:
        negative_lo = max(1, -hi) if hi is not None else 1
        negative_hi = -lo if lo is not None else None
        if negative_hi is None or negative_lo <= negative_hi:
            spellings += ["-" + v for v in _nonneg_multiples(m, negative_lo, negative_hi)]
    if not spellings:
        return None
    return _alternation_longest_first(spellings) + ZERO_FRACTION


def _check_number(keyword: str, value) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise InvalidNumberKeyword(f"{keyword} must be a number, not {value!r}")


NON_INTEGER = r"-?(?:0|[1-9][0-9]*)\.[0-9]*[1-9][0-9]*"


def decimal_multiple_regex(multiple: float) -> str | None:
    """Multiples of 10^-k: at most k significant fraction digits (exact decimal arithmetic)."""
    exponent = to_decimal(multiple).normalize().as_tuple()
    if exponent.digits != (1,) or exponent.exponent >= 0:
        return None
    return r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]{1,%d}0*)?" % -exponent.exponent


def number_regex(eff: dict, mode: str) -> str | None:
    """Spellings of the numbers a schema allows (None: none); NumberRangeError when not exact.

    mode: "any", "integer" (type integer) or "fraction" (not integer-valued: `not: {type: integer}`).
    """
    integer_only = mode == "integer"
    if mode == "fraction":
        if any(k in eff for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
            raise NumberRangeError("bounds on non-integer numbers are not supported")
        return NON_INTEGER
    names = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
    bounds = [eff.get(k) for k in names]
    for name, value in zip(names, bounds):
        _check_number(name, value)
    multiple = eff.get("multipleOf")
    if multiple is not None:
        _check_number("multipleOf", multiple)
        if multiple <= 0:
            raise InvalidNumberKeyword("multipleOf must be greater than 0")
        if isinstance(multiple, float) and multiple.is_integer() and multiple < 2**53:
            multiple = int(multiple)
        if not isinstance(multiple, int):
            decimal = decimal_multiple_regex(multiple)
            if decimal is not None and integer_only:
                return integer_range_regex(*integer_bounds(*bounds))  # every integer is a multiple of 10^-k
            if decimal is not None and all(b is None for b in bounds):
                return decimal
            raise NumberRangeError("multipleOf with a fractional divisor: float validators and exact decimal "
                                   "arithmetic disagree, so no grammar can match both")
        return integer_multiple_regex(multiple, *integer_bounds(*bounds))
    if integer_only:
        return integer_range_regex(*integer_bounds(*bounds))
    if all(b is None for b in bounds):
        return ANY_NUMBER
    return number_range_regex(*bounds)

