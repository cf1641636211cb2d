"""Turn a string into token ids with whatever tokenizer-like object the caller holds."""

from __future__ import annotations

from collections.abc import Sequence

from constrain.errors import SamplingError
from constrain.protocols import CarriesTokenizer, HasEogIds, HasEosId, HasTokenEos, TextEncoder, Tokenizing


def token_ids_of(tokenizer, text: str) -> list[int]:
    """Ids of `text` without BOS, from a model (`tokenize`) or a tokenizer (`encode`)."""
    ids: Sequence[int]
    if isinstance(tokenizer, Tokenizing):
        ids = tokenizer.tokenize(text.encode("utf-8"), add_bos=False, special=False)
    elif isinstance(tokenizer, TextEncoder):
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
    source = tokenizer.tokenizer if isinstance(tokenizer, CarriesTokenizer) else tokenizer
    if isinstance(source, HasEogIds) and source.eog_ids is not None:
        return sorted(int(i) for i in source.eog_ids)
    eos = source.eos_id if isinstance(source, HasEosId) else None
    if eos is None and isinstance(tokenizer, HasTokenEos):
        eos = tokenizer.token_eos()
    if eos is None:
        raise SamplingError(f"{type(tokenizer).__name__} exposes no eog_ids / eos_id")
    return [int(eos)]
