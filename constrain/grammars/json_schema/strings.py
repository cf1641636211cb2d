"""String constraints -> one terminal regex over the quoted, escaped JSON string.

One of `pattern`, `format` or a length range is enforced per string schema; combining two of them
needs a regex intersection, which is refused (or, with lenient=True, the later one is dropped).
Lengths count decoded code points: an escape sequence is one character.
"""

from __future__ import annotations

import re
from functools import lru_cache

from constrain.grammars.json_schema.charset import ANY_CHAR, json_char_regex
from constrain.grammars.json_schema.errors import InvalidSchemaError, SchemaTooLargeError
from constrain.grammars.json_schema.formats import FORMATS
from constrain.grammars.json_schema.regex_translate import PatternError, ir_to_json_regex, parse_pattern

# Longer bounded strings make the engine's byte DFA grow past what a mask can afford.
MAX_LENGTH_BOUND = 1000
ENCODED_CHAR = json_char_regex(ANY_CHAR)


@lru_cache(maxsize=None)
def format_json_regex(name: str) -> str:
    return ir_to_json_regex(parse_pattern(FORMATS[name], search=False))


def format_accepts(schema, value) -> bool:
    """Whether a literal string satisfies the enforced `format` of `schema` (True if none)."""
    if isinstance(schema, dict) and isinstance(value, str) and schema.get("format") in FORMATS:
        return re.fullmatch(FORMATS[schema["format"]], value) is not None
    return True


def _length_bounds(eff: dict, ctx) -> tuple[int, int | None]:
    bounds = []
    for keyword, default in (("minLength", 0), ("maxLength", None)):
        value = eff.get(keyword, default)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise InvalidSchemaError(f"must be a non-negative integer, not {value!r}", keyword=keyword, path=ctx.path)
        bounds.append(value)
    return bounds[0], bounds[1]


def _length_regex(min_len: int, max_len: int | None, ctx) -> str:
    for keyword, value in (("minLength", min_len), ("maxLength", max_len)):
        if value is not None and value > MAX_LENGTH_BOUND:
            raise SchemaTooLargeError(f"{value} is above the supported {MAX_LENGTH_BOUND} characters",
                                      keyword=keyword, path=ctx.path)
    body = f"(?:{ENCODED_CHAR})"
    if max_len is None:
        return body + ("*" if min_len == 0 else "{%d,}" % min_len)
    return body + "{%d,%d}" % (min_len, max_len)


def string_regex(compiler, eff: dict, ctx) -> str | None:
    """The terminal regex of a string schema; None when no string fits."""
    min_len, max_len = _length_bounds(eff, ctx)
    if max_len is not None and min_len > max_len:
        return None
    has_length = min_len > 0 or max_len is not None
    pattern, fmt = eff.get("pattern"), eff.get("format")
    if pattern is not None and not isinstance(pattern, str):
        raise InvalidSchemaError("pattern must be a string", keyword="pattern", path=ctx.path)
    if fmt is not None and fmt not in FORMATS:
        compiler.unsupported("format", ctx, f"format {fmt!r} is not enforced (supported: {', '.join(FORMATS)})")
        fmt = None
    chosen = [k for k, present in (("pattern", pattern is not None), ("format", fmt is not None),
                                   ("maxLength" if max_len is not None else "minLength", has_length)) if present]
    for extra in chosen[1:]:
        compiler.unsupported(extra, ctx, f"{chosen[0]!r} and {extra!r} together need a regex intersection")
    if not chosen:
        return '"' + f"(?:{ENCODED_CHAR})*" + '"'
    if chosen[0] == "pattern":
        try:
            body = ir_to_json_regex(parse_pattern(pattern))
        except PatternError as exc:
            compiler.unsupported("pattern", ctx, f"pattern {pattern!r}: {exc}")
            return string_regex(compiler, {k: v for k, v in eff.items() if k != "pattern"}, ctx)
    elif chosen[0] == "format":
        body = format_json_regex(fmt)
    else:
        body = _length_regex(min_len, max_len, ctx)
    return '"' + body + '"'
