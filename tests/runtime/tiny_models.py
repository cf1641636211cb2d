"""Tiny random-weight GGUF files for runtime tests, written once per directory."""

from __future__ import annotations

import hashlib
import os

from constrain.runtime.synthetic_gguf import tiny_shape, write_llama_gguf


def tiny_model(directory: str, family: str, weight_type: str, **shape_overrides) -> str:
    tag = hashlib.sha1(repr(sorted(shape_overrides.items())).encode()).hexdigest()[:8]
    path = os.path.join(directory, f"{family}_{weight_type}_{tag}.gguf")
    if not os.path.exists(path):
        write_llama_gguf(path, tiny_shape(family, **shape_overrides), weight_type)
    return path
