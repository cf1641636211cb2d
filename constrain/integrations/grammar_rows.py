"""One grammar matcher per row of a batch, kept in step with what each row generated.

A framework's generation loop hands a logits processor only the token ids so far (rows x
positions, prompt first). The rows here are derived from those ids alone: the prompt is what the
first call saw; each later call must add one position. Every row's generated tokens are followed
by its matcher; a row whose tokens are not the previous call's plus one (beam search reorders
rows) rolls its matcher back to the common prefix and follows the rest. A call that does not
continue the previous one (other rows, other length, another prompt) starts a new generation.
After a row's end-of-sequence token only end-of-sequence is allowed, and whatever the loop
writes there (padding) is not grammar text.
"""

from __future__ import annotations

import numpy as np

from constrain.grammars.errors import GrammarError
from constrain.grammars.grammar import CompiledGrammar
from constrain.grammars.matcher import GrammarMatcher
from constrain.grammars.vocabulary import TokenVocabulary


class RowMatcher:
    """A matcher and the generated tokens it has followed."""

    def __init__(self, matcher: GrammarMatcher):
        self.matcher = matcher
        self.tokens: list[int] = []
        # marks[k]: matcher.n_tokens after following k tokens (padding after the end adds none)
        self.marks: list[int] = [0]
        self.ended_at: int | None = None  # index in `tokens` of the accepted end-of-sequence

    def rewind(self, keep: int) -> None:
        self.matcher.rollback(self.matcher.n_tokens - self.marks[keep])
        del self.tokens[keep:]
        del self.marks[keep + 1:]
        if self.ended_at is not None and self.ended_at >= keep:
            self.ended_at = None


class GrammarRows:
    """Allowed-token masks for every row of a batch, as numpy bools."""

    def __init__(self, grammar: CompiledGrammar, vocab: TokenVocabulary):
        if not vocab.eos_ids:
            raise GrammarError("the vocabulary has no end-of-sequence token: a finished row would have no token left")
        self.grammar = grammar
        self.vocab = vocab
        self._rows: list[RowMatcher] = []
        self._seen: np.ndarray | None = None  # the ids of the previous call
        self._prompt_length = 0
        first = grammar.matcher(vocab)  # compiles masks for this vocabulary once, up front
        self._n_words = first.masks.n_words
        self._eos_bits = np.zeros(self._n_words, dtype=np.uint32)
        for e in sorted(vocab.eos_ids):
            self._eos_bits[e >> 5] |= np.uint32(1 << (e & 31))

    @property
    def prompt_length(self) -> int:
        return self._prompt_length

    def matchers(self) -> list[GrammarMatcher]:
        return [row.matcher for row in self._rows]

    def reset(self) -> None:
        """Forget the rows: the next call starts a new generation."""
        self._rows, self._seen, self._prompt_length = [], None, 0

    def allowed(self, ids: np.ndarray, n_columns: int) -> np.ndarray:
        """bool (rows, n_columns): the tokens each row may take next, after following `ids`
        (int rows x positions). Columns past the vocabulary (padded logits) are never allowed."""
        ids = np.array(ids, dtype=np.int64)  # a copy: the caller's buffer may change after the call
        if ids.ndim != 2:
            raise GrammarError(f"token ids must be (rows, positions), got shape {ids.shape}")
        self._follow(ids)
        words = np.empty((len(self._rows), self._n_words), dtype=np.uint32)
        for r, row in enumerate(self._rows):
            words[r] = self._eos_bits if row.ended_at is not None else row.matcher.mask_bits()
        bits = np.unpackbits(words.view(np.uint8), axis=1, bitorder="little")
        n_known = min(n_columns, self.vocab.n_vocab)
        allowed = np.zeros((len(self._rows), n_columns), dtype=bool)
        allowed[:, :n_known] = bits[:, :n_known]
        stuck = np.flatnonzero(~allowed.any(axis=1))
        if len(stuck):
            r = int(stuck[0])
            raise GrammarError(
                f"row {r}: no token can continue the text {self._row_text(r)!r} (the vocabulary cannot "
                f"spell what the grammar requires next, or the logits have only {n_columns} columns)")
        return allowed

    # -- following the ids ------------------------------------------------------------------
    def _follow(self, ids: np.ndarray) -> None:
        seen, p = self._seen, self._prompt_length
        continues = (seen is not None and ids.shape[0] == seen.shape[0] and ids.shape[1] == seen.shape[1] + 1
                     and np.array_equal(ids[:, :p], seen[:, :p]))
        if not continues:
            self._rows = [RowMatcher(self.grammar.matcher(self.vocab)) for _ in range(ids.shape[0])]
            self._prompt_length = ids.shape[1]
        else:
            for r, row in enumerate(self._rows):
                generated = ids[r, p:]
                if not np.array_equal(generated[:-1], seen[r, p:]):
                    row.rewind(_common_prefix(row.tokens, generated))
                self._take(r, row, generated[len(row.tokens):].tolist())
        self._seen = ids

    def _take(self, r: int, row: RowMatcher, tokens: list[int]) -> None:
        for token in tokens:
            if row.ended_at is None:
                try:
                    row.matcher.advance(token)
                except GrammarError as exc:
                    raise GrammarError(f"row {r}, generated token {len(row.tokens)}: {exc}") from None
                if token in self.vocab.eos_ids:
                    row.ended_at = len(row.tokens)
            row.tokens.append(token)
            row.marks.append(row.matcher.n_tokens)

    def _row_text(self, r: int) -> str:
        row = self._rows[r]
        end = len(row.tokens) if row.ended_at is None else row.ended_at
        data = b"".join(self.vocab.token_bytes[t] for t in row.tokens[:end])
        return data[-80:].decode("utf-8", "replace")


def _common_prefix(tokens: list[int], generated: np.ndarray) -> int:
    n = min(len(tokens), len(generated))
    differ = np.flatnonzero(np.asarray(tokens[:n], dtype=np.int64) != generated[:n])
    return int(differ[0]) if len(differ) else n


__all__ = ["GrammarRows"]
