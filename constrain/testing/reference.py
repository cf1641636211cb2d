"""A slow, obviously correct mask to check the fast one against.

Token by token, with no trie, no kernel and no memoized walk: a token is allowed iff feeding
its bytes one at a time to the exact engine leaves at least one hypothesis alive;
end-of-generation iff the text so far is complete; control tokens never.
"""

from __future__ import annotations

import numpy as np

from constrain.grammars.engine import DEAD
from constrain.grammars.matcher import GrammarMatcher


def reference_mask(matcher: GrammarMatcher) -> np.ndarray:
    engine, vocab = matcher.engine, matcher.vocab
    allowed = np.zeros(vocab.n_vocab, dtype=bool)
    state = matcher.state
    if state < 0:  # generation already ended
        return allowed
    accepting = engine.is_accepting(state)
    for token_id, data in enumerate(vocab.token_bytes):
        if token_id in vocab.eos_ids:
            allowed[token_id] = accepting
        elif token_id in vocab.forbidden or not data:
            continue
        else:
            hid = state
            for byte in data:
                hid = engine.step(hid, byte)
                if hid == DEAD:
                    break
            allowed[token_id] = hid != DEAD
    return allowed


def mask_differences(matcher: GrammarMatcher) -> list[str]:
    """Human-readable differences between matcher.mask() and the reference (empty if equal)."""
    fast, slow = matcher.mask(), reference_mask(matcher)
    out = []
    for token_id in np.flatnonzero(fast != slow)[:20]:
        data = matcher.vocab.token_bytes[token_id]
        which = "fast allows, reference forbids" if fast[token_id] else "reference allows, fast forbids"
        out.append(f"token {token_id} {data!r}: {which}")
    return out


def assert_masks_agree(matcher: GrammarMatcher) -> None:
    diffs = mask_differences(matcher)
    if diffs:
        raise AssertionError("fast mask differs from the reference mask:\n" + "\n".join(diffs))
