"""Constrained generations on the default model: every one must finish and parse.

    python benchmarks/constrained_generations.py [--seeds 5]

Runs chat prompts under several grammars (JSON, JSON Schemas, regexes, a choice, a
left-nested lark grammar of bounded length), greedy and with mirostat v2 at several seeds, and checks
that each generation ends by itself (finish_reason "stop") with text that the grammar's
own checker accepts (lark, json + jsonschema, re.fullmatch). Prints one line per
grammar and the totals; exits non-zero if any generation failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
# The bounded variant: examples/custom_grammar/arithmetic.lark is unbounded, and mirostat
# sometimes wrote `12 + 12 + 12 + ...` up to any token budget. This one's longest sentence is
# 40 bytes, so its 48-token budget always suffices and every generation must end by itself.
ARITHMETIC = os.path.join(HERE, "..", "examples", "custom_grammar", "arithmetic_bounded.lark")

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 40},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "skills": {"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 4},
    },
    "required": ["name", "age", "skills"],
}
EVENT = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "maxLength": 50},
        "date": {"type": "string", "format": "date"},
        "kind": {"enum": ["meeting", "party", "launch", "other"]},
        "attendees": {"type": "integer", "minimum": 1, "maximum": 1000},
    },
    "required": ["title", "date", "kind", "attendees"],
}


@dataclass
class Case:
    name: str
    question: str
    make_grammar: Callable[[], object]
    accepts: Callable[[str], bool]
    max_tokens: int = 96


def _lark_accepts(path: str) -> Callable[[str], bool]:
    import lark

    parser = lark.Lark(open(path, encoding="utf-8").read(), parser="lalr")

    def accepts(text: str) -> bool:
        try:
            parser.parse(text)
        except lark.exceptions.LarkError:
            return False
        return True

    return accepts


def _schema_accepts(schema: dict) -> Callable[[str], bool]:
    import jsonschema

    checker = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)

    def accepts(text: str) -> bool:
        try:
            return checker.is_valid(json.loads(text))
        except json.JSONDecodeError:
            return False

    return accepts


def _json_accepts(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def cases() -> list[Case]:
    from constrain import grammars

    date = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    color = r"#[0-9a-f]{6}"
    options = ["yes", "no", "maybe"]
    return [
        Case("json", "Describe a cat as a small JSON object with a name and an age.", grammars.json, _json_accepts),
        Case("schema:person", "Invent a person and give their name, age and skills as JSON.",
             lambda: grammars.json_schema(PERSON), _schema_accepts(PERSON)),
        Case("schema:event", "Invent an event next month and describe it as JSON.",
             lambda: grammars.json_schema(EVENT), _schema_accepts(EVENT)),
        Case("regex:date", "On which date did Apollo 11 land on the moon? Answer as YYYY-MM-DD.",
             lambda: grammars.regex(date), lambda t: re.fullmatch(date, t) is not None, 16),
        Case("regex:color", "Give the hex code of a nice blue color.",
             lambda: grammars.regex(color), lambda t: re.fullmatch(color, t) is not None, 16),
        Case("choice", "Is the sky blue on a clear day? Answer yes, no or maybe.",
             lambda: grammars.choice(options), lambda t: t in options, 8),
        Case("lark:arithmetic", "Write an arithmetic expression whose value is 12.",
             lambda: grammars.Grammar.from_file(ARITHMETIC), _lark_accepts(ARITHMETIC), 48),
    ]


def run(llm, seeds: int = 7, prompts_per_case: int = 2, log=print) -> tuple[int, int, list[str]]:
    """Returns (passed, total, failure descriptions)."""
    passed = total = 0
    failures: list[str] = []
    for case in cases():
        grammar = case.make_grammar()
        ok = n = 0
        started = time.perf_counter()
        questions = [case.question, case.question + " Be brief."][:prompts_per_case]
        settings = [("greedy", dict(temperature=0.0))]
        settings += [(f"mirostat/seed={s}", dict(temperature=0.8, mirostat_mode=2, seed=s)) for s in range(seeds)]
        for question in questions:
            for label, kwargs in settings:
                out = llm.create_chat_completion([{"role": "user", "content": question}], grammar=grammar,
                                                 max_tokens=case.max_tokens, **kwargs)
                choice = out["choices"][0]
                text = choice["message"]["content"]
                good = choice["finish_reason"] == "stop" and case.accepts(text)
                n += 1
                ok += good
                if not good:
                    failures.append(f"{case.name} [{label}] {choice['finish_reason']}: {text!r}")
        passed += ok
        total += n
        log(f"{case.name:<18} {ok:>3}/{n:<3} finished and parsed  ({time.perf_counter() - started:.1f} s)")
    return passed, total, failures


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=7, help="mirostat seeds per prompt")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    from constrain import Llama

    llm = Llama(n_threads=args.threads)
    passed, total, failures = run(llm, seeds=args.seeds)
    print(f"total: {passed}/{total} constrained generations finished and parsed")
    for failure in failures:
        print("FAILED", failure)
    return 0 if passed == total else 1


if __name__ == "__main__":
    sys.exit(main())
