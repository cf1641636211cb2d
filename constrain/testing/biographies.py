"""One-sentence biographies and their schema: the corpus of the batch-extraction tests and
benchmark, so that the figures and the tests speak of the same documents."""

from __future__ import annotations

PERSON_SCHEMA = {"type": "object",
                 "properties": {"name": {"type": "string", "maxLength": 24},
                                "birth_year": {"type": "integer", "minimum": 0, "maximum": 2100},
                                "city": {"type": "string", "maxLength": 24}},
                 "required": ["name", "birth_year", "city"], "additionalProperties": False}
PEOPLE = [("Ada Lovelace", 1815, "London"), ("Alan Turing", 1912, "London"), ("Grace Hopper", 1906, "New York"),
          ("Marie Curie", 1867, "Warsaw"), ("Albert Einstein", 1879, "Ulm"), ("Emmy Noether", 1882, "Erlangen"),
          ("Niels Bohr", 1885, "Copenhagen"), ("Rosalind Franklin", 1920, "London"),
          ("Katherine Johnson", 1918, "White Sulphur Springs"), ("Srinivasa Ramanujan", 1887, "Erode")]


def biographies(n: int) -> list[str]:
    """n sentences, the people in turn, in two phrasings."""
    out = []
    for i in range(n):
        name, year, city = PEOPLE[i % len(PEOPLE)]
        out.append(f"{name} was born in {city} in {year}." if i % 2 == 0 else f"Born {year} in {city}: {name}.")
    return out
