"""hypothesis strategies for testing your own grammars.

    @given(sentences(g))                 # strings of the language (lark parses them)
    @given(token_walks(g, tokenizer))    # random constrained generations under a tokenizer
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark

from constrain.grammars.grammar import Grammar


def sentences(grammar: Grammar, alphabet=None) -> st.SearchStrategy[str]:
    """Strings lark's LALR parser accepts, drawn with hypothesis.extra.lark.

    from_lark joins terminals without lexing them, so a draw can lex differently than it was
    built (two names run together); those are filtered out, the rest are sentences.
    """
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
