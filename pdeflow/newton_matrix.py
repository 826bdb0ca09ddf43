"""Factorizations of Newton's matrix I − cJ for the implicit integrators (docs: theory/driver).

An implicit step solves linear systems with ``I − cJ`` (J the Jacobian, c = h/α).  How best
to factorize it depends on how J is given, so the factorization is chosen by the Jacobian's
type through an open registry (:data:`FACTORIZERS`, :func:`register_factorizer`):

* a dense array: LAPACK's LU;
* a scipy sparse matrix: SuperLU, ordered by minimum degree on ``Aᵀ + A`` when the pattern
  is structurally symmetric (every finite-volume flux), COLAMD otherwise;
* a :class:`ScaledSymmetric` ``J = S·diag(d)`` with S symmetric: the matrix
  ``(I − cSD)D⁻¹ = D⁻¹ − cS`` is symmetric, so ``(I − cJ)x = b`` is solved as
  ``(cS − D⁻¹)z = −b``, ``x = z/d`` by a sparse Cholesky factorization (CHOLMOD, through
  cvxopt, the ``cholmod`` extra).  A flux ``T(ψ_r − ψ_l)`` of a potential ψ(y) that
  depends on each cell's own value gives such a J: S is the (constant) weighted graph
  Laplacian of the faces and d = ψ′(y).  The UFD's d < 0 and S ⪰ 0 make ``cS − D⁻¹``
  positive definite; where it is not (or d has a zero, or cvxopt is missing) the step falls
  back to SuperLU on ``S·diag(d)``.

Each factorizer is built once per run from the first Jacobian (the pattern analysis is done
there) and called with each new ``(J, c)``; it returns an object with ``solve(b)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lu_factor, lu_solve
from scipy.sparse.linalg import splu

try:   # the optional sparse Cholesky (pip install 'pdeflow[cholmod]')
    import cvxopt
    import cvxopt.cholmod as _cholmod
except ImportError:   # pragma: no cover - exercised by monkeypatching HAVE_CHOLMOD in the tests
    cvxopt = _cholmod = None

__all__ = ["FACTORIZERS", "ScaledSymmetric", "factorizer_for", "register_factorizer"]

#: whether the CHOLMOD path can be used (cvxopt importable)
HAVE_CHOLMOD = _cholmod is not None


@dataclass(frozen=True)
class ScaledSymmetric:
    """A Jacobian ``J = S·diag(d)`` with ``S`` symmetric.

    Attributes
    ----------
    S : scipy sparse matrix, shape (n, n)
        Symmetric (values, not only pattern); typically constant along a run.
    d : ndarray, shape (n,)
        The column scaling.
    """

    S: sp.spmatrix
    d: np.ndarray

    def __post_init__(self) -> None:
        if not sp.issparse(self.S) or self.S.ndim != 2 or self.S.shape[0] != self.S.shape[1]:
            raise ValueError(f"ScaledSymmetric: S must be a square scipy sparse matrix, got {type(self.S).__name__}"
                             f" of shape {getattr(self.S, 'shape', None)}")
        d = np.asarray(self.d)
        if d.shape != (self.S.shape[0],) or not np.issubdtype(d.dtype, np.number):
            raise ValueError(f"ScaledSymmetric: d must be {self.S.shape[0]} real numbers, got shape {d.shape}")

    @property
    def shape(self) -> tuple[int, int]:
        return self.S.shape

    def tocsc(self) -> sp.csc_matrix:
        """J as a CSC matrix, shape (n, n)."""
        return sp.csc_matrix(self.S @ sp.diags(self.d))

    def __matmul__(self, v: np.ndarray) -> np.ndarray:
        return self.S @ (self.d * v)


class Factor(Protocol):
    name: str

    def solve(self, b: np.ndarray) -> np.ndarray: ...


class _DenseLU:
    name = "dense LU"

    def __init__(self, J: np.ndarray, c: float):
        self._lu = lu_factor(np.eye(J.shape[0]) - c * J, overwrite_a=True, check_finite=False)

    def solve(self, b: np.ndarray) -> np.ndarray:
        return lu_solve(self._lu, b, check_finite=False)


class DenseLUFactorizer:
    """I − cJ for a dense J by LAPACK's LU."""

    def __init__(self, J0: np.ndarray):
        pass

    def __call__(self, J: np.ndarray, c: float) -> Factor:
        return _DenseLU(J, c)


class _SparseLU:
    name = "SuperLU"

    def __init__(self, matrix: sp.csc_matrix, ordering: str):
        self._lu = splu(matrix, permc_spec=ordering)

    def solve(self, b: np.ndarray) -> np.ndarray:
        return self._lu.solve(b)


class SparseLUFactorizer:
    """I − cJ for a sparse J by SuperLU, with the ordering chosen once from J's pattern.

    Minimum degree on ``Aᵀ + A`` keeps diagonal pivots' symmetry: on a 2-D five-point
    stencil it halves COLAMD's fill and makes each solve 5–7× cheaper (docs: theory/driver).
    """

    def __init__(self, J0):
        n = J0.shape[0]
        self._identity = sp.identity(n, format="csc")
        pattern = (sp.csc_matrix(J0) != 0) + self._identity
        symmetric = (pattern != pattern.T).nnz == 0      # structure only, not values
        self.ordering = "MMD_AT_PLUS_A" if symmetric else "COLAMD"

    def __call__(self, J, c: float) -> Factor:
        return _SparseLU(sp.csc_matrix(self._identity - c * J), self.ordering)


