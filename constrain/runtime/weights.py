"""Bind a GGUF file's tensors to the llama layer structure, checking every shape.

The kernels read weights straight out of the memory map with no bounds checks, so every
tensor's type, shape and byte size is checked here, against the file and against the
hyperparameters, before any kernel sees it.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import sys
from dataclasses import dataclass

import numpy as np
from gguf.constants import GGMLQuantizationType

from constrain.errors import ModelFormatError, UnsupportedModelError
from constrain.runtime import tile_cache
from constrain.runtime.gguf_file import GGUFFile
from constrain.runtime.hparams import LlamaHParams
from constrain.runtime.quants import QuantMatrix, check_supported, tile_packing, tiles
from constrain.runtime.stacked_layers import ROLES, LayerStack


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
    def load(cls, gguf: GGUFFile, hp: LlamaHParams, cache_dir: str | None = None) -> LlamaWeights:
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
        weights._tile_matrices(gguf.path, cache_dir)
        return weights

    def _tile_matrices(self, model_path: str, cache_dir: str | None | bool) -> None:
        """Give every product its tiles (quants/tiles.py): mapped from the tile cache
        (tile_cache.py) when it holds this model, else repacked from the file's matrices
        and written there. While repacking, the mapped file pages a copy came from go back
        to the OS, so memory does not double (they are read back from the file only if
        something reads `data` again; a tied embedding's lookups read the tiled copy).
        cache_dir: a directory, None for the default one, False for no cache."""
        groups = {role: [[getattr(layer, name) for name in names] for layer in self.layers]
                  for role, names in ROLES.items()}
        groups["output"] = [[self.output]]
        # one scale type for the whole model: every role then has the same numba type
        half = all(tile_packing.half_scales_fit(layers) for layers in groups.values())
        choices = (True, False) if half else (False,)
        path = None
        if cache_dir is not False and os.environ.get("CONSTRAIN_TILE_CACHE", "1") != "0":
            path = tile_cache.cache_path(model_path, cache_dir or tile_cache.cache_directory())
        for half in choices:
            planned = {role: tile_packing.empty_role(layers, _shape_only, half) for role, layers in groups.items()}
            expected = {name: (a.shape, a.dtype) for name, a in _tile_arrays(planned).items()}
            arrays = _load_cache(path, expected)
            if arrays is not None:
                break
        if arrays is None:
            arrays = _tile_arrays(_repack(groups, choices))
            if path is not None:
                expected = {name: (a.shape, a.dtype) for name, a in arrays.items()}
                try:
                    tile_cache.write(path, arrays)
                    arrays = tile_cache.load(path, expected)  # the mapped file: shared, not anonymous
                except (OSError, tile_cache.CacheMismatch):
                    pass
        roles = {role: tile_packing.frozen(_role_from(planned[role], role, arrays)) for role in groups}
        self.output.use_tiles(roles.pop("output"))
        self.stacked = LayerStack(
            attn_norm=np.stack([layer.attn_norm for layer in self.layers]),
            ffn_norm=np.stack([layer.ffn_norm for layer in self.layers]),
            **roles,
        )


def _repack(groups: dict, choices: tuple[bool, ...]) -> dict[str, tiles.TiledRole]:
    """Every role repacked, with float16 scales if the first choice says so and every
    scale fits, else float32 ones."""
    for half in choices:
        roles = {role: tile_packing.empty_role(layers, half_scales=half) for role, layers in groups.items()}
        if all(tile_packing.fill_role(roles[role], layers, release=lambda matrix: _release_file_pages(matrix.data))
               for role, layers in groups.items()):
            return roles
    raise AssertionError("float32 scales hold every value")


def _shape_only(shape, dtype):
    """An array of the given shape and dtype that owns no memory (for planning)."""
    return np.lib.stride_tricks.as_strided(np.zeros(1, dtype), shape, (0,) * len(shape))


_KIND_FIELDS = ("u4", "u4_g16", "u5", "u6_g16", "i8", "f16", "f32")


def _tile_arrays(roles: dict) -> dict[str, np.ndarray]:
    return {f"{role}.{kind}.{field}": array
            for role, r in roles.items() for kind in _KIND_FIELDS
            for field, array in getattr(r, kind)._asdict().items()}


def _role_from(plan: tiles.TiledRole, role: str, arrays: dict[str, np.ndarray]) -> tiles.TiledRole:
    parts = {}
    for kind in _KIND_FIELDS:
        bundle = getattr(plan, kind)
        parts[kind] = type(bundle)(*(arrays[f"{role}.{kind}.{field}"] for field in bundle._fields))
    return tiles.TiledRole(plan.tile_kind, plan.tile_slot, **parts)


def _load_cache(path: str | None, expected) -> dict[str, np.ndarray] | None:
    if path is None or not os.path.exists(path):
        return None
    try:
        arrays = tile_cache.load(path, expected)
    except (OSError, tile_cache.CacheMismatch):
        return None
    tile_cache.touch(path)
    return arrays


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
