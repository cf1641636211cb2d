"""The two grammar engines maskbench drives, behind one small contract.

Both engines see the same tokenizer: SmolLM2-135M-Instruct's, read from the default model's
GGUF by constrain. llguidance gets its vocabulary from that tokenizer (token bytes, control
tokens marked the way llguidance's llama.cpp bridge marks them, constrain's end-of-generation
ids), so a token id means the same bytes to both, and both allow the same ids at the end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

import numpy as np

ENGINE_NAMES = ("constrain", "llguidance")


@dataclass
class Refusal(Exception):
    """The engine declined the schema at compile time (a typed refusal, not a crash)."""

    message: str
    error_type: str
    keyword: str | None = None
    path: str | None = None


class EngineInconsistency(Exception):
    """The engine contradicted itself (its mask allowed a token that it then would not take)."""


class MaskEngine(Protocol):
    """One compiled schema's matcher, as the forcing loop uses it.

    `compile` and `compute_mask` are what is timed; reading a bit of `bits` is not.
    """

    name: str
    eog_ids: tuple[int, ...]
    bits: np.ndarray  # uint32 words of the last computed mask: bit (id & 31) of word (id >> 5)

    def compile(self, schema) -> None: ...      # raises Refusal
    def compute_mask(self) -> None: ...         # fills `bits`
    def error(self) -> str | None: ...          # an error state the matcher entered, if any
    def advance(self, token: int) -> None: ...  # raises EngineInconsistency if it refuses
    def is_accepting(self) -> bool: ...
    def reset(self) -> None: ...
    def warnings(self) -> list[str]: ...
    def version(self) -> str: ...


def allows(bits: np.ndarray, token: int) -> bool:
    return bool((int(bits[token >> 5]) >> (token & 31)) & 1)


def load_smollm2_tokenizer():
    """SmolLM2-135M-Instruct's tokenizer from the default model's GGUF (as bench_grammar.py)."""
    from constrain.runtime.default_model import default_model_path
    from constrain.runtime.gguf_file import GGUFFile
    from constrain.runtime.tokenizer.tokenizer import load_tokenizer

    return load_tokenizer(GGUFFile(default_model_path()).metadata)


class ConstrainEngine:
    """constrain's public API: json_schema(schema).matcher(tokenizer).

    strict=False: MaskBench's instances follow the spec, where unlisted object keys are allowed
    unless additionalProperties says otherwise (constrain's default is OpenAI's strict mode).
    """

    name = "constrain"

    def __init__(self, tokenizer):
        from constrain.grammars.json_schema import JsonSchemaError, json_schema

        self._json_schema = json_schema
        self._refusal_type = JsonSchemaError
        self.tokenizer = tokenizer
        self.eog_ids = tuple(sorted(tokenizer.eog_ids))
        self.matcher = None
        self.bits = np.zeros(0, dtype=np.uint32)

    def compile(self, schema) -> None:
        try:
            grammar = self._json_schema(schema, strict=False)
        except self._refusal_type as exc:
            raise Refusal(str(exc), type(exc).__name__, exc.keyword, exc.path) from None
        self.matcher = grammar.matcher(self.tokenizer)

    def compute_mask(self) -> None:
        self.bits = self.matcher.mask_bits()

    def error(self) -> str | None:
        return None  # constrain raises instead of entering an error state

    def advance(self, token: int) -> None:
        from constrain.grammars.errors import GrammarError

        try:
            self.matcher.advance(token)
        except GrammarError as exc:
            raise EngineInconsistency(f"mask allowed token {token} but advance refused it: {exc}") from None

    def is_accepting(self) -> bool:
        return self.matcher.is_accepting()

    def reset(self) -> None:
        self.matcher.reset()

    def warnings(self) -> list[str]:
        return []

    def version(self) -> str:
        import subprocess
        from pathlib import Path

        repo = Path(__file__).resolve().parent.parent
        try:
            out = subprocess.run(["git", "-C", str(repo), "describe", "--always", "--dirty"],
                                 capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return "unknown"
        return out.stdout.strip() or "unknown"


class _LlguidanceVocabulary:
    """What llguidance.TokenizerWrapper reads from a tokenizer: token bytes by id, the special
    ids, and a text -> ids function. Control tokens are prefixed with 0xFF, llguidance's marker
    for special tokens (its llama.cpp bridge does the same), so they are never grammar text."""

    def __init__(self, tokenizer):
        control = tokenizer.control_ids
        self.tokens = [b"\xff" + piece if i in control else piece for i, piece in enumerate(tokenizer.vocab_bytes())]
        self.eos_token_id = tokenizer.eos_id
        self.bos_token_id = tokenizer.bos_id
        self.special_token_ids = sorted(control)
        self._tokenizer = tokenizer

    def __call__(self, text) -> list[int]:
        return self._tokenizer.encode(text, add_bos=False)


def llguidance_tokenizer(tokenizer):
    """llguidance's LLTokenizer over exactly `tokenizer`'s ids, end-of-generation ids included."""
    import llguidance

    wrapper = llguidance.TokenizerWrapper(_LlguidanceVocabulary(tokenizer))
    return llguidance.LLTokenizer(wrapper, n_vocab=tokenizer.n_vocab, eos_token=sorted(tokenizer.eog_ids))


class LlguidanceEngine:
    """llguidance's LLMatcher on {"grammars": [{"json_schema": schema}]}, MaskBench's call, with
    the mask written into one preallocated buffer (llguidance.numpy.fill_next_token_bitmask)."""

    name = "llguidance"

    def __init__(self, tokenizer):
        import llguidance
        from llguidance.numpy import allocate_token_bitmask, fill_next_token_bitmask

        self._llguidance = llguidance
        self._fill = fill_next_token_bitmask
        self.lltokenizer = llguidance_tokenizer(tokenizer)
        self.eog_ids = tuple(sorted(self.lltokenizer.eos_tokens))
        self._buffer = allocate_token_bitmask(1, self.lltokenizer.vocab_size)
        self.bits = self._buffer[0].view(np.uint32)
        self.matcher = None

    def compile(self, schema) -> None:
        grammar = json.dumps({"grammars": [{"json_schema": schema}]})
        matcher = self._llguidance.LLMatcher(self.lltokenizer, grammar)
        if matcher.is_error():
            raise Refusal(matcher.get_error(), "LLMatcher error")
        self.matcher = matcher

    def compute_mask(self) -> None:
        self._fill(self.matcher, self._buffer, 0)

    def error(self) -> str | None:
        return self.matcher.get_error() if self.matcher.is_error() else None

    def advance(self, token: int) -> None:
        if not self.matcher.consume_token(token):
            raise EngineInconsistency(f"mask allowed token {token} but consume_token refused it: "
                                      f"{self.matcher.get_error()}")

    def is_accepting(self) -> bool:
        return self.matcher.is_accepting()

    def reset(self) -> None:
        self.matcher.reset()

    def warnings(self) -> list[str]:
        return list(self.matcher.get_grammar_warnings())

    def version(self) -> str:
        return self._llguidance.__version__


def make_engine(name: str, tokenizer) -> MaskEngine:
    if name == "constrain":
        return ConstrainEngine(tokenizer)
    if name == "llguidance":
        return LlguidanceEngine(tokenizer)
    raise ValueError(f"unknown engine {name!r}; known: {', '.join(ENGINE_NAMES)}")


def engine_available(name: str) -> bool:
    if name == "llguidance":
        import importlib.util

        return importlib.util.find_spec("llguidance") is not None
    return name in ENGINE_NAMES
