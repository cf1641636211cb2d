"""Grammar engine benchmark: compile time and per-step mask time on SmolLM2's 49k vocabulary.

Forces `{"name": "Ada Lovelace", "age": 36, "skills": ["math", "poetry"]}` token by token
through JSON and through a small JSON-schema-like grammar, timing `matcher.mask()` at every
step (and once after the last token). "cold" is the first pass after compiling (nothing
memoized yet for this grammar: what a user with a new schema sees); "warm" is a second
generation with the same compiled grammar (per-state masks memoized, as when a server reuses a
grammar). "compile" is GrammarEngine + matcher (lexer tables, vocabulary slices), with the
vocabulary index and the numba kernels already loaded. Each repeat compiles afresh; the
garbage collector stays on (its pauses are part of what a user sees), but is run once before
each repeat so that repeats start alike. Per-repeat figures are printed, then the median.

    python benchmarks/bench_grammar.py [--repeats N]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import numpy as np

from constrain.grammars import Grammar, regex
from constrain.grammars.builders import json_lark
from constrain.grammars.engine import GrammarEngine
from constrain.grammars.lark_frontend import parse_lark
from constrain.grammars.masks import MaskBuilder
from constrain.grammars.matcher import GrammarMatcher
from constrain.grammars.vocabulary import TokenVocabulary, load_trie

DOCUMENT = '{"name": "Ada Lovelace", "age": 36, "skills": ["math", "poetry"]}'

SCHEMA_LIKE = r"""
start: "{" _ow NAME_KEY _ow ":" _ow STRING _ow "," _ow AGE_KEY _ow ":" _ow INT _ow "," _ow SKILLS_KEY _ow ":" _ow skills _ow "}"
skills: "[" _ow "]" | "[" _ow STRING _ow ("," _ow STRING _ow)* "]"
_ow: WS?
NAME_KEY: "\"name\""
AGE_KEY: "\"age\""
SKILLS_KEY: "\"skills\""
STRING: /"(?:[^"\\\x00-\x1f]|\\(?:["\\\/bfnrt]|u[0-9a-fA-F]{4}))*"/
INT: /-?(?:0|[1-9][0-9]*)/
WS: /[ \t\n\r]{1,16}/
"""  # noqa: E501 (lark rules are one line each)


def load_tokenizer():
    from constrain.runtime.default_model import default_model_path
    from constrain.runtime.gguf_file import GGUFFile
    from constrain.runtime.tokenizer.tokenizer import load_tokenizer as load

    return load(GGUFFile(default_model_path()).metadata)


def compile_ms(text: str, vocab: TokenVocabulary) -> tuple[float, GrammarMatcher]:
    """Fresh compile (no content-hash cache) up to a usable matcher, vocabulary index warm."""
    start = time.perf_counter()
    engine = GrammarEngine(parse_lark(text))
    matcher = GrammarMatcher(engine, vocab, MaskBuilder(engine, load_trie(vocab)))
    return (time.perf_counter() - start) * 1e3, matcher


def force(matcher: GrammarMatcher, ids: list[int]) -> list[float]:
    matcher.reset()
    times = []
    for token_id in ids + [None]:
        start = time.perf_counter()
        mask = matcher.mask()
        times.append((time.perf_counter() - start) * 1e6)
        if token_id is None:
            assert mask[sorted(matcher.vocab.eos_ids)].any(), "end of generation must be allowed"
        else:
            assert mask[token_id], f"token {token_id} refused"
            matcher.advance(token_id)
    return times


def stats(times: list[float]) -> tuple[float, float, float]:
    return statistics.fmean(times), float(np.percentile(times, 50)), float(np.percentile(times, 99))


def line(label: str, values: tuple[float, float, float]) -> str:
    mean, p50, p99 = values
    return f"{label:<22} mean {mean:8.1f} us  p50 {p50:7.1f} us  p99 {p99:8.1f} us"


def median_of(rows: list[tuple]) -> tuple:
    return tuple(statistics.median(col) for col in zip(*rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fresh compiles per grammar")
    args = parser.parse_args()
    tokenizer = load_tokenizer()
    vocab = TokenVocabulary.from_tokenizer(tokenizer)
    ids = tokenizer.encode(DOCUMENT, add_bos=False)
    # vocabulary index and numba kernels loaded once (this byte set is no benchmark grammar's)
    regex(r"[^\n]+").matcher(vocab).mask()
    print(f"vocabulary {vocab.n_vocab} tokens; document {len(ids)} tokens, {len(ids) + 1} masks per pass")
    for name, text in (("JSON", json_lark()), ("schema-like", SCHEMA_LIKE)):
        compiles, cold, warm, cold_all, warm_all = [], [], [], [], []
        print(f"\n{name}")
        for r in range(args.repeats):
            gc.collect()
            ms, matcher = compile_ms(text, vocab)
            first, second = force(matcher, ids), force(matcher, ids)
            compiles.append(ms)
            cold.append(stats(first))
            warm.append(stats(second))
            cold_all += first
            warm_all += second
            print(f"  repeat {r + 1}: compile {ms:5.1f} ms  cold mean/p50/p99 {cold[-1][0]:6.1f} / "
                  f"{cold[-1][1]:6.1f} / {cold[-1][2]:7.1f} us  warm {warm[-1][0]:5.1f} / {warm[-1][1]:5.1f} / "
                  f"{warm[-1][2]:6.1f} us")
        Grammar(text)  # the content-hash cache path, for completeness
        print(f"  compile median {statistics.median(compiles):.1f} ms "
              f"(min {min(compiles):.1f}, max {max(compiles):.1f})")
        print("  " + line("mask cold, median", median_of(cold)))
        print("  " + line("mask cold, pooled", stats(cold_all)))
        print("  " + line("mask warm, median", median_of(warm)))
        print("  " + line("mask warm, pooled", stats(warm_all)))


if __name__ == "__main__":
    main()
