"""Structured extraction on the default model over realistic schemas and texts.

    python benchmarks/extraction_eval.py [--seeds 2] [--features]

For every schema: compile time (vocabulary index warm), then greedy and mirostat v2
extractions from each of its texts. Every output must parse and validate with jsonschema
(formats checked). Prints a line per schema and the totals; exits non-zero on a failure.
"""

from __future__ import annotations

import argparse
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


TAG = {"type": "string", "pattern": "^[a-z][a-z0-9-]*$", "minLength": 2, "maxLength": 20}
NAME63 = {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "minLength": 1, "maxLength": 63}

# Schemas with what real-world schemas use and a context-free grammar alone cannot express:
# anyOf of object shapes that share keys, a pattern together with lengths, uniqueItems.
FEATURE_SCHEMAS: dict[str, tuple[dict, list[str]]] = {
    "payment": ({
        "type": "object",
        "properties": {"amount": {"type": "number", "minimum": 0}, "method": {"anyOf": [
            {"type": "object", "properties": {"kind": {"const": "card"},
                                              "last4": {"type": "string", "pattern": "^[0-9]{4}$"}},
             "required": ["kind", "last4"], "additionalProperties": False},
            {"type": "object", "properties": {"kind": {"const": "bank"},
                                              "iban": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{2}[A-Z0-9]+$",
                                                       "minLength": 15, "maxLength": 34}},
             "required": ["kind", "iban"], "additionalProperties": False}]}},
        "required": ["amount", "method"],
    }, ["Paid 42.50 with the Visa card ending in 4242.",
        "Transfer of 1200 from account DE89370400440532013000."]),
    "pod": ({
        "type": "object",
        "properties": {"name": NAME63, "namespace": NAME63,
                       "images": {"type": "array", "items": {"type": "string", "maxLength": 60},
                                  "uniqueItems": True, "minItems": 1, "maxItems": 4},
                       "replicas": {"type": "integer", "minimum": 1, "maximum": 10}},
        "required": ["name", "images", "replicas"],
    }, ["Deploy web-frontend in namespace shop with 3 replicas of nginx:1.25 and redis:7.",
        "The api pod (namespace prod) runs python:3.12-slim, two copies."]),
    "article": ({
        "type": "object",
        "properties": {"title": S, "tags": {"type": "array", "items": TAG, "uniqueItems": True, "maxItems": 5}},
        "required": ["title", "tags"],
    }, ["New paper: sparse attention for long documents, about machine learning and NLP.",
        "Recipe of the week: vegan chocolate cake, baking and desserts."]),
    "contact_point": ({
        "type": "object",
        "properties": {"name": S, "reach": {"anyOf": [
            {"type": "object", "properties": {"email": {"type": "string", "format": "email", "maxLength": 60}},
             "required": ["email"], "additionalProperties": False},
            {"type": "object", "properties": {"phone": {"type": "string", "pattern": "^\\+?[0-9 ]+$",
                                                        "minLength": 7, "maxLength": 16}},
             "required": ["phone"], "additionalProperties": False}]}},
        "required": ["name", "reach"],
    }, ["Call Dr. Lee on +44 20 7946 0958.", "Write to Sam at sam@example.org."]),
    "shape": ({
        "type": "object",
        "properties": {"shape": {"anyOf": [
            {"type": "object", "properties": {"radius": {"type": "number", "exclusiveMinimum": 0}},
             "required": ["radius"], "additionalProperties": False},
            {"type": "object", "properties": {"width": {"type": "number", "exclusiveMinimum": 0},
                                              "height": {"type": "number", "exclusiveMinimum": 0}},
             "required": ["width", "height"], "additionalProperties": False},
            {"type": "object", "properties": {"radius": {"type": "number"}, "height": {"type": "number"}},
             "required": ["radius", "height"], "additionalProperties": False}]}},
        "required": ["shape"],
    }, ["A round table with a radius of 0.6 metres.", "A poster 70 wide and 100 high."]),
    "flight_plan": ({
        "type": "object",
        "properties": {"code": {"type": "string", "pattern": "^[A-Z]{2}[0-9]+$", "minLength": 3, "maxLength": 6},
                       "stops": {"type": "array", "items": {"type": "string", "pattern": "^[A-Z]{3}$"},
                                 "uniqueItems": True, "minItems": 2, "maxItems": 4}},
        "required": ["code", "stops"],
    }, ["LH400 flies FRA to JFK.", "Route of QF1: Sydney SYD, Singapore SIN, London LHR."]),
    "account": ({
        "type": "object",
        "properties": {"username": {"type": "string", "pattern": "^[a-z_][a-z0-9_]*$", "minLength": 3,
                                    "maxLength": 16},
                       "roles": {"type": "array", "items": {"enum": ["admin", "editor", "viewer"]},
                                 "uniqueItems": True, "minItems": 1}},
        "required": ["username", "roles"],
    }, ["Create user jdoe_42 as an editor and viewer.", "Give maria admin rights."]),
    "order": ({
        "type": "object",
        "properties": {"id": {"type": "string", "pattern": "^ORD-[0-9]+$", "minLength": 6, "maxLength": 12},
                       "status": {"anyOf": [
                           {"type": "object", "properties": {"state": {"const": "pending"}},
                            "required": ["state"], "additionalProperties": False},
                           {"type": "object", "properties": {"state": {"const": "shipped"},
                                                             "carrier": {"enum": ["UPS", "DHL", "FedEx"]}},
                            "required": ["state", "carrier"], "additionalProperties": False}]}},
        "required": ["id", "status"],
    }, ["Order ORD-20931 has shipped with DHL.", "ORD-77 is still pending."]),
    "shopping": ({
        "type": "object",
        "properties": {"store": S, "items": {"type": "array", "items": {"type": "string", "maxLength": 30},
                                             "uniqueItems": True, "minItems": 1, "maxItems": 6}},
        "required": ["store", "items"],
    }, ["At the market get apples, bread and cheese.", "Pick up batteries and a lamp from Ikea."]),
    "location": ({
        "type": "object",
        "properties": {"place": {"anyOf": [
            {"type": "object", "properties": {"city": SHORT, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
             "required": ["city", "zip"], "additionalProperties": False},
            {"type": "object", "properties": {"city": SHORT, "postcode": {
                "type": "string", "pattern": "^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$", "maxLength": 8}},
             "required": ["city", "postcode"], "additionalProperties": False}]}},
        "required": ["place"],
    }, ["The shop is in Boston, MA 02118.", "Visit us at 10 Downing Street, London SW1A 2AA."]),
}


