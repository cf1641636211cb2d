"""Extract an invoice (nested objects, arrays, enums, formats, $defs) with a JSON Schema file.

    python examples/extract_invoice.py
"""

import json
import os

from constrain import Llama, extract

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    with open(os.path.join(HERE, "data", "invoice.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    with open(os.path.join(HERE, "data", "invoice.txt"), encoding="utf-8") as f:
        text = f.read()
    llm = Llama(n_threads=2)
    invoice = extract(llm, schema, text, max_tokens=1000)
    print(json.dumps(invoice, indent=2))


if __name__ == "__main__":
    main()
