"""Extract a person from a paragraph into a pydantic model, on the default model.

    python examples/extract_person.py
"""

from pydantic import BaseModel, Field

from constrain import Llama, extract

TEXT = (
    "Ada Lovelace was born in London in 1815. She was an English mathematician and writer, "
    "chiefly known for her work on Charles Babbage's Analytical Engine. She died at the age of 36."
)


class Person(BaseModel):
    name: str = Field(max_length=60)
    birth_year: int = Field(ge=1000, le=2100)
    city: str = Field(max_length=40)
    occupation: str = Field(max_length=60)
    age_at_death: int = Field(ge=0, le=130)


def main() -> None:
    llm = Llama(n_threads=2)
    person = extract(llm, Person, TEXT)
    print(repr(person))
    print(person.model_dump_json(indent=2))


if __name__ == "__main__":
    main()
