"""The same chat prompt answered twice: normally, and with the run-on " and" booster.

The booster (llama.clj's run-on sampler, generalized) forces the token " and" whenever it
ranks in the top 30, was not used in the last 5 tokens, and the model was not about to
stop. Both answers use greedy decoding, so the difference is the booster alone.

    python examples/run_on_and.py
"""

from constrain import Llama
from constrain.samplers import WordBooster

QUESTION = "What do you like to do on a sunny weekend?"


def main() -> None:
    llm = Llama(n_threads=2)
    messages = [{"role": "user", "content": QUESTION}]
    normal = llm.create_chat_completion(messages, temperature=0.0, max_tokens=80)
    booster = WordBooster.for_word(llm.tokenizer, " and", top_k=30, window=5)
    run_on = llm.create_chat_completion(messages, temperature=0.0, max_tokens=80, logits_processor=[booster])
    print(f"Q: {QUESTION}\n")
    print("normal:\n" + normal["choices"][0]["message"]["content"].strip() + "\n")
    print("run-on (' and' boosted):\n" + run_on["choices"][0]["message"]["content"].strip())


if __name__ == "__main__":
    main()
