"""Compare the runtime with llama.cpp's recorded outputs on the same GGUF file.

The record (prompt ids, first-position top-10 logits, 32 greedy ids and llama.cpp's
top1-top2 margins) comes from llama.cpp itself. Greedy decoding may legitimately diverge
at near-ties, where float summation order decides; it must not diverge elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEAR_TIE = 0.5  # llama.cpp's own logits move by up to ~1.2 between batch and token-by-token runs


@dataclass
class PromptComparison:
    name: str
    prompt_ids_equal: bool
    top10_shared: int
    max_top10_logit_diff: float
    greedy_agree: int  # leading greedy ids equal to llama.cpp's
    divergence_margin: float | None  # llama.cpp's top1-top2 margin where we diverged

    @property
    def ok(self) -> bool:
        diverged_fairly = self.divergence_margin is None or self.divergence_margin < NEAR_TIE
        return self.prompt_ids_equal and self.top10_shared >= 8 and diverged_fairly


def compare_prompt(llm, case: dict) -> PromptComparison:
    ids = llm.tokenize(case["prompt"].encode(), add_bos=False, special=True)
    llm.reset()
    llm.eval(case["prompt_ids"])
    logits = llm.logits.copy()
    ours_top10 = [int(i) for i in np.argsort(-logits)[:10]]
    theirs = case["first_position_top10"]
    shared = len(set(ours_top10) & {t["id"] for t in theirs})
    logit_diff = max(abs(float(logits[t["id"]]) - t["logit"]) for t in theirs)

    want = case["argmax_ids_32_no_eos_stop"]
    agree = 0
    for expected in want:
        got = int(np.argmax(llm.logits))
        if got != expected:
            break
        agree += 1
        if agree < len(want):
            llm.eval([got])
    margin = None if agree == len(want) else case["top1_top2_margin_per_position"][agree]
    return PromptComparison(case["name"], ids == case["prompt_ids"], shared, logit_diff, agree, margin)
