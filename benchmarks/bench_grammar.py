"""Grammar engine benchmark: compile time and per-step mask time on SmolLM2's 49k vocabulary.

Forces `{"name": "Ada Lovelace", "age": 36, "skills": ["math", "poetry"]}` token by token
through JSON and through a small JSON-schema-like grammar, timing `matcher.mask()` at every
step (and once after the last token). "cold" is the first pass after compiling (nothing
memoized yet for this grammar); "warm" is a second generation with the same compiled grammar
(per-state masks memoized, as when a server reuses a grammar).

    python benchmarks/bench_grammar.py [--repeats N]
"""

from __future__ import annotations

import argparse
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
"""


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


def summary(times: list[float]) -> str:
    return (f"mean {statistics.fmean(times):9.1f} us  p50 {np.percentile(times, 50):8.1f} us  "
            f"p99 {np.percentile(times, 99):9.1f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fresh compiles per grammar")
    args = parser.parse_args()
    tokenizer = load_tokenizer()
    vocab = TokenVocabulary.from_tokenizer(tokenizer)
    ids = tokenizer.encode(DOCUMENT, add_bos=False)
    regex("[a-z]+").matcher(vocab).mask()  # numba kernel and vocabulary index loaded once
    print(f"vocabulary {vocab.n_vocab} tokens; document {len(ids)} tokens, {len(ids) + 1} masks per pass")
    for name, text in (("JSON", json_lark()), ("schema-like", SCHEMA_LIKE)):
        compiles, cold, warm = [], [], []
        for _ in range(args.repeats):
            ms, matcher = compile_ms(text, vocab)
            compiles.append(ms)
            cold += force(matcher, ids)
            warm += force(matcher, ids)
        Grammar(text)  # the content-hash cache path, for completeness
        print(f"\n{name}: compile median {statistics.median(compiles):.1f} ms (min {min(compiles):.1f})")
        print(f"  mask cold  {summary(cold)}")
        print(f"  mask warm  {summary(warm)}")


if __name__ == "__main__":
    main()
