"""The contracts between constrain's parts, as typing.Protocols.

Generation (constrain/generation/) drives any object shaped like `Model`: constrain's Llama, a
`SequenceView` on one of its KV slots, or a test double. The grammar engine builds a matcher
from any `VocabularySource` (the runtime's tokenizer) or a ready TokenVocabulary (what
constrain/integrations/hf_vocabulary.py reads from a Hugging Face tokenizer), and generation
drives any `Matcher`. The samplers chain `LogitsProcessor`s and end in one `Sampler`. A part may
offer more than its contract (GrammarMatcher also rolls back and gives packed masks); what
another part relies on is written here.

The protocols marked runtime_checkable name optional abilities that generation and the samplers
test for with isinstance (a model that keeps its own `input_ids`, a processor that resets): the
test checks that the members exist, not their signatures, which is what mypy is for.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class VocabularySource(Protocol):
    """What the grammar engine reads from a tokenizer: every token's bytes, and which ids are
    control tokens (never grammar text) and end-of-generation tokens (allowed where the grammar
    accepts)."""

    def vocab_bytes(self) -> Sequence[bytes]: ...

    @property
    def control_ids(self) -> Collection[int]: ...

    @property
    def eog_ids(self) -> Collection[int]: ...


@runtime_checkable
class TextEncoder(Protocol):
    """A tokenizer that encodes text: `encode(text, add_bos=False)`, or `encode(text)` for one
    without that keyword (samplers/token_text.py tries both)."""

    def encode(self, text: str, add_bos: bool = ...) -> Sequence[int]: ...


@runtime_checkable
class HasEosId(Protocol):
    """A tokenizer that names its end-of-sequence token (None when the vocabulary has none)."""

    @property
    def eos_id(self) -> int | None: ...


class ModelTokenizer(VocabularySource, Protocol):
    """The tokenizer a model carries (`llm.tokenizer`): a vocabulary source that also encodes,
    decodes and spells single tokens."""

    @property
    def n_vocab(self) -> int: ...

    @property
    def eos_id(self) -> int | None: ...

    def token_bytes(self, token_id: int) -> bytes: ...

    def encode(self, text: str | bytes, add_bos: bool = ..., special: bool = ...) -> list[int]: ...

    def decode(self, ids: Iterable[int]) -> bytes: ...


@runtime_checkable
class Tokenizing(Protocol):
    """Something that tokenizes text as a model does (llama-cpp-python's `tokenize`)."""

    def tokenize(self, text: str | bytes, add_bos: bool = ..., special: bool = ...) -> list[int]: ...


@runtime_checkable
class HasTokenEos(Protocol):
    """Something that names its end-of-sequence token as a model does (`token_eos()`)."""

    def token_eos(self) -> int | None: ...


@runtime_checkable
class HasEogIds(Protocol):
    """A tokenizer that lists its end-of-generation tokens (EOS, end-of-turn, ...)."""

    @property
    def eog_ids(self) -> Collection[int]: ...


@runtime_checkable
class CarriesTokenizer(Protocol):
    """A model that carries its tokenizer."""

    @property
    def tokenizer(self) -> Any: ...


class Model(Tokenizing, HasTokenEos, Protocol):
    """The model generation drives: a context of token ids, extended by `eval`, whose last
    position's logits are `logits` (every evaluated position's with eval(..., logits_all=True),
    in `all_logits`)."""

    @property
    def tokenizer(self) -> ModelTokenizer: ...

    @property
    def metadata(self) -> dict[str, Any]: ...

    @property
    def model_name(self) -> str: ...

    @property
    def logits(self) -> np.ndarray: ...

    @property
    def all_logits(self) -> np.ndarray | None: ...

    @property
    def n_tokens(self) -> int:
        """Tokens in the context."""
        ...

    def detokenize(self, ids: Iterable[int]) -> bytes: ...

    def eval(self, ids: Sequence[int], logits_all: bool = ...) -> None: ...

    def rewind(self, n_keep: int) -> None:
        """Keep the first `n_keep` tokens of the context."""
        ...

    def reset(self) -> None: ...

    def n_ctx(self) -> int: ...

    def n_vocab(self) -> int: ...

    def token_bos(self) -> int | None: ...


@runtime_checkable
class TracksContext(Protocol):
    """A model that knows the token ids its context holds (prefix reuse trusts them)."""

    @property
    def input_ids(self) -> Sequence[int]: ...

    @property
    def n_tokens(self) -> int: ...


@runtime_checkable
class RestoresContext(Protocol):
    """A model that snapshots its context and puts it back exactly, replaying only the eval calls
    that differ; `context_version` changes whenever the context does."""

    @property
    def context_version(self) -> int: ...

    def context_state(self) -> Any: ...

    def restore_context(self, state: Any) -> None: ...


@runtime_checkable
class Matcher(Protocol):
    """A grammar's state during one generation, token by token."""

    def mask(self) -> np.ndarray:
        """bool array of shape (n_vocab,): True where the token may come next."""
        ...

    def advance(self, token_id: int) -> None:
        """Accept one token (an error if the grammar forbids it)."""
        ...

    def is_accepting(self) -> bool:
        """The text so far is a complete sentence: end-of-generation may come next."""
        ...

    def is_finished(self) -> bool:
        """Nothing but end-of-generation can follow."""
        ...

    def reset(self) -> None: ...


@runtime_checkable
class GrammarSource(Protocol):
    """A compiled grammar: a fresh matcher per generation, for a model's tokenizer."""

    def matcher(self, tokenizer: Any) -> Matcher: ...


class LogitsProcessor(Protocol):
    """processor(ids, logits) -> logits: `ids` are the tokens so far; -inf removes a token."""

    def __call__(self, ids: np.ndarray, logits: np.ndarray, /) -> np.ndarray: ...


class Sampler(Protocol):
    """sampler(logits) -> token id, from the final logits (-inf: never drawn)."""

    def __call__(self, logits: np.ndarray, /) -> int: ...


@runtime_checkable
class Resettable(Protocol):
    """A sampler or processor with state of its own (a seed, mirostat's mu), reset before each
    generation."""

    def reset(self) -> None: ...
