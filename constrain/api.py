"""The `Llama` class: a llama-cpp-python style handle on one model and its context."""

from __future__ import annotations

import os
import time
from typing import Any, Iterable, Sequence

import numpy as np

from constrain import llama_cpp_compat
from constrain.errors import ConstrainError
from constrain.runtime.default_model import default_model_path
from constrain.runtime.gguf_file import GGUFFile
from constrain.runtime.model import LlamaModel
from constrain.runtime.tokenizer import load_tokenizer

N_BATCH = 512  # prompt tokens per forward pass: bounds activation memory on long prompts


class Llama:
    """A loaded model with its tokenizer and one context (KV cache).

    `eval(ids)` appends tokens to the context and leaves the last position's logits in
    `logits`; generation, chat and scoring build on that one operation.
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
            numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
        self.model_path = os.fspath(model_path) if model_path is not None else default_model_path()
        self._gguf = GGUFFile(self.model_path)
        self.metadata: dict[str, Any] = self._gguf.metadata
        if n_ctx <= 0:
            raise ValueError(f"n_ctx must be positive, got {n_ctx}")
        if not isinstance(n_seq_max, int) or n_seq_max < 1:
            raise ValueError(f"n_seq_max must be a positive integer, got {n_seq_max!r}")
        self._model = LlamaModel(self._gguf, n_ctx, n_threads=n_threads, n_seq=n_seq_max)
        self._batcher = None
        self.tokenizer = load_tokenizer(self.metadata)
        if self.tokenizer.n_vocab != self._model.hp.n_vocab:
            raise ConstrainError(
                f"{self.model_path}: the tokenizer has {self.tokenizer.n_vocab} tokens but the model "
                f"has {self._model.hp.n_vocab} output rows"
            )
        self.seed = seed
        self._calls = 0
        self.verbose = verbose
        self.model_name = str(self.metadata.get("general.name") or os.path.basename(self.model_path))
        self.input_ids: list[int] = []
        self.logits = np.zeros(self._model.hp.n_vocab, dtype=np.float32)
        self.all_logits: np.ndarray | None = None
        if verbose:
            print(f"constrain: loaded {self.model_path} in {time.perf_counter() - started:.2f} s")

    # --- tokens -------------------------------------------------------------------------

    def tokenize(self, text: bytes | str, add_bos: bool = True, special: bool = False) -> list[int]:
        return self.tokenizer.encode(text, add_bos=add_bos, special=special)

    def detokenize(self, ids: Iterable[int]) -> bytes:
        return self.tokenizer.decode(ids)

    def n_vocab(self) -> int:
        return self._model.hp.n_vocab

    def n_ctx(self) -> int:
        return self._model.cache.n_ctx

    def token_bos(self) -> int:
        return self.tokenizer.bos_id

    def token_eos(self) -> int:
        return self.tokenizer.eos_id

    # --- evaluation ---------------------------------------------------------------------

    @property
    def n_tokens(self) -> int:
        return self._model.cache.n_tokens

    def eval(self, ids: Sequence[int], logits_all: bool | None = None) -> None:
        """Append `ids` to the context. Afterwards `logits` holds the last position's
        logits and, with logits_all, `all_logits` holds one row per id of this call."""
        if logits_all is None:
            logits_all = self.logits_all
        tokens = np.asarray(ids, dtype=np.int64).reshape(-1)
        if tokens.size == 0:
            raise ValueError("eval needs at least one token")
        bad = (tokens < 0) | (tokens >= self.n_vocab())
        if bad.any():
            raise ConstrainError(
                f"token id {int(tokens[bad][0])} is outside the vocabulary (0..{self.n_vocab() - 1})"
            )
        self._model.cache.check_room(tokens.size)
        rows = []
        for start in range(0, tokens.size, self.n_batch):
            chunk = tokens[start:start + self.n_batch]
            last = start + self.n_batch >= tokens.size
            out = self._model.forward(chunk, logits_all=logits_all, need_logits=last or logits_all)
            if out is not None:
                rows.append(out)
        self.input_ids.extend(int(t) for t in tokens)
        result = rows[0] if len(rows) == 1 else np.concatenate(rows)
        self.logits = result[-1].copy()
        self.all_logits = result if logits_all else None

    def rewind(self, n_keep: int) -> None:
        """Keep only the first n_keep tokens of the context (to reuse a common prefix)."""
        self._model.cache.rewind(n_keep)
        del self.input_ids[n_keep:]

    def reset(self) -> None:
        self.rewind(0)
        self.all_logits = None

    # --- generation (llama-cpp-python's API) -------------------------------------------

    def _call_seed(self, kwargs: dict) -> dict:
        # Llama(seed=s) makes a session reproducible: call k gets a seed derived from
        # (s, k), so calls differ from each other but a new process repeats them all
        if kwargs.get("seed") is None and self.seed is not None:
            self._calls += 1
            kwargs["seed"] = (self.seed * 1_000_003 + self._calls) % (2**63)
        return kwargs

    def create_completion(self, prompt: str | bytes | Sequence[int], **kwargs):
        from constrain.generation import create_completion

        return create_completion(self, prompt, **self._call_seed(kwargs))

    __call__ = create_completion

    def create_chat_completion(self, messages: list[dict], **kwargs):
        from constrain.generation import create_chat_completion

        return create_chat_completion(self, messages, **self._call_seed(kwargs))

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

    def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        from constrain.generation import score

        return score(self, prompt, continuations)

    def classify(self, prompt: str, labels: Sequence[str]) -> dict[str, float]:
        from constrain.generation import classify

        return classify(self, prompt, labels)

    def __repr__(self) -> str:
        return f"Llama({self.model_path!r}, n_ctx={self.n_ctx()})"
