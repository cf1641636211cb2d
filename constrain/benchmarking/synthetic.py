"""The full-size random-weight GGUF files of the benchmark, written once into a cache
directory and reused.

Each file is what a user downloads, in llama.cpp's own mixes: a random TinyLlama-1.1B or
Llama-2-7B shaped F16 file (constrain.runtime.synthetic_gguf) quantized by llama.cpp's
quantizer (`llama_model_quantize`) when llama-cpp-python is installed. Without it the
same mixes are written directly (the type of each tensor as llama.cpp chooses it,
synthetic_gguf.mix_tensor_type) from random blocks with valid scales. Either way the
outputs are meaningless; speed and memory are real.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass

FORMAT_VERSION = 2  # bump when the written files change, so caches are rewritten


@dataclass(frozen=True)
class SyntheticModel:
    shape: str  # a key of constrain.runtime.synthetic_gguf.FULL_SHAPES
    weight_type: str  # a llama.cpp file type: Q4_K_M, Q5_K_M, Q6_K, Q8_0, Q4_0, ...
    token_scale: float = 1.0  # generated-token counts are scaled by this (slow models)

    def file_name(self, maker: str) -> str:
        return f"random-{self.shape}-{self.weight_type.lower()}-{maker}-v{FORMAT_VERSION}.gguf"


SYNTHETIC_MODELS = {
    "tinyllama-q4_k_m": SyntheticModel("tinyllama-1.1b", "Q4_K_M"),
    "tinyllama-q5_k_m": SyntheticModel("tinyllama-1.1b", "Q5_K_M"),
    "tinyllama-q6_k": SyntheticModel("tinyllama-1.1b", "Q6_K"),
    "tinyllama-q8_0": SyntheticModel("tinyllama-1.1b", "Q8_0"),
    "llama2-7b-q5_k_m": SyntheticModel("llama2-7b", "Q5_K_M", token_scale=0.25),
}


def default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "constrain", "bench")


def have_llama_cpp_quantizer() -> bool:
    try:
        import llama_cpp
    except ImportError:
        return False
    return hasattr(llama_cpp, "llama_model_quantize")


def ensure_model(name: str, cache_dir: str, log=print, use_llama_cpp: bool | None = None) -> str:
    """The path of synthetic model `name` in cache_dir, written first if absent: quantized
    by llama.cpp from a random F16 file when it is installed (use_llama_cpp None = when
    available), else written in the same mix directly."""
    spec = SYNTHETIC_MODELS[name]
    if use_llama_cpp is None:
        use_llama_cpp = have_llama_cpp_quantizer()
    path = os.path.join(cache_dir, spec.file_name("llamacpp" if use_llama_cpp else "constrain"))
    if os.path.exists(path):
        return path
    from constrain.runtime.synthetic_gguf import FULL_SHAPES, write_llama_gguf

    os.makedirs(cache_dir, exist_ok=True)
    partial = path + ".partial"
    if use_llama_cpp:
        source = os.path.join(cache_dir, SyntheticModel(spec.shape, "F16").file_name("constrain"))
        if not os.path.exists(source):
            log(f"writing {source} ...")
            write_llama_gguf(source + ".partial", FULL_SHAPES[spec.shape], "F16")
            os.replace(source + ".partial", source)
        log(f"quantizing it to {spec.weight_type} with llama.cpp: {path} ...")
        _llama_cpp_quantize(source, partial, spec.weight_type)
    else:
        log(f"writing {path} ...")
        write_llama_gguf(partial, FULL_SHAPES[spec.shape], spec.weight_type, random_blocks=True)
    os.replace(partial, path)  # a crash mid-write never leaves a truncated file behind
    return path


def _llama_cpp_quantize(source: str, target: str, file_type: str) -> None:
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{file_type}")
    params.nthread = os.cpu_count() or 1
    if llama_cpp.llama_model_quantize(source.encode(), target.encode(), ctypes.byref(params)) != 0:
        raise RuntimeError(f"llama.cpp could not quantize {source} to {file_type}")


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
