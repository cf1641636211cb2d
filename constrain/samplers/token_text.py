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
    """End-of-generation token ids of a model or tokenizer: its eog_ids and its EOS (at least one)."""
    ids = known_end_of_generation_ids(tokenizer)
    if not ids:
        raise SamplingError(f"{type(tokenizer).__name__} exposes no eog_ids / eos_id")
    return ids


def known_end_of_generation_ids(tokenizer) -> list[int]:
    """The eog_ids and the EOS of a model or tokenizer, as far as it names any (may be [])."""
    source = tokenizer.tokenizer if isinstance(tokenizer, CarriesTokenizer) else tokenizer
    ids: set[int] = set()
    if isinstance(source, HasEogIds) and source.eog_ids is not None:
        ids.update(int(i) for i in source.eog_ids)
    eos = tokenizer.token_eos() if isinstance(tokenizer, HasTokenEos) else None  # a model's own word first
    if eos is None and isinstance(source, HasEosId):
        eos = source.eos_id
    if eos is not None:
        ids.add(int(eos))
    return sorted(i for i in ids if i >= 0)  # a negative id stands for "none"
