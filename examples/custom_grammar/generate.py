"""Generate text that follows a custom lark grammar with the default model.

    python examples/custom_grammar/generate.py
    python examples/custom_grammar/generate.py path/to/grammar.lark "your prompt"

The grammar guarantees the output parses; lark then evaluates the arithmetic.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lark import Transformer

from constrain import Llama
from constrain.grammars import Grammar, check_grammar

HERE = Path(__file__).parent


class Evaluate(Transformer):
    def add(self, a):
        return a[0] + a[1]

    def sub(self, a):
        return a[0] - a[1]

    def mul(self, a):
        return a[0] * a[1]

    def div(self, a):
        return a[0] / a[1] if a[1] else float("nan")

    def neg(self, a):
        return -a[0]

    def NUMBER(self, token):
        return float(token)

    def start(self, a):
        return a[0]


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "arithmetic.lark"
    prompt = sys.argv[2] if len(sys.argv) > 2 else (
        "Translate each question into an arithmetic expression.\n"
        "Q: 2 apples at 3 dollars each and one melon at 4 dollars\nA: 2 * 3 + 4\n"
        "Q: 10 dollars shared by 4 friends\nA: 10 / 4\n"
        "Q: 3 books at 12.5 dollars each plus 4 pens at 1.25 dollars each\nA: ")
    print(check_grammar(str(path)), end="\n\n")
    grammar = Grammar.from_file(path)
    llm = Llama()
    result = llm(prompt, grammar=grammar, max_tokens=48, temperature=0.0)
    text = result["choices"][0]["text"] if isinstance(result, dict) else str(result)
    finish = result["choices"][0].get("finish_reason") if isinstance(result, dict) else None
    print(f"generated: {text!r} (finish_reason={finish})")
    if finish == "stop":
        tree = grammar.parse(text)  # the grammar guarantees this parses
        if path.name == "arithmetic.lark":
            print("value:", Evaluate().transform(tree))
        else:
            print(tree.pretty())


if __name__ == "__main__":
    main()
