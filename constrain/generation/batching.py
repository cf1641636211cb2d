"""Several sequences decoded together: one pass over the weights advances all of them.

Decoding is memory-bound: a step reads every weight once whatever the number of rows it
multiplies, so B sequences stepping together cost little more than one. Each sequence runs
the ordinary generation code (its own sampler, grammar matcher, stop strings, fast-forward)
in a thread of its own against a `SequenceView`, a model with its own KV cache slot. A view's
`eval` does not run the model: it hands its tokens to the batcher and waits. When every
sequence holding a slot is waiting, the last one to arrive runs one `forward_sequences` for
all of them (prompt chunks and single tokens alike) and wakes the others. Sequences leave
when they finish and waiting ones take the freed slots between steps (continuous batching).
The Python parts (sampling, masks) run one sequence at a time (the GIL would serialize them
anyway, and shared grammars build their tables lazily); the model pass, which dominates, is
shared.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from constrain.errors import ConstrainError

if TYPE_CHECKING:
    from constrain.api import Llama
    from constrain.runtime.kv_cache import KVCache


class SequenceBatcher:
    """Runs generations on the KV slots of one Llama's model, decoding them together."""

    def __init__(self, llm: Llama):
        self.llm = llm
        self.model = llm.model
        self._cond = threading.Condition()
        self._free = list(self.model.caches)
        self._active = 0  # sequences holding a slot (running, or waiting for a step)
        self._queue: list[_Ticket] = []  # sequences waiting for a slot, first come first served
        self._pending: dict[int, tuple] = {}  # slot -> (view, tokens, logits_all)
        self._results: dict[int, Any] = {}
        # Only one sequence runs Python code at a time (it holds the baton until it waits for
        # a step): grammars, tokenizers and caches shared between sequences are built lazily
        # and are not safe to mutate from two threads, and the GIL would serialize the work anyway.
        self._baton = threading.Lock()

    @property
    def n_slots(self) -> int:
        return len(self.model.caches)

    def load(self) -> tuple[int, int]:
        """(sequences holding a slot, sequences waiting for one)."""
        with self._cond:
            return self._active, len(self._queue)

    @contextmanager
    def sequence(self, ticket: _Ticket | None = None):
        """A SequenceView on a slot (waits for one), released at exit. Slots go to waiting
        sequences in the order they asked, handed over at release: which sequences share a
        step then depends only on when sequences finish, never on thread timing, so a batch
        decodes the same way every time."""
        ticket = ticket or self.ticket()
        with self._cond:
            while ticket.cache is None:
                self._cond.wait()
        cache = ticket.cache
        cache.rewind(0)
        self._baton.acquire()
        try:
            yield SequenceView(self.llm, self, cache)
        finally:
            self._baton.release()
            with self._cond:
                if self._queue:
                    self._queue.pop(0).cache = cache  # stays active: the next sequence takes over
                else:
                    self._active -= 1
                    self._free.append(cache)
                self._step_if_all_waiting()
                self._cond.notify_all()

    def ticket(self) -> _Ticket:
        """A place in line for a slot: given one now if free, else at a later release."""
        ticket = _Ticket()
        with self._cond:
            if self._free:
                # the lowest free slot: the same batch gets the same slots, rows and results
                ticket.cache = min(self._free, key=lambda cache: cache.slot)
                self._free.remove(ticket.cache)
                self._active += 1
            else:
                self._queue.append(ticket)
        return ticket

    def run(self, jobs: Sequence[Callable[[SequenceView], Any]]) -> list:
        """Run each job(view) on a slot of its own, up to n_slots at once; returns their
        results in order (an exception a job raised is returned in its place)."""
        results: list[Any] = [None] * len(jobs)
        tickets = [self.ticket() for _ in jobs]  # in job order, before any thread runs

        def worker(i):
            try:
                with self.sequence(tickets[i]) as view:
                    results[i] = jobs[i](view)
            except BaseException as exc:  # returned to the caller, which decides
                results[i] = exc

        threads = [threading.Thread(target=worker, args=(i,), name=f"constrain-seq-{i}") for i in range(len(jobs))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    def evaluate(self, view: SequenceView, tokens: np.ndarray, logits_all: bool):
        """Queue `tokens` for view's slot and return its logits once a step has run them."""
        slot = view.cache.slot
        self._baton.release()
        try:
            with self._cond:
                self._pending[slot] = (view, tokens, logits_all)
                self._step_if_all_waiting()
                while slot not in self._results:
                    self._cond.wait()
                result = self._results.pop(slot)
        finally:
            self._baton.acquire()
        if isinstance(result, BaseException):
            raise result
        return result

    def _step_if_all_waiting(self) -> None:
        """With the lock held: run one model pass once every active sequence is waiting."""
        if not self._pending or len(self._pending) < self._active:
            return
        pending, self._pending = self._pending, {}
        fits = {}
        # rows in slot order, not arrival order: a row's last bits can depend on its place in
        # the pass (how rows split among threads), so the same batch must line up the same way
        for slot, (view, tokens, logits_all) in sorted(pending.items(), key=lambda item: item[0]):
            try:
                view.cache.check_room(len(tokens))
                fits[slot] = (view, tokens, logits_all)
            except ConstrainError as exc:
                self._results[slot] = exc
        if fits:
            want_all = any(all_rows for _, _, all_rows in fits.values())
            try:
                outs = self.model.forward_sequences([(view.cache, tokens) for view, tokens, _ in fits.values()],
                                                    logits_all=want_all)
            except BaseException as exc:  # every sequence of the step sees the failure
                outs = [exc] * len(fits)
            for slot, out in zip(fits, outs):
                self._results[slot] = out
        self._cond.notify_all()


class _Ticket:
    cache: KVCache | None = None  # the KV slot, once assigned


class SequenceView:
    """The model protocol generation uses (tokenize, eval, logits, rewind, ...), on one KV
    slot of a shared model whose evaluations go through a SequenceBatcher."""

    def __init__(self, llm: Llama, batcher: SequenceBatcher, cache):
        self._llm = llm
        self._batcher = batcher
        self.cache = cache
        self.tokenizer = llm.tokenizer
        self.metadata = llm.metadata
        self.model_name = llm.model_name
        self.input_ids: list[int] = []
        self.logits = np.zeros(llm.n_vocab(), dtype=np.float32)
        self.all_logits: np.ndarray | None = None

    # the tokenizer directly, not through the Llama: a batch runs inside one Llama call, whose
    # lock the sequences' threads must not wait for
    def tokenize(self, text, add_bos: bool = True, special: bool = False) -> list[int]:
        return self.tokenizer.encode(text, add_bos=add_bos, special=special)

    def detokenize(self, ids) -> bytes:
        return self.tokenizer.decode(ids)

    def n_vocab(self) -> int:
        return self._llm.n_vocab()

    def n_ctx(self) -> int:
        return self.cache.n_ctx

    def token_bos(self) -> int | None:
        return self._llm.token_bos()

    def token_eos(self) -> int | None:
        return self._llm.token_eos()

    @property
    def n_tokens(self) -> int:
        return self.cache.n_tokens

    def eval(self, ids, logits_all: bool = False) -> None:
        tokens = np.asarray(ids, dtype=np.int64).reshape(-1)
        if tokens.size == 0:
            raise ValueError("eval needs at least one token")
        bad = (tokens < 0) | (tokens >= self.n_vocab())
        if bad.any():
            raise ConstrainError(f"token id {int(tokens[bad][0])} is outside the vocabulary (0..{self.n_vocab() - 1})")
        result = self._batcher.evaluate(self, tokens, logits_all)
        self.input_ids.extend(int(t) for t in tokens)
        self.logits = result[-1].copy()
        self.all_logits = result if logits_all else None

    def rewind(self, n_keep: int) -> None:
        self.cache.rewind(n_keep)
        del self.input_ids[n_keep:]

    def reset(self) -> None:
        self.rewind(0)
        self.all_logits = None

    def create_completion(self, prompt, **kwargs):
        from constrain.generation import create_completion

        return create_completion(self, prompt, **kwargs)

    def create_chat_completion(self, messages, **kwargs):
        from constrain.generation import create_chat_completion

        return create_chat_completion(self, messages, **kwargs)
