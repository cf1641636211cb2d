"""The token loop: mask, process, sample, advance the grammar, evaluate, repeat.

The model and the matcher are driven through their contracts (constrain/protocols.py: Model,
Matcher: `mask() -> bool[n_vocab]`, `advance(token)`, `is_accepting()`, `is_finished()`, `reset()`).
End-of-generation tokens are allowed exactly when the matcher accepts; the loop ends with
"stop" when the matcher is finished (only EOS could follow) or an end-of-generation token is
drawn, and with "length" after max_tokens. With `finish_within_budget` (and a GrammarMatcher),
the last tokens before the budget runs out are narrowed to those after which the sentence can
still be completed in time (constrain/grammars/budget.py). With `fast_forward`, text the grammar
forces after a drawn token (constrain/grammars/forced.py) is appended as tokens without sampling
and evaluated in the same batch as that token. A suspended generation (a stream) owns its
context: if the model was used meanwhile, it is restored before the next evaluation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import numpy as np

from constrain.errors import SamplingError
from constrain.generation.context import OwnedContext, evaluate_more, evaluate_prompt
from constrain.grammars.budget import BudgetedEnding
from constrain.grammars.forced import forced_tokens
from constrain.grammars.matcher import GrammarMatcher
from constrain.protocols import Matcher, Model
from constrain.samplers import Pipeline, token_text


@dataclass
class Generation:
    """Tokens drawn so far and, once the loop is over, why it ended."""

    prompt_ids: list[int]
    tokens: list[int] = field(default_factory=list)
    finish_reason: str | None = None


def max_new_tokens(llm: Model, n_prompt: int, max_tokens: int | None) -> int:
    """llama-cpp-python's rule: None or <= 0 means up to the context end; never past it."""
    room = llm.n_ctx() - n_prompt
    if max_tokens is None or max_tokens <= 0:
        return room
    return min(int(max_tokens), room)


def generate_tokens(llm: Model, prompt_ids: list[int], pipeline: Pipeline, max_tokens: int | None,
                    matcher: Matcher | None = None, on_logits: Callable[[np.ndarray, int], None] | None = None,
                    state: Generation | None = None, finish_within_budget: bool = True,
                    fast_forward: bool = True) -> Generator[int, None, None]:
    """Yield generated token ids; `state.finish_reason` is set when the iterator ends normally.

    `on_logits(raw_logits, token)` sees the model's unprocessed logits of each drawn token
    other than end-of-generation (for logprobs). The last drawn token is not evaluated unless another one follows.
    """
    state = state if state is not None else Generation(list(prompt_ids))
    limit = max_new_tokens(llm, len(prompt_ids), max_tokens)
    owned = OwnedContext(llm)
    evaluate_prompt(llm, prompt_ids)
    owned.record()
    eog = np.array(token_text.known_end_of_generation_ids(llm), dtype=np.int64)
    n_vocab = llm.n_vocab()
    context = np.empty(len(prompt_ids) + max(limit, 0), dtype=np.int64)
    context[:len(prompt_ids)] = prompt_ids
    n = len(prompt_ids)
    pipeline.reset()
    if matcher is not None:
        matcher.reset()
    pending: list[int] = []  # drawn or forced tokens not yet evaluated
    ending = BudgetedEnding(matcher) if finish_within_budget and isinstance(matcher, GrammarMatcher) else None
    # logprobs need the logits of every token, which a batch of forced tokens does not give
    forward = fast_forward and on_logits is None and isinstance(matcher, GrammarMatcher)

    def tokenize(text):
        return llm.tokenize(text, add_bos=False, special=False)

    produced = 0
    while produced < limit:
        if pending:
            owned.ensure()  # another call may have used the model while this one was suspended
            evaluate_more(llm, pending)
            owned.record()
            pending = []
        if matcher is not None and matcher.is_finished():
            state.finish_reason = "stop"
            return
        allowed = None
        if matcher is not None:
            allowed = np.array(matcher.mask(), dtype=np.bool_, copy=True)
            if allowed.shape != (n_vocab,):
                raise SamplingError(f"grammar mask has shape {allowed.shape}, expected ({n_vocab},)")
            allowed[eog] = bool(matcher.is_accepting())
        raw = np.asarray(llm.logits, dtype=np.float32)
        restrict = None
        if ending is not None:
            restrict = functools.partial(ending.restrict, tokens_left=limit - produced)
        token = pipeline(context[:n], raw, allowed, restrict)
        if np.any(eog == token):
            state.finish_reason = "stop"
            return
        if on_logits is not None:
            on_logits(raw, token)
        drawn = [token]
        if matcher is not None:
            matcher.advance(token)
            if forward and not matcher.is_finished():
                forced = forced_tokens(matcher, tokenize)[: limit - produced - 1]
                # the forced text's own spelling may cost more tokens than the way to finish counted
                if forced and (ending is None or ending.affords(forced, limit - produced - 1)):
                    drawn += forced
        for i, token in enumerate(drawn):
            if i and matcher is not None:  # forced tokens: only a matcher forces any
                matcher.advance(token)
            context[n] = token
            n += 1
            produced += 1
            state.tokens.append(token)
            pending.append(token)
            yield token
        if matcher is not None and matcher.is_finished():
            state.finish_reason = "stop"
            return
    state.finish_reason = "length"
