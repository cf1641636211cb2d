"""A Hugging Face fast tokenizer (tokenizer.json) as the vocabulary the grammar engine reads.

The grammar engine needs, per token id, the bytes the token adds to the text, which ids are
control tokens (never text) and which end the generation. tokenizer.json does not store bytes:
it stores token strings plus a decoder that says how strings become text. Three spellings are
read here, told apart by that decoder (or, lacking one, the pre-tokenizer):

- byte-level BPE (GPT-2, Llama 3, Qwen, SmolLM): every byte is one printable character of
  GPT-2's table;
- sentencepiece-style (Llama 2, Mistral, T5): a space is written U+2581 ("\u2581", or the
  decoder's own replacement character) and, with byte fallback, a raw byte is a "<0xAB>" token;
- literal pieces whose decoder only fuses byte-fallback tokens.

Added tokens that are not special are text, spelled as written. Special added tokens, the
model's unknown token and ids no token uses are control tokens. Tokens keep the space a
sentencepiece decoder would strip at the very start of a decoded text: the grammar sees the
generated text as the continuation it is, not as a text of its own.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from typing import Any

from constrain.errors import TokenizerError
from constrain.grammars.vocabulary import TokenVocabulary
from constrain.runtime.tokenizer.pieces import SPM_SPACE, byte_level_to_bytes

INSTALL_HINT = "pip install 'constrain[transformers]'"


class UnsupportedTokenizerError(TokenizerError):
    """A tokenizer whose vocabulary cannot be read as bytes: a slow (Python) tokenizer, a
    WordPiece vocabulary, a decoder that does not say how tokens spell text, a malformed
    tokenizer.json, or no end-of-sequence token."""


_BYTE_TOKEN = re.compile(r"<0x([0-9A-Fa-f]{2})>")


def vocabulary_from_hf(tokenizer, *, eos_token_id: int | Iterable[int] | None = None) -> TokenVocabulary:
    """The TokenVocabulary of `tokenizer`: a transformers PreTrainedTokenizerFast, a
    `tokenizers.Tokenizer`, or the path of a tokenizer.json file (or of the folder holding it).

    `eos_token_id` (one id or several) names the tokens that end a generation; by default the
    tokenizer's own `eos_token_id`. A `tokenizers.Tokenizer` or a file does not know its end of
    sequence, so they need it."""
    spec, hf_eos, where = _read_spec(tokenizer)
    eos_ids = _eos_ids(eos_token_id if eos_token_id is not None else hf_eos, where)
    return _vocabulary_of_spec(spec, eos_ids, where)


def _read_spec(tokenizer) -> tuple[dict, Any, str]:
    """(tokenizer.json as a dict, the tokenizer's own eos id or None, a name for errors)."""
    if isinstance(tokenizer, (str, os.PathLike)):
        path = os.fspath(tokenizer)
        if os.path.isdir(path):
            path = os.path.join(path, "tokenizer.json")
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise UnsupportedTokenizerError(f"cannot read tokenizer file {path!r}: {exc.strerror}") from None
        return _parse_json(text, path), None, path
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:  # transformers' fast tokenizers wrap a tokenizers.Tokenizer
        where = type(tokenizer).__name__
        return _parse_json(_serialized(backend, where), where), getattr(tokenizer, "eos_token_id", None), where
    if callable(getattr(tokenizer, "to_str", None)) and callable(getattr(tokenizer, "get_vocab", None)):
        where = type(tokenizer).__name__
        return _parse_json(_serialized(tokenizer, where), where), None, where
    if hasattr(tokenizer, "convert_ids_to_tokens"):
        raise UnsupportedTokenizerError(
            f"{type(tokenizer).__name__} is a slow (Python) tokenizer, whose vocabulary has no tokenizer.json "
            "spelling to read: load the fast one (AutoTokenizer.from_pretrained(..., use_fast=True))")
    raise UnsupportedTokenizerError(
        f"expected a transformers fast tokenizer, a tokenizers.Tokenizer or a tokenizer.json path, "
        f"got {type(tokenizer).__name__}")


def _serialized(backend, where: str) -> str:
    try:
        return backend.to_str()
    except Exception as exc:  # noqa: BLE001 - a foreign object's failure, reported as ours
        raise UnsupportedTokenizerError(f"cannot serialize the {where} tokenizer to tokenizer.json: {exc}") from None


def _parse_json(text: str, where: str) -> dict:
    try:
        spec = json.loads(text)
    except ValueError as exc:
        raise UnsupportedTokenizerError(f"{where} is not tokenizer.json (JSON error: {exc})") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("model"), dict):
        raise UnsupportedTokenizerError(f"{where} is not tokenizer.json: it has no \"model\" object")
    return spec


def _eos_ids(value, where: str) -> frozenset[int]:
    if value is None:
        raise UnsupportedTokenizerError(
            f"{where} names no end-of-sequence token: pass eos_token_id= (an id or a list of ids, "
            "e.g. model.generation_config.eos_token_id)")
    values = [value] if isinstance(value, int) else list(value)
    if not values or any(isinstance(v, bool) or not isinstance(v, int) for v in values):
        raise UnsupportedTokenizerError(f"eos_token_id must be an int or a non-empty list of ints, got {value!r}")
    return frozenset(values)


def _flatten(component: dict | None, children: str) -> list[dict]:
    """The steps of a decoder / pre-tokenizer, with Sequence nesting opened."""
    if not component:
        return []
    if component.get("type") == "Sequence":
        return [step for child in component.get(children) or [] for step in _flatten(child, children)]
    return [component]


