"""String, number and literal keywords -> terms (the scalar part of a node).

Strings: `pattern`, `format` and `minLength`/`maxLength` intersect (AND of terms; a pattern whose
length varies in one character-class repetition absorbs the length range instead, which keeps the
term free of AND and so cheaper to mask). Lengths count decoded code points: an escape is one
character. Unknown formats are annotations (JSON Schema 2020-12 says so, and validators ignore
them): any string. Numbers come from numbers.py's exact regexes.
"""

from __future__ import annotations

import json
import math
import re

from constrain.grammars.json_schema.errors import InvalidSchemaError
from constrain.grammars.json_schema.formats import FORMATS
from constrain.grammars.json_schema.json_terms import JsonTerms
from constrain.grammars.json_schema.numbers import (
    ANY_NUMBER,
    ZERO_FRACTION,
    InvalidNumberKeyword,
    NumberRangeError,
    number_regex,
)
from constrain.grammars.json_schema.regex_translate import (
    Alt,
    Chars,
    PatternError,
    PatternNode,
    Repeat,
    Seq,
    parse_pattern,
)


def count_keyword(eff: dict, keyword: str, ctx, default):
    """A non-negative integer keyword (1.0 counts as 1), or `default` when absent."""
    value = eff.get(keyword, default)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidSchemaError(f"must be a non-negative integer, not {value!r}", keyword=keyword, path=ctx.path)
    return value


def string_term(comp, eff: dict, ctx) -> int:
    """The quoted-string term of a string schema (the empty term when no string fits)."""
    terms: JsonTerms = comp.terms
    s = terms.s
    lo = count_keyword(eff, "minLength", ctx, 0)
    hi = count_keyword(eff, "maxLength", ctx, None)
    if hi is not None and lo > hi:
        return s.empty
    parts = []
    has_length = lo > 0 or hi is not None
    pattern = eff.get("pattern")
    if pattern is not None:
        if not isinstance(pattern, str):
            raise InvalidSchemaError("pattern must be a string", keyword="pattern", path=ctx.path)
        try:
            ir = parse_pattern(pattern)
        except PatternError as exc:
            comp.unsupported("pattern", ctx, f"pattern {pattern!r}: {exc}")
            ir = None
        if ir is not None:
            if has_length:
                limited = limit_length(ir, lo, hi)
                if limited == _EMPTY:
                    return s.empty
                if limited is not None:
                    ir, has_length = limited, False
            parts.append(terms.pattern_body(ir))
    fmt = eff.get("format")
    if isinstance(fmt, str) and fmt in FORMATS:
        parts.append(format_body(terms, fmt))
    if has_length:
        parts.append(terms.length(lo, hi))
    if not parts:
        return terms.any_string
    return terms.quoted(s.intersection(parts) if len(parts) > 1 else parts[0])


def format_body(terms: JsonTerms, name: str) -> int:
    cache = terms.__dict__.setdefault("_formats", {})
    if name not in cache:
        cache[name] = terms.pattern_body(parse_pattern(FORMATS[name], search=False))
    return cache[name]


def format_accepts(schema, value) -> bool:
    """Whether a literal string satisfies the enforced `format` of `schema` (True if none)."""
    if isinstance(schema, dict) and isinstance(value, str) and schema.get("format") in FORMATS:
        return re.fullmatch(FORMATS[schema["format"]], value) is not None
    return True


def number_term(comp, eff: dict, mode: str, ctx) -> tuple[int, bool]:
    """(term of the numbers a schema allows, whether it takes every spelling of them)."""
    terms: JsonTerms = comp.terms
    try:
        regex = number_regex(eff, mode)
    except InvalidNumberKeyword as exc:
        keyword = str(exc).split(" ", 1)[0]
        raise InvalidSchemaError(str(exc), keyword=keyword, path=ctx.path) from None
    except NumberRangeError as exc:
        multiple = _integer_divisor(eff.get("multipleOf"))
        if multiple is not None:  # any integer divisor: digits read modulo it
            base = number_regex({k: v for k, v in eff.items() if k != "multipleOf"}, "integer")
            if base is None:
                return terms.s.empty, False
            return terms.s.both(terms.number(base), terms.s.multiple_of(multiple)), False
        keyword = "multipleOf" if "multipleOf" in eff else "minimum"
        comp.unsupported(keyword, ctx, str(exc))
        regex = number_regex({}, mode)
    if regex is None:
        return terms.s.empty, True
    if regex == ANY_NUMBER:
        return terms.any_number, True
    return terms.number(regex), False


