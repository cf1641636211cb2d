"""The bytes each token adds to the text, as llama.cpp's token_to_piece renders them.

Sentencepiece vocabularies write a space as U+2581 and raw bytes as `<0xAB>` tokens;
byte-level BPE vocabularies write every byte as one printable character (GPT-2's table).
Control, unknown and user-defined tokens render as their text; unused tokens render as
nothing.
"""

from __future__ import annotations

import numpy as np

from constrain.errors import TokenizerError
from constrain.runtime.tokenizer.byte_unicode import UNICODE_TO_BYTE
from constrain.runtime.tokenizer.vocab import GgufVocabulary, TokenType

SPM_SPACE = "\u2581"

# Translate byte-level characters to the latin-1 character of their byte; any other
# character becomes one above U+00FF so that the latin-1 encoding fails and the slow
# path handles it.
_BYTE_LEVEL_TABLE = {ord(c): chr(b) for c, b in UNICODE_TO_BYTE.items()}
_BYTE_LEVEL_TABLE.update({c: chr(0x100 + c) for c in range(0x100) if c not in _BYTE_LEVEL_TABLE})


def byte_level_to_bytes(text: str) -> bytes:
    """Undo GPT-2's byte-to-character table; characters outside it keep their UTF-8 bytes."""
    try:
        return text.translate(_BYTE_LEVEL_TABLE).encode("latin-1")
    except UnicodeEncodeError:
        return b"".join(bytes([UNICODE_TO_BYTE[c]]) if c in UNICODE_TO_BYTE else c.encode("utf-8") for c in text)


def spm_byte_value(text: str, token_id: int) -> int:
    """The byte a sentencepiece `<0xAB>` token stands for."""
    if len(text) == 6 and text.startswith("<0x") and text.endswith(">"):
        try:
            return int(text[3:5], 16)
        except ValueError:
            pass
    raise TokenizerError(f"token {token_id} has type BYTE but its text {text!r} is not of the form <0xAB>")


def _byte_level_pieces(texts: list[str]) -> list[bytes]:
    # one translate and one encode over the whole vocabulary: every character becomes
    # exactly one byte, so character offsets are byte offsets
    try:
        joined = "".join(texts).translate(_BYTE_LEVEL_TABLE).encode("latin-1")
    except UnicodeEncodeError:
        return [byte_level_to_bytes(t) for t in texts]
    ends = np.cumsum([len(t) for t in texts]).tolist()
    return [joined[start:end] for start, end in zip([0] + ends[:-1], ends)]


def token_pieces(vocab: GgufVocabulary) -> list[bytes]:
    """Bytes of every token, rendering control tokens as their text."""
    types = vocab.types
    n = vocab.n_vocab
    pieces: list[bytes] = [b""] * n  # unused, undefined (and, in BPE vocabularies, byte) tokens
    as_text = np.flatnonzero((types == TokenType.CONTROL) | (types == TokenType.UNKNOWN)
                             | (types == TokenType.USER_DEFINED)).tolist()
    for i in as_text:
        pieces[i] = vocab.tokens[i].encode("utf-8")
    normal = np.flatnonzero(types == TokenType.NORMAL).tolist()
    if vocab.model == "llama":
        for i in normal:
            pieces[i] = vocab.tokens[i].replace(SPM_SPACE, " ").encode("utf-8")
        for i in np.flatnonzero(types == TokenType.BYTE).tolist():
            pieces[i] = bytes([spm_byte_value(vocab.tokens[i], i)])
    else:
        for i, piece in zip(normal, _byte_level_pieces([vocab.tokens[i] for i in normal])):
            pieces[i] = piece
    return pieces


def hidden_without_special(vocab: GgufVocabulary) -> np.ndarray:
    """Tokens that render as nothing when special tokens are not shown (llama.cpp special=False)."""
    return (vocab.types == TokenType.CONTROL) | (vocab.types == TokenType.UNKNOWN)
