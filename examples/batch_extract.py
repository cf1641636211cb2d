"""Extract one JSON object per line of a JSONL file of texts, with a progress bar.

    python examples/batch_extract.py [texts.jsonl] [schema.json] > people.jsonl

Each input line is a JSON string or an object with a "text" field; each output line is
the extracted JSON. The schema is compiled once and reused for every text.
"""

import json
import os
import sys

from tqdm import tqdm

from constrain import Llama, extract
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
    llm = Llama(n_threads=2)
    for text in tqdm(texts, desc="extracting", unit="text", file=sys.stderr):
        print(json.dumps(extract(llm, schema, text, grammar=grammar)), flush=True)


if __name__ == "__main__":
    main()
