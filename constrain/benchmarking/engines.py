"""constrain and llama-cpp-python behind one small interface, so protocol.py times both alike.

Each engine is imported only when opened: a llama.cpp worker must not load numba (its
peak RSS would count constrain's compiler).
"""

from __future__ import annotations

import importlib.util

ENGINES = ("constrain", "llama_cpp")

# the chat prompt of the constrained JSON measurement (as benchmarks/bench_constrained_speed.py)
JSON_MESSAGES = [{"role": "user", "content": "Describe Ada Lovelace as a JSON object with her name, age and skills."}]


def have_llama_cpp() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


class ConstrainEngine:
    name = "constrain"

    def __init__(self, model: str, n_ctx: int, threads: int | None):
        from constrain import Llama

        self.llm = Llama(model, n_ctx=n_ctx, n_threads=threads)

    def n_vocab(self) -> int:
        return self.llm.n_vocab()

    def eval(self, ids: list[int]) -> None:
        self.llm.eval(ids)

    def reset(self) -> None:
        self.llm.reset()

    def greedy_next(self) -> int:
        return int(self.llm.logits.argmax())

    def json_grammar(self):
        from constrain import grammars

        return grammars.json()

    def chat(self, grammar, max_tokens: int) -> int:
        """A greedy chat completion of JSON_MESSAGES from an empty context; returns the
        number of generated tokens."""
        self.llm.reset()
        out = self.llm.create_chat_completion(JSON_MESSAGES, grammar=grammar, max_tokens=max_tokens, temperature=0.0)
        return out["usage"]["completion_tokens"]


class LlamaCppEngine(ConstrainEngine):
    name = "llama_cpp"

    def __init__(self, model: str, n_ctx: int, threads: int | None):
        from llama_cpp import Llama

        # threads None: llama-cpp-python's defaults (half the CPUs for generation, all for batches)
        counts = {} if threads is None else {"n_threads": threads, "n_threads_batch": threads}
        self.llm = Llama(model, n_ctx=n_ctx, n_batch=512, verbose=False, **counts)

    def greedy_next(self) -> int:
        # llama-cpp-python 0.3 keeps no scores unless logits_all: read the context's last row
        import numpy as np

        row = self.llm._ctx.get_logits_ith(-1)
        return int(np.ctypeslib.as_array(row, shape=(self.llm.n_vocab(),)).argmax())

    def json_grammar(self):
        from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar

        return LlamaGrammar.from_string(JSON_GBNF, verbose=False)


def open_engine(name: str, model: str, n_ctx: int, threads: int | None):
    if name == "constrain":
        return ConstrainEngine(model, n_ctx, threads)
    if name == "llama_cpp":
        return LlamaCppEngine(model, n_ctx, threads)
    raise ValueError(f"unknown engine {name!r} (expected one of {', '.join(ENGINES)})")