def run(llm, seeds: int = 2, log=print, schemas=None) -> tuple[int, int, list[str], dict[str, float]]:
    import jsonschema

    from constrain.extraction import ExtractionError, extract
    from constrain.grammars import json_schema

    passed = total = 0
    failures: list[str] = []
    compile_ms: dict[str, float] = {}
    for name, (schema, texts) in (SCHEMAS if schemas is None else schemas).items():
        json_schema(schema).matcher(llm.tokenizer)  # warm the vocabulary index
        started = time.perf_counter()
        grammar = json_schema(dict(schema, title=f"{name}-{time.time_ns()}"))  # defeat the grammar cache
        grammar.matcher(llm.tokenizer)
        compile_ms[name] = (time.perf_counter() - started) * 1e3
        checker = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        ok = n = 0
        t = time.perf_counter()
        settings = [dict(temperature=0.0)] + [dict(temperature=0.8, mirostat_mode=2, seed=s) for s in range(seeds)]
        cases = [(text, kwargs) for text in texts for kwargs in settings]
        # every case on a sequence of its own, up to llm's n_seq_max decoded together (each
        # answer is what it would be alone: its own sampler and seed, the same logits)
        outcomes = llm.run_sequences([lambda view, text=text, kwargs=kwargs, schema=schema, grammar=grammar: extract(
            view, schema, text, grammar=grammar, max_tokens=200, **kwargs) for text, kwargs in cases])
        for (_text, kwargs), value in zip(cases, outcomes):
            n += 1
            if isinstance(value, ExtractionError):
                failures.append(f"{name} {kwargs}: {value}")
            elif isinstance(value, BaseException):
                raise value
            elif checker.is_valid(value):
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
    ap.add_argument("--parallel", type=int, default=4, help="extractions decoded together")
    ap.add_argument("--features", action="store_true",
                    help="the schemas with anyOf of objects, pattern with lengths and uniqueItems")
    args = ap.parse_args()
    from constrain import Llama

    llm = Llama(n_threads=args.threads, n_seq_max=args.parallel)
    passed, total, failures, compile_ms = run(llm, seeds=args.seeds,
                                              schemas=FEATURE_SCHEMAS if args.features else SCHEMAS)
    print(f"total: {passed}/{total} extractions parsed and validated; "
          f"compile max {max(compile_ms.values()):.1f} ms over {len(compile_ms)} schemas")
    for failure in failures:
        print("FAILED", failure)
    return 0 if passed == total else 1


if __name__ == "__main__":
    sys.exit(main())
