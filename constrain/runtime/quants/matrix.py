"""QuantMatrix: a GGUF weight matrix used in place, in whatever type it is stored."""

from __future__ import annotations

import numpy as np

from constrain.errors import ModelFormatError
from constrain.runtime.quants import block_kernels, float_kernels, tile_packing, tiles
from constrain.runtime.quants.formats import check_supported, row_nbytes, type_name
from constrain.runtime.quants.scheduling import rows_per_parallel_task

_FLOAT_VIEW_DTYPES = {
    int(float_kernels.F32): np.float32,
    int(float_kernels.F16): np.uint16,
    int(float_kernels.BF16): np.uint16,
}


class QuantMatrix:
    """A (rows x cols) weight matrix kept in its GGUF encoding.

    `data` holds the raw bytes, rows one after another, as GGUF stores a tensor of
    shape [ne0=cols, ne1=rows]. The bytes are never copied: `data` may be a read-only
    view into a memory-mapped file.

    The kernels behind it are plain numba functions, callable from other numba code:
    `block_kernels.KERNELS[type code]` gives (matvec, matmul, get_rows) for the
    quantized types, `float_kernels` the same for F32/F16/BF16.
    """

    def __init__(self, name: str, ggml_type: int, data: np.ndarray, rows: int, cols: int):
        self.name = name
        self.ggml_type = check_supported(name, ggml_type)
        self.rows = int(rows)
        self.cols = int(cols)
        if self.rows <= 0:
            raise ModelFormatError(f"tensor {name!r}: row count {rows} is not positive")
        self.row_nbytes = row_nbytes(self.ggml_type, self.cols, name)
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 1:
            raise ModelFormatError(f"tensor {name!r}: expected its raw bytes as a 1-D uint8 array")
        expected = self.rows * self.row_nbytes
        if data.size != expected:
            raise ModelFormatError(
                f"tensor {name!r}: {data.size} bytes of data, but {self.rows} rows of {self.cols} "
                f"{type_name(self.ggml_type)} values need {expected}"
            )
        if not data.flags.c_contiguous:
            raise ModelFormatError(f"tensor {name!r}: data must be contiguous")
        # Always a read-only view (as the mmap gives): one compiled kernel per type, not two.
        data = data.view()
        data.flags.writeable = False
        self.data = data
        self._code = int(self.ggml_type)
        view_dtype = _FLOAT_VIEW_DTYPES.get(self._code)
        # Float weights are computed on through a typed (rows, cols) view of the same bytes.
        self._float_view = None if view_dtype is None else data.view(view_dtype).reshape(self.rows, self.cols)
        self._rows_per_task = rows_per_parallel_task(self.rows)
        self._tiles = None  # a one-matrix tiles.TiledRole once tile_rows() made the tiled copy

    def tile_rows(self) -> bool:
        """Make a tiled copy of the weights (quants/tiles.py, tile_packing.py) that matmul and get_rows use
        from then on, so the caller may release `data`'s pages (dequantize() and any other
        reader get them back from the file). Every supported type tiles; returns True."""
        if self._tiles is None:
            self._tiles = tile_packing.frozen(tile_packing.build_role([[self]]))
        return True

    def use_tiles(self, role) -> None:
        """Use `role`, a one-matrix tiles.TiledRole of these weights (e.g. mapped from the
        tile cache), as tile_rows() would have made it."""
        self._tiles = role

    @property
    def is_row_tiled(self) -> bool:
        return self._tiles is not None

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.cols)

    def __repr__(self) -> str:
        return f"QuantMatrix({self.name!r}, {type_name(self.ggml_type)}, rows={self.rows}, cols={self.cols})"

    def _as_batch(self, x) -> np.ndarray:
        """x as a C-contiguous float32 (n, cols) array (a view when it already is one)."""
        if not isinstance(x, np.ndarray) or x.dtype != np.float32 or not x.flags.c_contiguous:
            x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim == 1:
            x = x.reshape(1, -1)
        if x.ndim != 2 or x.shape[1] != self.cols:
            raise ValueError(f"{self.name}: input of shape {x.shape} does not have {self.cols} columns")
        return x

    def matmul(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """x (n, cols) float32 -> x @ W.T as float32 (n, rows); a 1-D x gives a 1-D result.

        n == 1 runs the matrix-vector kernel (generation), n > 1 the batched kernel
        (prompt processing). `out`, if given, must be C-contiguous float32 of the
        result's shape; it is filled and returned.
        """
        one_vector = np.ndim(x) == 1
        x = self._as_batch(x)
        n = x.shape[0]
        shape = (self.rows,) if one_vector else (n, self.rows)
        if out is None:
            out = np.empty(shape, np.float32)
        elif out.shape != shape or out.dtype != np.float32 or not out.flags.c_contiguous:
            raise ValueError(f"{self.name}: out must be a contiguous float32 array of shape {shape}")
        out2d = out.reshape(n, self.rows)
        if self._tiles is not None:
            padded = tiles.padded_rows(self.rows)
            target = out2d if padded == self.rows else np.empty((n, padded), np.float32)
            if n == 1:  # the decode step's product: a token's logits do not depend on its company
                tiles.matvec_rows(self._tiles, 0, x, target)
            else:
                tiles.role_matmul(self._tiles, 0, x, *tiles.new_row_activations(n, self.cols), target)
            if target is not out2d:
                out2d[:] = target[:, :self.rows]
        elif n == 1:
            if self._float_view is not None:
                float_kernels.matvec(self._code, self._float_view, x[0], out2d[0], self._rows_per_task)
            else:
                block_kernels.KERNELS[self._code][0](self.data, self.rows, self.cols, x[0], out2d[0],
                                                     self._rows_per_task)
        elif self._float_view is not None:
            float_kernels.matmul(self._code, self._float_view, x, out2d)
        else:
            block_kernels.KERNELS[self._code][1](self.data, self.rows, self.cols, x, out2d)
        return out

    def matvec_rows(self, x: np.ndarray) -> np.ndarray:
        """x (n, cols) -> (n, rows), each row exactly as matmul computes that row alone (the
        matrix-vector kernel's arithmetic), the weights read once for all rows."""
        x = self._as_batch(x)
        if self._tiles is None:
            return np.stack([self.matmul(row) for row in x])
        target = np.empty((x.shape[0], tiles.padded_rows(self.rows)), np.float32)
        tiles.matvec_rows(self._tiles, 0, x, target)
        return target[:, :self.rows]

    def get_rows(self, ids) -> np.ndarray:
        """Dequantize only the rows `ids` (an embedding lookup): float32 (len(ids), cols)."""
        ids = np.asarray(ids)
        if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)):
            raise ValueError(f"{self.name}: row ids must be a 1-D integer array")
        ids = ids.astype(np.int64, copy=False)
        if ids.size and (ids.min() < 0 or ids.max() >= self.rows):
            bad = int(ids[(ids < 0) | (ids >= self.rows)][0])
            raise IndexError(f"{self.name}: row id {bad} is outside 0..{self.rows - 1}")
        out = np.empty((ids.size, self.cols), np.float32)
        if self._tiles is not None:
            tiles.get_rows(self._tiles, 0, self.cols, ids, out)
        elif self._float_view is not None:
            float_kernels.get_rows(self._code, self._float_view, ids, out)
        else:
            block_kernels.KERNELS[self._code][2](self.data, self.cols, ids, out)
        return out

    def dequantize(self) -> np.ndarray:
        """The whole matrix as float32 (rows, cols): for tests and tiny tensors only."""
        return self.get_rows(np.arange(self.rows, dtype=np.int64))
