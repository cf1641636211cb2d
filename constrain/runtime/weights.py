"""Bind a GGUF file's tensors to the llama layer structure, checking every shape.

The kernels read weights straight out of the memory map with no bounds checks, so every
tensor's type, shape and byte size is checked here, against the file and against the
hyperparameters, before any kernel sees it.
"""

from __future__ import annotations

import ctypes
import mmap
import sys
from dataclasses import dataclass

import numpy as np
from gguf.constants import GGMLQuantizationType

from constrain.errors import ModelFormatError, UnsupportedModelError
from constrain.runtime.gguf_file import GGUFFile
from constrain.runtime.hparams import LlamaHParams
from constrain.runtime.quants import QuantMatrix, check_supported
from constrain.runtime.stacked_layers import LayerStack, stack_layers


@dataclass
class LayerWeights:
    attn_norm: np.ndarray
    wq: QuantMatrix
    wk: QuantMatrix
    wv: QuantMatrix
    wo: QuantMatrix
    ffn_norm: np.ndarray
    w_gate: QuantMatrix
    w_up: QuantMatrix
    w_down: QuantMatrix


@dataclass
class LlamaWeights:
    token_embd: QuantMatrix
    layers: list[LayerWeights]
    output_norm: np.ndarray
    output: QuantMatrix  # the embedding matrix itself when the model ties them
    rope_freq_factors: np.ndarray | None
    stacked: LayerStack | None = None  # the layers' tiles (stacked_layers.py), made at load

    @classmethod
    def load(cls, gguf: GGUFFile, hp: LlamaHParams, cache_dir: str | None = None) -> "LlamaWeights":
        loader = _Loader(gguf)
        if any(name.endswith("_exps.weight") for name in gguf.tensors):
            raise UnsupportedModelError(f"{gguf.path}: mixture-of-experts llama models are not supported")
        token_embd = loader.matrix("token_embd.weight", hp.n_vocab, hp.dim)
        layers = []
        for i in range(hp.n_layer):
            p = f"blk.{i}."
            layers.append(LayerWeights(
                attn_norm=loader.vector(p + "attn_norm.weight", hp.dim),
                wq=loader.matrix(p + "attn_q.weight", hp.q_dim, hp.dim),
                wk=loader.matrix(p + "attn_k.weight", hp.kv_dim, hp.dim),
                wv=loader.matrix(p + "attn_v.weight", hp.kv_dim, hp.dim),
                wo=loader.matrix(p + "attn_output.weight", hp.dim, hp.q_dim),
                ffn_norm=loader.vector(p + "ffn_norm.weight", hp.dim),
                w_gate=loader.matrix(p + "ffn_gate.weight", hp.ffn_dim, hp.dim),
                w_up=loader.matrix(p + "ffn_up.weight", hp.ffn_dim, hp.dim),
                w_down=loader.matrix(p + "ffn_down.weight", hp.dim, hp.ffn_dim),
            ))
        output_norm = loader.vector("output_norm.weight", hp.dim)
        if "output.weight" in gguf.tensors:
            output = loader.matrix("output.weight", hp.n_vocab, hp.dim)
        else:
            output = token_embd
        freq_factors = None
        if "rope_freqs.weight" in gguf.tensors:
            freq_factors = loader.vector("rope_freqs.weight", hp.rope_dim // 2)
        weights = cls(token_embd, layers, output_norm, output, freq_factors)
        weights._tile_matrices()
        return weights

    def _tile_matrices(self) -> None:
        """Move the weights into tiled copies (quants/tiles.py): the layers into one stack,
        the output matrix on its own. The mapped file pages a copy came from go back to
        the OS, so memory does not double (they are read back from the file only if
        something reads `data` again; a tied embedding's lookups read the tiled copy)."""
        self.stacked = stack_layers(self.layers, release=lambda matrix: _release_file_pages(matrix.data))
        self.output.tile_rows()
        _release_file_pages(self.output.data)


class _Loader:
    def __init__(self, gguf: GGUFFile):
        self.gguf = gguf

    def _info(self, name: str):
        info = self.gguf.tensors.get(name)
        if info is None:
            raise ModelFormatError(f"{self.gguf.path}: required tensor {name!r} is missing")
        return info

    def matrix(self, name: str, rows: int, cols: int) -> QuantMatrix:
        info = self._info(name)
        check_supported(name, info.ggml_type)
        shape = tuple(d for d in info.shape if d != 1) if len(info.shape) > 2 else info.shape
        if shape != (cols, rows):
            raise ModelFormatError(
                f"{self.gguf.path}: tensor {name!r} has shape {list(info.shape)}, "
                f"the hyperparameters need [{cols}, {rows}]"
            )
        return QuantMatrix(name, info.ggml_type, self.gguf.tensor_bytes(name), rows, cols)

    def vector(self, name: str, length: int) -> np.ndarray:
        info = self._info(name)
        if info.ggml_type != GGMLQuantizationType.F32:
            raise UnsupportedModelError(
                f"{self.gguf.path}: tensor {name!r} is {info.type_name}; norm and rope vectors must be F32"
            )
        if info.n_elements != length:
            raise ModelFormatError(
                f"{self.gguf.path}: tensor {name!r} has {info.n_elements} elements, the hyperparameters need {length}"
            )
        values = self.gguf.tensor_bytes(name).view(np.float32)
        if not np.all(np.isfinite(values)):
            raise ModelFormatError(f"{self.gguf.path}: tensor {name!r} holds NaN or infinite values")
        return values.copy()


_MADV_DONTNEED = getattr(mmap, "MADV_DONTNEED", None)


def _release_file_pages(view: np.ndarray) -> None:
    """Drop the resident pages under `view`, a view into the GGUF file's read-only map.

    Only valid for file-backed maps (anonymous memory would read back as zeros): these
    pages are re-read from the file if touched again. A no-op where madvise is missing.
    """
    if _MADV_DONTNEED is None or not sys.platform.startswith("linux"):
        return
    page = mmap.PAGESIZE
    start = view.ctypes.data // page * page
    end = view.ctypes.data + view.nbytes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise(ctypes.c_void_p(start), ctypes.c_size_t(end - start), ctypes.c_int(_MADV_DONTNEED))
