"""A dense feature matrix filled by fused kernels, with a single-precision twin (docs: theory/particles).

:class:`~pdeflow.particles.operators.DenseOperator` stores A and the dim × N × M array ∇_ωA
and touches them with BLAS.  For a feature map that supplies fused kernels (the Laplace
RBF: :mod:`pdeflow.particles.laplace`), :class:`FusedDenseOperator` stores only A, in
double and in single precision:

* the gradient products (∇_ωA)ᵀr come out of the same pass that forms r = y − Az and Aᵀr
  (``residual``), the geometry recomputed on the fly;
* ``normal`` reads each row of A once for both Av and Aᵀ(Av) (:func:`normal_product`);
* ``approximate`` is the single-precision A, half the bytes per product, for the inner
  iterations of the projection, whose residuals are always measured with the double A.

The buffers are reused from one configuration to the next: an operator is valid until the
features are evaluated at the next one.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba as nb
import numpy as np
from scipy.linalg import blas

from .operators import DenseFeatures, FeatureOperator, ResidualTerms, _atoms_for
from ..vecmath import VECTOR_FLAGS


@nb.njit(cache=True, fastmath=VECTOR_FLAGS)
def normal_product(A, v, out):
    """out = Aᵀ(A v) in one pass over A (each row reused from cache); A float64 or float32.

    Single-threaded on purpose: a product takes about a millisecond at N·M = 4·10⁶, too
    short for a parallel region to pay off when another process holds a core.
    """
    n, m = A.shape
    for i in range(m):
        out[i] = 0.0
    for j in range(n):
        row = A[j]
        s = 0.0
        for i in range(m):
            s += row[i] * v[i]
        for i in range(m):
            out[i] += s * row[i]


def _normal(A: np.ndarray, v: np.ndarray) -> np.ndarray:
    out = np.empty(A.shape[1])
    normal_product(A, np.ascontiguousarray(v, dtype=float), out)
    out /= A.shape[0]
    return out


class SinglePrecisionOperator(FeatureOperator):
    """The single-precision A of a :class:`FusedDenseOperator` (shape (N, M)): ``normal`` and ``gram`` only.

    Products accumulate in double; the matrix itself is A to a relative 2⁻²⁴, so it serves
    the inner iterations and the preconditioner of the projection, never its residual.
    """

    def __init__(self, owner: "FusedDenseOperator"):
        self.owner = owner
        self.shape = owner.shape

    def normal(self, v):
        return _normal(self.owner.A32, v)

    def upper_gram(self) -> np.ndarray:
        """AᵀA/N in single precision, upper triangle only (Fortran order, what a Cholesky reads), shape (M, M).

        Two SYRKs on the two halves of the rows, each on one BLAS thread, run side by side on
        as many threads as numba may use (never more than two): always the same two halves,
        so the sum does not depend on the thread count.
        """
        A32 = self.owner.A32
        n = A32.shape[0]
        halves = [A32[: n // 2], A32[n // 2:]]

        def syrk(rows):
            return blas.ssyrk(1.0 / n, rows.T, trans=0, lower=0)

        if nb.get_num_threads() > 1 and n > 1:
            with ThreadPoolExecutor(2) as pool:
                first, second = pool.map(syrk, halves)
        else:
            first, second = (syrk(rows) for rows in halves)
        first += second
        return first

    def gram(self):
        """AᵀA/N in single precision, shape (M, M)."""
        upper = self.upper_gram()
        return upper + np.triu(upper, 1).T

    def forward(self, u):
        raise NotImplementedError("the single-precision operator serves normal() and gram() only")

    def adjoint(self, v):
        raise NotImplementedError("the single-precision operator serves normal() and gram() only")


class FusedDenseOperator(FeatureOperator):
    """A at one configuration ω, held in double (``A``) and single (``A32``) precision, shape (N, M).

    The feature map supplies ``fused_pass(omega, x, A, A32, fill, y, z, divisor, gradient)``,
    one pass over the rows that fills them and/or returns the
    :class:`~pdeflow.particles.operators.ResidualTerms` of weights z.  A is filled when first
    needed, so that a first ``residual`` (the projection's starting residual) comes out of
    the fill itself.  The last ``residual`` is kept: VarPro's velocity asks again for the
    pass that certified its projection.
    """

    def __init__(self, feature, x: np.ndarray, omega: np.ndarray, A: np.ndarray, A32: np.ndarray):
        self.feature, self.x, self.omega = feature, x, omega
        self._A, self._A32 = A, A32
        self.shape = A.shape
        self._filled = False
        self._last: tuple | None = None
        self.approximate = SinglePrecisionOperator(self)

    def _pass(self, y=None, z=None, divisor=1.0, gradient=False):
        terms = self.feature.fused_pass(self.omega, self.x, self._A, self._A32, not self._filled, y, z,
                                        divisor, gradient)
        self._filled = True
        return terms

    @property
    def A(self) -> np.ndarray:
        """A[j, i] = φ(ωᵢ, xⱼ), shape (N, M), float64."""
        if not self._filled:
            self._pass()
        return self._A

    @property
    def A32(self) -> np.ndarray:
        """A in single precision, shape (N, M), float32."""
        if not self._filled:
            self._pass()
        return self._A32

    def forward(self, u):
        return self.A @ u

    def adjoint(self, v):
        terms = self._pass(np.ascontiguousarray(v, dtype=float), np.zeros(self.shape[1]), 1.0, True)
        return terms.adjoint, terms.gradient

    def normal(self, v):
        return _normal(self.A, v)

    def gram(self):
        g = self.A.T @ self.A
        g /= self.shape[0]
        return g

    def residual(self, z, y, divisor=1.0, gradient=True):
        z = np.ascontiguousarray(z, dtype=float)
        if self._last is not None:
            z0, y0, divisor0, terms = self._last
            if y0 is y and divisor0 == divisor and np.array_equal(z0, z) and (
                    terms.gradient is not None or not gradient):
                return terms
        terms = self._pass(np.ascontiguousarray(y, dtype=float), z, float(divisor), bool(gradient))
        self._last = (z.copy(), y, divisor, terms)
        return terms


class FusedDenseFeatures(DenseFeatures):
    """ω ↦ :class:`FusedDenseOperator` for a feature map with a fused pass (``fused_pass``).

    Still a :class:`~pdeflow.particles.operators.DenseFeatures`: whoever needs only
    AᵀA at fixed atoms (:func:`~pdeflow.particles.operators.fixed_atoms`) fills it by blocks.
    """

    def __call__(self, omega: np.ndarray) -> FusedDenseOperator:
        omega = np.ascontiguousarray(_atoms_for(self.feature.dim, omega), dtype=float)
        n, m = self.x.shape[0], omega.shape[0]
        if self._buffers is None or self._buffers[0].shape != (n, m):
            self._buffers = (np.empty((n, m)), np.empty((n, m), dtype=np.float32))
        return FusedDenseOperator(self.feature, self.x, omega, *self._buffers)
