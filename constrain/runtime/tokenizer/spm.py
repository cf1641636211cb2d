"""Sentencepiece encoding (tokenizer.ggml.model == "llama") through the `sentencepiece` library.

llama.cpp encodes sentencepiece vocabularies with the BPE algorithm of sentencepiece:
merge the adjacent pair whose merged text is a token with the highest score, then fall
back to `<0xAB>` byte tokens for what never became a token. It looks texts up among all
tokens whatever their type, so the model handed to sentencepiece marks every token as
normal except the byte tokens, and carries one extra unknown piece that llama.cpp's
vocabulary does not have (sentencepiece requires one).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sentencepiece

from constrain.errors import TokenizerError
from constrain.runtime.tokenizer.pieces import SPM_SPACE
from constrain.runtime.tokenizer.sp_model_proto import model_proto
from constrain.runtime.tokenizer.special_split import Part
from constrain.runtime.tokenizer.vocab import GgufVocabulary, TokenType


def _unused_text(base: str, taken: dict[str, int]) -> str:
    text = base
    while text in taken:
        text += "~"
    return text


class SPMEncoder:
    """Encodes plain-text fragments with a sentencepiece vocabulary, as llama.cpp does."""

    def __init__(self, vocab: GgufVocabulary):
        n = vocab.n_vocab
        self._text_to_id = text_to_id = vocab.text_to_id
        texts = list(vocab.tokens)
        kinds = [int(TokenType.NORMAL)] * n
        if len(text_to_id) != n:
            # llama.cpp maps a duplicated text to its last token; the earlier ones can only be
            # reached by id, which a control piece with an unreachable text reproduces
            for i, t in enumerate(vocab.tokens):
                if text_to_id[t] != i:
                    texts[i] = _unused_text(f"<constrain duplicate of {t!r} #{i}>", text_to_id)
                    kinds[i] = int(TokenType.CONTROL)
        self._byte_ids = [text_to_id.get(f"<0x{b:02X}>") for b in range(256)]
        self._byte_fallback = all(i is not None for i in self._byte_ids)
        if self._byte_fallback:
            for i in self._byte_ids:
                kinds[i] = int(TokenType.BYTE)
        self._unk_id = n
        texts.append(_unused_text("<constrain unknown>", text_to_id))
        kinds.append(int(TokenType.UNKNOWN))
        scores = np.zeros(n + 1, np.float32)
        if vocab.scores is not None:
            scores[:n] = vocab.scores
        proto = model_proto(texts, scores.tolist(), kinds, unk_id=self._unk_id, byte_fallback=self._byte_fallback)
        self._sp = sentencepiece.SentencePieceProcessor()
        try:
            self._sp.LoadFromSerializedProto(proto)
        except (RuntimeError, OSError) as e:
            raise TokenizerError(f"sentencepiece refused the GGUF vocabulary: {e}") from e
        self._add_space_prefix = vocab.add_space_prefix

    def encode_parts(self, parts: Sequence[Part]) -> list[int]:
        texts: list[str] = []
        prefix = True  # llama.cpp prefixes a space at the start and after every special token
        for part in parts:
            if isinstance(part, str):
                text = " " + part if self._add_space_prefix and prefix else part
                texts.append(text.replace(" ", SPM_SPACE))
                prefix = False
            else:
                prefix = True
        encoded = iter(zip(texts, self._sp.encode(texts))) if texts else iter(())
        ids: list[int] = []
        for part in parts:
            if isinstance(part, int):
                ids.append(part)
                continue
            text, chunk = next(encoded)
            if self._unk_id in chunk:
                chunk = self._encode_without_byte_tokens(text)
            ids.extend(chunk)
        return ids

    def _encode_without_byte_tokens(self, text: str) -> list[int]:
        """llama.cpp's fallback when the vocabulary lacks some <0xAB> tokens: each byte of an
        unknown piece becomes its byte token, or the one-character token of that byte."""
        ids: list[int] = []
        data = text.encode("utf-8")
        encoded = self._sp.encode(text, return_type="offset_mapping", return_bytes=True)
        for token, (begin, end) in zip(encoded["ids"], encoded["offsets"]):
            if token != self._unk_id:
                ids.append(token)
                continue
            for b in data[begin:end]:
                token = self._byte_ids[b]
                if token is None and b < 0x80:
                    token = self._text_to_id.get(chr(b))
                if token is None:
                    raise TokenizerError(
                        f"cannot encode {data[begin:end].decode('utf-8', 'replace')!r}: the vocabulary has "
                        f"no token for it and no byte token <0x{b:02X}>"
                    )
                ids.append(token)
        return ids
