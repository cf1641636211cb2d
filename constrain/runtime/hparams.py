"""Hyperparameters of a llama-architecture model, read from GGUF metadata.

Nothing here is specific to one model: every size comes from the file, with the same
defaults llama.cpp applies when a key is absent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from constrain.errors import ModelFormatError, UnsupportedModelError

SUPPORTED_ARCHITECTURES = ("llama",)

# Bounds far above any real model and far below what overflows the kernels' int32 indexing:
# a value outside them is corruption, reported before any array is shaped from it.
MAX_SIZE = 1 << 20  # embedding and feed-forward widths, head sizes
MAX_HEADS = 1 << 12
MAX_LAYERS = 1 << 12
MAX_VOCAB = (1 << 31) - 1
MAX_CONTEXT = (1 << 31) - 1


def _typed_value(value: Any, kind: type, key: str, path: str) -> Any:
    """`value` as `kind` (int, float or str), or a ModelFormatError naming the key and the value.

    A bool is not a count (`block_count: true` would load one layer), a float is an int only when
    whole, and an array is accepted for an int only when every element is the same int (some files
    store per-layer head counts)."""
    def refuse(why: str = ""):
        shown = repr(value) if not isinstance(value, (list, np.ndarray)) else f"an array of {len(value)}"
        return ModelFormatError(f"{path}: metadata {key!r} = {shown[:80]} is not {_KIND_NAMES[kind]}{why}")

    if kind is str:
        if not isinstance(value, str):
            raise refuse()
        return value
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise refuse()
    if isinstance(value, (list, np.ndarray)):
        if kind is not int or len(value) == 0:
            raise refuse()
        if any(isinstance(v, (list, np.ndarray)) for v in value):
            raise refuse(" (an array of arrays)")
        values = {_typed_value(v, int, key, path) for v in value}
        if len(values) != 1:
            raise UnsupportedModelError(f"{path}: {key} varies per layer ({sorted(values)[:8]})")
        return values.pop()
    if kind is float:
        if not isinstance(value, (int, float, np.integer, np.floating)):
            raise refuse()
        return float(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    raise refuse()


_KIND_NAMES = {int: "an integer", float: "a number", str: "a string"}


@dataclass(frozen=True)
class LlamaHParams:
    n_vocab: int
    dim: int
    n_layer: int
    n_head: int
    n_kv_head: int
    head_dim: int
    ffn_dim: int
    context_length: int
    rms_eps: float
    rope_base: float
    rope_dim: int
    rope_scale: float  # positions are divided by this (linear scaling); 1.0 = none

    @property
    def q_dim(self) -> int:
        return self.n_head * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.n_kv_head * self.head_dim

    @classmethod
    def from_metadata(cls, md: Mapping[str, Any], path: str = "model") -> LlamaHParams:
        arch = md.get("general.architecture")
        if arch not in SUPPORTED_ARCHITECTURES:
            raise UnsupportedModelError(
                f"{path}: architecture {arch!r} is not supported (supported: {', '.join(SUPPORTED_ARCHITECTURES)})"
            )

        def get(key: str, default: Any = None, kind: type = int) -> Any:
            full = f"{arch}.{key}"
            if full not in md:
                if default is None:
                    raise ModelFormatError(f"{path}: required metadata {full!r} is missing")
                return default
            return _typed_value(md[full], kind, full, path)

        def count(key: str, default: Any = None, low: int = 1, high: int = MAX_SIZE) -> int:
            value = get(key, default)
            if not low <= value <= high:
                raise ModelFormatError(f"{path}: metadata {arch}.{key} = {value} is outside {low}..{high}")
            return value

        def positive_float(key: str, default: float) -> float:
            value = get(key, default, float)
            if not (math.isfinite(value) and value > 0):
                raise ModelFormatError(f"{path}: metadata {arch}.{key} = {value!r} is not a positive finite number")
            return value

        dim = count("embedding_length")
        n_head = count("attention.head_count", high=MAX_HEADS)
        n_kv_head = count("attention.head_count_kv", n_head, high=MAX_HEADS)
        if n_head <= 0 or n_kv_head <= 0 or n_head % n_kv_head:
            raise ModelFormatError(
                f"{path}: attention.head_count {n_head} is not a positive multiple of head_count_kv {n_kv_head}"
            )
        if dim % n_head and f"{arch}.attention.key_length" not in md:
            raise ModelFormatError(f"{path}: embedding_length {dim} is not divisible by head_count {n_head}")
        head_dim = count("attention.key_length", max(dim // n_head, 1))
        if count("attention.value_length", head_dim) != head_dim:
            raise UnsupportedModelError(f"{path}: key and value head sizes differ")
        # 0 or less would silently turn rotary positions off: no llama model runs without them
        rope_dim = get("rope.dimension_count", head_dim)
        if not 0 < rope_dim <= head_dim or rope_dim % 2:
            raise ModelFormatError(
                f"{path}: metadata {arch}.rope.dimension_count = {rope_dim} does not fit head size {head_dim} "
                "(an even number 2..head size is needed)")

        n_vocab = md.get(f"{arch}.vocab_size")
        if n_vocab is None:
            tokens = md.get("tokenizer.ggml.tokens")
            if tokens is None:
                raise ModelFormatError(f"{path}: neither {arch}.vocab_size nor tokenizer.ggml.tokens is present")
            n_vocab = len(tokens)
        else:
            n_vocab = _typed_value(n_vocab, int, f"{arch}.vocab_size", path)
        if not 1 <= n_vocab <= MAX_VOCAB:
            raise ModelFormatError(f"{path}: vocabulary size {n_vocab} is outside 1..{MAX_VOCAB}")

        rope_scale = 1.0
        scaling_type = get("rope.scaling.type", "none", str)
        factor = get("rope.scaling.factor", 0.0, float)
        if math.isnan(factor) or factor < 0 or math.isinf(factor):
            raise ModelFormatError(
                f"{path}: metadata {arch}.rope.scaling.factor = {factor!r} is not a finite number >= 0")
        if scaling_type == "linear" and factor > 0:
            rope_scale = factor
        elif scaling_type not in ("none", "linear") and factor not in (0.0, 1.0):
            raise UnsupportedModelError(f"{path}: rope scaling {scaling_type!r} is not supported (linear is)")
        if f"{arch}.rope.scale_linear" in md:  # older files
            rope_scale = positive_float("rope.scale_linear", 1.0)

        return cls(
            n_vocab=int(n_vocab),
            dim=dim,
            n_layer=count("block_count", high=MAX_LAYERS),
            n_head=n_head,
            n_kv_head=n_kv_head,
            head_dim=head_dim,
            ffn_dim=count("feed_forward_length"),
            context_length=count("context_length", 2048, high=MAX_CONTEXT),
            rms_eps=positive_float("attention.layer_norm_rms_epsilon", 1e-5),
            rope_base=positive_float("rope.freq_base", 10000.0),
            rope_dim=rope_dim,
            rope_scale=rope_scale,
        )
