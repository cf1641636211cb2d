"""Writing regular expressions into lark grammar text (the JSON grammar, GBNF conversion).

Its own module so that the front ends that write lark text need nothing else of each other.
"""

from __future__ import annotations


def lark_regex_literal(pattern: str) -> str:
    """`pattern` as the inside of a lark /.../ literal with the same meaning for `re`.

    lark unescapes \\n, \\t, \\xHH, \\uHHHH itself before compiling, so line breaks are written
    as escapes (it refuses raw ones) and a hex escape of punctuation (e.g. \\x5c, a backslash)
    becomes a plain regex escape of that character; slashes are escaped."""
    named = {"\n": "n", "\r": "r", "\t": "t"}
    widths = {"x": 2, "u": 4, "U": 8}
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            width = widths.get(nxt, 0)
            digits = pattern[i + 2:i + 2 + width]
            if width and len(digits) == width and all(c in "0123456789abcdefABCDEF" for c in digits):
                char = chr(int(digits, 16))
                if char.isascii() and not char.isalnum() and 0x20 <= ord(char) < 0x7F:
                    out.append("\\/" if char == "/" else "\\" + char)
                else:
                    out.append(pattern[i:i + 2 + width])
                i += 2 + width
                continue
            out.append("\\" + named.get(nxt, nxt))
            i += 2
        elif ch == "/":
            out.append("\\/")
            i += 1
        else:
            out.append("\\" + named[ch] if ch in named else ch)
            i += 1
    return "".join(out)
