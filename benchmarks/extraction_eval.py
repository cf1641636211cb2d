"""Structured extraction on the default model over realistic schemas and texts.

    python benchmarks/extraction_eval.py [--seeds 2]

For every schema: compile time (vocabulary index warm), then greedy and mirostat v2
extractions from each of its texts. Every output must parse and validate with jsonschema
(formats checked). Prints a line per schema and the totals; exits non-zero on a failure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

S = {"type": "string", "maxLength": 60}
SHORT = {"type": "string", "maxLength": 30}

SCHEMAS: dict[str, tuple[dict, list[str]]] = {
    "person": ({
        "type": "object",
        "properties": {"name": S, "birth_year": {"type": "integer", "minimum": 1000, "maximum": 2100},
                       "city": SHORT, "occupation": S},
        "required": ["name", "birth_year", "city", "occupation"],
    }, ["Ada Lovelace was born in London in 1815 and worked as a mathematician.",
        "Grace Hopper, a computer scientist, was born in New York City in 1906."]),
    "book": ({
        "type": "object",
        "properties": {"title": S, "author": S, "year": {"type": "integer", "minimum": 1400, "maximum": 2100},
                       "genres": {"type": "array", "items": SHORT, "minItems": 1, "maxItems": 3}},
        "required": ["title", "author", "year", "genres"],
    }, ["Frankenstein is a gothic horror novel by Mary Shelley, published in 1818.",
        "Dune, Frank Herbert's 1965 science fiction epic, mixes politics and ecology."]),
    "event": ({
        "type": "object",
        "properties": {"name": S, "date": {"type": "string", "format": "date"},
                       "city": SHORT, "online": {"type": "boolean"}},
        "required": ["name", "date", "city", "online"],
    }, ["PyCon will take place in Pittsburgh on 2025-05-14, in person only.",
        "The Rust meetup on 2024-11-02 in Berlin is also streamed online."]),
    "product": ({
        "type": "object",
        "properties": {"name": S, "price": {"type": "number", "minimum": 0},
                       "currency": {"enum": ["USD", "EUR", "GBP"]}, "in_stock": {"type": "boolean"}},
        "required": ["name", "price", "currency", "in_stock"],
    }, ["The Aeron chair costs 1395 USD and is currently in stock.",
        "Our ceramic mug sells for 12.50 EUR but is sold out."]),
    "contact": ({
        "type": "object",
        "properties": {"name": S, "email": {"type": "string", "format": "email"},
                       "phone": {"type": "string", "pattern": "^\\+?[0-9 -]{7,15}$"}},
        "required": ["name", "email"],
    }, ["Reach Maria Gomez at maria.gomez@example.com or +34 600 123 456.",
        "For support, write to Tom Baker: tom@acme.example."]),
    "sentiment": ({
        "type": "object",
        "properties": {"sentiment": {"enum": ["positive", "negative", "neutral"]},
                       "confidence": {"type": "number", "minimum": 0, "maximum": 1}},
        "required": ["sentiment", "confidence"],
    }, ["I absolutely loved this film, the music was wonderful!",
        "The delivery was late and the box was damaged."]),
    "recipe": ({
        "type": "object",
        "properties": {"dish": S, "servings": {"type": "integer", "minimum": 1, "maximum": 20},
                       "ingredients": {"type": "array", "items": SHORT, "minItems": 1, "maxItems": 6}},
        "required": ["dish", "servings", "ingredients"],
    }, ["Pancakes for 4: mix flour, two eggs, milk and a pinch of salt.",
        "This guacamole serves 2 and needs avocados, lime, onion and cilantro."]),
    "flight": ({
        "type": "object",
        "$defs": {"airport": {"type": "string", "pattern": "^[A-Z]{3}$"}},
        "properties": {"flight": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{2,4}$"},
                       "from": {"$ref": "#/$defs/airport"}, "to": {"$ref": "#/$defs/airport"},
                       "departure": {"type": "string", "format": "date-time"}},
        "required": ["flight", "from", "to", "departure"],
    }, ["Flight LH400 leaves Frankfurt (FRA) for New York (JFK) on 2024-07-01T10:35:00Z.",
        "BA117 departs London Heathrow LHR at 2025-01-15T08:20:00Z, arriving at JFK."]),
    "company": ({
        "type": "object",
        "properties": {"name": S, "founded": {"type": "integer", "minimum": 1800, "maximum": 2100},
                       "headquarters": SHORT, "employees": {"type": "integer", "minimum": 1},
                       "public": {"type": "boolean"}},
        "required": ["name", "founded", "headquarters", "public"],
    }, ["Acme Robotics was founded in 2011, is based in Austin and has 240 employees; it is privately held.",
        "Nordic Timber, a listed company headquartered in Oslo, dates back to 1921."]),
    "meeting": ({
        "type": "object",
        "properties": {"topic": S, "day": {"enum": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]},
                       "start": {"type": "string", "format": "time"},
                       "participants": {"type": "array", "items": SHORT, "maxItems": 5}},
        "required": ["topic", "day", "start", "participants"],
    }, ["Budget review on Tuesday at 14:00:00Z with Anna, Ben and Chloe.",
        "Let's do the design sync Friday 09:30:00Z, just me and Priya."]),
    "address": ({
        "type": "object",
        "properties": {"street": S, "city": SHORT, "postcode": {"type": "string", "pattern": "^[0-9]{5}$"},
                       "country": {"enum": ["France", "Germany", "Italy", "Spain"]}},
        "required": ["street", "city", "postcode", "country"],
    }, ["Send it to 12 Rue de Rivoli, 75001 Paris, France.",
        "Our office: Hauptstrasse 5, 10115 Berlin, Germany."]),
}


def run(llm, seeds: int = 2, log=print) -> tuple[int, int, list[str], dict[str, float]]:
    import jsonschema

    from constrain.extraction import extract, ExtractionError
    from constrain.grammars import json_schema

    passed = total = 0
    failures: list[str] = []
    compile_ms: dict[str, float] = {}
    for name, (schema, texts) in SCHEMAS.items():
        json_schema(schema).matcher(llm.tokenizer)  # warm the vocabulary index
        started = time.perf_counter()
        grammar = json_schema(dict(schema, title=f"{name}-{time.time_ns()}"))  # defeat the grammar cache
        grammar.matcher(llm.tokenizer)
        compile_ms[name] = (time.perf_counter() - started) * 1e3
        checker = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        ok = n = 0
        t = time.perf_counter()
        settings = [dict(temperature=0.0)] + [dict(temperature=0.8, mirostat_mode=2, seed=s) for s in range(seeds)]
        for text in texts:
            for kwargs in settings:
                n += 1
                try:
                    value = extract(llm, schema, text, grammar=grammar, max_tokens=200, **kwargs)
                except ExtractionError as e:
                    failures.append(f"{name} {kwargs}: {e}")
                    continue
                if checker.is_valid(value):
                    ok += 1
                else:
                    failures.append(f"{name} {kwargs}: invalid {value!r}")
        passed += ok
        total += n
        log(f"{name:<10} compile {compile_ms[name]:6.1f} ms   {ok}/{n} valid   ({time.perf_counter() - t:.1f} s)")
    return passed, total, failures, compile_ms


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=2, help="mirostat seeds per text")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    from constrain import Llama

    llm = Llama(n_threads=args.threads)
    passed, total, failures, compile_ms = run(llm, seeds=args.seeds)
    print(f"total: {passed}/{total} extractions parsed and validated; "
          f"compile max {max(compile_ms.values()):.1f} ms over {len(compile_ms)} schemas")
    for failure in failures:
        print("FAILED", failure)
    return 0 if passed == total else 1


if __name__ == "__main__":
    sys.exit(main())
