"""The kinds of regular-language term (lexemes/terms.py) and the error a term store raises when a
pattern or schema makes it outgrow its limits: shared by the store and the algorithms that read
terms without building them (lexemes/satisfiable.py)."""

from __future__ import annotations

FULL = (1 << 256) - 1  # every byte, as a byte mask

EMPTY, EPS, BYTES, CAT, ALT, AND, NOT, REP, TAG, UTF8, CONT, HEX, MOD, FAR = range(14)
INFINITE = -1  # REP upper bound


class TermBudgetError(RuntimeError):
    """A term store grew past its size limit (a pathological pattern or schema)."""
