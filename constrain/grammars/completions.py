"""The shortest text that completes a sentence from a recognizer state.

Breadth-first over bytes on the engine's own `step`, so it holds for every engine (lark, JSON
Schema, regex) and for every state a generation can reach, with no second model of the grammar
to keep in step with the first. Engines memoize their steps, so a search repeated from nearby
states is mostly dictionary lookups; completions found earlier cut later searches short (a state
with a known completion counts as reached at its distance plus that length, and the search
settles a few levels after the first such state). Deep nests defeat a breadth-first search (a
few hundred open brackets): there a best-first search that prefers states with less left open
(`Recognizer.nesting`) finds a way out. Those shortcuts make the result an achievable
completion that is shortest or close to it: what budget-aware endings need is a way to finish
that is certain, and short enough not to end a generation much earlier than necessary.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict

from constrain.grammars.engine_memos import engine_memo
from constrain.grammars.recognizer import DEAD, Recognizer

SEARCH_STEPS = 20_000  # byte steps one breadth-first search may take before it gives up
CLOSING_STEPS = 100_000  # byte steps the closing-first search may take before it gives up (None)
CLOSING_WEIGHT = 4  # bytes one level of nesting is worth to the closing-first search
REMEMBERED = 8192  # completions kept per engine
SETTLE = 3  # levels searched past the first state with a known completion, for a shorter one
ASCII_FIRST = (9, 10, *range(32, 127))  # most completions need no other byte; tried first
OTHER_BYTES = tuple(b for b in range(256) if b not in ASCII_FIRST)
# The depth-first fallback tries bytes that close things first and bytes that open things last
CLOSERS_FIRST = tuple(b'"]}),:;.') + tuple(range(48, 58)) + tuple(range(97, 123))
CLOSERS_FIRST += tuple(b for b in ASCII_FIRST if b not in CLOSERS_FIRST and b not in b'{[(') + tuple(b'([{')
DEPTH_FIRST_STEPS = 200_000  # byte steps the depth-first fallback may take before it gives up


class ShortestCompletions:
    """`of(state)`: the shortest (or nearly shortest) bytes after which the text is a complete
    sentence; None if the search gave up or no sentence continues the text."""

    def __init__(self, engine: Recognizer, search_steps: int = SEARCH_STEPS,
                 closing_steps: int = CLOSING_STEPS, remembered: int = REMEMBERED):
        # steps, not states, bound the work: every step a search takes may add a state to the
        # engine's own memo
        self.engine = engine
        self.search_steps = search_steps
        self.closing_steps = closing_steps
        self.remembered = remembered
        self._known: OrderedDict[int, bytes | None] = OrderedDict()

    def of(self, state: int) -> bytes | None:
        if state in self._known:
            self._known.move_to_end(state)
            return self._known[state]
        found = self._search(state, ASCII_FIRST)
        if found is None:
            found = self._closing_first(state)
        if found is None:
            found = self._depth_first(state)
        self._remember(state, found)
        if found:  # every state on the way has the rest of the way as its completion
            for i, nxt in enumerate(self._path(state, found)):
                if nxt not in self._known:
                    self._remember(nxt, found[i + 1:])
        return found

    def _remember(self, state: int, completion: bytes | None) -> None:
        self._known[state] = completion
        if len(self._known) > self.remembered:
            self._known.popitem(last=False)

    def _path(self, state: int, data: bytes) -> list[int]:
        out = []
        for byte in data:
            state = self.engine.step(state, byte)
            out.append(state)
        return out

    def _search(self, start: int, alphabet: tuple[int, ...]) -> bytes | None:
        engine = self.engine
        if start == DEAD:
            return None
        if engine.is_accepting(start):
            return b""
        parent: dict[int, tuple[int, int] | None] = {start: None}
        level = [start]
        best: tuple[int, int, bytes] | None = None  # (length, state, known tail)
        best_depth = 0
        depth = 0
        while level and (best is None or (depth + 1 < best[0] and depth < best_depth + SETTLE)):
            depth += 1
            following = []
            for state in level:
                for nxt in self._unseen_successors(state, alphabet, parent):
                    if engine.is_accepting(nxt):
                        return self._spell(parent, nxt)
                    tail = self._known.get(nxt)
                    if tail is not None and (best is None or depth + len(tail) < best[0]):
                        best, best_depth = (depth + len(tail), nxt, tail), depth
                    following.append(nxt)
                if len(parent) * len(alphabet) > self.search_steps:
                    return self._spell(parent, best[1]) + best[2] if best is not None else None
            level = following
        return self._spell(parent, best[1]) + best[2] if best is not None else None

    def _closing_first(self, start: int) -> bytes | None:
        """Best-first by distance plus CLOSING_WEIGHT x nesting: for deep nests, where the
        breadth-first search drowns; the result is a way to finish, not always the shortest."""
        engine = self.engine
        if start == DEAD:
            return None
        parent: dict[int, tuple[int, int] | None] = {start: None}
        heap = [(CLOSING_WEIGHT * engine.nesting(start), 0, start)]
        expanded = 0
        while heap and expanded * 256 < self.closing_steps:
            _, depth, state = heapq.heappop(heap)
            expanded += 1
            for nxt in self._unseen_successors(state, ASCII_FIRST + OTHER_BYTES, parent):
                if engine.is_accepting(nxt):
                    return self._spell(parent, nxt)
                tail = self._known.get(nxt)
                if tail is not None:
                    return self._spell(parent, nxt) + tail
                heapq.heappush(heap, (depth + 1 + CLOSING_WEIGHT * engine.nesting(nxt), depth + 1, nxt))
        return None

    def _depth_first(self, start: int) -> bytes | None:
        """Depth-first, closing bytes first: for states whose every spelling is a state of its
        own (the items of a uniqueItems array remember their text), where both searches above
        drown in free text. Finds a way to finish, typically by closing what is open at once."""
        engine = self.engine
        if start == DEAD:
            return None
        seen = {start}
        path = bytearray()
        stack = [(start, iter(CLOSERS_FIRST))]
        steps = 0
        while stack and steps < DEPTH_FIRST_STEPS:
            state, choices = stack[-1]
            for byte in choices:
                steps += 1
                nxt = engine.step(state, byte)
                if nxt == DEAD or nxt in seen:
                    continue
                seen.add(nxt)
                path.append(byte)
                if engine.is_accepting(nxt):
                    return bytes(path)
                tail = self._known.get(nxt)
                if tail is not None:
                    return bytes(path) + tail
                stack.append((nxt, iter(CLOSERS_FIRST)))
                break
            else:
                stack.pop()
                if path:
                    path.pop()
        return None

    def _unseen_successors(self, state: int, alphabet: tuple[int, ...], parent: dict):
        """States one byte after `state` that the search has not reached yet (recorded in `parent`)."""
        for byte in alphabet:
            nxt = self.engine.step(state, byte)
            if nxt != DEAD and nxt not in parent:
                parent[nxt] = (state, byte)
                yield nxt

    @staticmethod
    def _spell(parent: dict, state: int) -> bytes:
        out = bytearray()
        while parent[state] is not None:
            state, byte = parent[state]
            out.append(byte)
        return bytes(reversed(out))


def shortest_completions(engine: Recognizer) -> ShortestCompletions:
    """The engine's one ShortestCompletions (its memo lives and dies with the engine)."""
    return engine_memo(engine, ShortestCompletions)
