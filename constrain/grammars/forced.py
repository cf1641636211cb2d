"""Forced text: where the grammar leaves exactly one way to go on, the bytes it must take.

A state forces its next byte when exactly one byte keeps the text a prefix of a sentence and
the text is not yet complete (where it is complete, end of generation is the other way). JSON
under a schema forces a lot: the rest of a key once its first bytes are unique, `":"` after it,
a `const`, the only enum value left, the closing of an object whose members are all written.
Generation appends such text in one batched evaluation instead of one decode step per token.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from constrain.grammars.engine_memos import engine_memo
from constrain.grammars.recognizer import DEAD, Recognizer

MAX_FORCED = 256  # bytes looked ahead per state
REMEMBERED = 8192  # states whose forced text is kept per engine
FEW_TOKENS = 256  # a mask allowing more tokens than this is taken as "not forced" without a look


class ForcedText:
    def __init__(self, engine: Recognizer, limit: int = MAX_FORCED, remembered: int = REMEMBERED):
        self.engine = engine
        self.limit = limit
        self.remembered = remembered
        self._known: OrderedDict[int, bytes] = OrderedDict()

    def of(self, state: int) -> bytes:
        """The bytes every sentence continuing from `state` takes next (b"" if none are forced)."""
        found = self._known.get(state)
        if found is not None:
            self._known.move_to_end(state)
            return found
        found = self._follow(state)
        self._known[state] = found
        if len(self._known) > self.remembered:
            self._known.popitem(last=False)
        return found

    def _follow(self, state: int) -> bytes:
        engine = self.engine
        out = bytearray()
        while state != DEAD and len(out) < self.limit and not engine.is_accepting(state):
            only = None
            for byte in range(256):
                nxt = engine.step(state, byte)
                if nxt != DEAD:
                    if only is not None:
                        return bytes(out)
                    only = (byte, nxt)
            if only is None:
                break
            out.append(only[0])
            state = only[1]
        return bytes(out)


def forced_text(engine: Recognizer) -> ForcedText:
    """The engine's one ForcedText (its memo lives and dies with the engine)."""
    return engine_memo(engine, ForcedText)


def forced_tokens(matcher, tokenize) -> list[int]:
    """The tokens for the text the matcher's grammar forces now: `tokenize(bytes)`'s spelling
    when it spells exactly those bytes in text tokens, else the longest-match spelling."""
    if int(np.bitwise_count(matcher.masks.set_mask(matcher.state)).sum()) > FEW_TOKENS:
        return []
    text = forced_text(matcher.engine).of(matcher.state)
    if not text:
        return []
    vocab = matcher.vocab
    tokens = [int(t) for t in tokenize(text)]
    text_ids = vocab.forbidden | vocab.eos_ids
    if (not tokens or any(not 0 <= t < vocab.n_vocab or t in text_ids for t in tokens)
            or b"".join(vocab.token_bytes[t] for t in tokens) != text):
        tokens = vocab.greedy_tokens(text) or []
    return tokens
