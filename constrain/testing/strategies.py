"""hypothesis strategies for testing your own grammars.

    @given(sentences(g))                 # strings of the language
    @given(token_walks(g, tokenizer))    # random constrained generations under a tokenizer
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark

from constrain.grammars.engine import DEAD
from constrain.grammars.grammar import CompiledGrammar, Grammar


def sentences(grammar: CompiledGrammar, alphabet=None, max_bytes: int = 300) -> st.SearchStrategy[str]:
    """Strings of the grammar's language.

    For a lark grammar: drawn with hypothesis.extra.lark (from_lark joins terminals without
    lexing them, so a draw can lex differently than it was built; those are filtered out). For
    other grammars (regex, choice, JSON Schema): random walks over the bytes the engine allows
    next, ended where the text is complete.
    """
    if not isinstance(grammar, Grammar):
        return byte_walks(grammar, max_bytes=max_bytes)
    kwargs = {"start": grammar.start}
    if alphabet is not None:
        kwargs["alphabet"] = alphabet
    return from_lark(grammar.lark, **kwargs).filter(grammar.accepts)


@dataclass(frozen=True)
class TokenWalk:
    token_ids: tuple[int, ...]
    text: bytes  # bytes of the text tokens (end-of-generation excluded)
    ended: bool  # the walk chose end-of-generation


@st.composite
def token_walks(draw, grammar: Grammar, tokenizer, max_tokens: int = 40, stop_bias: float = 0.3):
    """A random path through the tokens the matcher allows at each step.

    Ends with end-of-generation when the walk chooses it (with probability `stop_bias` where it
    is allowed) or after `max_tokens` tokens. Soundness means: an ended walk's text parses.
    """
    matcher = grammar.matcher(tokenizer)
    vocab = matcher.vocab
    eos = sorted(vocab.eos_ids)
    ids: list[int] = []
    text = bytearray()
    ended = False
    for _ in range(max_tokens):
        mask = matcher.mask()
        if eos and mask[eos].any() and draw(st.floats(0, 1)) < stop_bias:
            choice = eos[int(np.flatnonzero(mask[eos])[0])]
        else:
            text_allowed = mask.copy()
            text_allowed[eos] = False
            candidates = np.flatnonzero(text_allowed)
            if len(candidates) == 0:
                if eos and mask[eos].any():
                    choice = eos[int(np.flatnonzero(mask[eos])[0])]
                else:
                    raise AssertionError(f"dead end: no token allowed after {bytes(text)!r}")
            else:
                choice = int(candidates[draw(st.integers(0, len(candidates) - 1))])
        matcher.advance(choice)
        ids.append(choice)
        if choice in vocab.eos_ids:
            ended = True
            break
        text += vocab.token_bytes[choice]
    return TokenWalk(tuple(ids), bytes(text), ended)


@st.composite
def byte_walks(draw, grammar: CompiledGrammar, max_bytes: int = 300, stop_bias: float = 0.3) -> str:
    """A text built byte by byte from the bytes the engine allows, ending where it is complete.

    Past half of `max_bytes` the walk heads for an end: closing brackets and quotes first, else
    the byte that leaves the current lexeme closest to complete."""
    engine = grammar.engine
    state = engine.start
    out = bytearray()
    for _ in range(max_bytes):
        if engine.is_accepting(state) and draw(st.floats(0, 1)) < stop_bias:
            return out.decode("utf-8")
        allowed = [b for b in range(256) if engine.step(state, b) != DEAD]
        if not allowed:
            if engine.is_accepting(state):
                return out.decode("utf-8")
            raise AssertionError(f"dead end: no byte allowed after {bytes(out)!r}")
        if len(out) > max_bytes // 2 and draw(st.floats(0, 1)) < 0.8:
            allowed = _closing_bytes(engine, state, allowed)
        byte = draw(st.sampled_from(allowed))
        state = engine.step(state, byte)
        out.append(byte)
    assume(engine.is_accepting(state))
    return out.decode("utf-8")


def _closing_bytes(engine, state, allowed: list[int]) -> list[int]:
    """The allowed bytes that leave the current lexeme closest to complete, closing brackets and
    quotes first among them."""
    store = getattr(engine, "store", None)
    if store is not None:
        def left(b):
            return min((store.min_length(term) for _, term, _ in engine.hypotheses(engine.step(state, b))),
                       default=0)

        best = min(left(b) for b in allowed)
        allowed = [b for b in allowed if left(b) == best]
    closing = [b for b in allowed if b in b'}]"']
    return closing or allowed
