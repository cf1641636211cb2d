"""The contracts between a compiled grammar, the vocabulary's masks and a matcher.

A grammar engine is a `Recognizer`: states (ints) of byte-by-byte recognition. The vocabulary side
is a `MaskSource`: for a state, the packed bits of the text tokens that keep the text a prefix
of the language; it walks the vocabulary trie (walk_trie.py) and knows the grammar only through
the lexer tables and the parser moves the engine hands it. A matcher drives both for one
generation. Two engines implement Recognizer: GrammarEngine (lark, LALR(1) with lark's contextual
lexer) and LexemeEngine (regular expressions, choices and JSON Schema, whose parser side is the
`LexemeParser` protocol in lexemes/engine.py).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

DEAD = 0  # the state of a text that no sentence continues


class Recognizer(Protocol):
    start: int  # the state before any text
    mask_builders: dict  # MaskSource per vocabulary fingerprint, owned by the engine

    def step(self, state: int, byte: int) -> int:
        """The state after one more byte (DEAD if no sentence continues that way)."""

    def step_bytes(self, state: int, data: bytes) -> int: ...

    def is_accepting(self, state: int) -> bool:
        """The text so far is a complete sentence: end of generation may come here."""

    def nesting(self, state: int) -> int:
        """How much is open (parser stack depth or open frames); guides the search for a way
        to finish (completions.py), so it need only shrink as structures close."""


def step_through(engine: Recognizer, state: int, data: bytes) -> int:
    """`engine.step` over each byte of `data`, stopping at DEAD."""
    for byte in data:
        if state == DEAD:
            return DEAD
        state = engine.step(state, byte)
    return state


def union_of_masks(n_words: int, hypotheses, hypothesis_mask) -> np.ndarray:
    """The tokens any of `hypotheses` allows: a hypothesis set's mask (read-only)."""
    if len(hypotheses) == 1:
        return hypothesis_mask(hypotheses[0])
    bits = np.zeros(n_words, dtype=np.uint32)
    for hyp in hypotheses:
        bits |= hypothesis_mask(hyp)
    bits.setflags(write=False)
    return bits


class MaskSource(Protocol):
    n_words: int  # uint32 words per mask

    def set_mask(self, state: int) -> np.ndarray:
        """Packed uint32 bits (bit id & 31 of word id >> 5) of the text tokens allowed after
        `state`; end-of-generation tokens are the matcher's business. Read-only."""
