"""The face graph of a grid: which cells share a face, and the face transmissibility."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..domains import Domain


@dataclass(frozen=True)
class FaceGraph:
    """Interior faces of a grid as pairs of flat cell indices.

    ``left[f]`` and ``right[f]`` are the two cells of face ``f`` (``right`` lies in the
    positive axis direction) and ``trans[f] = |face| / (|cell| · distance) = 1/h_d²``
    turns a potential difference into a rate of change of the cell average.
    No-flux boundaries are simply faces that are absent.

    ``far_left[f]`` and ``far_right[f]`` are the next cells outward along the face's axis
    (beyond ``left`` and beyond ``right``), or −1 past a closed boundary; a limited
    reconstruction of the upwind density reads them (:func:`pdeflow.fv.kernels.face_densities`).
    """

    left: np.ndarray
    right: np.ndarray
    trans: np.ndarray
    n_cells: int
    far_left: np.ndarray | None = None
    far_right: np.ndarray | None = None

    def relabel(self, position: np.ndarray) -> "FaceGraph":
        """The same graph with cell ``c`` renamed ``position[c]``."""
        def rename(cells):
            return None if cells is None else np.where(cells >= 0, position[cells], -1)

        return FaceGraph(position[self.left], position[self.right], self.trans, self.n_cells,
                         rename(self.far_left), rename(self.far_right))

    @property
    def bandwidth(self) -> int:
        """Largest ``|left - right|``: the half-bandwidth of any face-local Jacobian."""
        return int(np.max(np.abs(self.left - self.right))) if self.left.size else 0


def face_graph(domain: Domain) -> FaceGraph:
    """Faces of ``domain`` in flat C-order cell numbering."""
    index = np.arange(domain.size).reshape(domain.shape)
    lefts, rights, trans, far_lefts, far_rights = [], [], [], [], []
    for d, (h, per) in enumerate(zip(domain.spacing, domain.periodic)):
        before, after, after2 = (np.roll(index, shift, axis=d) for shift in (1, -1, -2))
        if not per:
            # past a closed boundary there is no cell: the faces there are dropped, and the
            # outer neighbours of the first and last faces are marked absent
            n = domain.shape[d]
            position = np.arange(n).reshape([-1 if k == d else 1 for k in range(domain.ndim)])
            before = np.where(position == 0, -1, before)
            after2 = np.where(position >= n - 2, -1, after2)
        keep = [slice(None)] * domain.ndim
        keep[d] = slice(None) if per else slice(0, domain.shape[d] - 1)
        keep = tuple(keep)
        lefts.append(index[keep].ravel())
        rights.append(after[keep].ravel())
        far_lefts.append(before[keep].ravel())
        far_rights.append(after2[keep].ravel())
        trans.append(np.full(lefts[-1].size, 1.0 / h**2))
    cat = lambda parts: np.concatenate(parts).astype(np.int64)  # noqa: E731
    return FaceGraph(cat(lefts), cat(rights), np.concatenate(trans), domain.size,
                     cat(far_lefts), cat(far_rights))


def _interleave(n: int) -> np.ndarray:
    """Order 0, n−1, 1, n−2, … : neighbours on a ring end up at most 2 apart."""
    order = np.empty(n, dtype=np.int64)
    order[0::2] = np.arange((n + 1) // 2)
    order[1::2] = n - 1 - np.arange(n // 2)
    return order


def band_ordering(domain: Domain) -> np.ndarray:
    """``position[c]``: where cell ``c`` goes in an unknown vector of small bandwidth.

    Periodic axes are interleaved (docs: theory/ufd), closed axes keep their order; in
    2-D the result has half-bandwidth ``2·n₁`` (periodic) or ``n₁`` (closed).
    """
    per_axis = []
    for n, per in zip(domain.shape, domain.periodic):
        order = _interleave(n) if per else np.arange(n)
        pos = np.empty(n, dtype=np.int64)
        pos[order] = np.arange(n)
        per_axis.append(pos)
    grids = np.meshgrid(*per_axis, indexing="ij")
    position = np.zeros(domain.shape, dtype=np.int64)
    for d, g in enumerate(grids):
        position = position * domain.shape[d] + g
    return position.ravel()


@dataclass(frozen=True)
class FaceStencil:
    """The face graph widened by one cell on each side, for reconstructions across a face.

    ``far_left[f]`` is the neighbour of ``left[f]`` away from the face and ``far_right[f]``
    that of ``right[f]`` (−1 where a closed boundary leaves none); ``inv_h[f] = 1/h`` of the
    face's axis.  Face ``f`` is face ``f`` of :func:`face_graph` (same order).
    """

    graph: FaceGraph
    far_left: np.ndarray
    far_right: np.ndarray
    inv_h: np.ndarray


def face_stencil(domain: Domain) -> FaceStencil:
    """The :class:`FaceStencil` of ``domain`` in flat C-order cell numbering."""
    graph = face_graph(domain)
    # trans = 1/h² of the face's axis on these uniform grids
    return FaceStencil(graph, graph.far_left, graph.far_right, np.sqrt(graph.trans))