def _spelling(spec: dict, where: str) -> tuple[str, str]:
    """("byte_level" | "metaspace" | "literal", the space replacement character for metaspace)."""
    model_type = spec["model"].get("type")
    decoders = _flatten(spec.get("decoder"), "decoders")
    kinds = [d.get("type") for d in decoders]
    if model_type == "WordPiece" or "WordPiece" in kinds:
        raise UnsupportedTokenizerError(
            f"{where} is a WordPiece vocabulary (BERT-style '##' continuation pieces): it encodes text for "
            "classification models and does not spell generated text; use a generative model's tokenizer")
    if model_type not in ("BPE", "Unigram", "WordLevel"):
        raise UnsupportedTokenizerError(f"{where} has a {model_type!r} model; BPE, Unigram and WordLevel are read")
    if "ByteLevel" in kinds:
        return "byte_level", ""
    for d in decoders:
        if d.get("type") == "Metaspace":
            return "metaspace", d.get("replacement") or SPM_SPACE
        pattern = d.get("pattern") or {}
        if d.get("type") == "Replace" and d.get("content") == " " and isinstance(pattern.get("String"), str):
            return "metaspace", pattern["String"]
    if decoders and set(kinds) <= {"ByteFallback", "Fuse"}:
        return "literal", ""
    if not decoders:
        pre = [p.get("type") for p in _flatten(spec.get("pre_tokenizer"), "pretokenizers")]
        if "ByteLevel" in pre:
            return "byte_level", ""
        for p in _flatten(spec.get("pre_tokenizer"), "pretokenizers"):
            if p.get("type") == "Metaspace":
                return "metaspace", p.get("replacement") or SPM_SPACE
    raise UnsupportedTokenizerError(
        f"{where}: cannot tell how its tokens spell text (decoder steps {kinds or 'none'}); byte-level "
        "(ByteLevel) and sentencepiece-style (Metaspace, or Replace of a space marker) vocabularies are read")


def _model_tokens(model: dict, where: str) -> dict[int, str]:
    vocab = model.get("vocab")
    if isinstance(vocab, dict):
        if not all(isinstance(t, str) and isinstance(i, int) and i >= 0 for t, i in vocab.items()):
            raise UnsupportedTokenizerError(f"{where}: model.vocab must map token strings to non-negative ids")
        return {i: t for t, i in vocab.items()}
    if isinstance(vocab, list):  # Unigram: [piece, score] per id
        try:
            return {i: str(entry[0]) for i, entry in enumerate(vocab)}
        except (TypeError, IndexError):
            raise UnsupportedTokenizerError(f"{where}: model.vocab entries must be [piece, score] pairs") from None
    raise UnsupportedTokenizerError(f"{where}: model.vocab is missing")


def _unknown_id(model: dict, tokens: dict[int, str]) -> int | None:
    if isinstance(model.get("unk_id"), int):
        return model["unk_id"]
    unk = model.get("unk_token")
    if isinstance(unk, str):
        return next((i for i, t in tokens.items() if t == unk), None)
    return None


def _vocabulary_of_spec(spec: dict, eos_ids: frozenset[int], where: str) -> TokenVocabulary:
    model = spec["model"]
    spelling, space = _spelling(spec, where)
    tokens = _model_tokens(model, where)
    added = spec.get("added_tokens") or []
    try:
        added_ids = {int(a["id"]): (str(a["content"]), bool(a.get("special"))) for a in added}
    except (KeyError, TypeError, ValueError):
        raise UnsupportedTokenizerError(f"{where}: added_tokens entries need an id and a content") from None
    n_vocab = max(list(tokens) + list(added_ids)) + 1 if tokens or added_ids else 0
    if n_vocab == 0:
        raise UnsupportedTokenizerError(f"{where} has an empty vocabulary")
    bad_eos = sorted(e for e in eos_ids if not 0 <= e < n_vocab)
    if bad_eos:
        raise UnsupportedTokenizerError(f"eos_token_id {bad_eos} is outside {where}'s vocabulary (0..{n_vocab - 1})")

    token_bytes = [b""] * n_vocab
    ids = list(tokens)
    if spelling == "byte_level":
        spelled = [byte_level_to_bytes(tokens[i]) for i in ids]
    else:
        byte_fallback = bool(model.get("byte_fallback")) or any(
            d.get("type") == "ByteFallback" for d in _flatten(spec.get("decoder"), "decoders"))
        spelled = [_piece_bytes(tokens[i], space, byte_fallback) for i in ids]
    for i, data in zip(ids, spelled):
        token_bytes[i] = data

    control = set(range(n_vocab)) - set(tokens) - set(added_ids)  # ids no token uses
    for i, (content, special) in added_ids.items():
        token_bytes[i] = content.encode("utf-8")
        if special:
            control.add(i)
    unknown = _unknown_id(model, tokens)
    if unknown is not None:
        control.add(unknown)
    control |= {i for i, data in enumerate(token_bytes) if not data}
    control |= eos_ids
    return TokenVocabulary(tuple(token_bytes), frozenset(control), eos_ids)


def _piece_bytes(piece: str, space: str, byte_fallback: bool) -> bytes:
    if byte_fallback and len(piece) == 6:
        match = _BYTE_TOKEN.fullmatch(piece)
        if match:
            return bytes([int(match.group(1), 16)])
    return (piece.replace(space, " ") if space else piece).encode("utf-8")


__all__ = ["INSTALL_HINT", "UnsupportedTokenizerError", "vocabulary_from_hf"]
