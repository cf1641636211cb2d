"""Write random-weight llama GGUF files of any shape and quant type.

Tests use tiny ones (no model download, exact float64 references); benchmarks use
full-size ones (TinyLlama-1.1B, Llama-2-7B shapes) to measure speed and memory.
Weights are random, so outputs are meaningless; the files are otherwise complete
(hyperparameters, a working tokenizer, a chat template).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

import gguf
import numpy as np
from gguf.constants import GGMLQuantizationType

from constrain.runtime.quants.type_traits import TYPE_TRAITS
from constrain.runtime.tokenizer.byte_unicode import BYTE_TO_UNICODE

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



def _uses_more_bits(layer: int, n_layer: int) -> bool:
    """llama.cpp's use_more_bits(): the layers whose attn_v / ffn_down its _M mixes keep in Q6_K."""
    return layer < n_layer // 8 or layer >= 7 * n_layer // 8 or (layer - n_layer // 8) % 3 == 2


def mix_tensor_type(mix: str, role: str, layer: int, n_layer: int) -> GGMLQuantizationType:
    """The type llama.cpp's quantizer (llama_model_quantize) gives a tensor of a llama
    model for file type `mix`; role is the tensor name without "blk.N." (e.g. "attn_v"),
    or "token_embd" / "output". Q4_K_M and Q5_K_M: the base K-quant, Q6_K for the output
    matrix and for attn_v and ffn_down in the use_more_bits layers; single types otherwise."""
    if mix in MIXES:
        base = MIXES[mix]
        if role == "output" or (role in ("attn_v", "ffn_down") and _uses_more_bits(layer, n_layer)):
            return GGMLQuantizationType.Q6_K
        return base
    return GGMLQuantizationType[mix]


# llama.cpp's _M file types and their base type
MIXES = {"Q4_K_M": GGMLQuantizationType.Q4_K, "Q5_K_M": GGMLQuantizationType.Q5_K}


def _random_blocks(qtype: GGMLQuantizationType, n_blocks: int, std: float,
                   draw_bytes) -> np.ndarray:
    """(n_blocks, type_size) random blocks whose float16 scales are set so the dequantized
    values have roughly `std` (values are linear in the scales), never NaN or infinite."""
    offsets = TYPE_TRAITS[qtype].f16_scale_offsets
    type_size = TYPE_TRAITS[qtype].type_size
    raw = draw_bytes(n_blocks * type_size).reshape(n_blocks, type_size)
    for off in offsets:
        raw[:, off:off + 2] = np.frombuffer(np.float16(1.0).tobytes(), np.uint8)
    probe = gguf.quants.dequantize(raw[: min(n_blocks, 64)], qtype)
    c = np.float16(std / max(float(probe.std()), 1e-12))
    for off in offsets:
        raw[:, off:off + 2] = np.frombuffer(c.tobytes(), np.uint8)
    return raw


def random_weight_bytes(rng: np.random.Generator, qtype: GGMLQuantizationType, rows: int, cols: int,
                        std: float, random_blocks: bool = False) -> np.ndarray:
    """Raw GGUF bytes (rows, row_bytes) of a random matrix whose values have roughly `std`.

    K-quants are always random blocks (gguf cannot quantize them). With `random_blocks`
    the legacy block types (Q4_0 .. Q8_0) are too, instead of quantizing float weights:
    hundreds of times faster, which is what full-size benchmark files need.
    """
    if qtype == GGMLQuantizationType.F32:
        return (rng.standard_normal((rows, cols)) * std).astype(np.float32).view(np.uint8)
    if qtype == GGMLQuantizationType.F16:
        return (rng.standard_normal((rows, cols)) * std).astype(np.float16).view(np.uint8)
    if qtype == GGMLQuantizationType.BF16:
        values = (rng.standard_normal((rows, cols)) * std).astype(np.float32)
        return (values.view(np.uint32) >> 16).astype(np.uint16).view(np.uint8)
    block = TYPE_TRAITS[qtype].block_size
    if block == 256:
        raw = _random_blocks(qtype, rows * cols // block, std,
                             lambda n: rng.integers(0, 256, size=n, dtype=np.uint8))
        return raw.reshape(rows, -1)
    if random_blocks:
        raw = _random_blocks(qtype, rows * cols // block, std,
                             lambda n: np.frombuffer(rng.bytes(n), np.uint8).copy())
        return raw.reshape(rows, -1)
    weights = (rng.standard_normal((rows, cols)) * std).astype(np.float32)
    quantized = gguf.quants.quantize(weights, qtype)
    return np.ascontiguousarray(quantized).view(np.uint8).reshape(rows, -1)


