"""String constraints -> one terminal regex over the quoted, escaped JSON string.

One of `pattern`, `format` or a length range is enforced per string schema; combining two of them
needs a regex intersection, which is refused (or, with lenient=True, the later one is dropped) -
except a pattern whose length varies in one character-class repetition only, where the length
range just narrows that repetition.
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


_EMPTY = "empty"


def _fixed_length(node) -> int | None:
    kind = node[0]
    if kind == "set":
        return 1
    if kind == "seq":
        lengths = [_fixed_length(c) for c in node[1]]
        return None if None in lengths else sum(lengths)
    if kind == "alt":
        lengths = {_fixed_length(c) for c in node[1]}
        return lengths.pop() if len(lengths) == 1 and None not in lengths else None
    if kind == "rep" and node[2] == node[3]:
        inner = _fixed_length(node[1])
        return None if inner is None else inner * node[2]
    return None


def limit_length(node, min_len: int, max_len: int | None):
    """`node` ∩ (strings of min_len..max_len characters) when every part but one repetition of a
    character class has a fixed length (e.g. ^[A-Z]{2}-[0-9]+$, or ^abc with its .* tail);
    _EMPTY when nothing fits; None when the intersection is not of that shape."""
    if node[0] == "alt":
        branches = [limit_length(b, min_len, max_len) for b in node[1]]
        if any(b is None for b in branches):
            return None
        kept = [b for b in branches if b is not _EMPTY]
        return ("alt", kept) if kept else _EMPTY
    items = node[1] if node[0] == "seq" else [node]
    variable = [i for i, item in enumerate(items) if _fixed_length(item) is None]
    fixed = sum(_fixed_length(item) for item in items if _fixed_length(item) is not None)
    if not variable:
        return node if min_len <= fixed and (max_len is None or fixed <= max_len) else _EMPTY
    if len(variable) > 1:
        return None
    index = variable[0]
    item = items[index]
    if item[0] == "rep" and item[1][0] == "seq" and len(item[1][1]) == 1:
        item = ("rep", item[1][1][0], item[2], item[3])  # a group around one class: (x)+
    if item[0] != "rep" or item[1][0] != "set":
        return None
    lo = max(item[2], min_len - fixed)
    hi = item[3] if max_len is None else (max_len - fixed if item[3] is None else min(item[3], max_len - fixed))
    if hi is not None and hi < lo:
        return _EMPTY
    return ("seq", items[:index] + [("rep", item[1], lo, hi)] + items[index + 1:])


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
    limited = None
    if chosen[:1] == ["pattern"] and has_length and fmt is None:
        _length_regex(min_len, max_len, ctx)  # the same size limits apply
        try:
            limited = limit_length(parse_pattern(pattern), min_len, max_len)
        except PatternError:
            limited = None
        if limited is _EMPTY:
            return None
        if limited is not None:
            chosen = ["pattern"]
    for extra in chosen[1:]:
        compiler.unsupported(extra, ctx, f"{chosen[0]!r} and {extra!r} together need a regex intersection")
    if not chosen:
        return '"' + f"(?:{ENCODED_CHAR})*" + '"'
    if chosen[0] == "pattern":
        try:
            body = ir_to_json_regex(limited if limited is not None else parse_pattern(pattern))
        except PatternError as exc:
            compiler.unsupported("pattern", ctx, f"pattern {pattern!r}: {exc}")
            return string_regex(compiler, {k: v for k, v in eff.items() if k != "pattern"}, ctx)
    elif chosen[0] == "format":
        body = format_json_regex(fmt)
    else:
        body = _length_regex(min_len, max_len, ctx)
    return '"' + body + '"'
