"""Put a prompt into the model's context, reusing the KV cache of a shared prefix.

A model that keeps `input_ids` (constrain's Llama) says what its context holds. For one that
has only `n_tokens` and `rewind(n)`, the ids this package evaluated are remembered per model
object; if anything else evaluated tokens meanwhile (the count no longer matches), nothing is
reused.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from constrain.errors import ContextOverflowError, SamplingError
from constrain.protocols import Model, RestoresContext, TracksContext

_evaluated: weakref.WeakKeyDictionary[object, list[int]] = weakref.WeakKeyDictionary()


def known_context(llm: Model) -> list[int]:
    """The token ids in llm's context as far as this package knows them (may be [])."""
    if isinstance(llm, TracksContext):  # a model that tracks its own context knows best
        own = llm.input_ids
        return list(own) if len(own) == llm.n_tokens else []
    try:
        ids = _evaluated.get(llm)
    except TypeError:  # not weak-referenceable: no reuse
        return []
    if ids is None or len(ids) != llm.n_tokens:
        return []
    return ids


def _remember(llm: Model, ids: list[int]) -> None:
    try:
        _evaluated[llm] = ids
    except TypeError:
        pass


def common_prefix_length(a, b) -> int:
    n = min(len(a), len(b))
    if n == 0:
        return 0
    diff = np.flatnonzero(np.asarray(a[:n]) != np.asarray(b[:n]))
    return int(diff[0]) if diff.size else n


def check_fits(llm: Model, n_prompt: int) -> None:
    n_ctx = llm.n_ctx()
    if n_prompt == 0:
        raise SamplingError("the prompt is empty: at least one token is needed to predict the next")
    if n_prompt >= n_ctx:
        raise ContextOverflowError(
            f"the prompt has {n_prompt} tokens but the context window holds {n_ctx}: "
            f"shorten the prompt or load the model with a larger n_ctx"
        )


def evaluate_prompt(llm: Model, prompt_ids: list[int], logits_all: bool = False) -> None:
    """Make llm's context exactly `prompt_ids`; afterwards llm.logits predicts the next token.

    Only the part after the longest prefix shared with the current context is evaluated,
    in one batch (at least the last token, whose logits are needed). With `logits_all` the
    whole prompt is evaluated so that every position's logits are available.
    """
    check_fits(llm, len(prompt_ids))
    previous = known_context(llm)
    keep = 0 if logits_all else min(common_prefix_length(previous, prompt_ids), len(prompt_ids) - 1)
    if keep == 0:
        llm.reset()
    elif keep < llm.n_tokens:
        llm.rewind(keep)
    llm.eval(list(prompt_ids[keep:]), logits_all=logits_all)
    _remember(llm, list(prompt_ids))


def evaluate_more(llm: Model, ids: list[int], logits_all: bool = False) -> None:
    """Append ids to the context (after evaluate_prompt), keeping the record in step."""
    known = known_context(llm)
    llm.eval(list(ids), logits_all=logits_all)
    _remember(llm, known + list(ids) if len(known) + len(ids) == llm.n_tokens else [])


def rewind_to(llm: Model, n: int) -> None:
    known = known_context(llm)
    llm.rewind(n)
    _remember(llm, known[:n] if len(known) >= n else [])


class OwnedContext:
    """The context one generation built, put back if something else used the model meanwhile.

    A stream yields between tokens; another call (or stream) on the same model may run then
    and change the KV cache. Before the generation evaluates again it calls `ensure()`: a
    model with `context_state()`/`restore_context()` (constrain's Llama) replays exactly the
    eval calls that differ; any other model re-evaluates the missing ids.
    """

    def __init__(self, llm: Model):
        self.llm = llm
        self.exact: RestoresContext | None = llm if isinstance(llm, RestoresContext) else None
        self.state: Any = None
        self.version: int | None = None
        self.ids: list[int] = []

    def record(self) -> None:
        """Remember the context as it is now (right after this generation's own eval)."""
        if self.exact is not None:
            self.state = self.exact.context_state()
            self.version = self.exact.context_version
        else:
            self.ids = list(known_context(self.llm))

    def ensure(self) -> None:
        """Make the model's context the recorded one again, if anything changed it."""
        if self.exact is not None:
            if self.exact.context_version != self.version:
                self.exact.restore_context(self.state)
                self.version = self.exact.context_version
        elif self.ids and known_context(self.llm) != self.ids:
            evaluate_prompt(self.llm, self.ids)
