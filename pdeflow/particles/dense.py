"""A dense feature matrix filled by fused kernels, with a single-precision twin (docs: theory/particles).

:class:`~pdeflow.particles.operators.DenseOperator` stores A and the dim × N × M array ∇_ωA
and touches them with BLAS.  For a feature map that supplies fused kernels (the Laplace
RBF: :mod:`pdeflow.particles.laplace`), :class:`FusedDenseOperator` stores only A, in
double and in single precision:

* the gradient products (∇_ωA)ᵀr come out of the same pass that forms r = y − Az and Aᵀr
  (``residual``), the geometry recomputed on the fly;
* ``normal`` reads each row of A once for both Av and Aᵀ(Av) (:func:`normal_product`), in
  two fixed blocks of rows, on one thread or two, whichever has been faster
  (:func:`pdeflow.threads.chooser_for`; the passes likewise);
* ``approximate`` is the single-precision A, half the bytes per product, for the inner
  iterations of the projection, whose residuals are always measured with the double A.

The buffers are reused from one configuration to the next: an operator is valid until the
features are evaluated at the next one.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .operators import DenseFeatures, FeatureOperator, ResidualTerms, _atoms_for
from ..threads import chooser_for, side_thread
from ..vecmath import VECTOR_FLAGS


#: Blocks of rows of a normal product: partial sums added in block order, whatever the thread count.
NORMAL_BLOCKS = 2


@nb.njit(cache=True, fastmath=VECTOR_FLAGS, inline="always")
def _normal_rows(A, v, out, first, stop):
    """out = Σⱼ A[j]ᵀ(A[j]·v) over rows first ≤ j < stop, four rows at a time.

    Four rows share each load of v in the dot products and each load and store of ``out``
    in the updates, which otherwise cost more than reading the rows themselves.
    """
    m = A.shape[1]
    for i in range(m):
        out[i] = 0.0
    j = first
    while j + 4 <= stop:
        r0, r1, r2, r3 = A[j], A[j + 1], A[j + 2], A[j + 3]
        s0 = s1 = s2 = s3 = 0.0
        for i in range(m):
            vi = v[i]
            s0 += r0[i] * vi
            s1 += r1[i] * vi
            s2 += r2[i] * vi
            s3 += r3[i] * vi
        for i in range(m):
            out[i] += s0 * r0[i] + s1 * r1[i] + s2 * r2[i] + s3 * r3[i]
        j += 4
    while j < stop:
        row = A[j]
        s = 0.0
        for i in range(m):
            s += row[i] * v[i]
        for i in range(m):
            out[i] += s * row[i]
        j += 1


@nb.njit(cache=True, fastmath=VECTOR_FLAGS, parallel=True)
def normal_product(A, v, parts):
    """parts[b] = Σ_{j in block b} A[j]ᵀ(A[j]·v): Aᵀ(Av) = Σ_b parts[b], one pass over A (float64 or float32).

    ``parts`` has shape (blocks, M); the rows are split into that many fixed blocks, so the
    partial sums, and their sum in block order (:func:`_normal`), do not depend on the
    number of threads that ran them.
    """
    n = A.shape[0]
    blocks = parts.shape[0]
    rows = (n + blocks - 1) // blocks
    for b in nb.prange(blocks):
        _normal_rows(A, v, parts[b], min(n, b * rows), min(n, (b + 1) * rows))


def _normal(A: np.ndarray, v: np.ndarray) -> np.ndarray:
    """AᵀAv/N, shape (M,), by :func:`normal_product` on the thread count that has been faster (:func:`~pdeflow.threads.chooser_for`)."""
    parts = np.empty((NORMAL_BLOCKS, A.shape[1]))
    v = np.ascontiguousarray(v, dtype=float)
    chooser_for(("normal product", A.shape, A.dtype.str))(normal_product, A, v, parts)
    out = parts[0].copy()
    for part in parts[1:]:
        out += part
    out /= A.shape[0]
    return out


def _gram_in_halves(A32: np.ndarray) -> np.ndarray:
    """AᵀA/N of A32 (shape (N, M), float32), shape (M, M), exactly symmetric.

    Two products RᵀR on the two halves of the rows (numpy hands them to a SYRK), each on
    one BLAS thread, the second on :func:`~pdeflow.threads.side_thread` when numba may use
    more than one thread: always the same two halves, summed in the same order, so the result
    does not depend on the thread count.  numpy's products release the GIL while they run, so
    the two halves do run side by side (scipy's BLAS wrappers hold it: two of those would take
    turns).
    """
    n = A32.shape[0]
    first, second = A32[: n // 2], A32[n // 2:]

    def syrk(rows):
        return rows.T @ rows

    if nb.get_num_threads() > 1 and n > 1:
        pending = side_thread().submit(syrk, second)
        gram = syrk(first)
        gram += pending.result()
    else:
        gram = syrk(first)
        gram += syrk(second)
    gram *= np.float32(1.0 / n)
    return gram


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

    def gram(self) -> np.ndarray:
        """AᵀA/N in single precision, shape (M, M), exactly symmetric (:func:`_gram_in_halves`)."""
        A32 = self.owner.A32
        # on one or two threads, whichever has been faster lately: beside a busy core the
        # half on the side thread waits for that core and the split loses to one thread
        return chooser_for(("gram in halves", A32.shape))(_gram_in_halves, A32)

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
        # parallel over fixed blocks of rows: on one thread or numba's count, whichever has been
        # faster for this kind of pass (beside a busy core, one; the result is the same)
        fill = not self._filled
        kind = ("fused pass", type(self.feature).__name__, self.shape, fill, y is not None, bool(gradient))
        terms = chooser_for(kind)(self.feature.fused_pass, self.omega, self.x, self._A, self._A32, fill, y, z,
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


#: (A, A32) given back by finished runs (:meth:`FusedDenseFeatures.release`), one pair per shape (N, M).
_SPARE_BUFFERS: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}


class FusedDenseFeatures(DenseFeatures):
    """ω ↦ :class:`FusedDenseOperator` for a feature map with a fused pass (``fused_pass``).

    Still a :class:`~pdeflow.particles.operators.DenseFeatures`: whoever needs only
    AᵀA at fixed atoms (:func:`~pdeflow.particles.operators.fixed_atoms`) fills it by blocks.

    The buffers of A and A32 (48 MB at M = 1024, N = 4096) come from the last finished run
    of the same shape when there is one: the first touch of fresh ones cost 7–64 ms on the
    machine this was measured on (transparent huge pages), a fortieth to a tenth of a
    30-step run.
    """

    def __call__(self, omega: np.ndarray) -> FusedDenseOperator:
        omega = np.ascontiguousarray(_atoms_for(self.feature.dim, omega), dtype=float)
        n, m = self.x.shape[0], omega.shape[0]
        if self._buffers is None or self._buffers[0].shape != (n, m):
            # dict.pop is atomic: two runs never take the same pair
            self._buffers = _SPARE_BUFFERS.pop((n, m), None) or (np.empty((n, m)), np.empty((n, m), np.float32))
        return FusedDenseOperator(self.feature, self.x, omega, *self._buffers)

    def release(self) -> None:
        """Give the buffers to the next features of their shape; every operator made so far becomes invalid.

        For the owner of the features only, once it will use none of their operators again
        (:func:`~pdeflow.particles.run_varpro` at the end of a run, whose features are its own).
        """
        if self._buffers is not None:
            _SPARE_BUFFERS[self._buffers[0].shape] = self._buffers
            self._buffers = None
