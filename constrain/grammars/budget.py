"""Budget-aware endings: near the end of its token budget, a constrained generation may only
take tokens after which a complete sentence still fits in the tokens left.

For each grammar state, the shortest byte completion (completions.py) spelled in text tokens,
longest match first (`TokenVocabulary.greedy_tokens`), plus end-of-generation where the
completed text could still go on, is a way to finish that the mask always allows: the number of
its tokens is what finishing costs from there (an upper bound of the true minimum, which would
need a search over token spellings). A token fits when that cost from the state after it is at
most the tokens left after it. Once every state on the way satisfied this, one way to finish is
always open, so a generation with room for a sentence at its first step ends with one.

Checking a token costs a grammar step and, for a state not seen before, a search, so far from
the end the cost is looked at only now and then (assuming one token adds at most GROWTH tokens of
cost), and the check runs only within `window` tokens of the cost, and only on the most likely tokens after the
other processors, in order, until those checked hold 99% of the probability (at most
`candidates`); the rest of the tail is dropped there. If none of those fit, the
first token of the state's own way to finish is taken (over the processors' choice: finishing
is the point). Where the search gives up (a state with no completion found), nothing is
restricted.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from constrain.grammars.completions import shortest_completions
from constrain.grammars.recognizer import DEAD

WINDOW = 64  # start checking when the tokens left are within this many of the cost to finish
CANDIDATES = 32  # at most this many of the most likely tokens are checked per step there
COVERED = 0.99  # ... and fewer once the checked ones hold this much of the probability
REMEMBERED = 4096  # ways to finish kept per generation
GROWTH = 4  # tokens of cost one token is assumed to add at most, to space out checks far from the end


class BudgetedEnding:
    """For one generation's matcher (a GrammarMatcher): `restrict(logits, tokens_left)`."""

    def __init__(self, matcher, window: int = WINDOW, candidates: int = CANDIDATES):
        self.matcher = matcher
        self.engine = matcher.engine
        self.vocab = matcher.vocab
        self.window = window
        self.candidates = candidates
        self._completions = shortest_completions(self.engine)
        self._eos = min(self.vocab.eos_ids) if self.vocab.eos_ids else None
        self._plans: OrderedDict[int, tuple[int, ...] | None] = OrderedDict()
        self._check_at: int | None = None  # far from the end: look again once this few tokens are left
        self._failures = 0

    def way_to_finish(self, state: int) -> tuple[int, ...] | None:
        """Tokens that end the sentence from `state` (ending with end-of-generation where the
        text could go on); None where none was found."""
        if state in self._plans:
            self._plans.move_to_end(state)
            return self._plans[state]
        plan = self._plan(state)
        self._plans[state] = plan
        if len(self._plans) > REMEMBERED:
            self._plans.popitem(last=False)
        return plan

    def _plan(self, state: int) -> tuple[int, ...] | None:
        if state == DEAD:
            return None
        if self._finished(state):
            return ()
        text = self._completions.of(state)
        if text is None:
            return None
        tokens = self.vocab.greedy_tokens(text)
        if tokens is None:
            return None
        end = self.engine.step_bytes(state, text) if text else state
        if self._finished(end):
            return tuple(tokens)
        return tuple(tokens) + (self._eos,) if self._eos is not None else None

    def _finished(self, state: int) -> bool:
        return bool(self.engine.is_accepting(state)) and not self.matcher.masks.set_mask(state).any()

    def cost_to_finish(self, state: int) -> int | None:
        plan = self.way_to_finish(state)
        return None if plan is None else len(plan)

    def fits(self, state: int, token: int, tokens_left: int) -> bool:
        """After `token` at `state`, a sentence can still end within `tokens_left - 1` tokens."""
        if token in self.vocab.eos_ids:
            return bool(self.engine.is_accepting(state))
        data = self.vocab.token_bytes[token]
        nxt = self.engine.step_bytes(state, data) if data else DEAD
        cost = self.cost_to_finish(nxt)
        return cost is not None and cost <= tokens_left - 1

    def affords(self, tokens: list[int], tokens_left: int) -> bool:
        """Appending `tokens` (forced text) still leaves a way to finish within `tokens_left`."""
        if self._check_at is not None and tokens_left - len(tokens) > self._check_at:
            return True  # far from the end
        data = b"".join(self.vocab.token_bytes[t] for t in tokens)
        cost = self.cost_to_finish(self.engine.step_bytes(self.matcher.state, data))
        return cost is not None and len(tokens) + cost <= tokens_left

    def restrict(self, logits: np.ndarray, tokens_left: int) -> np.ndarray:
        """The logits with -inf on the tokens that leave no room to finish (near the end only)."""
        if self._check_at is not None and tokens_left > self._check_at:
            return logits
        state = self.matcher.state
        plan = self.way_to_finish(state)
        if plan is None:  # no way found: look again later, less often after each miss
            self._failures += 1
            self._check_at = tokens_left - 2 ** min(self._failures, 6)
            return logits
        self._failures = 0
        slack = tokens_left - len(plan) - self.window
        if slack > 0:
            self._check_at = tokens_left - max(1, slack // (1 + GROWTH))
            return logits
        self._check_at = None
        finite = np.flatnonzero(np.isfinite(logits))
        if finite.size == 0:
            return logits  # nothing to choose from: the sampler reports why
        values = logits[finite].astype(np.float64)
        weights = np.exp(values - values.max())
        weights /= weights.sum()
        order = np.argsort(-values, kind="stable")[: self.candidates]
        keep: list[int] = []
        checked = 0.0
        for i in order.tolist():
            token = int(finite[i])
            if self.fits(state, token, tokens_left):
                keep.append(token)
            checked += weights[i]
            if keep and checked >= COVERED:
                break
        out = np.full_like(logits, -np.inf)
        if keep:
            out[keep] = logits[keep]
        elif plan:
            first = plan[0]
            out[first] = logits[first] if np.isfinite(logits[first]) else 0.0
        else:
            return logits
        return out
