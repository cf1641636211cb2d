"""Label sentences Happy or Sad with the probability the model gives each label.

`llm.classify` scores every label as a whole continuation (all of its tokens), then
normalizes over the labels, so multi-token labels are compared fairly.

    python examples/classify_sentiment.py
"""

from constrain import Llama
from constrain.runtime.chat_template import ChatTemplate

SENTENCES = [
    "Programming with Clojure.",
    "Programming with monads.",
    "Crying in the rain.",
    "Dancing in the rain.",
    "Debugging a race condition.",
    "Solving problems in a hammock.",
    "Sitting in traffic.",
    "Drinking poison.",
]
LABELS = ["Happy", "Sad"]


def prompt_for(llm: Llama, sentence: str) -> str:
    messages = [
        {"role": "system", "content": "You label the mood of a sentence as Happy or Sad. Answer with one word."},
        {"role": "user", "content": f"Is this Happy or Sad? {sentence}"},
    ]
    return ChatTemplate.from_metadata(llm.metadata).render(messages, add_generation_prompt=True)


def main() -> None:
    llm = Llama(n_threads=2)
    for sentence in SENTENCES:
        probabilities = llm.classify(prompt_for(llm, sentence), LABELS)
        label = max(probabilities, key=probabilities.get)
        shown = "  ".join(f"{name} {p:.2f}" for name, p in probabilities.items())
        print(f"{sentence:<34} {label:<6} ({shown})")


if __name__ == "__main__":
    main()
