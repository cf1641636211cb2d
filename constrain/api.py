"""The `Llama` class: a llama-cpp-python style handle on one model and its context."""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from constrain import llama_cpp_compat
from constrain.errors import ConstrainError, ContextError
from constrain.runtime.default_model import default_model_path
from constrain.runtime.gguf_file import GGUFFile
from constrain.runtime.model import LlamaModel
from constrain.runtime.tokenizer import load_tokenizer

if TYPE_CHECKING:
    from constrain.generation.batching import SequenceBatcher

N_BATCH = 512  # prompt tokens per forward pass: bounds activation memory on long prompts


@dataclass(frozen=True)
class ContextState:
    """What a context holds: its token ids and the eval calls that built it ((start, stop) each).

    The calls matter because the model's arithmetic differs between a batch and single-token
    steps; replaying the same calls rebuilds the same KV cache, bit for bit.
    """

    ids: tuple[int, ...]
    spans: tuple[tuple[int, int], ...]


def _serialized(method):
    """Run the method under the Llama's lock (reentrant: calls from inside a call are fine)."""
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)
    return locked


class Llama:
    """A loaded model with its tokenizer and one context (KV cache).

    `eval(ids)` appends tokens to the context and leaves the last position's logits in
    `logits`; generation, chat and scoring build on that one operation.

    Thread safety: one Llama may be shared between threads. Every public call holds one
    reentrant lock for its whole duration, so calls run one at a time; a stream holds it while
    it computes each chunk, not between chunks. A stream owns its context: if anything else
    used the Llama between two of its chunks (another call, another stream, eval/rewind), the
    stream puts its own context back first by re-evaluating its tokens with the same eval
    calls, so its output is the same as if it had run alone. Interleaving streams therefore
    costs re-evaluation at every switch; it never mixes their contexts.
    """

    def __init__(self, model_path: str | os.PathLike | None = None, *, n_ctx: int = 2048,
                 n_threads: int | None = None, seed: int | None = None, verbose: bool = False,
                 n_seq_max: int = 1, **llama_cpp_keywords):
        """llama-cpp-python's other keywords are accepted (llama_cpp_compat.py): n_batch and
        logits_all are honoured, GPU and other settings without a meaning here are ignored
        with one warning that names them. n_seq_max: how many sequences the *_batch calls
        decode together (each has a KV cache of n_ctx positions, committed as it fills)."""
        started = time.perf_counter()
        compat = llama_cpp_compat.split(llama_cpp_keywords)
        self.n_batch = compat.get("n_batch", N_BATCH)
        self.logits_all = bool(compat.get("logits_all", False))
        if n_threads is not None:
            import numba

            if n_threads < 1:
                raise ValueError(f"n_threads must be at least 1, got {n_threads}")
            numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
        self.model_path = os.fspath(model_path) if model_path is not None else default_model_path()
        self._gguf = GGUFFile(self.model_path)
        self.metadata: dict[str, Any] = self._gguf.metadata
        if n_ctx <= 0:
            raise ValueError(f"n_ctx must be positive, got {n_ctx}")
        if not isinstance(n_seq_max, int) or n_seq_max < 1:
            raise ValueError(f"n_seq_max must be a positive integer, got {n_seq_max!r}")
        self._model = LlamaModel(self._gguf, n_ctx, n_threads=n_threads, n_seq=n_seq_max)
        self._batcher: SequenceBatcher | None = None
        self.tokenizer = load_tokenizer(self.metadata)
        if self.tokenizer.n_vocab != self._model.hp.n_vocab:
            raise ConstrainError(
                f"{self.model_path}: the tokenizer has {self.tokenizer.n_vocab} tokens but the model "
                f"has {self._model.hp.n_vocab} output rows"
            )
        self.seed = seed
        self._calls = 0
        self._lock = threading.RLock()
        self._spans: list[tuple[int, int]] = []  # eval calls behind the cached context
        self.context_version = 0  # changes whenever the context does
        self._logits_at = 0  # context length `logits` were computed at
        self.verbose = verbose
        self.model_name = str(self.metadata.get("general.name") or os.path.basename(self.model_path))
        self.input_ids: list[int] = []
        self.logits = np.zeros(self._model.hp.n_vocab, dtype=np.float32)
        self.all_logits: np.ndarray | None = None
        if verbose:
            print(f"constrain: loaded {self.model_path} in {time.perf_counter() - started:.2f} s")

    @property
    def model(self) -> LlamaModel:
        """The runtime model behind this Llama (weights, KV slots, forward passes), for code that
        drives several sequences at once (constrain.generation.batching)."""
        return self._model

    # --- tokens -------------------------------------------------------------------------

    @_serialized
    def tokenize(self, text: bytes | str, add_bos: bool = True, special: bool = False) -> list[int]:
        return self.tokenizer.encode(text, add_bos=add_bos, special=special)

    @_serialized
    def detokenize(self, ids: Iterable[int]) -> bytes:
        return self.tokenizer.decode(ids)

    def n_vocab(self) -> int:
        return self._model.hp.n_vocab

    def n_ctx(self) -> int:
        return self._model.cache.n_ctx

    def token_bos(self) -> int | None:
        return self.tokenizer.bos_id

    def token_eos(self) -> int | None:
        return self.tokenizer.eos_id

    # --- evaluation ---------------------------------------------------------------------

    @property
    def n_tokens(self) -> int:
        return self._model.cache.n_tokens

    @_serialized
    def eval(self, ids: Sequence[int], logits_all: bool | None = None) -> None:
        """Append `ids` to the context. Afterwards `logits` holds the last position's
        logits and, with logits_all (default: the Llama's logits_all), `all_logits` holds one
        row per id of this call."""
        if logits_all is None:
            logits_all = self.logits_all
        tokens = _token_array(ids, "eval")
        if tokens.size == 0:
            raise ContextError("eval(ids) needs at least one token id, got an empty sequence")
        bad = (tokens < 0) | (tokens >= self.n_vocab())
        if bad.any():
            raise ConstrainError(
                f"token id {int(tokens[bad][0])} is outside the vocabulary (0..{self.n_vocab() - 1})"
            )
        self._model.cache.check_room(tokens.size)
        start = self.n_tokens
        self.context_version += 1
        rows = []
        try:
            for first in range(0, tokens.size, self.n_batch):
                chunk = tokens[first:first + self.n_batch]
                last = first + self.n_batch >= tokens.size
                out = self._model.forward(chunk, logits_all=logits_all, need_logits=last or logits_all)
                if out is not None:
                    rows.append(out)
        finally:
            # a failed or interrupted call leaves the cache at a chunk boundary: keep the record in step
            done = self.n_tokens - start
            self.input_ids.extend(int(t) for t in tokens[:done])
            if done:
                self._spans.append((start, start + done))
        result = rows[0] if len(rows) == 1 else np.concatenate(rows)
        self.logits = result[-1].copy()
        self.all_logits = result if logits_all else None
        self._logits_at = self.n_tokens

    @_serialized
    def rewind(self, n_keep: int) -> None:
        """Keep only the first n_keep tokens of the context (to reuse a common prefix)."""
        if isinstance(n_keep, bool) or not isinstance(n_keep, (int, np.integer)):
            raise ContextError(f"rewind(n_keep) needs an int, got {type(n_keep).__name__}: {n_keep!r}")
        n_keep = int(n_keep)
        if not 0 <= n_keep <= self.n_tokens:
            raise ContextError(f"rewind(n_keep={n_keep}): n_keep must be between 0 and the {self.n_tokens} "
                               f"tokens in the context")
        self._model.cache.rewind(n_keep)
        del self.input_ids[n_keep:]
        self._spans = [(a, min(b, n_keep)) for a, b in self._spans if a < n_keep]
        self.context_version += 1

    @_serialized
    def reset(self) -> None:
        self.rewind(0)
        self.all_logits = None

    @_serialized
    def context_state(self) -> ContextState:
        """A snapshot of what the context holds, for restore_context."""
        return ContextState(tuple(self.input_ids), tuple(self._spans))

    @_serialized
    def restore_context(self, state: ContextState) -> None:
        """Make the context hold `state` again, re-evaluating only from the first eval call
        that differs; afterwards `logits` are those of state's last token."""
        keep, first_missing = 0, 0
        for i, (a, b) in enumerate(state.spans):
            if i < len(self._spans) and self._spans[i] == (a, b) and self.input_ids[a:b] == list(state.ids[a:b]):
                keep, first_missing = b, i + 1
            else:
                break
        missing = state.spans[first_missing:]
        if not missing and keep == self.n_tokens == self._logits_at:
            return  # nothing changed that the state depends on
        if not missing:  # only a later part differs: the last call must run again for its logits
            first_missing = len(state.spans) - 1
            missing = state.spans[first_missing:]
            keep = missing[0][0] if missing else 0
        self.rewind(keep)
        for a, b in missing:
            self.eval(list(state.ids[a:b]))

    # --- generation (llama-cpp-python's API) -------------------------------------------

    def _call_seed(self, kwargs: dict) -> dict:
        # Llama(seed=s) makes a session reproducible: call k gets a seed derived from
        # (s, k), so calls differ from each other but a new process repeats them all
        if kwargs.get("seed") is None and self.seed is not None:
            self._calls += 1
            kwargs["seed"] = (self.seed * 1_000_003 + self._calls) % (2**63)
        return kwargs

    def _stepwise_locked(self, chunks: Iterator) -> Iterator:
        """A stream that holds the lock while it computes each chunk, not between chunks."""
        try:
            while True:
                with self._lock:
                    try:
                        chunk = next(chunks)
                    except StopIteration:
                        return
                yield chunk
        finally:
            with self._lock:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()

    @_serialized
    def create_completion(self, prompt: str | bytes | Sequence[int], **kwargs):
        from constrain.generation import create_completion

        result = create_completion(self, prompt, **self._call_seed(kwargs))
        return self._stepwise_locked(result) if kwargs.get("stream") else result

    __call__ = create_completion

    @_serialized
    def create_chat_completion(self, messages: list[dict], **kwargs):
        from constrain.generation import create_chat_completion

        result = create_chat_completion(self, messages, **self._call_seed(kwargs))
        return self._stepwise_locked(result) if kwargs.get("stream") else result

    @_serialized
    def run_sequences(self, jobs) -> list:
        """Run each job(view) on a sequence of its own (a SequenceView: the model protocol on a
        KV slot), up to n_seq_max decoded together; the results (or the exceptions raised) in
        order. What *_batch and extract_many build on."""
        from constrain.generation.batching import SequenceBatcher

        if self._batcher is None:
            self._batcher = SequenceBatcher(self)
        try:
            return self._batcher.run(jobs)
        finally:
            self.reset()  # the batch used this context's slot too

    def _run_batch(self, jobs, return_exceptions: bool) -> list:
        results = self.run_sequences(jobs)
        if not return_exceptions:
            for result in results:
                if isinstance(result, BaseException):
                    raise result
        return results

    def create_completion_batch(self, prompts: Sequence, *, return_exceptions: bool = False, **kwargs) -> list:
        """create_completion for each prompt, up to n_seq_max of them decoded together (each
        with its own sampler, grammar and stops; finished ones make room for waiting ones).
        Returns the completions in order; with return_exceptions, a failed prompt's exception
        stands in its place instead of being raised."""
        if kwargs.get("stream"):
            raise ValueError("create_completion_batch does not stream")
        calls = [self._call_seed(dict(kwargs)) for _ in prompts]
        return self._run_batch([lambda view, p=p, kw=kw: view.create_completion(p, **kw)
                                for p, kw in zip(prompts, calls)], return_exceptions)

    def create_chat_completion_batch(self, conversations: Sequence[list[dict]], *, return_exceptions: bool = False,
                                     **kwargs) -> list:
        """create_chat_completion for each conversation, decoded together as create_completion_batch."""
        if kwargs.get("stream"):
            raise ValueError("create_chat_completion_batch does not stream")
        calls = [self._call_seed(dict(kwargs)) for _ in conversations]
        return self._run_batch([lambda view, m=m, kw=kw: view.create_chat_completion(m, **kw)
                                for m, kw in zip(conversations, calls)], return_exceptions)

    def create_chat_completion_openai_v1(self, messages: list[dict], **kwargs):
        """create_chat_completion, returned as the `openai` package's ChatCompletion (or a
        stream of ChatCompletionChunk) when it is installed, else as the plain dicts."""
        result = self.create_chat_completion(messages, **kwargs)
        return llama_cpp_compat.to_openai_types(result, chunk=bool(kwargs.get("stream")))

    @_serialized
    def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        from constrain.generation import score

        return score(self, prompt, continuations)

    @_serialized
    def classify(self, prompt: str, labels: Sequence[str]) -> dict[str, float]:
        from constrain.generation import classify

        return classify(self, prompt, labels)

    def __repr__(self) -> str:
        return f"Llama({self.model_path!r}, n_ctx={self.n_ctx()})"


def _token_array(ids, argument: str) -> np.ndarray:
    """`ids` as a 1-D int64 array, or a ContextError naming the argument."""
    if isinstance(ids, (str, bytes)):
        raise ContextError(f"{argument}(ids) needs token ids, got {type(ids).__name__}: tokenize it first")
    try:
        tokens = np.asarray(ids)
    except (TypeError, ValueError) as exc:
        raise ContextError(f"{argument}(ids) needs a sequence of token ids: {exc}") from None
    if tokens.size and not (np.issubdtype(tokens.dtype, np.integer) or tokens.dtype == np.bool_):
        raise ContextError(f"{argument}(ids) needs integer token ids, got {tokens.dtype} values")
    return tokens.astype(np.int64).reshape(-1)