class _Cholesky:
    name = "CHOLMOD"

    def __init__(self, factor, d: np.ndarray):
        self._factor, self._d = factor, d

    def solve(self, b: np.ndarray) -> np.ndarray:
        z = cvxopt.matrix(-np.asarray(b, dtype=float))
        _cholmod.solve(self._factor, z)
        return np.asarray(z).ravel() / self._d


class ScaledSymmetricFactorizer:
    """I − cS·diag(d) by a sparse Cholesky of ``cS − diag(1/d)``, SuperLU where that is not possible.

    The lower triangle of S and the place of every diagonal entry in it are found once;
    CHOLMOD's symbolic analysis (fill-reducing ordering, elimination tree) is done once per
    pattern of S, and each call is a numeric factorization only.
    """

    def __init__(self, J0: ScaledSymmetric):
        self._fallback = SparseLUFactorizer(J0.tocsc())
        self._pattern_of: sp.spmatrix | None = None
        self._symbolic = None

    def _analyse(self, S) -> None:
        n = S.shape[0]
        rows_of_s = sp.csr_matrix(S)
        asymmetry = abs(rows_of_s - rows_of_s.T).max() if S.nnz else 0.0
        if asymmetry > 1e-12 * abs(S).max():
            raise ValueError(f"ScaledSymmetric: S is not symmetric (largest |S − Sᵀ| {asymmetry:.3g})")
        # the lower triangle, with every diagonal place stored (−1/d goes there even where S has 0)
        pattern = (abs(sp.tril(sp.csc_matrix(S), format="csc")) + sp.identity(n, format="csc")).tocsc()
        pattern.sort_indices()
        self._rows = pattern.indices.astype(np.int64)
        self._cols = np.repeat(np.arange(n, dtype=np.int64), np.diff(pattern.indptr))   # column-major
        self._s_values = np.asarray(rows_of_s[self._rows, self._cols], dtype=float).ravel()
        self._diag_at = np.flatnonzero(self._rows == self._cols)
        self._diag_index = self._rows[self._diag_at]
        self._pattern_of = S
        self._symbolic = None

    def _matrix(self, c: float, d: np.ndarray):
        values = c * self._s_values
        values[self._diag_at] -= 1.0 / d[self._diag_index]
        return cvxopt.spmatrix(values, self._rows, self._cols, (d.size, d.size))

    def __call__(self, J: ScaledSymmetric, c: float) -> Factor:
        d = np.asarray(J.d, dtype=float)
        if not HAVE_CHOLMOD or not np.all(np.isfinite(d)) or np.any(d == 0):
            return self._fallback(J.tocsc(), c)
        if J.S is not self._pattern_of:
            self._analyse(J.S)
        matrix = self._matrix(c, d)
        try:
            if self._symbolic is None:
                self._symbolic = _cholmod.symbolic(matrix, uplo="L")
            factor = self._symbolic
            _cholmod.numeric(matrix, factor)
        except ArithmeticError:   # cS − D⁻¹ is not positive definite here: LU on J itself
            self._symbolic = None    # a failed numeric factorization leaves the factor unusable
            return self._fallback(J.tocsc(), c)
        # CHOLMOD refactors in place: a factor is valid until the next call (an integrator
        # keeps only its latest one)
        return _Cholesky(factor, d.copy())


#: Factorizer class for each type of Jacobian, searched in order with ``isinstance``.
FACTORIZERS: list[tuple[type, Callable]] = [
    (ScaledSymmetric, ScaledSymmetricFactorizer),
    (sp.spmatrix, SparseLUFactorizer),
    (sp.sparray, SparseLUFactorizer),
    (np.ndarray, DenseLUFactorizer),
]


def register_factorizer(jacobian_type: type, factorizer: Callable) -> None:
    """Use ``factorizer(J0)`` — then ``factorizer(J0)(J, c).solve(b)`` — for Jacobians of ``jacobian_type``.

    Parameters
    ----------
    jacobian_type : type
        The class of the Jacobian (its subclasses too); takes precedence over the built-in ones.
    factorizer : callable
        Built once per run with the first Jacobian; called with each ``(J, c)``, it returns an
        object whose ``solve(b)`` returns ``x`` with ``(I − cJ)x = b``.
    """
    if not isinstance(jacobian_type, type) or not callable(factorizer):
        raise ValueError("register_factorizer needs a type and a callable factorizer")
    FACTORIZERS.insert(0, (jacobian_type, factorizer))


def factorizer_for(J0):
    """The factorizer of Newton's matrix for Jacobians like ``J0`` (:data:`FACTORIZERS`)."""
    for kind, factorizer in FACTORIZERS:
        if isinstance(J0, kind):
            return factorizer(J0)
    raise ValueError(f"no factorization of I − cJ is known for a Jacobian of type {type(J0).__name__}")
