"""End-to-end generation speed with and without a grammar on the default model.

    python benchmarks/bench_constrained_speed.py [--rounds 3] [--threads 2]

The chat prompt asks for JSON; the same greedy generation runs free, under the JSON
grammar and under a small JSON Schema (name, age, skills). Tokens/s counts generated
tokens over generation time (prompt evaluation excluded: it is timed separately with
max_tokens=1 and subtracted). Medians over rounds; the ratio constrained / free is the
share of speed the grammar keeps.
"""

from __future__ import annotations

import argparse
import statistics
import time

MESSAGES = [{"role": "user", "content": "Describe Ada Lovelace as a JSON object with her name, age and skills."}]
SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                   "skills": {"type": "array", "items": {"type": "string"}}},
    "required": ["name", "age", "skills"],
}


def timed(llm, grammar, max_tokens: int) -> tuple[float, int]:
    llm.reset()  # no prefix reuse: every run evaluates the prompt the same way
    started = time.perf_counter()
    out = llm.create_chat_completion(MESSAGES, grammar=grammar, max_tokens=max_tokens, temperature=0.0)
    return time.perf_counter() - started, out["usage"]["completion_tokens"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=96)
    args = ap.parse_args()
    from constrain import Llama, grammars

    llm = Llama(n_threads=args.threads)
    variants = {"free": None, "json grammar": grammars.json(), "json schema": grammars.json_schema(SCHEMA)}
    for grammar in variants.values():  # warm up: kernels, vocabulary index, lexer states
        timed(llm, grammar, 8)
    prompt_s = statistics.median(timed(llm, None, 1)[0] for _ in range(args.rounds))
    speeds: dict[str, float] = {}
    for name, grammar in variants.items():
        rates = []
        for _ in range(args.rounds):
            seconds, n = timed(llm, grammar, args.max_tokens)
            rates.append((n - 1) / max(seconds - prompt_s, 1e-9))
        speeds[name] = statistics.median(rates)
    print(f"threads {args.threads}, greedy, up to {args.max_tokens} tokens, medians of {args.rounds}")
    for name, tps in speeds.items():
        print(f"{name:<14} {tps:7.1f} tokens/s   {tps / speeds['free']:.2f}x of free generation")


if __name__ == "__main__":
    main()
