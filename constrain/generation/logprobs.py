"""Log-probabilities in the OpenAI completions format (tokens, text_offset, token_logprobs,
top_logprobs), computed from the model's raw logits as llama-cpp-python does (before bias,
penalties, temperature or the grammar mask)."""

from __future__ import annotations

import numpy as np

from constrain.protocols import Model
from constrain.samplers.kernels import exp_shifted


def log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float32)
    m = logits.max()
    return logits - (m + np.float32(np.log(exp_shifted(logits, m).sum(dtype=np.float64))))


def token_bytes(llm: Model, token: int) -> bytes:
    return bytes(llm.tokenizer.token_bytes(int(token)))


def token_text(llm: Model, token: int) -> str:
    return token_bytes(llm, token).decode("utf-8", errors="ignore")


class LogprobRecorder:
    """Collects one entry per token; `section(a, b)` gives entries a..b in OpenAI's layout."""

    def __init__(self, llm: Model, n_top: int):
        self.llm = llm
        self.n_top = max(0, int(n_top))
        self.tokens: list[str] = []
        self.text_offset: list[int] = []
        self.token_logprobs: list[float | None] = []
        self.top_logprobs: list[dict[str, float] | None] = []

    def add(self, raw_logits: np.ndarray | None, token: int, offset: int) -> None:
        text = token_text(self.llm, token)
        self.tokens.append(text)
        self.text_offset.append(int(offset))
        if raw_logits is None:  # the first echoed prompt token has no prediction
            self.token_logprobs.append(None)
            self.top_logprobs.append(None)
            return
        lp = log_softmax(raw_logits)
        chosen = float(lp[token])
        self.token_logprobs.append(chosen)
        top: dict[str, float] = {}
        if self.n_top:
            k = min(self.n_top, lp.size)
            best = np.argpartition(lp, lp.size - k)[lp.size - k:]
            for i in best[np.argsort(-lp[best], kind="stable")]:
                top[token_text(self.llm, int(i))] = float(lp[i])
        top[text] = chosen
        self.top_logprobs.append(top)

    def __len__(self) -> int:
        return len(self.tokens)

    def section(self, start: int, stop: int) -> dict:
        return {
            "tokens": self.tokens[start:stop],
            "text_offset": self.text_offset[start:stop],
            "token_logprobs": self.token_logprobs[start:stop],
            "top_logprobs": self.top_logprobs[start:stop],
        }
