"""Shared pieces of the tokenizer tests: tiny vocabularies trained on the spot, their GGUF
metadata, and slow but plain reference implementations of llama.cpp's algorithms."""

from __future__ import annotations

import io
import json
import random
from functools import cache

import numpy as np
import sentencepiece
from hypothesis import strategies as st
from tokenizers import Tokenizer as HFTokenizer
from tokenizers import decoders, models, pre_tokenizers, trainers

_WORDS = (
    "the quick brown fox jumps over lazy dog and then some more words like token model grammar "
    "parser json value number string true false null café naïve Straße über 東京 日本語 привет мир "
    "42 3.14 1234567 hello world I'm you'll they've didn't JOHN'S"
).split()


def corpus(n_lines: int = 3000, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    seps = [" ", " ", " ", "  ", "\t", "\n", ", "]
    return [
        "".join(rng.choice(_WORDS) + rng.choice(seps) for _ in range(rng.randint(3, 12))) + rng.choice(".,!?:")
        for _ in range(n_lines)
    ]


# ---------------------------------------------------------------- sentencepiece


@cache
def trained_spm() -> sentencepiece.SentencePieceProcessor:
    """A 400-piece BPE sentencepiece model with byte fallback; rare characters (CJK) stay out."""
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus()), model_writer=model, vocab_size=400, model_type="bpe",
        byte_fallback=True, character_coverage=0.98, normalization_rule_name="identity",
        add_dummy_prefix=True, remove_extra_whitespaces=False, minloglevel=2,
    )
    return sentencepiece.SentencePieceProcessor(model_proto=model.getvalue())


def spm_metadata(sp: sentencepiece.SentencePieceProcessor, **overrides) -> dict:
    """GGUF metadata the way llama.cpp's converter writes a sentencepiece vocabulary."""
    n = sp.get_piece_size()
    types = []
    for i in range(n):
        if sp.is_unknown(i):
            types.append(2)
        elif sp.is_control(i):
            types.append(3)
        elif sp.is_unused(i):
            types.append(5)
        elif sp.is_byte(i):
            types.append(6)
        else:
            types.append(1)
    metadata = {
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.tokens": [sp.id_to_piece(i) for i in range(n)],
        "tokenizer.ggml.scores": np.array([sp.get_score(i) for i in range(n)], np.float32),
        "tokenizer.ggml.token_type": np.array(types, np.int32),
        "tokenizer.ggml.bos_token_id": sp.bos_id(),
        "tokenizer.ggml.eos_token_id": sp.eos_id(),
        "tokenizer.ggml.unknown_token_id": sp.unk_id(),
        "tokenizer.ggml.add_bos_token": True,
        "tokenizer.ggml.add_space_prefix": True,
    }
    metadata.update({"tokenizer.ggml." + k: v for k, v in overrides.items()})
    return metadata


def reference_spm_encode(metadata: dict, text: str, special: bool) -> list[int]:
    """llama.cpp's sentencepiece tokenization, written plainly (quadratic, no add_bos)."""
    tokens = metadata["tokenizer.ggml.tokens"]
    scores = metadata["tokenizer.ggml.scores"]
    types = metadata["tokenizer.ggml.token_type"]
    prefix_space = metadata.get("tokenizer.ggml.add_space_prefix", True)
    text_to_id = {t: i for i, t in enumerate(tokens)}

    # special tokens, longest first, split every text fragment
    specials = [i for i in range(len(tokens)) if types[i] == 4 or (special and types[i] in (2, 3))]
    specials.sort(key=lambda i: (-len(tokens[i].encode()), i))
    fragments: list = [text] if text else []
    for sid in specials:
        out = []
        for f in fragments:
            if isinstance(f, int):
                out.append(f)
                continue
            pieces = f.split(tokens[sid])
            for k, p in enumerate(pieces):
                if k:
                    out.append(sid)
                if p:
                    out.append(p)
        fragments = out

    ids: list[int] = []
    previous_special = True
    for f in fragments:
        if isinstance(f, int):
            ids.append(f)
            previous_special = True
            continue
        s = (" " + f if prefix_space and previous_special else f).replace(" ", "\u2581")
        previous_special = False
        symbols = list(s)
        while True:
            best = None
            for k in range(len(symbols) - 1):
                merged = symbols[k] + symbols[k + 1]
                if merged in text_to_id:
                    score = float(scores[text_to_id[merged]])
                    if best is None or score > best[0]:
                        best = (score, k)
            if best is None:
                break
            k = best[1]
            symbols[k:k + 2] = [symbols[k] + symbols[k + 1]]
        for sym in symbols:
            if sym in text_to_id:
                ids.append(text_to_id[sym])
            else:
                for b in sym.encode():
                    ids.append(text_to_id.get(f"<0x{b:02X}>", text_to_id.get(chr(b))))
    return ids


