"""Per-token cost of GrammarLogitsProcessor inside transformers' generate().

    python benchmarks/bench_transformers_processor.py [--tokens 48] [--repeats 5] [--threads 1]

A random LlamaForCausalLM (hidden 64, 2 layers) with the default model's 49,152-token
vocabulary (a transformers fast tokenizer built from its GGUF), sampling (seed = repeat),
`--tokens` new tokens per row at batch 1 and 4, free and under a JSON Schema grammar (an array of
at least `--tokens` short strings, so no row can finish early: both runs generate the same number
of tokens). Free and constrained runs alternate. Printed per batch size: generate() ms per step
free and constrained, their difference, and the processor's own time per call (time.perf_counter
around it), for the first constrained run ("cold": every grammar state is new, the per-state masks
are computed) and for the later ones ("warm": the same seeds revisit memoized states, as a
long-running service does for recurring schemas). The model is tiny on purpose: the difference is
the processor's cost, to set against a real model's step time.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import torch
from transformers import LlamaConfig, LlamaForCausalLM, LogitsProcessorList

from constrain.integrations.hf_tokenizer import hf_tokenizer
from constrain.integrations.transformers import GrammarLogitsProcessor
from constrain.runtime.default_model import default_model_path
from constrain.runtime.gguf_file import GGUFFile
from constrain.runtime.tokenizer import read_vocabulary

PROMPTS = ["Words:", "A list of names:", "[", "Some strings please"]


class Timed:
    """Calls the processor and records how long each call took."""

    def __init__(self, processor):
        self.processor = processor
        self.seconds: list[float] = []

    def __call__(self, input_ids, scores):
        start = time.perf_counter()
        out = self.processor(input_ids, scores)
        self.seconds.append(time.perf_counter() - start)
        return out


def run(model, inputs, processors, seed, tokens, eos, pad) -> tuple[float, int]:
    torch.manual_seed(seed)
    start = time.perf_counter()
    with torch.no_grad():
        out = model.generate(**inputs, logits_processor=LogitsProcessorList(processors), do_sample=True,
                             max_new_tokens=tokens, eos_token_id=eos, pad_token_id=pad)
    return time.perf_counter() - start, out.shape[1] - inputs["input_ids"].shape[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    vocab = read_vocabulary(GGUFFile(default_model_path()).metadata)
    tokenizer = hf_tokenizer(vocab)
    eos, pad = sorted(vocab.eog_ids), vocab.eos_id
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                         max_position_embeddings=512, eos_token_id=eos, pad_token_id=pad)).eval()
    schema = {"type": "array", "items": {"type": "string", "maxLength": 12}, "minItems": args.tokens}
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
          f"({args.threads} thread(s)), vocabulary {len(tokenizer)}, {args.tokens} tokens, {args.repeats} repeats")
    print("batch | free ms/step | constrained ms/step | difference | processor ms/call cold mean/p99 | "
          "warm mean/p99")
    for batch in (1, 4):
        inputs = tokenizer(PROMPTS[:batch], return_tensors="pt", padding=True, padding_side="left")
        build = time.perf_counter()
        timed = Timed(GrammarLogitsProcessor(schema, tokenizer, eos_token_id=eos))
        build = time.perf_counter() - build
        run(model, inputs, [], 99, 4, eos, pad)  # warm torch up
        free, constrained, calls = [], [], []
        for repeat in range(args.repeats):
            seconds, steps = run(model, inputs, [], repeat, args.tokens, eos, pad)
            free.append(seconds / steps)
            timed.seconds = []
            seconds, steps = run(model, inputs, [timed], repeat, args.tokens, eos, pad)
            if steps != args.tokens:
                raise SystemExit(f"the constrained run generated {steps} tokens, not {args.tokens}")
            constrained.append(seconds / steps)
            calls.append(list(timed.seconds))
        cold = np.array(calls[0]) * 1e3
        warm = np.array([s for c in calls[1:] for s in c]) * 1e3
        f, c = statistics.median(free) * 1e3, statistics.median(constrained[1:] or constrained) * 1e3
        print(f"{batch} | {f:.2f} | {c:.2f} (cold {constrained[0] * 1e3:.2f}) | {c - f:+.2f} | "
              f"{cold.mean():.2f} / {np.percentile(cold, 99):.2f} | "
              f"{warm.mean():.2f} / {np.percentile(warm, 99):.2f}   (processor built in {build * 1e3:.0f} ms)")


if __name__ == "__main__":
    main()
