"""Forced-token fast-forward: extraction wall time with and without it, same validity.

    python benchmarks/fast_forward.py [--runs 3] [--threads 2]

Extracts examples/data/invoice.txt under examples/data/invoice.schema.json (greedy, as
examples/extract_invoice.py does) alternating fast_forward on and off in
one process, and prints per run the wall time, the tokens and characters written and whether
the result validated; then the ratio of the medians, whole and per output character (greedy
decoding may write a different text once forced tokens are spelled differently).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "examples", "data")


def _load(name: str) -> str:
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        return f.read()


def run_once(llm, schema: dict, text: str, fast_forward: bool) -> tuple[float, int, bool, str]:
    import jsonschema

    from constrain.extraction import extraction_messages
    from constrain.grammars import json_schema

    grammar = json_schema(schema)
    started = time.perf_counter()
    out = llm.create_chat_completion(extraction_messages(schema, text), grammar=grammar, max_tokens=1000,
                                     temperature=0.0, fast_forward=fast_forward)
    elapsed = time.perf_counter() - started
    content = out["choices"][0]["message"]["content"]
    try:
        jsonschema.validate(json.loads(content), schema)
        valid = True
    except (ValueError, jsonschema.ValidationError):
        valid = False
    return elapsed, out["usage"]["completion_tokens"], valid, content


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    from constrain import Llama

    llm = Llama(n_threads=args.threads, n_ctx=2048)
    cases = [("invoice", json.loads(_load("invoice.schema.json")), _load("invoice.txt"))]
    for name, schema, text in cases:
        run_once(llm, schema, text, True)  # compile, caches, first-use kernels
        times: dict[bool, list[float]] = {True: [], False: []}
        outputs: dict[bool, str] = {}
        for _ in range(args.runs):
            for on in (True, False):
                elapsed, tokens, valid, content = run_once(llm, schema, text, on)
                times[on].append(elapsed)
                outputs[on] = content
                print(f"{name:<8} fast_forward={'on ' if on else 'off'} {elapsed:6.2f} s  {tokens:4d} tokens  "
                      f"{len(content):5d} chars  {elapsed / len(content) * 1e3:5.2f} ms/char  "
                      f"{'valid' if valid else 'INVALID'}")
        on, off = statistics.median(times[True]), statistics.median(times[False])
        per_char = {k: statistics.median(times[k]) / len(outputs[k]) for k in (True, False)}
        print(f"{name:<8} median on {on:.2f} s, off {off:.2f} s: {off / on:.2f}x faster with fast-forward; "
              f"per output character {per_char[False] / per_char[True]:.2f}x; "
              f"same output: {outputs[True] == outputs[False]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
