"""Independent judges of a grammar's language, for tests of the compiled engine."""

from __future__ import annotations

import lark


def lark_accepts(grammar, text: str) -> bool:
    """Whether lark's own parser of `grammar` (a constrain Grammar) accepts `text`."""
    try:
        grammar.lark.parse(text)
    except lark.exceptions.LarkError:
        return False
    return True
