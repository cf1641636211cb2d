"""Cost per call of every processor and sampler on a 49152-token logits vector.

Run: .venv/bin/python benchmarks/bench_sampling.py [--calls N] [--model]
Prints mean, p50 and p99 in microseconds. A model token takes ~7 ms on this machine, so the
budget per stage is well under 350 us (5%).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from constrain.generation.settings import build_pipeline
from constrain.samplers import (
    Dist,
    Greedy,
    LogitBias,
    MinP,
    MirostatV1,
    MirostatV2,
    Penalties,
    Temperature,
    TopK,
    TopP,
    TypicalP,
    WordBooster,
    kernels,
)

N_VOCAB = 49152


def model_like_logits(rng: np.random.Generator) -> np.ndarray:
    """Synthetic logits: a broad bulk and 20 leaders 20-28 above it, so most of the mass sits
    on a few tokens, as in a model's next-token distribution. (Called again and again on the
    same peaked vector, mirostat raises mu without bound: every draw is less surprising than
    tau. That is the algorithm, and the worst case for its cost.)"""
    logits = rng.standard_normal(N_VOCAB).astype(np.float32) * 2.0
    logits[rng.choice(N_VOCAB, 20, replace=False)] += rng.uniform(20, 28, 20).astype(np.float32)
    return logits


def default_model_logits() -> np.ndarray:
    """Next-token logits of the default model (SmolLM2-135M) after a short prompt."""
    from constrain import Llama

    llm = Llama(n_ctx=128)
    llm.eval(llm.tokenize(b"The first man on the moon was", add_bos=True))
    return np.array(llm.logits, dtype=np.float32)


class _FreeModel:
    """The default model's tokenizer and metadata with free evals: isolates the loop's own cost."""

    def __init__(self, logits: np.ndarray):
        from constrain.runtime.default_model import default_model_path
        from constrain.runtime.gguf_file import GGUFFile
        from constrain.runtime.tokenizer import load_tokenizer

        self.metadata = GGUFFile(default_model_path()).metadata
        self.tokenizer = load_tokenizer(self.metadata)
        self.model_name = "free"
        self.input_ids: list[int] = []
        self.logits = logits
        self.n_eog = len(self.tokenizer.eog_ids)
        self._base = logits.copy()
        self._base[sorted(self.tokenizer.eog_ids)] = -30.0  # never stop early

    def tokenize(self, text, add_bos=True, special=False):
        return self.tokenizer.encode(text, add_bos=add_bos, special=special)

    def detokenize(self, ids):
        return self.tokenizer.decode(ids)

    def eval(self, ids, logits_all=False):
        self.input_ids.extend(ids)
        self.logits = np.roll(self._base, len(self.input_ids))  # a different vector per step

    @property
    def n_tokens(self):
        return len(self.input_ids)

    def rewind(self, n):
        del self.input_ids[n:]

    def reset(self):
        self.input_ids.clear()

    def n_ctx(self):
        return 4096

    def n_vocab(self):
        return self.logits.size

    def token_eos(self):
        return self.tokenizer.eos_id

    def token_bos(self):
        return self.tokenizer.bos_id


def loop_overhead(logits: np.ndarray, n_tokens: int = 200) -> None:
    """Per-token cost of create_completion around a free model (sampling + text + bookkeeping)."""
    from constrain.generation import create_completion

    llm = _FreeModel(logits)
    for label, kwargs in {"mirostat v2 (default)": {}, "top-k/p chain": {"mirostat_mode": 0},
                          "greedy": {"temperature": 0},
                          "mirostat v2 + 2 stops, streamed": {"stop": ["###", "\n\n"]}}.items():
        times = []
        for _ in range(3):
            llm.reset()
            t0 = time.perf_counter()
            out = create_completion(llm, "Hello", max_tokens=n_tokens, seed=1, stream="streamed" in label, **kwargs)
            if "streamed" in label:
                out = list(out)
            times.append((time.perf_counter() - t0) / n_tokens * 1e6)
        print(f"loop per token, {label:32s} {min(times):8.1f} us")


def measure(fn, calls: int) -> tuple[float, float, float]:
    for _ in range(5):  # compile and warm caches
        fn()
    times = np.empty(calls)
    for i in range(calls):
        t0 = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - t0
    times *= 1e6
    return float(times.mean()), float(np.percentile(times, 50)), float(np.percentile(times, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--model", action="store_true", help="use the default model's real logits")
    parser.add_argument("--loop", action="store_true", help="also time create_completion's per-token overhead")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    logits = default_model_logits() if args.model else model_like_logits(rng)
    if logits.size != N_VOCAB:
        raise SystemExit(f"expected a {N_VOCAB}-token vocabulary, got {logits.size}")
    ids = rng.integers(0, N_VOCAB, 200)
    mask = rng.random(N_VOCAB) < 0.5
    top40 = TopK(40)(ids, logits)

    processors = {
        "mask (grammar, 50% allowed)": lambda: kernels.masked_copy(logits, mask),
        "LogitBias (10 tokens)": (LogitBias({int(i): 1.0 for i in range(10)}), logits),
        "Penalties(64, 1.1, 0.1, 0.1)": (Penalties(64, 1.1, 0.1, 0.1), logits),
        "Temperature(0.8)": (Temperature(0.8), logits),
        "TopK(40)": (TopK(40), logits),
        "TopP(0.95) full vocab": (TopP(0.95), logits),
        "TopP(0.95) after top-k 40": (TopP(0.95), top40),
        "MinP(0.05)": (MinP(0.05), logits),
        "TypicalP(0.9) full vocab": (TypicalP(0.9), logits),
        "WordBooster(force)": (WordBooster(int(np.argsort(logits)[-5]), [2], top_k=30), logits),
    }
    samplers = {
        "Greedy": Greedy(),
        "Dist": Dist(seed=1),
        "MirostatV1": MirostatV1(seed=1),
        "MirostatV2": MirostatV2(seed=1),
    }
    # the chains create_completion builds from its default arguments: under a grammar, for free text
    chain = build_pipeline(mirostat_mode=0, seed=1)
    mirostat_chain = build_pipeline(mirostat_mode=2, seed=1)

    source = "default model" if args.model else "synthetic"
    print(f"{'stage':34s} {'mean':>8s} {'p50':>8s} {'p99':>8s}   (us per call, vocab {N_VOCAB}, {source} logits)")
    for name, item in processors.items():
        fn = item if callable(item) and not isinstance(item, tuple) else (lambda p=item[0], x=item[1]: p(ids, x))
        print(f"{name:34s} {' '.join(f'{v:8.1f}' for v in measure(fn, args.calls))}")
    for name, sampler in samplers.items():
        fn = lambda s=sampler: s(logits)  # noqa: E731
        print(f"{name:34s} {' '.join(f'{v:8.1f}' for v in measure(fn, args.calls))}")
        if hasattr(sampler, "mu"):
            print(f"{'':34s} (mu after the run: {sampler.mu:.2f})")
        sampler.reset()
    for name, pipe in {"pipeline: llama-cpp default chain": chain,
                       "pipeline: temperature + mirostat v2": mirostat_chain}.items():
        fn = lambda p=pipe: p(ids, logits, mask)  # noqa: E731
        print(f"{name:34s} {' '.join(f'{v:8.1f}' for v in measure(fn, args.calls))}")
    if args.loop:
        loop_overhead(logits)


if __name__ == "__main__":
    main()