def _gpt2_vocab(n_vocab: int) -> tuple[list[str], list[int], list[str]]:
    """Control tokens, the 256 byte symbols, then merged pairs of letters up to n_vocab."""
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
                     seed: int = 0, random_blocks: bool = False) -> str:
    """Write a random-weight llama GGUF; returns the path.

    `weight_type` is a GGML type name for the layer matrices or one of llama.cpp's mixes
    (MIXES: "Q4_K_M", "Q5_K_M"; the type of each tensor as mix_tensor_type says);
    `embed_type` and `output_type` override the token_embd and output matrix types.
    Tensors are drawn and written one at a time, so a 7B file never sits in memory whole.
    `random_blocks`: see random_weight_bytes (set it for full-size files).
    """
    path = os.fspath(path)
    rng = np.random.default_rng(seed)
    n = shape.n_layer

    def type_of(role: str, layer: int = 0) -> GGMLQuantizationType:
        if role == "token_embd" and embed_type:
            return GGMLQuantizationType[embed_type]
        if role == "output" and output_type:
            return GGMLQuantizationType[output_type]
        return mix_tensor_type(weight_type, role, layer, n)

    head_dim = shape.dim // shape.n_head
    kv_dim = head_dim * shape.n_kv_head
    for t in {type_of(role, layer) for role in ("token_embd", "output", "attn_v", "ffn_down", "attn_q")
              for layer in range(n)}:
        block = TYPE_TRAITS[t].block_size
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

    std = 1.0 / np.sqrt(shape.dim)
    plan: list[tuple] = [("token_embd.weight", type_of("token_embd"), shape.n_vocab, shape.dim, 1.0)]
    for i in range(n):
        plan += [
            (f"blk.{i}.attn_norm.weight", None, 1, shape.dim, 0.0),
            (f"blk.{i}.attn_q.weight", type_of("attn_q", i), shape.dim, shape.dim, std),
            (f"blk.{i}.attn_k.weight", type_of("attn_k", i), kv_dim, shape.dim, std),
            (f"blk.{i}.attn_v.weight", type_of("attn_v", i), kv_dim, shape.dim, std),
            (f"blk.{i}.attn_output.weight", type_of("attn_output", i), shape.dim, shape.dim, std),
            (f"blk.{i}.ffn_norm.weight", None, 1, shape.dim, 0.0),
            (f"blk.{i}.ffn_gate.weight", type_of("ffn_gate", i), shape.ffn_dim, shape.dim, std),
            (f"blk.{i}.ffn_up.weight", type_of("ffn_up", i), shape.ffn_dim, shape.dim, std),
            (f"blk.{i}.ffn_down.weight", type_of("ffn_down", i), shape.dim, shape.ffn_dim,
             1.0 / np.sqrt(shape.ffn_dim)),
        ]
    plan.append(("output_norm.weight", None, 1, shape.dim, 0.0))
    if not shape.tied_output:
        plan.append(("output.weight", type_of("output"), shape.n_vocab, shape.dim, std))

    # tensor infos first (sizes are known from the shapes), then the data tensor by tensor
    for name, qtype, rows, cols, _ in plan:
        if qtype is None:  # a norm vector: plain float32
            w.add_tensor_info(name, (cols,), np.dtype(np.float32), cols * 4)
        else:
            block, type_size = TYPE_TRAITS[qtype].block_size, TYPE_TRAITS[qtype].type_size
            row_bytes = cols // block * type_size
            w.add_tensor_info(name, (rows, row_bytes), np.dtype(np.uint8), rows * row_bytes, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    for _name, qtype, rows, cols, std in plan:
        if qtype is None:
            w.write_tensor_data((1.0 + 0.1 * rng.standard_normal(cols)).astype(np.float32))
        else:
            w.write_tensor_data(random_weight_bytes(rng, qtype, rows, cols, std, random_blocks))
    w.close()
    return path


def tiny_shape(name: str, **overrides) -> LlamaShape:
    return replace(TINY_SHAPES[name], **overrides)