def _integer_divisor(value) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float):
        if not value.is_integer() or value >= 2 ** 53:
            return None
        value = int(value)
    return value if value > 0 else None


# ------------------------------------------------------------------ literal values
def number_literal_regex(value) -> str | None:
    """Every exponent-free spelling of a number (integers also as n.0...), plus json.dumps's."""
    if isinstance(value, float) and not math.isfinite(value):
        return None  # NaN and infinities have no JSON spelling
    spellings = []
    if isinstance(value, int) or value.is_integer():
        n = int(value)
        spellings.append(("-?0" if n == 0 else ("-" if n < 0 else "") + str(abs(n))) + ZERO_FRACTION)
        dumped = json.dumps(value)
        if "e" in dumped:
            spellings.append(re.escape(dumped))
    else:
        text = repr(value)
        spellings.append(re.escape(text) + ("" if "e" in text else "0*"))
    return spellings[0] if len(spellings) == 1 else "(?:" + "|".join(spellings) + ")"


def scalar_literal_term(terms: JsonTerms, value) -> tuple[str, int] | None:
    """(kind, term) of a scalar JSON value in every spelling; None for objects and arrays."""
    if value is None:
        return "literal", terms.null
    if isinstance(value, bool):
        return "literal", terms.true if value else terms.false
    if isinstance(value, (int, float)):
        regex = number_literal_regex(value)
        return ("number", terms.number(regex) if regex is not None else terms.s.empty)
    if isinstance(value, str):
        return "string", terms.string_literal(value)
    return None


# ------------------------------------------------------------------ pattern with a length range
_EMPTY = "empty"


def _fixed_length(node: PatternNode) -> int | None:
    match node:
        case Chars():
            return 1
        case Seq(items):
            lengths = [_fixed_length(c) for c in items]
            return None if None in lengths else sum(length for length in lengths if length is not None)
        case Alt(options):
            found = {_fixed_length(c) for c in options}
            return found.pop() if len(found) == 1 and None not in found else None
        case Repeat(child, lo, hi) if lo == hi:
            inner = _fixed_length(child)
            return None if inner is None else inner * lo
    return None


def limit_length(node: PatternNode, min_len: int, max_len: int | None):
    """`node` ∩ (strings of min_len..max_len characters) when every part but one repetition of a
    character class has a fixed length (e.g. ^[A-Z]{2}-[0-9]+$, or ^abc with its .* tail);
    _EMPTY when nothing fits; None when the intersection is not of that shape."""
    if isinstance(node, Alt):
        branches = [limit_length(b, min_len, max_len) for b in node.options]
        if any(b is None for b in branches):
            return None
        kept = tuple(b for b in branches if b is not _EMPTY)
        return Alt(kept) if kept else _EMPTY
    items = node.items if isinstance(node, Seq) else (node,)
    variable = [i for i, item in enumerate(items) if _fixed_length(item) is None]
    fixed = sum(_fixed_length(item) or 0 for item in items)
    if not variable:
        return node if min_len <= fixed and (max_len is None or fixed <= max_len) else _EMPTY
    if len(variable) > 1:
        return None
    index = variable[0]
    item = items[index]
    if isinstance(item, Repeat) and isinstance(item.node, Seq) and len(item.node.items) == 1:
        item = Repeat(item.node.items[0], item.lo, item.hi)  # a group around one class: (x)+
    if not isinstance(item, Repeat) or not isinstance(item.node, Chars):
        return None
    lo = max(item.lo, min_len - fixed)
    hi = item.hi if max_len is None else (max_len - fixed if item.hi is None else min(item.hi, max_len - fixed))
    if hi is not None and hi < lo:
        return _EMPTY
    return Seq(items[:index] + (Repeat(item.node, lo, hi),) + items[index + 1:])