# ---------------------------------------------------------------- byte-level BPE


@cache
def trained_bpe() -> HFTokenizer:
    """A 500-token byte-level BPE trained with `tokenizers` (GPT-2 pre-tokenizer)."""
    hf = HFTokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=500, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    hf.train_from_iterator(corpus(), trainer)
    return hf


def bpe_metadata(hf: HFTokenizer, pre: str, **overrides) -> dict:
    """GGUF metadata the way llama.cpp's converter writes a byte-level BPE vocabulary."""
    model = json.loads(hf.to_str())["model"]
    vocab = model["vocab"]
    tokens = [None] * len(vocab)
    for text, i in vocab.items():
        tokens[i] = text
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    specials = {t.content for t in hf.get_added_tokens_decoder().values()}
    metadata = {
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.pre": pre,
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.token_type": np.array([3 if t in specials else 1 for t in tokens], np.int32),
        "tokenizer.ggml.merges": merges,
        "tokenizer.ggml.bos_token_id": vocab["<|im_start|>"],
        "tokenizer.ggml.eos_token_id": vocab["<|endoftext|>"],
    }
    metadata.update({"tokenizer.ggml." + k: v for k, v in overrides.items()})
    return metadata


# ---------------------------------------------------------------- text strategies

# characters the tests care about: the vocabularies' own, whitespace runs, digits,
# apostrophes, and characters no tiny vocabulary holds
_INTERESTING = list("thequickbrownfoxaeiouTHEJOHNS0123456789 '\t\n\r.,!?:-_{}[]\"") + [
    "é", "ß", "ü", "東", "京", "ж", "Ω", "😀", "👍", "🏽", "\u0301", "\u200b", "\xa0", "\x00", "\x1b", "▁", "中",
]


def texts(specials: tuple[str, ...] = (), max_size: int = 40):
    """Text mixing interesting characters, vocabulary words, special-token texts and arbitrary unicode."""
    atoms = [st.sampled_from(_INTERESTING), st.sampled_from(_WORDS), st.characters(codec="utf-8")]
    if specials:
        atoms.append(st.sampled_from(specials))
    return st.lists(st.one_of(*atoms), max_size=max_size).map("".join)


def splits_a_character(chunks: list[bytes]) -> bool:
    """True when a boundary between chunks falls inside a valid UTF-8 character of their
    concatenation (characters found from the UTF-8 table, independently of Python's decoder)."""
    data = b"".join(chunks)
    inside: set[int] = set()
    i = 0
    while i < len(data):
        lead = data[i]
        need = 2 if 0xC2 <= lead <= 0xDF else 3 if 0xE0 <= lead <= 0xEF else 4 if 0xF0 <= lead <= 0xF4 else 1
        second = {0xE0: (0xA0, 0xBF), 0xED: (0x80, 0x9F), 0xF0: (0x90, 0xBF), 0xF4: (0x80, 0x8F)}
        low, high = second.get(lead, (0x80, 0xBF))
        tail = data[i + 1:i + need]
        if need > 1 and len(tail) == need - 1 and low <= tail[0] <= high and all(0x80 <= b <= 0xBF for b in tail):
            inside.update(range(i + 1, i + need))
            i += need
        else:
            i += 1
    ends = 0
    for chunk in chunks:
        ends += len(chunk)
        if ends in inside:
            return True
    return False
