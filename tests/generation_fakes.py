"""A small deterministic model and grammar matcher for the generation tests (no tests here).

FakeLlama follows the model protocol constrain.generation codes against (constrain.protocols.Model):
tokenize/detokenize, eval(ids, logits_all) with logits / all_logits, n_tokens, rewind, reset, n_ctx,
n_vocab, token_eos/bos, tokenizer, metadata with a chat template, model_name. It has neither input_ids
nor context_state, so generation's fallbacks for such models run. FakeMatcher follows
constrain.protocols.Matcher. Its logits at a position are a fixed random function of the last two
tokens, so they depend on the context and prefix reuse can be checked against fresh evaluation. The
tokenizer is the project's byte-level BPE, built from metadata with a tiny vocabulary.
"""

from __future__ import annotations

import numpy as np

from constrain.errors import ContextOverflowError
from constrain.runtime.synthetic_gguf import CHATML_TEMPLATE
from constrain.runtime.tokenizer import load_tokenizer
from constrain.runtime.tokenizer.byte_unicode import BYTE_TO_UNICODE

CONTROL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
SPACE = BYTE_TO_UNICODE[ord(" ")]
MERGES = [f"{SPACE} a", "n d", f"{SPACE}a nd", "h e", f"{SPACE} t", f"{SPACE}t he", "l l", "e ll", "o r"]


def fake_metadata(chat_template: str = CHATML_TEMPLATE) -> dict:
    tokens = CONTROL + [BYTE_TO_UNICODE[b] for b in range(256)] + [m.replace(" ", "") for m in MERGES]
    return {
        "general.architecture": "llama",
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.pre": "smollm",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.token_type": [3] * len(CONTROL) + [1] * (len(tokens) - len(CONTROL)),
        "tokenizer.ggml.merges": MERGES,
        "tokenizer.ggml.bos_token_id": 0,
        "tokenizer.ggml.eos_token_id": 2,
        "tokenizer.ggml.add_bos_token": False,
        "tokenizer.chat_template": chat_template,
    }


class FakeLlama:
    """Deterministic stand-in for constrain's Llama over a ~270-token vocabulary."""

    def __init__(self, n_ctx: int = 256, seed: int = 0, scale: float = 3.0, eog_bias: float = -4.0,
                 metadata: dict | None = None):
        self.metadata = metadata or fake_metadata()
        self.tokenizer = load_tokenizer(self.metadata)
        self.model_name = "fake-bigram"
        self._n_ctx = n_ctx
        n = self.tokenizer.n_vocab
        rng = np.random.default_rng(seed)
        self.table = (rng.standard_normal((n, n)) * scale).astype(np.float32)
        self.table[:, sorted(self.tokenizer.eog_ids)] += np.float32(eog_bias)
        self.context: list[int] = []
        self.logits = np.zeros(n, np.float32)
        self.all_logits = np.zeros((0, n), np.float32)
        self.eval_calls: list[tuple[int, bool]] = []  # (number of ids, logits_all) per eval

    # ----- protocol -----
    def tokenize(self, text, add_bos: bool = True, special: bool = False) -> list[int]:
        return self.tokenizer.encode(text, add_bos=add_bos, special=special)

    def detokenize(self, ids) -> bytes:
        return self.tokenizer.decode(ids)

    def position_logits(self, context: list[int], i: int) -> np.ndarray:
        previous = context[i - 1] if i > 0 else 0
        return self.table[context[i]] + np.float32(0.5) * self.table[previous][::-1]

    def eval(self, ids, logits_all: bool = False) -> None:
        ids = [int(i) for i in ids]
        if not ids:
            raise ValueError("eval needs at least one token")
        if len(self.context) + len(ids) > self._n_ctx:
            raise ContextOverflowError(f"{len(self.context)} + {len(ids)} tokens exceed n_ctx {self._n_ctx}")
        start = len(self.context)
        self.context.extend(ids)
        self.eval_calls.append((len(ids), logits_all))
        rows = [self.position_logits(self.context, i) for i in range(start, len(self.context))]
        self.logits = rows[-1].copy()
        self.all_logits = np.stack(rows) if logits_all else np.zeros((0, self.n_vocab()), np.float32)

    @property
    def n_tokens(self) -> int:
        return len(self.context)

    def rewind(self, n: int) -> None:
        if not 0 <= n <= len(self.context):
            raise ValueError(f"cannot rewind to {n} tokens, context has {len(self.context)}")
        del self.context[n:]

    def reset(self) -> None:
        self.context.clear()

    def n_ctx(self) -> int:
        return self._n_ctx

    def n_vocab(self) -> int:
        return self.tokenizer.n_vocab

    def token_eos(self) -> int:
        return self.tokenizer.eos_id

    def token_bos(self) -> int:
        return self.tokenizer.bos_id

    # ----- test helpers -----
    def fresh_logits(self, context: list[int]) -> np.ndarray:
        """Logits after `context`, computed from scratch."""
        return self.position_logits(context, len(context) - 1)


class FakeMatcher:
    """Grammar matcher over a fixed set of allowed texts ("choice" grammar), by token ids.

    `sequences` are token id lists; a prefix is legal if it starts some sequence; accepting
    when it equals one; finished when accepting and no sequence extends it.
    """

    def __init__(self, sequences: list[list[int]], n_vocab: int):
        self.sequences = [list(s) for s in sequences]
        self.n_vocab = n_vocab
        self.reset()

    def reset(self) -> None:
        self.prefix: list[int] = []
        self.advanced: list[int] = []

    def _live(self) -> list[list[int]]:
        n = len(self.prefix)
        return [s for s in self.sequences if s[:n] == self.prefix]

    def mask(self) -> np.ndarray:
        allowed = np.zeros(self.n_vocab, dtype=np.bool_)
        n = len(self.prefix)
        for s in self._live():
            if len(s) > n:
                allowed[s[n]] = True
        return allowed

    def advance(self, token_id: int) -> None:
        if not self.mask()[token_id]:
            raise AssertionError(f"token {token_id} advanced but not allowed after {self.prefix}")
        self.prefix.append(int(token_id))
        self.advanced.append(int(token_id))

    def is_accepting(self) -> bool:
        return any(s == self.prefix for s in self.sequences)

    def is_finished(self) -> bool:
        return self.is_accepting() and all(len(s) == len(self.prefix) for s in self._live())


class FakeGrammar:
    """grammar.matcher(tokenizer) -> FakeMatcher over the tokenizations of `choices`."""

    def __init__(self, choices: list[str]):
        self.choices = choices
        self.matchers: list[FakeMatcher] = []

    def matcher(self, tokenizer) -> FakeMatcher:
        m = FakeMatcher([tokenizer.encode(c, add_bos=False) for c in self.choices], tokenizer.n_vocab)
        self.matchers.append(m)
        return m
