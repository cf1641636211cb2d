"""Exact byte-level recognition of a compiled lark grammar: sets of hypotheses.

A hypothesis is (LALR stack, lexer state, shadow). A set of them is the whole truth about a
prefix: the prefix is valid iff the set is not empty. Stepping a byte tries, for every
hypothesis, both "the current token goes on" and "the current token ends here (if lark would
end it here) and this byte starts the next one". Sets are interned to ints and every step is
memoized, so recurring states cost one dict lookup.
"""

from __future__ import annotations

from collections.abc import Callable

from constrain.grammars.lark_frontend import ParsedGrammar
from constrain.grammars.lexer_states import VIOLATION, LexerAutomaton
from constrain.grammars.lexer_tables import LexerTables
from constrain.grammars.recognizer import DEAD, step_through  # DEAD: the empty hypothesis set


class GrammarEngine:
    def __init__(self, grammar: ParsedGrammar):
        self.grammar = grammar
        self.lexer = LexerAutomaton(grammar)
        self.actions = grammar.actions
        self._feed: dict = {}
        self._context_starts: dict[int, int] = {}
        self._accepts_end: dict = {}
        self._viable: dict = {}
        self._sets: list[tuple] = [()]
        self._set_ids: dict[tuple, int] = {(): DEAD}
        self._step: dict[tuple[int, int], int] = {}
        self._accepting: dict[int, bool] = {}
        self.mask_builders: dict = {}  # per vocabulary fingerprint, filled by Grammar.matcher
        self.after_first_mask: Callable[[], None] | None = None  # run once the first mask is built
        self._tables = None
        stack = (grammar.start_state,)
        self.start = self.intern({(stack, self.context_start(stack), 0)})

    def lexer_tables(self):
        """The lexer as dense arrays for the mask kernel: built once, shared by all vocabularies."""
        if self._tables is None:
            self._tables = LexerTables(self)
        return self._tables

    # -- parser ----------------------------------------------------------------------------
    def context_start(self, stack: tuple) -> int:
        top = stack[-1]
        lex = self._context_starts.get(top)
        if lex is None:
            lex = self._context_starts[top] = self.lexer.context_start(self.grammar.contexts[top])
        return lex

    def feed(self, stack: tuple, symbol: str):
        """The stack after lark's parser takes terminal `symbol`, or None on a parse error."""
        key = (stack, symbol)
        if key in self._feed:
            return self._feed[key]
        result = self._run_parser(stack, symbol)
        self._feed[key] = result
        return result

    def accepts_end(self, stack: tuple) -> bool:
        if stack not in self._accepts_end:
            self._accepts_end[stack] = self._run_parser(stack, "$END") is True
        return self._accepts_end[stack]

    def _run_parser(self, stack: tuple, symbol: str):
        states = list(stack)
        end = symbol == "$END"
        while True:
            action = self.actions[states[-1]].get(symbol)
            if action is None:
                return None
            if action.shifts:
                return None if end else tuple(states + [action.state])
            lhs, size = action
            if size:
                del states[-size:]
            goto = self.actions[states[-1]].get(lhs)
            if goto is None:
                return None
            states.append(goto.state)
            if end and states[-1] == self.grammar.end_state:
                return True

    def viable(self, stack: tuple) -> int:
        """Bitset of terminal ids lark's parser would take now (ignored terminals always)."""
        bits = self._viable.get(stack)
        if bits is None:
            lexer = self.lexer
            bits = 0
            for t in lexer.ignore_ids:
                bits |= 1 << t
            row = self.actions[stack[-1]]
            for name in self.grammar.contexts[stack[-1]]:
                # a shift is taken as it is; only reductions need the parser run
                action = row.get(name)
                if action is not None and (action.shifts or self.feed(stack, name) is not None):
                    bits |= 1 << lexer.tid[name]
            self._viable[stack] = bits
        return bits

    # -- hypothesis sets -------------------------------------------------------------------
    def intern(self, hypotheses) -> int:
        key = tuple(sorted(hypotheses))
        hid = self._set_ids.get(key)
        if hid is None:
            hid = len(self._sets)
            self._set_ids[key] = hid
            self._sets.append(key)
        return hid

    def hypotheses(self, hid: int) -> tuple:
        return self._sets[hid]

    def ending(self, hypothesis):
        """The hypothesis where the current token ends now, or None if lark would not end it."""
        stack, lex, shadow = hypothesis
        token = self.lexer.accept_type[lex]
        if token < 0:
            return None
        if token not in self.lexer.ignore_ids:
            stack = self.feed(stack, self.lexer.names[token])
            if stack is None:
                return None
        return (stack, self.context_start(stack), self.lexer.shadow_after_ending(shadow, lex))

    def consume(self, hypothesis, byte: int):
        """The hypothesis after `byte` extends its current token, or None."""
        stack, lex, shadow = hypothesis
        lexer = self.lexer
        if shadow:
            shadow = int(lexer.shadow_row(shadow)[byte])
            if shadow == VIOLATION:
                return None
        lex = int(lexer.next_row(lex)[byte])
        if lex < 0 or not (lexer.winnable(lex) & self.viable(stack)):
            return None
        return (stack, lex, shadow)

    def step(self, hid: int, byte: int) -> int:
        key = (hid, byte)
        result = self._step.get(key)
        if result is None:
            out = set()
            for hyp in self._sets[hid]:
                for cand in (hyp, self.ending(hyp)):
                    if cand is not None:
                        nxt = self.consume(cand, byte)
                        if nxt is not None:
                            out.add(nxt)
            result = self.intern(out)
            self._step[key] = result
        return result

    def step_bytes(self, hid: int, data: bytes) -> int:
        return step_through(self, hid, data)

    def nesting(self, hid: int) -> int:
        return min((len(stack) for stack, _, _ in self._sets[hid]), default=0)

    def hypothesis_accepts(self, hyp) -> bool:
        stack, lex, _ = hyp
        if self.lexer.is_fresh(lex):
            return self.accepts_end(stack)
        ended = self.ending(hyp)
        return ended is not None and self.accepts_end(ended[0])

    def is_accepting(self, hid: int) -> bool:
        """True if the text so far is a complete sentence (end-of-generation allowed)."""
        result = self._accepting.get(hid)
        if result is None:
            result = any(self.hypothesis_accepts(h) for h in self._sets[hid])
            self._accepting[hid] = result
        return result
