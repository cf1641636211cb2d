"""Turn a string into token ids with whatever tokenizer-like object the caller holds."""

from __future__ import annotations

from constrain.errors import SamplingError


def token_ids_of(tokenizer, text: str) -> list[int]:
    """Ids of `text` without BOS, from a model (`tokenize`) or a tokenizer (`encode`)."""
    if hasattr(tokenizer, "tokenize"):
        ids = tokenizer.tokenize(text.encode("utf-8"), add_bos=False, special=False)
    elif hasattr(tokenizer, "encode"):
        try:
            ids = tokenizer.encode(text, add_bos=False)
        except TypeError:
            ids = tokenizer.encode(text)
    else:
        raise SamplingError(
            f"cannot tokenize {text!r}: {type(tokenizer).__name__} has neither tokenize() nor encode()"
        )
    return [int(i) for i in ids]


def end_of_generation_ids(tokenizer) -> list[int]:
    """End-of-generation token ids of a model or tokenizer (EOS at least)."""
    source = getattr(tokenizer, "tokenizer", tokenizer)
    eog = getattr(source, "eog_ids", None)
    if eog is not None:
        return sorted(int(i) for i in eog)
    eos = getattr(source, "eos_id", None)
    if eos is None and hasattr(tokenizer, "token_eos"):
        eos = tokenizer.token_eos()
    if eos is None:
        raise SamplingError(f"{type(tokenizer).__name__} exposes no eog_ids / eos_id")
    return [int(eos)]
