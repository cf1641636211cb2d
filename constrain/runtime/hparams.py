"""Hyperparameters of a llama-architecture model, read from GGUF metadata.

Nothing here is specific to one model: every size comes from the file, with the same
defaults llama.cpp applies when a key is absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from constrain.errors import ModelFormatError, UnsupportedModelError

SUPPORTED_ARCHITECTURES = ("llama",)


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
    def from_metadata(cls, md: Mapping[str, Any], path: str = "model") -> "LlamaHParams":
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
            value = md[full]
            if kind is int and hasattr(value, "__len__"):
                # per-layer arrays (e.g. head_count_kv in some files) must be uniform here
                values = {int(v) for v in value}
                if len(values) != 1:
                    raise UnsupportedModelError(f"{path}: {full} varies per layer ({sorted(values)})")
                value = values.pop()
            try:
                return kind(value)
            except (TypeError, ValueError):
                raise ModelFormatError(f"{path}: metadata {full!r} = {value!r} is not a {kind.__name__}") from None

        dim = get("embedding_length")
        n_head = get("attention.head_count")
        n_kv_head = get("attention.head_count_kv", n_head)
        if n_head <= 0 or n_kv_head <= 0 or n_head % n_kv_head:
            raise ModelFormatError(
                f"{path}: attention.head_count {n_head} is not a positive multiple of head_count_kv {n_kv_head}"
            )
        if dim % n_head and f"{arch}.attention.key_length" not in md:
            raise ModelFormatError(f"{path}: embedding_length {dim} is not divisible by head_count {n_head}")
        head_dim = get("attention.key_length", dim // n_head)
        if get("attention.value_length", head_dim) != head_dim:
            raise UnsupportedModelError(f"{path}: key and value head sizes differ")
        rope_dim = get("rope.dimension_count", head_dim)
        if rope_dim > head_dim or rope_dim % 2:
            raise ModelFormatError(f"{path}: rope.dimension_count {rope_dim} does not fit head size {head_dim}")

        n_vocab = md.get(f"{arch}.vocab_size")
        if n_vocab is None:
            tokens = md.get("tokenizer.ggml.tokens")
            if tokens is None:
                raise ModelFormatError(f"{path}: neither {arch}.vocab_size nor tokenizer.ggml.tokens is present")
            n_vocab = len(tokens)

        rope_scale = 1.0
        scaling_type = md.get(f"{arch}.rope.scaling.type", "none")
        factor = float(md.get(f"{arch}.rope.scaling.factor", 0.0) or 0.0)
        if scaling_type == "linear" and factor > 0:
            rope_scale = factor
        elif scaling_type not in ("none", "linear") and factor not in (0.0, 1.0):
            raise UnsupportedModelError(f"{path}: rope scaling {scaling_type!r} is not supported (linear is)")
        if f"{arch}.rope.scale_linear" in md:  # older files
            rope_scale = float(md[f"{arch}.rope.scale_linear"])

        return cls(
            n_vocab=int(n_vocab),
            dim=dim,
            n_layer=get("block_count"),
            n_head=n_head,
            n_kv_head=n_kv_head,
            head_dim=head_dim,
            ffn_dim=get("feed_forward_length"),
            context_length=get("context_length", 2048),
            rms_eps=get("attention.layer_norm_rms_epsilon", 1e-5, float),
            rope_base=get("rope.freq_base", 10000.0, float),
            rope_dim=rope_dim,
            rope_scale=rope_scale,
        )
