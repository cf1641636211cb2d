"""The full-size random-weight GGUF files of the benchmark, written once into a cache
directory and reused.

Weights are random blocks with valid float16 scales (constrain.testing.synthetic_gguf,
random_blocks=True): meaningless outputs, real speed and memory. The Q4_K file is
all-Q4_K (token embedding and output matrix included), not llama.cpp's Q4_K_M mix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

FORMAT_VERSION = 1  # bump when the written files change, so caches are rewritten


@dataclass(frozen=True)
class SyntheticModel:
    shape: str  # a key of constrain.testing.synthetic_gguf.FULL_SHAPES
    weight_type: str
    token_scale: float = 1.0  # generated-token counts are scaled by this (slow models)

    def file_name(self) -> str:
        return f"random-{self.shape}-{self.weight_type.lower()}-v{FORMAT_VERSION}.gguf"


SYNTHETIC_MODELS = {
    "tinyllama-q4_0": SyntheticModel("tinyllama-1.1b", "Q4_0"),
    "tinyllama-q4_k": SyntheticModel("tinyllama-1.1b", "Q4_K"),
    "llama2-7b-q4_0": SyntheticModel("llama2-7b", "Q4_0", token_scale=0.25),
}


def default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "constrain", "bench")


def ensure_model(name: str, cache_dir: str, log=print) -> str:
    """The path of synthetic model `name` in cache_dir, written first if absent."""
    spec = SYNTHETIC_MODELS[name]
    path = os.path.join(cache_dir, spec.file_name())
    if os.path.exists(path):
        return path
    from constrain.testing.synthetic_gguf import FULL_SHAPES, write_llama_gguf

    os.makedirs(cache_dir, exist_ok=True)
    log(f"writing {path} ...")
    partial = path + ".partial"
    write_llama_gguf(partial, FULL_SHAPES[spec.shape], spec.weight_type, random_blocks=True)
    os.replace(partial, path)  # a crash mid-write never leaves a truncated file behind
    return path


def kv_cache_mib(model_path: str, n_positions: int, bytes_per_value: int) -> float:
    """Keys and values of n_positions for every layer, from the file's hyperparameters."""
    from constrain.runtime.gguf_file import GGUFFile
    from constrain.runtime.hparams import LlamaHParams

    gguf = GGUFFile(model_path)
    try:
        hp = LlamaHParams.from_metadata(gguf.metadata, model_path)
    finally:
        gguf.close()
    return 2 * hp.n_layer * n_positions * hp.kv_dim * bytes_per_value / 2**20
