"""Extract one JSON object per line of a JSONL file of texts, four texts decoded together.

    python examples/batch_extract.py [texts.jsonl] [schema.json] > people.jsonl

Each input line is a JSON string or an object with a "text" field; each output line is
the extracted JSON (or {"error": ...} for a text that failed). The schema is compiled once
and reused for every text.
"""

import json
import os
import sys

from constrain import ConstrainError, Llama, extract_many
from constrain.grammars import json_schema

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    texts_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "data", "people.jsonl")
    schema_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "data", "person.schema.json")
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    with open(texts_path, encoding="utf-8") as f:
        lines = [json.loads(line) for line in f if line.strip()]
    texts = [item["text"] if isinstance(item, dict) else item for item in lines]
    grammar = json_schema(schema)
    llm = Llama(n_threads=2, n_seq_max=4)
    for value in extract_many(llm, schema, texts, grammar=grammar):
        print(json.dumps({"error": str(value)} if isinstance(value, ConstrainError) else value), flush=True)


if __name__ == "__main__":
    main()
