"""Conjugate gradients for the weighted ridge problem, and a preconditioner for atoms that never move.

The projection of the outer weights at atoms ωᵢ with masses mᵢ (docs: theory/particles and theory/wasserstein: 1/M for
particles, cell masses for a grid) solves, for quadratic f,

    (G diag(m) + λI) u = AᵀY/N + λ·shift,        G = AᵀA/N.

The matrix is not symmetric; with D = diag(√m) and v = D u it becomes

    S v = D(AᵀY/N + λ·shift),        S = D G D + λI   (symmetric positive definite),

which conjugate gradients solve.  For a grid G is fixed and only D changes from one solve to
the next: :class:`SpectralPreconditioner` keeps the leading eigenpairs of G once and inverts
the low-rank part of S exactly (Woodbury), so S's preconditioned spectrum lies in
[1, 1 + ε] and a solve takes two or three iterations whatever the masses.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.linalg as sl

Apply = Callable[[np.ndarray], np.ndarray]


def pcg(apply: Callable, b: np.ndarray, precondition: Apply, x: np.ndarray, *, tol: float,
        max_iter: int, tracked: bool = False):
    """Preconditioned conjugate gradients for S x = b from the start ``x`` (updated in place).

    Stops when the recursively updated residual has ‖r‖ ≤ tol·‖b‖, or after ``max_iter``
    iterations.

    Parameters
    ----------
    apply : callable
        v ↦ S v; with ``tracked``, v ↦ (S v, T v) for a second linear map T.
    b : ndarray, shape (n,)
    precondition : callable, (n,) -> (n,)
        r ↦ P⁻¹ r, P ≈ S symmetric positive definite.
    x : ndarray, shape (n,)
        Start; overwritten with the solution.
    tracked : bool
        Also update T x alongside x, so T x of the solution comes without another product.
        The grid flow uses T = G D, from which the potential h follows (docs: theory/wasserstein).

    Returns
    -------
    x : ndarray, shape (n,)
    iterations : int
    residual : ndarray, shape (n,)
        The recursively updated residual b − S x.
    image : ndarray, shape (n,), or None
        T x (``tracked`` only).
    """
    if x.any():
        first = apply(x)
        sx, image = first if tracked else (first, None)
        res = b - sx
    else:   # from zero (a correction): the product would be zero
        res, image = b.copy(), (np.zeros_like(x) if tracked else None)
    z = precondition(res)
    p = z.copy()
    rz = res @ z
    bnorm = np.linalg.norm(b)
    k = 0
    while np.linalg.norm(res) > tol * bnorm and k < max_iter:
        out = apply(p)
        q, tp = out if tracked else (out, None)
        step = rz / (p @ q)
        x += step * p
        if tracked:
            image += step * tp
        res -= step * q
        z = precondition(res)
        rz, rz_old = res @ z, rz
        p = z + (rz / rz_old) * p
        k += 1
    return x, k, res, image


class SpectralPreconditioner:
    """P⁻¹ ≈ (D G D + λI)⁻¹ for a fixed G and any masses m = diag(D)², from G's leading eigenpairs.

    With G ≈ V Λ Vᵀ on the r leading eigenpairs and W = D V,
    (λI + W Λ Wᵀ)⁻¹ = (I − W (λΛ⁻¹ + WᵀW)⁻¹ Wᵀ)/λ  (Woodbury), exact on the kept part, so
    the preconditioned matrix differs from I by at most max(m)·σ_{r+1}/λ.  For each set of
    masses :meth:`prepare` keeps the eigenpairs with max(m)·σ_k > ``threshold``·λ: then
    P⁻¹S has its spectrum in [1, 1 + threshold].

    Construction costs one symmetric eigendecomposition of G, O(n³) once (about 0.2 s at
    n = 1024; restricted to the eigenvalues that masses up to ``max_density``× uniform could
    need); :meth:`prepare` costs O(n r²) and an application O(n r), r the kept rank.

    Parameters
    ----------
    gram : ndarray, shape (n, n)
        G = AᵀA/N at the atoms (symmetric positive semi-definite).
    lam : float
        λ > 0.
    total_mass : float
        Mass of the measures that will be seen (1 for probabilities).
    threshold : float
        Bound on the part of S left to conjugate gradients, relative to λ.
    max_density : float
        Largest cell mass planned for, as a multiple of the uniform one total_mass/n; larger
        masses still work, with a few more iterations.
    refresh_after : int
        Prepare again for the current masses after a solve that needed more iterations.
    """

    def __init__(self, gram: np.ndarray, lam: float, total_mass: float = 1.0, threshold: float = 0.02,
                 max_density: float = 100.0, refresh_after: int = 3):
        n = gram.shape[0]
        self.lam, self.threshold, self.refresh_after = float(lam), float(threshold), int(refresh_after)
        self.ready = False
        floor = threshold * lam / min(total_mass, max_density * total_mass / n)
        values, vectors = sl.eigh(gram, subset_by_value=(floor, np.inf), driver="evr")
        order = np.argsort(values)[::-1]
        self.values, self.vectors = values[order], np.ascontiguousarray(vectors[:, order])
        self.rank = 0
        self._w = np.empty((n, 0))
        self._core = np.empty((0, 0))

    def prepare(self, d: np.ndarray) -> None:
        """Set up P for the masses d² (``d`` = √m, shape (n,))."""
        largest = float(np.max(d)) ** 2 if d.size else 0.0
        r = int(np.count_nonzero(self.values * largest > self.threshold * self.lam))
        self.rank = r
        self.ready = True
        w = d[:, None] * self.vectors[:, :r]
        core = w.T @ w
        core.flat[:: r + 1] += self.lam / self.values[:r]
        self._w = w
        # r is a few tens: an explicit inverse makes every application two thin products
        self._core = sl.cho_solve(sl.cho_factor(core), np.eye(r)) if r else core

    def __call__(self, res: np.ndarray) -> np.ndarray:
        if self.rank == 0:
            return res / self.lam
        return (res - self._w @ (self._core @ (self._w.T @ res))) / self.lam
