"""One timing protocol for every engine (see engines.py for the interface it needs).

In one process, after load: a warm-up eval (kernel compiles), a prompt in one batch,
greedy generation from a short context, then generation at growing context positions
(the context is filled with random ids in 512-token batches up to each position, then
some tokens are generated there: the attention cost), and optionally a greedy chat
completion under a JSON grammar and without one.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

WARMUP_TOKENS = 8
FILL_BATCH = 512


@dataclass(frozen=True)
class Workload:
    prompt_tokens: int = 200
    gen_tokens: int = 128
    contexts: tuple[int, ...] = (128, 512, 2048)
    ctx_gen_tokens: int = 32  # generated at each context position
    json_tokens: int = 0  # constrained JSON chat generation; 0 skips it
    n_ctx_fixed: int = 0  # the context window; 0: the smallest that fits the steps (n_ctx)
    gen_only: bool = False  # only the generation from a short context (contention runs)

    @property
    def n_ctx(self) -> int:
        """The context window both engines get: n_ctx_fixed, or room for every step in
        256-token units."""
        if self.n_ctx_fixed:
            return self.n_ctx_fixed
        need = max(self.prompt_tokens, WARMUP_TOKENS + self.gen_tokens,
                   max(self.contexts, default=0) + self.ctx_gen_tokens, 512)
        if self.json_tokens:
            need = max(need, 256 + self.json_tokens)
        return -(-need // 256) * 256

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Workload:
        return cls(**{**d, "contexts": tuple(d.get("contexts", ()))})


def prompt_ids(n_vocab: int, n: int) -> list[int]:
    import numpy as np

    # ordinary ids drawn away from the control tokens at the start of most vocabularies
    return [int(i) for i in np.random.default_rng(0).integers(300, n_vocab, n)]


def _generate(engine, n: int) -> float:
    """Seconds for n greedy tokens, each fed back as the next single-token eval."""
    t = time.perf_counter()
    for _ in range(n):
        engine.eval([engine.greedy_next()])
    return time.perf_counter() - t


def measure(engine, work: Workload, started: float, loaded: float, barrier=None) -> dict:
    """barrier: called before the timed generation of a gen_only workload (several
    processes start generating together)."""
    ids = prompt_ids(engine.n_vocab(), max(work.prompt_tokens, max(work.contexts, default=0), WARMUP_TOKENS))
    engine.eval(ids[:WARMUP_TOKENS])  # first eval: includes any kernel compile or warm-up
    first = time.perf_counter()
    result = {"load_s": loaded - started, "first_eval_s": first - started}
    if work.gen_only:
        if barrier is not None:
            barrier()
        result["gen_tps"] = work.gen_tokens / _generate(engine, work.gen_tokens)
        return result

    engine.reset()
    t = time.perf_counter()
    engine.eval(ids[:work.prompt_tokens])
    result["prompt_tps"] = work.prompt_tokens / (time.perf_counter() - t)

    engine.reset()
    engine.eval(ids[:WARMUP_TOKENS])
    result["gen_tps"] = work.gen_tokens / _generate(engine, work.gen_tokens)

    if work.contexts:
        engine.reset()
        filled, fill_s = 0, 0.0
        for ctx in sorted(work.contexts):
            t = time.perf_counter()
            while filled < ctx:  # filled counts context positions, generated tokens included
                step = min(FILL_BATCH, ctx - filled)
                engine.eval(ids[filled:filled + step])
                filled += step
            fill_s += time.perf_counter() - t
            result[f"gen_tps@{ctx}"] = work.ctx_gen_tokens / _generate(engine, work.ctx_gen_tokens)
            filled += work.ctx_gen_tokens
        result["fill_tps"] = (filled - work.ctx_gen_tokens * len(work.contexts)) / fill_s
        result["context_positions"] = filled

    if work.json_tokens:
        result.update(_chat_speeds(engine, work.json_tokens))
    return result


def _chat_speeds(engine, max_tokens: int, repeats: int = 3) -> dict:
    """Greedy chat generation tokens/s, free and under the JSON grammar, after an 8-token
    warm-up of each. Prompt time is excluded: timed apart with max_tokens=1 and
    subtracted. Medians of `repeats` runs (the runs are short, so single ones are noisy)."""
    import statistics

    grammar = engine.json_grammar()
    engine.chat(grammar, WARMUP_TOKENS)
    engine.chat(None, WARMUP_TOKENS)

    def timed(g, n: int) -> tuple[float, int]:
        t = time.perf_counter()
        produced = engine.chat(g, n)
        return time.perf_counter() - t, produced

    prompt_s = statistics.median(timed(None, 1)[0] for _ in range(repeats))
    speeds = {}
    for key, g in (("chat", None), ("json", grammar)):
        runs = [timed(g, max_tokens) for _ in range(repeats)]
        speeds[f"{key}_tps"] = statistics.median((n - 1) / max(s - prompt_s, 1e-9) for s, n in runs)
        speeds[f"{key}_generated"] = runs[0][1]
    return speeds
