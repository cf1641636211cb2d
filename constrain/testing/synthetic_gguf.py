"""Write random-weight llama GGUF files of any shape and quant type.

Tests use tiny ones (no model download, exact float64 references); benchmarks use
full-size ones (TinyLlama-1.1B, Llama-2-7B shapes) to measure speed and memory.
Weights are random, so outputs are meaningless; the files are otherwise complete
(hyperparameters, a working tokenizer, a chat template).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

import numpy as np
import gguf
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@dataclass(frozen=True)
class LlamaShape:
    """Hyperparameters of a llama-architecture model."""

    n_vocab: int
    dim: int
    n_layer: int
    n_head: int
    n_kv_head: int
    ffn_dim: int
    context_length: int = 2048
    rope_base: float = 10000.0
    rms_eps: float = 1e-5
    tied_output: bool = False
    tokenizer: str = "gpt2"  # "gpt2" (byte-level BPE) or "llama" (sentencepiece)
    pre: str = "smollm"  # tokenizer.ggml.pre for gpt2 vocabularies
    rope_scaling: dict = field(default_factory=dict)  # e.g. {"type": "linear", "factor": 2.0}


# Tiny shapes that keep each family's ratios (GQA groups, tying, tokenizer kind).
TINY_SHAPES = {
    "smollm": LlamaShape(n_vocab=384, dim=64, n_layer=2, n_head=4, n_kv_head=2, ffn_dim=160,
                         rope_base=100000.0, tied_output=True, tokenizer="gpt2", pre="smollm"),
    "tinyllama": LlamaShape(n_vocab=320, dim=64, n_layer=2, n_head=8, n_kv_head=2, ffn_dim=192,
                            tokenizer="llama"),
    "llama2": LlamaShape(n_vocab=320, dim=128, n_layer=2, n_head=4, n_kv_head=4, ffn_dim=256,
                         tokenizer="llama"),
    "llama3": LlamaShape(n_vocab=400, dim=128, n_layer=2, n_head=4, n_kv_head=1, ffn_dim=320,
                         rope_base=500000.0, tokenizer="gpt2", pre="llama-bpe"),
}

# Real sizes, for speed and memory benchmarks.
FULL_SHAPES = {
    "tinyllama-1.1b": LlamaShape(n_vocab=32000, dim=2048, n_layer=22, n_head=32, n_kv_head=4,
                                 ffn_dim=5632, tokenizer="llama"),
    "llama2-7b": LlamaShape(n_vocab=32000, dim=4096, n_layer=32, n_head=32, n_kv_head=32,
                            ffn_dim=11008, context_length=4096, tokenizer="llama"),
}

# Byte offsets of the float16 super-block scales (d, and dmin where present) in K-quant blocks.
_KQUANT_SCALE_OFFSETS = {
    GGMLQuantizationType.Q2_K: (80, 82),
    GGMLQuantizationType.Q3_K: (108,),
    GGMLQuantizationType.Q4_K: (0, 2),
    GGMLQuantizationType.Q5_K: (0, 2),
    GGMLQuantizationType.Q6_K: (208,),
}


def random_weight_bytes(rng: np.random.Generator, qtype: GGMLQuantizationType, rows: int, cols: int,
                        std: float) -> np.ndarray:
    """Raw GGUF bytes (rows, row_bytes) of a random matrix whose values have roughly `std`."""
    if qtype == GGMLQuantizationType.F32:
        return (rng.standard_normal((rows, cols)) * std).astype(np.float32).view(np.uint8)
    if qtype in _KQUANT_SCALE_OFFSETS:
        # gguf cannot quantize K-quants: draw random blocks, then set the scales so the
        # dequantized values have the wanted spread (values are linear in d and dmin)
        block, type_size = GGML_QUANT_SIZES[qtype]
        n_blocks = rows * cols // block
        raw = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
        offsets = _KQUANT_SCALE_OFFSETS[qtype]
        for off in offsets:
            raw[:, off:off + 2] = np.frombuffer(np.float16(1.0).tobytes(), np.uint8)
        probe = gguf.quants.dequantize(raw[: min(n_blocks, 64)], qtype)
        c = np.float16(std / max(float(probe.std()), 1e-12))
        for off in offsets:
            raw[:, off:off + 2] = np.frombuffer(c.tobytes(), np.uint8)
        return raw.reshape(rows, -1)
    weights = (rng.standard_normal((rows, cols)) * std).astype(np.float32)
    quantized = gguf.quants.quantize(weights, qtype)
    return np.ascontiguousarray(quantized).view(np.uint8).reshape(rows, -1)


def _gpt2_vocab(n_vocab: int) -> tuple[list[str], list[int], list[str]]:
    """Control tokens, the 256 byte symbols, then merged pairs of letters up to n_vocab."""
    from constrain.testing.byte_unicode import BYTE_TO_UNICODE

    control = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    byte_symbols = [BYTE_TO_UNICODE[b] for b in range(256)]
    tokens = control + byte_symbols
    merges: list[str] = []
    letters = [BYTE_TO_UNICODE[b] for b in b" etaoinshrdlu"]
    for a in letters:
        for b in letters:
            if len(tokens) >= n_vocab:
                break
            if a + b not in tokens:
                tokens.append(a + b)
                merges.append(f"{a} {b}")
    while len(tokens) < n_vocab:
        tokens.append(f"<|unused_{len(tokens)}|>")
    types = [3] * len(control) + [1] * (len(tokens) - len(control))
    for i, t in enumerate(tokens):
        if t.startswith("<|unused_"):
            types[i] = 5
    return tokens, types, merges


def _spm_vocab(n_vocab: int) -> tuple[list[str], list[int], list[float]]:
    """<unk> <s> </s>, 256 byte-fallback tokens, then scored pieces up to n_vocab."""
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [2, 3, 3] + [6] * 256
    scores = [0.0] * len(tokens)
    pieces = ["\u2581"] + [f"\u2581{c}" for c in "theaiosw"] + list("etaoinshrdlucmfwyp")
    pieces += [a + b for a in "etaoinshr" for b in "etaoinshr"]
    for p in pieces:
        if len(tokens) >= n_vocab:
            break
        if p not in tokens:
            tokens.append(p)
            types.append(1)
            scores.append(-float(len(tokens)))
    while len(tokens) < n_vocab:
        tokens.append(f"<unused{len(tokens)}>")
        types.append(5)
        scores.append(-1e9)
    return tokens, types, scores


def write_llama_gguf(path: str | os.PathLike, shape: LlamaShape, weight_type: str = "F32",
                     output_type: str | None = None, embed_type: str | None = None,
                     seed: int = 0) -> str:
    """Write a random-weight llama GGUF; returns the path.

    `weight_type` is used for the layer matrices, `embed_type` (default: weight_type) for
    token_embd and `output_type` (default: weight_type) for the output matrix.
    """
    path = os.fspath(path)
    rng = np.random.default_rng(seed)
    wtype = GGMLQuantizationType[weight_type]
    etype = GGMLQuantizationType[embed_type or weight_type]
    otype = GGMLQuantizationType[output_type or weight_type]
    head_dim = shape.dim // shape.n_head
    kv_dim = head_dim * shape.n_kv_head
    for t in {wtype, etype, otype}:
        block = GGML_QUANT_SIZES[t][0]
        if shape.dim % block or shape.ffn_dim % block:
            raise ValueError(f"{t.name} needs dim and ffn_dim to be multiples of {block} "
                             f"(got {shape.dim}, {shape.ffn_dim})")

    w = gguf.GGUFWriter(path, "llama")
    w.add_name("random-llama")
    w.add_block_count(shape.n_layer)
    w.add_context_length(shape.context_length)
    w.add_embedding_length(shape.dim)
    w.add_feed_forward_length(shape.ffn_dim)
    w.add_head_count(shape.n_head)
    w.add_head_count_kv(shape.n_kv_head)
    w.add_rope_freq_base(shape.rope_base)
    w.add_rope_dimension_count(head_dim)
    w.add_layer_norm_rms_eps(shape.rms_eps)
    w.add_vocab_size(shape.n_vocab)
    if shape.rope_scaling:
        w.add_string("llama.rope.scaling.type", shape.rope_scaling["type"])
        w.add_float32("llama.rope.scaling.factor", float(shape.rope_scaling["factor"]))
    if shape.tokenizer == "gpt2":
        tokens, types, merges = _gpt2_vocab(shape.n_vocab)
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre(shape.pre)
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)
        w.add_bos_token_id(0)
        w.add_eos_token_id(2)
        w.add_add_bos_token(False)
        w.add_chat_template(CHATML_TEMPLATE)
    else:
        tokens, types, scores = _spm_vocab(shape.n_vocab)
        w.add_tokenizer_model("llama")
        w.add_tokenizer_pre("default")
        w.add_token_list(tokens)
        w.add_token_scores(scores)
        w.add_token_types(types)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_unk_token_id(0)
        w.add_add_bos_token(True)
        w.add_add_space_prefix(True)

    def add(name: str, qtype: GGMLQuantizationType, rows: int, cols: int, std: float) -> None:
        raw = random_weight_bytes(rng, qtype, rows, cols, std)
        w.add_tensor(name, raw, raw_shape=(rows, raw.shape[1]), raw_dtype=qtype)

    def add_norm(name: str) -> None:
        w.add_tensor(name, (1.0 + 0.1 * rng.standard_normal(shape.dim)).astype(np.float32))

    std = 1.0 / np.sqrt(shape.dim)
    add("token_embd.weight", etype, shape.n_vocab, shape.dim, 1.0)
    for i in range(shape.n_layer):
        add_norm(f"blk.{i}.attn_norm.weight")
        add(f"blk.{i}.attn_q.weight", wtype, shape.dim, shape.dim, std)
        add(f"blk.{i}.attn_k.weight", wtype, kv_dim, shape.dim, std)
        add(f"blk.{i}.attn_v.weight", wtype, kv_dim, shape.dim, std)
        add(f"blk.{i}.attn_output.weight", wtype, shape.dim, shape.dim, std)
        add_norm(f"blk.{i}.ffn_norm.weight")
        add(f"blk.{i}.ffn_gate.weight", wtype, shape.ffn_dim, shape.dim, std)
        add(f"blk.{i}.ffn_up.weight", wtype, shape.ffn_dim, shape.dim, std)
        add(f"blk.{i}.ffn_down.weight", wtype, shape.dim, shape.ffn_dim, 1.0 / np.sqrt(shape.ffn_dim))
    add_norm("output_norm.weight")
    if not shape.tied_output:
        add("output.weight", otype, shape.n_vocab, shape.dim, std)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def tiny_shape(name: str, **overrides) -> LlamaShape:
    return replace(TINY_SHAPES[name], **overrides)
