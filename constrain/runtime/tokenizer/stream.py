"""Streaming detokenization that never emits part of a UTF-8 character.

A token may end inside a character (byte tokens, byte-level BPE pieces of emoji), so
the bytes of an incomplete trailing sequence are held back until the next token
completes or breaks it. Python's incremental UTF-8 decoder knows exactly which byte
prefixes can still become a valid character; with `surrogateescape` every invalid byte
passes through unchanged, so the bytes emitted are always exactly `Tokenizer.decode`'s.
"""

from __future__ import annotations

import codecs

from constrain.runtime.tokenizer.tokenizer import Tokenizer

_Decoder = codecs.getincrementaldecoder("utf-8")


class StreamDecoder:
    """push() token ids one at a time; concatenating every push() and the final flush()
    gives `tokenizer.decode(ids, special, text_start)`.

    `text_start=True` means the ids begin the text (the sentencepiece space prefix is
    removed from the first token after any BOS); pass False when streaming the
    continuation of a prompt.
    """

    def __init__(self, tokenizer: Tokenizer, special: bool = True, text_start: bool = True):
        self.tokenizer = tokenizer
        self.special = special
        self.text_start = text_start
        self.reset()

    def reset(self) -> None:
        self._decoder = _Decoder("surrogateescape")
        self._at_start = self.text_start and self.tokenizer.strips_prefix_space

    def push(self, token_id: int) -> bytes:
        """Bytes that are now complete: never ends inside a character that could still be completed."""
        piece = self.tokenizer.token_bytes(token_id, self.special)
        if self._at_start and token_id != self.tokenizer.bos_id:
            self._at_start = False
            if piece.startswith(b" "):
                piece = piece[1:]
        return self._decoder.decode(piece, final=False).encode("utf-8", "surrogateescape")

    def flush(self) -> bytes:
        """The held-back bytes of an unfinished character, raw (they can no longer become
        valid UTF-8; callers that need text should decode them with errors="replace")."""
        # a final decode also empties the decoder's buffer
        return self._decoder.decode(b"", final=True).encode("utf-8", "surrogateescape")

    @property
    def pending(self) -> bytes:
        """Bytes held back so far."""
        return self._decoder.getstate()[0]
