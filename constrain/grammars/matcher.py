"""GrammarMatcher: the grammar's state during one generation, token by token."""

from __future__ import annotations

import numpy as np

from constrain.grammars.errors import GrammarError
from constrain.grammars.recognizer import DEAD, MaskSource, Recognizer
from constrain.grammars.vocabulary import TokenVocabulary

_ENDED = -1  # history entry after end-of-generation was accepted


class GrammarMatcher:
    def __init__(self, engine: Recognizer, vocab: TokenVocabulary, masks: MaskSource):
        self.engine = engine
        self.vocab = vocab
        self.masks = masks
        self.n_vocab = vocab.n_vocab
        self._eos = np.array(sorted(vocab.eos_ids), dtype=np.int64)
        # end-of-generation bits, ORed in where the text is complete (ufunc.at per mask is slow)
        self._eos_bits = np.zeros(masks.n_words, dtype=np.uint32)
        for e in self._eos.tolist():
            self._eos_bits[e >> 5] |= np.uint32(1 << (e & 31))
        self._history: list[int] = [engine.start]

    # -- state -----------------------------------------------------------------------------
    @property
    def state(self) -> int:
        return self._history[-1]

    @property
    def n_tokens(self) -> int:
        """Tokens accepted since the last reset."""
        return len(self._history) - 1

    def reset(self) -> None:
        self._history = [self.engine.start]

    def rollback(self, n: int) -> None:
        """Undo the last `n` accepted tokens."""
        if n < 0 or n > self.n_tokens:
            raise GrammarError(f"cannot roll back {n} tokens: only {self.n_tokens} were accepted")
        if n:
            del self._history[-n:]

    def is_accepting(self) -> bool:
        """The text so far is a complete sentence of the grammar."""
        return self.state == _ENDED or self.engine.is_accepting(self.state)

    def is_finished(self) -> bool:
        """Nothing but end-of-generation can follow."""
        if self.state == _ENDED:
            return True
        return self.engine.is_accepting(self.state) and not self.masks.set_mask(self.state).any()

    # -- masks -----------------------------------------------------------------------------
    def mask_bits(self) -> np.ndarray:
        """Allowed tokens as packed bits: bit (id & 31) of uint32 word (id >> 5)."""
        if self.state == _ENDED:
            return np.zeros(self.masks.n_words, dtype=np.uint32)
        bits = self.masks.set_mask(self.state)
        if len(self._eos) and self.engine.is_accepting(self.state):
            bits = bits | self._eos_bits
        return bits

    def mask(self) -> np.ndarray:
        """bool array of shape (n_vocab,): True where the token may come next."""
        packed = self.mask_bits().view(np.uint8)
        return np.unpackbits(packed, bitorder="little")[: self.n_vocab].astype(bool)

    def is_allowed(self, token_id: int) -> bool:
        return bool(self.mask_bits()[token_id >> 5] >> np.uint32(token_id & 31) & 1)

    # -- advancing -------------------------------------------------------------------------
    def advance(self, token_id: int) -> None:
        """Accept one token; raises GrammarError (state unchanged) if the grammar forbids it."""
        token_id = int(token_id)
        state = self.state
        if state == _ENDED:
            raise GrammarError(f"token {token_id} after end of generation")
        if not 0 <= token_id < self.n_vocab:
            raise GrammarError(f"token id {token_id} is outside the vocabulary (size {self.n_vocab})")
        if token_id in self.vocab.eos_ids:
            if not self.engine.is_accepting(state):
                raise GrammarError(f"end-of-generation token {token_id} where the grammar is not complete")
            self._history.append(_ENDED)
            return
        if token_id in self.vocab.forbidden:
            raise GrammarError(f"control token {token_id} is never allowed as grammar text")
        data = self.vocab.token_bytes[token_id]
        nxt = self.engine.step_bytes(state, data) if data else DEAD
        if nxt == DEAD:
            raise GrammarError(f"token {token_id} ({data!r}) is not allowed by the grammar here")
        self._history.append(nxt)

    def advance_bytes(self, data: bytes) -> bool:
        """Feed raw text (e.g. a forced prefix); returns False (state unchanged) if it is invalid."""
        if self.state == _ENDED:
            return False
        nxt = self.engine.step_bytes(self.state, data)
        if nxt == DEAD:
            return False
        self._history.append(nxt)
        return True
