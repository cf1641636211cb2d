"""The vocabulary a GGUF file describes: token texts, types, scores and special ids.

Reads the `tokenizer.ggml.*` metadata the way llama.cpp's vocabulary loader does
(defaults per tokenizer kind, add_bos/add_eos, end-of-generation detection by token
text), so that every tokenizer built on top of it agrees with llama.cpp.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np

from constrain.errors import TokenizerError
from constrain.runtime.tokenizer.byte_unicode import BYTE_TO_UNICODE, UNICODE_TO_BYTE


class TokenType(IntEnum):
    """GGUF `tokenizer.ggml.token_type` values (the same numbering as sentencepiece)."""

    UNDEFINED = 0
    NORMAL = 1
    UNKNOWN = 2
    CONTROL = 3
    USER_DEFINED = 4
    UNUSED = 5
    BYTE = 6


SUPPORTED_MODELS = ("llama", "gpt2")

# Token texts llama.cpp treats as end of generation whatever the metadata says.
EOG_TEXTS = frozenset({
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>",
    "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>",
})
# Texts llama.cpp looks for when the metadata does not name a special token (metadata key
# suffix -> candidate texts); whatever it finds becomes a control token. The pad, repo and
# separator tokens of fill-in-the-middle also end generation.
SPECIAL_TEXTS = {
    "fim_pre_token_id": ("<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>",
                         "\u2581<PRE>", "<|code_prefix|>"),
    "fim_suf_token_id": ("<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>",
                         "\u2581<SUF>", "<|code_suffix|>"),
    "fim_mid_token_id": ("<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>",
                         "\u2581<MID>", "<|code_middle|>"),
    "fim_pad_token_id": ("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>"),
    "fim_rep_token_id": ("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"),
    "fim_sep_token_id": ("<|file_sep|>",),
    "eot_token_id": ("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
                     "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>", "<end_of_utterance>"),
    "eom_token_id": ("<|eom_id|>",),
}
# Older GGUF files name the first three fill-in-the-middle tokens with these keys.
_DEPRECATED_FIM_KEYS = {"fim_pre_token_id": "prefix_token_id", "fim_suf_token_id": "suffix_token_id",
                        "fim_mid_token_id": "middle_token_id"}
# gpt-oss: llama.cpp always renders these as text
_ALWAYS_TEXT = ("<|channel|>", "<|message|>", "<|start|>", "<|constrain|>")

_KEY = "tokenizer.ggml."


@dataclass(frozen=True)
class GgufVocabulary:
    """Everything about a GGUF file's token set that does not depend on the encoding algorithm.

    The tokenizers are built on it; the grammar engine never sees it (it reads a tokenizer's byte
    spellings into its own `TokenVocabulary`).
    """

    model: str  # "llama" (sentencepiece) or "gpt2" (byte-level BPE)
    pre: str  # tokenizer.ggml.pre ("default" when absent)
    tokens: list[str]
    types: np.ndarray  # int32 TokenType per token, after llama.cpp's overrides
    scores: np.ndarray | None  # float32 per token (sentencepiece vocabularies)
    merges: list[str] | None  # "left right" pairs, best first (BPE vocabularies)
    bos_id: int | None
    eos_id: int | None
    unk_id: int | None
    add_bos: bool
    add_eos: bool
    add_space_prefix: bool
    eog_ids: frozenset[int]
    text_to_id: dict[str, int]  # later duplicates win, as in llama.cpp

    @property
    def n_vocab(self) -> int:
        return len(self.tokens)


def _get(metadata: Mapping[str, Any], name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    key = _KEY + name
    if key not in metadata:
        return default
    value = metadata[key]
    if kind is bool and isinstance(value, (bool, np.bool_)):
        return bool(value)
    if kind is int and isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if kind is not bool and kind is not int and isinstance(value, kind):
        return value
    raise TokenizerError(
        f"GGUF metadata {key!r} should be {getattr(kind, '__name__', kind)}, got {type(value).__name__}")


def _token_list(metadata: Mapping[str, Any]) -> list[str]:
    tokens = _get(metadata, "tokens", list)
    if tokens is None:
        raise TokenizerError("GGUF metadata has no 'tokenizer.ggml.tokens': the file carries no vocabulary")
    if not tokens:
        raise TokenizerError("GGUF metadata 'tokenizer.ggml.tokens' is empty")
    _check_strings(tokens, "tokens")
    if "" in tokens:
        # llama.cpp renames empty tokens so that every text maps back to an id
        tokens = [t if t else f"[EMPTY_{i}]" for i, t in enumerate(tokens)]
    return tokens


def _check_strings(values: list, name: str) -> None:
    try:
        "".join(values)  # C-speed type check of 50k entries
    except TypeError:
        raise TokenizerError(f"GGUF metadata 'tokenizer.ggml.{name}' must be a list of strings") from None


def _numeric_array(metadata: Mapping[str, Any], name: str, n: int, dtype: type) -> np.ndarray | None:
    value = metadata.get(_KEY + name)
    if value is None:
        return None
    array = np.asarray(value)
    if array.ndim != 1 or array.shape[0] != n or not np.issubdtype(array.dtype, np.number):
        raise TokenizerError(
            f"GGUF metadata 'tokenizer.ggml.{name}' must be a numeric array of {n} entries "
            f"(one per token), got shape {array.shape} of {array.dtype}"
        )
    return array.astype(dtype)


def _special_id(metadata: Mapping[str, Any], name: str, default: int | None, n_vocab: int) -> int | None:
    value = _get(metadata, name, int)
    # like llama.cpp, an out-of-range id in the metadata falls back to the default
    if value is not None and 0 <= value < n_vocab:
        return value
    if default is not None and 0 <= default < n_vocab:
        return default
    return None


# A byte-level vocabulary starts from its 256 one-byte tokens; smaller ones are toy vocabularies
# (tests), which may spell only the few texts they are made for.
_BYTE_ALPHABET = 256


def _check_byte_tokens(tokens: list[str], types: np.ndarray, text_to_id: Mapping[str, int]) -> None:
    """A byte-level BPE vocabulary builds its tokens from one-byte tokens by merges, so every byte
    its normal tokens use has a token of its own; without them plain text silently tokenizes to
    nothing. (A byte no token uses may lack one: SmolLM2 has no 0x04 or 0xF1 token, and llama.cpp
    drops such a byte from the text, as this tokenizer does.)"""
    if len(tokens) < _BYTE_ALPHABET:
        return
    normal = "".join(t for t, kind in zip(tokens, types.tolist()) if kind == TokenType.NORMAL)
    missing = sorted(UNICODE_TO_BYTE[c] for c in set(normal) if c in UNICODE_TO_BYTE and c not in text_to_id)
    if missing:
        shown = ", ".join(f"0x{b:02X} ({BYTE_TO_UNICODE[b]!r})" for b in missing[:8])
        raise TokenizerError(
            f"GGUF metadata 'tokenizer.ggml.tokens' is a byte-level ('gpt2') vocabulary whose tokens use "
            f"{len(missing)} bytes that have no one-byte token ({shown}{', ...' if len(missing) > 8 else ''}): "
            "text containing them could not be tokenized"
        )


def _first_with_text(text_to_id: Mapping[str, int], texts: tuple[str, ...]) -> int | None:
    ids = [text_to_id[t] for t in texts if t in text_to_id]
    return min(ids) if ids else None


def read_vocabulary(metadata: Mapping[str, Any]) -> GgufVocabulary:
    """Check and collect the tokenizer metadata; raise TokenizerError on anything unusable."""
    model = _get(metadata, "model", str)
    if model is None:
        raise TokenizerError("GGUF metadata has no 'tokenizer.ggml.model': the file carries no tokenizer")
    if model not in SUPPORTED_MODELS:
        raise TokenizerError(
            f"tokenizer.ggml.model = {model!r} is not supported; constrain supports 'llama' "
            "(sentencepiece vocabularies) and 'gpt2' (byte-level BPE vocabularies)"
        )
    tokens = _token_list(metadata)
    n = len(tokens)

    raw_types = _numeric_array(metadata, "token_type", n, np.int32)
    types = np.full(n, TokenType.NORMAL, np.int32) if raw_types is None else raw_types.copy()
    types[(types < 0) | (types > TokenType.BYTE)] = TokenType.UNDEFINED
    scores = _numeric_array(metadata, "scores", n, np.float32)

    merges = None
    if model == "gpt2":
        merges = _get(metadata, "merges", list)
        if merges is None:
            raise TokenizerError("GGUF metadata has no 'tokenizer.ggml.merges', which a 'gpt2' vocabulary needs")
        _check_strings(merges, "merges")

    # per-kind defaults, as llama.cpp sets them before reading the metadata
    if model == "llama":
        pre = "default"
        default_bos, default_eos, default_unk = 1, 2, 0
        add_bos, add_space_prefix = True, True
    else:
        pre = _get(metadata, "pre", str, "default")
        default_bos, default_eos, default_unk = 11, 11, None
        add_bos, add_space_prefix = pre in ("llama3", "llama-v3", "llama-bpe", "falcon3"), False
    add_space_prefix = _get(metadata, "add_space_prefix", bool, add_space_prefix)
    add_bos = _get(metadata, "add_bos_token", bool, add_bos)
    add_eos = _get(metadata, "add_eos_token", bool, False)

    bos_id = _special_id(metadata, "bos_token_id", default_bos, n)
    eos_id = _special_id(metadata, "eos_token_id", default_eos, n)
    unk_id = _special_id(metadata, "unknown_token_id", default_unk, n)

    # later duplicates win, as in llama.cpp's text -> id map
    text_to_id = {t: i for i, t in enumerate(tokens)}
    special, forced_control = _specials_by_text(metadata, text_to_id, n)
    types[sorted(forced_control)] = TokenType.CONTROL
    eog = _end_of_generation(special, text_to_id, eos_id)
    types[[text_to_id[t] for t in _ALWAYS_TEXT if t in text_to_id]] = TokenType.USER_DEFINED
    if _is_harmony(text_to_id, eog):
        # llama.cpp's fix for o200k_harmony vocabularies: "<|end|>" closes a message, not the turn
        eog.discard(text_to_id["<|end|>"])
        types[text_to_id["<|end|>"]] = TokenType.USER_DEFINED
    if model == "gpt2":
        _check_byte_tokens(tokens, types, text_to_id)
    return GgufVocabulary(
        model=model, pre=pre, tokens=tokens, types=types, scores=scores, merges=merges,
        bos_id=bos_id, eos_id=eos_id, unk_id=unk_id, add_bos=add_bos, add_eos=add_eos,
        add_space_prefix=add_space_prefix, eog_ids=frozenset(eog), text_to_id=text_to_id,
    )


def _specials_by_text(metadata: Mapping[str, Any], text_to_id: Mapping[str, int],
                      n: int) -> tuple[dict[str, int], set[int]]:
    """Special ids from the metadata, else recognised by their text as llama.cpp does; and
    the ids recognised by text (llama.cpp turns them into control tokens)."""
    found: dict[str, int] = {}
    by_text: set[int] = set()
    for key, texts in SPECIAL_TEXTS.items():
        token = _special_id(metadata, key, None, n)
        if token is None and key in _DEPRECATED_FIM_KEYS:
            token = _special_id(metadata, _DEPRECATED_FIM_KEYS[key], None, n)
        if token is None:
            token = _first_with_text(text_to_id, texts)
            if token is not None:
                by_text.add(token)
        if token is not None:
            found[key] = token
    end_texts = {text_to_id[t] for t in EOG_TEXTS if t in text_to_id}
    return found, by_text | end_texts


def _end_of_generation(special: dict[str, int], text_to_id: Mapping[str, int], eos_id: int | None) -> set[int]:
    eog = {special[k] for k in ("fim_pad_token_id", "fim_rep_token_id", "fim_sep_token_id") if k in special}
    eog |= {text_to_id[t] for t in EOG_TEXTS if t in text_to_id}
    eog |= {i for i in (eos_id, special.get("eot_token_id"), special.get("eom_token_id")) if i is not None}
    return eog


def _is_harmony(text_to_id: Mapping[str, int], eog: set[int]) -> bool:
    return all(t in text_to_id and text_to_id[t] in eog for t in ("<|return|>", "<|call|>", "<|end|>"))
