"""Where the four Jacobian entries of each face go in a banded or a sparse matrix.

The positions are computed once per grid; each Jacobian evaluation is then a
single scatter of the face values into a flat buffer.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .faces import FaceGraph
from .kernels import scatter_add


def _entry_rows_cols(graph: FaceGraph) -> tuple[np.ndarray, np.ndarray]:
    l, r = graph.left, graph.right
    rows = np.stack([l, l, r, r], axis=1).ravel()
    cols = np.stack([l, r, l, r], axis=1).ravel()
    return rows, cols


class BandedLayout:
    """LAPACK/LSODA packed band storage: ``packed[u + i − j, j] = J[i, j]`` with u = l = bandwidth."""

    def __init__(self, graph: FaceGraph):
        self.n = graph.n_cells
        self.bandwidth = graph.bandwidth
        rows, cols = _entry_rows_cols(graph)
        self.positions = ((self.bandwidth + rows - cols) * self.n + cols).astype(np.int64)
        self._buffer = np.zeros((2 * self.bandwidth + 1, self.n))

    def assemble(self, vals: np.ndarray) -> np.ndarray:
        scatter_add(vals.ravel(), self.positions, self._buffer.reshape(-1))
        # LSODA copies what it is given, but hand out a fresh array for safety.
        return self._buffer.copy()

    def to_dense(self, packed: np.ndarray) -> np.ndarray:
        n, b = self.n, self.bandwidth
        dense = np.zeros((n, n))
        for k in range(-b, b + 1):
            row = b - k  # k = j − i
            i = np.arange(max(0, -k), min(n, n - k))
            dense[i, i + k] = packed[row, i + k]
        return dense


class SparseLayout:
    """CSC storage with a fixed pattern: the union of all face entries (plus the diagonal)."""

    def __init__(self, graph: FaceGraph):
        n = graph.n_cells
        rows, cols = _entry_rows_cols(graph)
        rows = np.concatenate([rows, np.arange(n)])
        cols = np.concatenate([cols, np.arange(n)])
        # Sorting keys column-major gives exactly CSC order.
        keys, inverse = np.unique(cols * n + rows, return_inverse=True)
        self.n = n
        self.indices = (keys % n).astype(np.int32)
        self.indptr = np.searchsorted(keys // n, np.arange(n + 1)).astype(np.int32)
        self.positions = inverse[: rows.size - n].astype(np.int64)
        self._data = np.zeros(keys.size)

    def assemble(self, vals: np.ndarray) -> sp.csc_matrix:
        scatter_add(vals.ravel(), self.positions, self._data)
        return sp.csc_matrix((self._data.copy(), self.indices, self.indptr), shape=(self.n, self.n))

    def pattern(self) -> sp.csc_matrix:
        return sp.csc_matrix((np.ones_like(self._data), self.indices, self.indptr),
                             shape=(self.n, self.n))
