"""The Tokenizer: encode text to ids and ids to bytes the way llama.cpp does.

Semantics follow llama.cpp through llama-cpp-python:
- `encode(text, add_bos=True, special=False)` is `Llama.tokenize(text, add_bos, special)`:
  `add_bos` is llama.cpp's add_special, so BOS (and EOS) are added only when the
  vocabulary asks for them (`tokenizer.ggml.add_bos_token` / `add_eos_token`, or the
  per-kind default); `special=True` turns control-token text such as "<|im_start|>"
  into the control token. User-defined tokens are always recognised.
- `decode(ids)` renders control and unknown tokens as their text by default
  (`special=False` renders them as nothing, like llama.cpp's token_to_piece without
  special). For sentencepiece vocabularies with a space prefix, the space `encode` put in
  front of the text is removed again when `text_start` is true (the ids begin the text;
  leading BOS tokens are skipped first), so `decode(encode(x)) == x` for plain text.
  llama.cpp also prefixes a space after every special token, which decode keeps.
- Text given as bytes is decoded as UTF-8 with invalid bytes replaced by U+FFFD, as
  llama.cpp does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any

import numpy as np

from constrain.errors import TokenizerError
from constrain.runtime.tokenizer.bpe import BPEEncoder
from constrain.runtime.tokenizer.pieces import hidden_without_special, token_pieces
from constrain.runtime.tokenizer.special_split import special_order, split_special
from constrain.runtime.tokenizer.spm import SPMEncoder
from constrain.runtime.tokenizer.vocab import GgufVocabulary, TokenType, read_vocabulary


class Tokenizer:
    """Encoding and decoding for one GGUF vocabulary; build it with `load_tokenizer`."""

    def __init__(self, vocab: GgufVocabulary):
        self.vocab = vocab
        self._encoder = SPMEncoder(vocab) if vocab.model == "llama" else BPEEncoder(vocab)
        types = vocab.types
        ids = np.arange(vocab.n_vocab)
        parsed_always = types == TokenType.USER_DEFINED
        parsed_special = parsed_always | (types == TokenType.CONTROL) | (types == TokenType.UNKNOWN)
        always, special = ids[parsed_always], ids[parsed_special]
        self._specials_always = special_order([vocab.tokens[i] for i in always], always.tolist())
        self._specials_all = special_order([vocab.tokens[i] for i in special], special.tolist())
        self._pieces = token_pieces(vocab)
        hidden = hidden_without_special(vocab)
        self._plain_pieces = [b"" if h else p for p, h in zip(self._pieces, hidden.tolist())]
        self._strip_prefix_space = vocab.model == "llama" and vocab.add_space_prefix

    # ----- vocabulary facts -----
    @property
    def n_vocab(self) -> int:
        return self.vocab.n_vocab

    @property
    def bos_id(self) -> int | None:
        return self.vocab.bos_id

    @property
    def eos_id(self) -> int | None:
        return self.vocab.eos_id

    @property
    def eog_ids(self) -> frozenset[int]:
        """End-of-generation tokens, as llama.cpp's llama_vocab_is_eog."""
        return self.vocab.eog_ids

    @property
    def add_bos(self) -> bool:
        return self.vocab.add_bos

    @property
    def add_eos(self) -> bool:
        return self.vocab.add_eos

    def piece(self, token_id: int) -> str:
        """The raw vocabulary string of a token."""
        return self.vocab.tokens[self._check_id(token_id)]

    @cached_property
    def control_mask(self) -> np.ndarray:
        """True for tokens that must never be produced as grammar text: control, unknown,
        unused and undefined tokens, BOS/EOS/end-of-generation tokens, and any token that
        renders as no bytes at all."""
        types = self.vocab.types
        text_like = (types == TokenType.NORMAL) | (types == TokenType.USER_DEFINED)
        if self.vocab.model == "llama":
            text_like |= types == TokenType.BYTE
        mask = ~text_like
        mask[[i for i in (self.bos_id, self.eos_id) if i is not None]] = True
        mask[list(self.eog_ids)] = True
        mask |= np.array([not p for p in self._pieces], dtype=bool)
        mask.setflags(write=False)
        return mask

    @cached_property
    def control_ids(self) -> frozenset[int]:
        return frozenset(np.flatnonzero(self.control_mask).tolist())

    def is_control(self, token_id: int) -> bool:
        return bool(self.control_mask[self._check_id(token_id)])

    def token_bytes(self, token_id: int, special: bool = True) -> bytes:
        """The bytes the token adds in the middle of a text. Control and unknown tokens give
        their text, or nothing with special=False."""
        return (self._pieces if special else self._plain_pieces)[self._check_id(token_id)]

    def vocab_bytes(self) -> list[bytes]:
        """`token_bytes` of every token, indexed by id (the same list on every call: do not
        modify). Control tokens appear as their text: mask them with `control_mask`."""
        return self._pieces

    # ----- encoding -----
    def encode(self, text: str | bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        """Token ids of `text`, as llama-cpp-python's `Llama.tokenize(text, add_bos, special)`."""
        if isinstance(text, (bytes, bytearray, memoryview)):
            text = bytes(text).decode("utf-8", "replace")
        elif not isinstance(text, str):
            raise TokenizerError(f"encode() takes str or bytes, got {type(text).__name__}")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as e:
            raise TokenizerError(f"text holds a character UTF-8 cannot encode at index {e.start}: {e.reason}") from None
        parts = split_special(text, self._specials_all if special else self._specials_always)
        ids = self._encoder.encode_parts(parts)
        if add_bos and self.vocab.add_bos and self.bos_id is not None:
            ids.insert(0, self.bos_id)
        if add_bos and self.vocab.add_eos and self.eos_id is not None:
            ids.append(self.eos_id)
        return ids

    # ----- decoding -----
    def decode(self, ids: Iterable[int], special: bool = True, text_start: bool = True) -> bytes:
        """The bytes of `ids` (not necessarily valid UTF-8: a token may end inside a character).
        `special=False` hides control and unknown tokens; `text_start=False` keeps the
        space a sentencepiece vocabulary puts in front of the first word."""
        pieces = self._pieces if special else self._plain_pieces
        ids = list(ids)
        out = [pieces[self._check_id(i)] for i in ids]
        if text_start and self._strip_prefix_space:
            for k, token in enumerate(ids):
                if token != self.bos_id:
                    if out[k].startswith(b" "):
                        out[k] = out[k][1:]
                    break
        return b"".join(out)

    @property
    def strips_prefix_space(self) -> bool:
        """Whether decoding at the start of a text drops one leading space (SPM space prefix)."""
        return self._strip_prefix_space

    def _check_id(self, token_id: int) -> int:
        if not isinstance(token_id, (int, np.integer)) or isinstance(token_id, bool):
            raise TokenizerError(f"token ids are integers, got {token_id!r}")
        if not 0 <= token_id < self.vocab.n_vocab:
            raise TokenizerError(f"token id {token_id} is outside the vocabulary (0..{self.vocab.n_vocab - 1})")
        return int(token_id)

    def __repr__(self) -> str:
        kind = "sentencepiece" if self.vocab.model == "llama" else f"byte-level BPE, pre={self.vocab.pre!r}"
        return f"Tokenizer({kind}, n_vocab={self.n_vocab})"


def load_tokenizer(metadata: Mapping[str, Any]) -> Tokenizer:
    """Build the tokenizer a GGUF file's metadata describes."""
    return Tokenizer(read_vocabulary(metadata))
