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
    """

    left: np.ndarray
    right: np.ndarray
    trans: np.ndarray
    n_cells: int

    def relabel(self, position: np.ndarray) -> "FaceGraph":
        """The same graph with cell ``c`` renamed ``position[c]``."""
        return FaceGraph(position[self.left], position[self.right], self.trans, self.n_cells)

    @property
    def bandwidth(self) -> int:
        """Largest ``|left - right|``: the half-bandwidth of any face-local Jacobian."""
        return int(np.max(np.abs(self.left - self.right))) if self.left.size else 0


def face_graph(domain: Domain) -> FaceGraph:
    """Faces of ``domain`` in flat C-order cell numbering."""
    index = np.arange(domain.size).reshape(domain.shape)
    lefts, rights, trans = [], [], []
    for d, (h, per) in enumerate(zip(domain.spacing, domain.periodic)):
        nbr = np.roll(index, -1, axis=d)
        if per:
            l, r = index, nbr
        else:
            keep = [slice(None)] * domain.ndim
            keep[d] = slice(0, domain.shape[d] - 1)
            l, r = index[tuple(keep)], nbr[tuple(keep)]
        lefts.append(l.ravel())
        rights.append(r.ravel())
        trans.append(np.full(l.size, 1.0 / h**2))
    return FaceGraph(np.concatenate(lefts).astype(np.int64), np.concatenate(rights).astype(np.int64),
                     np.concatenate(trans), domain.size)


def _interleave(n: int) -> np.ndarray:
    """Order 0, n−1, 1, n−2, … : neighbours on a ring end up at most 2 apart."""
    order = np.empty(n, dtype=np.int64)
    order[0::2] = np.arange((n + 1) // 2)
    order[1::2] = n - 1 - np.arange(n // 2)
    return order


def band_ordering(domain: Domain) -> np.ndarray:
    """``position[c]``: where cell ``c`` goes in an unknown vector of small bandwidth.

    Periodic axes are interleaved (SPEC §4b), closed axes keep their order; in
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
    index = np.arange(domain.size).reshape(domain.shape)
    far_l, far_r, inv_h = [], [], []
    for d, (h, per) in enumerate(zip(domain.spacing, domain.periodic)):
        before = np.roll(index, 1, axis=d)
        after2 = np.roll(index, -2, axis=d)
        if not per:
            n = domain.shape[d]
            before = before.copy()
            after2 = after2.copy()
            first = [slice(None)] * domain.ndim
            first[d] = 0
            before[tuple(first)] = -1
            last = [slice(None)] * domain.ndim
            last[d] = n - 2
            after2[tuple(last)] = -1
            keep = [slice(None)] * domain.ndim
            keep[d] = slice(0, n - 1)
            before, after2 = before[tuple(keep)], after2[tuple(keep)]
        far_l.append(before.ravel())
        far_r.append(after2.ravel())
        inv_h.append(np.full(before.size, 1.0 / h))
    return FaceStencil(face_graph(domain), np.concatenate(far_l).astype(np.int64),
                       np.concatenate(far_r).astype(np.int64), np.concatenate(inv_h))
