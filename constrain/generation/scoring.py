"""Score continuations of a prompt: log-probabilities from one batched eval each."""

from __future__ import annotations

import numpy as np

from constrain.errors import ContextOverflowError, SamplingError
from constrain.generation.completion import tokenize_prompt, utf8
from constrain.generation.context import evaluate_more, evaluate_prompt, rewind_to
from constrain.generation.logprobs import log_softmax
from constrain.protocols import Model


def _continuation_ids(llm: Model, continuation) -> list[int]:
    if isinstance(continuation, str):
        ids = list(llm.tokenize(utf8(continuation, "continuation"), add_bos=False, special=False))
    else:
        ids = [int(t) for t in continuation]
    if not ids:
        raise SamplingError(f"continuation {continuation!r} has no tokens to score")
    return ids


def score(llm: Model, prompt, continuations) -> list[float]:
    """Natural-log probability of each whole continuation given the prompt.

    The prompt is evaluated once (reusing any cached prefix); each continuation is then
    evaluated in one batch with all-position logits and rewound, so the prompt's KV cache
    serves every continuation. Continuations are tokenized on their own (no BOS).
    """
    if isinstance(continuations, (str, bytes)):
        raise SamplingError("continuations must be a list of strings (or token id lists), not a single string")
    prompt_ids, _ = tokenize_prompt(llm, prompt)
    cont_ids = [_continuation_ids(llm, c) for c in continuations]
    n_ctx = llm.n_ctx()
    for c, ids in zip(continuations, cont_ids):
        if len(prompt_ids) + len(ids) - 1 > n_ctx:
            raise ContextOverflowError(
                f"prompt ({len(prompt_ids)} tokens) + continuation {c!r} ({len(ids)} tokens) "
                f"do not fit the context window of {n_ctx}"
            )
    evaluate_prompt(llm, prompt_ids)
    first = log_softmax(llm.logits)  # predicts every continuation's first token
    n_prompt = len(prompt_ids)
    scores = []
    for ids in cont_ids:
        total = float(first[ids[0]])
        if len(ids) > 1:
            evaluate_more(llm, ids[:-1], logits_all=True)
            rows = np.asarray(llm.all_logits, dtype=np.float32)
            for row, token in zip(rows, ids[1:]):
                total += float(log_softmax(row)[token])
            rewind_to(llm, n_prompt)
        scores.append(total)
    return scores


def classify(llm: Model, prompt, labels) -> dict[str, float]:
    """Probability of each label as the continuation of prompt, normalized over the labels."""
    labels = list(labels)
    if not labels:
        raise SamplingError("classify needs at least one label")
    if len(set(labels)) != len(labels):
        raise SamplingError(f"labels must be distinct, got {labels}")
    logp = np.array(score(llm, prompt, labels), dtype=np.float64)
    p = np.exp(logp - logp.max())
    p /= p.sum()
    return {label: float(v) for label, v in zip(labels, p)}
