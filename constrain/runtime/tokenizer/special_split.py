"""Cut text into plain-text fragments and special tokens, as llama.cpp does before encoding.

llama.cpp takes the special tokens longest text first and splits every remaining text
fragment at each occurrence; the text between occurrences is encoded by the vocabulary's
own algorithm. Control and unknown tokens are only recognised when the caller asks for
special parsing; user-defined tokens always are.
"""

from __future__ import annotations

from collections.abc import Sequence

Part = str | int  # a plain-text fragment or a token id


def special_order(texts: Sequence[str], ids: Sequence[int]) -> list[tuple[str, int]]:
    """(text, id) pairs in the order llama.cpp tries them: longest UTF-8 text first."""
    pairs = sorted(zip(texts, ids), key=lambda p: (-len(p[0].encode("utf-8")), p[1]))
    return [(t, i) for t, i in pairs if t]


def split_special(text: str, specials: Sequence[tuple[str, int]]) -> list[Part]:
    """Fragments of `text` in order; empty fragments are dropped (llama.cpp never emits them)."""
    parts: list[Part] = [text] if text else []
    # a token absent from the whole text cannot split any fragment of it
    for token_text, token_id in (s for s in specials if s[0] in text):
        cut: list[Part] = []
        for part in parts:
            if isinstance(part, int) or token_text not in part:
                cut.append(part)
                continue
            for k, piece in enumerate(part.split(token_text)):
                if k:
                    cut.append(token_id)
                if piece:
                    cut.append(piece)
        parts = cut
    return parts
