"""A variable-order BDF whose Newton iteration keeps its LU factorization (docs: theory/driver).

:class:`ReuseBDF` integrates stiff systems with the numerical differentiation formulas
(NDF, orders 1–5, Shampine & Reichelt 1997) in the backward-difference form that scipy's
``BDF`` uses, and differs from it where the measured time of a 2-D UFD run goes:

* **the factorization outlives the step size** (modified Newton, as CVODE and LSODA do).
  Each step solves ``d + ψ − c·f(y_pred + d) = 0`` with ``c = h/α_k``; Newton's matrix
  ``I − cJ`` is factorized once and reused while ``c`` stays within a factor
  :attr:`lu_reuse` of the ``c₀`` it was built for.  The correction is scaled by
  ``2/(1 + c/c₀)``, which makes the contraction rate at most ``|g − 1|/(g + 1)`` with
  ``g = c/c₀`` for every eigenvalue of ``J`` on the negative real axis (both the stiff end,
  where the unscaled rate is ``1 − g``, and the non-stiff end, where it is 0, are pulled
  to the same bound).  scipy's ``BDF`` refactors whenever ``h`` changes, i.e. every
  ``order + 1`` steps;
* **the factorization suits the Jacobian** (:mod:`pdeflow.newton_matrix`): SuperLU with
  minimum degree on ``Aᵀ + A`` for a structurally symmetric sparse J (every finite-volume
  flux; half the fill of SuperLU's default COLAMD on a 2-D five-point stencil), and a
  sparse Cholesky for a Jacobian given as ``S·diag(d)`` with S symmetric (the UFD's), five
  times cheaper than that LU at 128²;
* **Newton's convergence rate is carried from step to step**, so a step whose first
  correction is already small enough ends after one solve (scipy's test needs two);
  Newton stops at 0.1 of the error tolerance (CVODE's choice) rather than scipy's
  ``min(0.03, √rtol)``.  The Jacobian and the factorization are renewed only when Newton
  converges too slowly to finish within five iterations (the factor-2 band alone keeps the
  rate below 1/3, so in practice this is when ``J`` has gone stale);
* **no BLAS calls on state-sized vectors** in the step: norms and the combinations of
  the difference array use plain numpy reductions.  On a loaded machine a threaded
  BLAS ``dot`` of 16384 entries waits for its second thread for milliseconds, which
  cost scipy's ``BDF`` a third of its time at 128² (docs: theory/driver).

The Jacobian is taken as given (callable or constant, sparse or dense); without one it is
approximated by forward differences, column by column (small systems only).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from scipy.integrate import DenseOutput, OdeSolver

from .newton_matrix import ScaledSymmetric, factorizer_for

__all__ = ["ReuseBDF"]

MAX_ORDER = 5
#: Newton iterations before a step counts as failed (scipy's BDF: 4; a reused LU contracts
#: more slowly, and a fifth solve is far cheaper than the new factorization a failure costs)
NEWTON_MAXITER = 5
#: the iteration count in the step-size safety factor 0.9·(2m + 1)/(2m + iterations), as scipy's
SAFETY_ITER = 4
MIN_FACTOR, MAX_FACTOR = 0.2, 10.0
#: NDF modification of the BDF of each order (Shampine & Reichelt 1997, Table 1); 0 gives BDF.
KAPPA = np.array([0.0, -0.1850, -1.0 / 9, -0.0823, -0.0415, 0.0])
GAMMA = np.concatenate(([0.0], np.cumsum(1.0 / np.arange(1, MAX_ORDER + 1))))
ALPHA = (1 - KAPPA) * GAMMA
#: local error of order k is ERROR_CONST[k] times the (k+1)-th backward difference
ERROR_CONST = KAPPA * GAMMA + 1.0 / np.arange(1, MAX_ORDER + 2)


def _rms(x: np.ndarray) -> float:
    """Root mean square without BLAS (a threaded ``dot`` is slow on a shared machine); inf on overflow."""
    with np.errstate(over="ignore"):
        return float(np.sqrt(np.mean(np.square(x))))


def _combine(coeffs, rows: np.ndarray) -> np.ndarray:
    """``Σ_j coeffs[j]·rows[j]``, shape ``rows.shape[1:]``, by axpy-like numpy operations (no BLAS)."""
    out = coeffs[0] * rows[0]
    for a, row in zip(coeffs[1:], rows[1:]):
        out += a * row
    return out


def _difference_map(order: int, factor: float) -> np.ndarray:
    """The (order+1)² matrix taking backward differences at step h to those at factor·h (without U)."""
    i = np.arange(1, order + 1)[:, None]
    j = np.arange(1, order + 1)[None, :]
    m = np.zeros((order + 1, order + 1))
    m[1:, 1:] = (i - 1 - factor * j) / i
    m[0] = 1.0
    return np.cumprod(m, axis=0)


def _rescale_differences(D: np.ndarray, order: int, factor: float) -> None:
    """Change the step of the backward differences ``D[:order+1]`` by ``factor``, in place."""
    T = (_difference_map(order, factor) @ _difference_map(order, 1.0)).T
    rows = D[: order + 1].copy()
    for k in range(order + 1):
        D[k] = _combine(T[k], rows)


class ReuseBDF(OdeSolver):
    """Variable-order NDF/BDF with modified Newton that reuses its LU across step-size changes.

    A :class:`scipy.integrate.OdeSolver` (registered as ``method="ReuseBDF"``); see the
    module docstring for what differs from :class:`scipy.integrate.BDF`.

    Parameters
    ----------
    fun, t0, y0, t_bound, max_step, rtol, atol, vectorized, first_step
        As for :class:`scipy.integrate.BDF`; ``y0`` is real, shape (n,).
    jac : callable, ndarray, sparse matrix, ScaledSymmetric or None
        ``jac(t, y)`` returning the (n, n) Jacobian (sparse is kept sparse; a
        :class:`~pdeflow.newton_matrix.ScaledSymmetric` is factorized by Cholesky), or a
        constant one; ``None``: forward differences (n evaluations of ``fun``; small n only).
    lu_reuse : float
        Keep a factorization of ``I − c₀J`` while ``1/lu_reuse <= c/c₀ <= lu_reuse``
        (> 1; 2 bounds Newton's contraction rate by 1/3).
    newton_tol : float
        Newton stops when its estimated remaining error, in units of the error tolerance
        (``atol + rtol·|y|``, root mean square), is below this.  0.1 as CVODE's default;
        scipy's BDF asks ``min(0.03, √rtol)``, which at ``rtol = 1e-6`` (32² torus UFD) took
        2677 evaluations and 64 LUs against 1808 and 38, for no measured gain in accuracy.

    Attributes
    ----------
    nfev, njev, nlu : int
        Evaluations of ``fun`` and of the Jacobian, and factorizations of Newton's matrix.
    linear_solver : str
        What factorized Newton's matrix last ("SuperLU", "CHOLMOD", "dense LU").
    """

    #: :func:`pdeflow.integrators.jacobian_options` hands this solver a model's Jacobian in
    #: the form ``S·diag(d)`` where the model offers it
    accepts_scaled_symmetric = True

    def __init__(self, fun, t0, y0, t_bound, max_step=np.inf, rtol=1e-3, atol=1e-6, jac=None,
                 vectorized=False, first_step=None, lu_reuse=2.0, newton_tol=0.1, **extraneous):
        if extraneous:
            warnings.warn(f"ReuseBDF ignores the arguments {sorted(extraneous)}", stacklevel=2)
        super().__init__(fun, t0, y0, t_bound, vectorized, support_complex=False)
        if not (max_step > 0):
            raise ValueError(f"max_step must be positive, got {max_step!r}")
        if not (np.isfinite(rtol) and rtol > 0) or not np.all(np.asarray(atol) >= 0):
            raise ValueError(f"rtol must be positive and atol non-negative, got {rtol!r}, {atol!r}")
        if not (np.isfinite(lu_reuse) and lu_reuse >= 1):
            raise ValueError(f"lu_reuse must be a finite number >= 1, got {lu_reuse!r}")
        self.max_step = float(max_step)
        self.rtol, self.atol = float(rtol), np.asarray(atol, dtype=float)
        self.lu_reuse = float(lu_reuse)
        if not (np.isfinite(newton_tol) and newton_tol > 0):
            raise ValueError(f"newton_tol must be a positive finite number, got {newton_tol!r}")
        self.newton_tol = float(newton_tol)
        self.njev = self.nlu = 0
        f0 = self.fun(self.t, self.y)
        self._jac, self._J = self._jacobian_source(jac)
        self._jac_fresh = True               # _J was evaluated at the current (t, y)
        self._factorizer = factorizer_for(self._J)
        self.linear_solver = ""
        self._lu = None
        self._lu_c = np.nan                   # the c of the matrix I − cJ that _lu factorizes
        self._rate: float | None = None       # Newton contraction observed with this _lu
        if first_step is None:
            self.h_abs = self._initial_step(f0)
        else:
            if not (0 < first_step <= abs(t_bound - t0)):
                raise ValueError(f"first_step must lie in (0, |t_bound − t0|], got {first_step!r}")
            self.h_abs = float(first_step)
        self.h_abs = min(self.h_abs, self.max_step)
        self.order = 1
        self.n_equal_steps = 0
        self.D = np.zeros((MAX_ORDER + 3, self.n))
        self.D[0] = self.y
        self.D[1] = f0 * self.h_abs * self.direction

    # ---- Jacobian and linear algebra ----------------------------------------------
    def _jacobian_source(self, jac):
        """The Jacobian callable (or None for a constant one) and its value at (t0, y0)."""
        def as_matrix(J):
            if isinstance(J, ScaledSymmetric):
                if J.shape != (self.n, self.n) or np.shape(J.d) != (self.n,):
                    raise ValueError(f"jac must have shape ({self.n}, {self.n}), got S {J.shape}, d {np.shape(J.d)}")
                return J
            if sp.issparse(J):
                return sp.csc_matrix(J, dtype=float)
            J = np.asarray(J, dtype=float)
            if J.shape != (self.n, self.n):
                raise ValueError(f"jac must have shape ({self.n}, {self.n}), got {J.shape}")
            return J

        if jac is None:
            def jac(t, y):
                return self._difference_jacobian(t, y)
        if callable(jac):
            def evaluate(t, y):
                self.njev += 1
                return as_matrix(jac(t, y))
            return evaluate, evaluate(self.t, self.y)
        return None, as_matrix(jac)

    def _difference_jacobian(self, t: float, y: np.ndarray) -> np.ndarray:
        """Forward-difference Jacobian, column by column (n evaluations of ``fun``)."""
        f = self.fun(t, y)
        J = np.empty((self.n, self.n))
        size = np.maximum(np.maximum(np.abs(y), np.broadcast_to(self.atol, y.shape)), 1e-8)
        step = np.sqrt(np.finfo(float).eps) * size
        for j in range(self.n):
            yj = y.copy()
            yj[j] += step[j]
            J[:, j] = (self.fun(t, yj) - f) / (yj[j] - y[j])
        return J

    def _factorize(self, c: float) -> None:
        """Factorize ``I − cJ`` and forget the contraction rate observed with the previous one."""
        self._lu = self._factorizer(self._J, c)
        self.linear_solver = self._lu.name
        self._lu_c = c
        self._rate = None
        self.nlu += 1

    def _solve(self, b: np.ndarray) -> np.ndarray:
        return self._lu.solve(b)

    def _renew_jacobian(self) -> None:
        if self._jac is not None and not self._jac_fresh:
            self._J = self._jac(self.t, self.y)
            self._jac_fresh = True
        self._lu = None

    # ---- one step -------------------------------------------------------------------
    def _newton(self, t_new: float, y_pred: np.ndarray, c: float, psi: np.ndarray, scale: np.ndarray):
        """Modified Newton for ``d + ψ − c·f(y_pred + d) = 0``: (converged, iterations, y, d)."""
        if self._lu is None or not (1 / self.lu_reuse <= c / self._lu_c <= self.lu_reuse):
            self._factorize(c)
        g = c / self._lu_c
        damping = 2.0 / (1.0 + g)            # exact at both ends of the spectrum for g = 1
        bound = abs(g - 1.0) / (g + 1.0)     # contraction rate of the scaled iteration (linear case)
        rate = None if self._rate is None else max(self._rate, bound)
        y, d = y_pred.copy(), np.zeros(self.n)
        dy_norm_old = None
        tol = self.newton_tol
        for k in range(NEWTON_MAXITER):
            f = self.fun(t_new, y)
            if not np.all(np.isfinite(f)):
                return False, k + 1, y, d
            dy = self._solve(c * f - psi - d)
            dy *= damping
            dy_norm = _rms(dy / scale)
            if dy_norm_old is not None:
                rate = dy_norm / dy_norm_old
                if rate >= 1 or rate ** (NEWTON_MAXITER - k) / (1 - rate) * dy_norm > tol:
                    return False, k + 1, y, d
                self._rate = rate if self._rate is None else max(rate, 0.3 * self._rate)
            y += dy
            d += dy
            if dy_norm == 0 or (rate is not None and rate < 1 and rate / (1 - rate) * dy_norm < tol):
                return True, k + 1, y, d
            dy_norm_old = dy_norm
        return False, NEWTON_MAXITER, y, d

    def _change_step(self, factor: float) -> None:
        _rescale_differences(self.D, self.order, factor)
        self.h_abs *= factor
        self.n_equal_steps = 0

    def _step_impl(self):
        t, D = self.t, self.D
        min_step = 10 * np.abs(np.nextafter(t, self.direction * np.inf) - t)
        if self.h_abs > self.max_step:
            self._change_step(self.max_step / self.h_abs)
        elif self.h_abs < min_step:
            self._change_step(min_step / self.h_abs)
        order = self.order
        while True:
            if self.h_abs < min_step:
                return False, self.TOO_SMALL_STEP
            t_new = t + self.direction * self.h_abs
            if self.direction * (t_new - self.t_bound) > 0:
                self._change_step(abs(self.t_bound - t) / self.h_abs)
                t_new = self.t_bound
            h = t_new - t
            y_pred = D[: order + 1].sum(axis=0)
            scale = self.atol + self.rtol * np.abs(y_pred)
            psi = _combine(GAMMA[1: order + 1], D[1: order + 1]) / ALPHA[order]
            c = h / ALPHA[order]
            converged, n_iter, y_new, d = self._newton(t_new, y_pred, c, psi, scale)
            if not converged:
                if not (self._jac_fresh and c == self._lu_c):
                    self._renew_jacobian()    # a stale Jacobian or factorization: renew, same h
                else:
                    self._change_step(0.5)
                    self._lu = None
                continue
            safety = 0.9 * (2 * SAFETY_ITER + 1) / (2 * SAFETY_ITER + min(n_iter, SAFETY_ITER))
            scale = self.atol + self.rtol * np.abs(y_new)
            error_norm = _rms(ERROR_CONST[order] * d / scale)
            if error_norm > 1:
                self._change_step(max(MIN_FACTOR, safety * error_norm ** (-1 / (order + 1))))
                continue
            break
        self.t, self.y = t_new, y_new
        self._jac_fresh = self._jac is None      # a constant Jacobian is never stale
        D[order + 2] = d - D[order + 1]
        D[order + 1] = d
        for i in reversed(range(order + 1)):
            D[i] += D[i + 1]
        self.n_equal_steps += 1
        if self.n_equal_steps < order + 1:
            return True, None
        # choose the order (k−1, k or k+1) that allows the longest next step
        norm_m = _rms(ERROR_CONST[order - 1] * D[order] / scale) if order > 1 else np.inf
        norm_p = _rms(ERROR_CONST[order + 1] * D[order + 2] / scale) if order < MAX_ORDER else np.inf
        with np.errstate(divide="ignore"):
            factors = np.array([norm_m, error_norm, norm_p]) ** (-1.0 / np.arange(order, order + 3))
        self.order = order + int(np.argmax(factors)) - 1
        self._change_step(min(MAX_FACTOR, safety * float(np.max(factors))))
        return True, None

    def _initial_step(self, f0: np.ndarray) -> float:
        """A first step whose explicit-Euler error is about the tolerance (Hairer, Nørsett & Wanner II.4)."""
        span = abs(self.t_bound - self.t)
        scale = self.atol + self.rtol * np.abs(self.y)
        d0, d1 = _rms(self.y / scale), _rms(f0 / scale)
        h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
        h0 = min(h0, span)
        if not h0 > 0:
            # f0 overflows: the smallest step, so that the first step fails and says so
            return 10 * np.abs(np.nextafter(self.t, self.direction * np.inf) - self.t)
        f1 = self.fun(self.t + self.direction * h0, self.y + self.direction * h0 * f0)
        d2 = _rms((f1 - f0) / scale) / h0
        h1 = max(1e-6, h0 * 1e-3) if max(d1, d2) <= 1e-15 else (0.01 / max(d1, d2)) ** 0.5
        return min(100 * h0, h1, span)

    def _dense_output_impl(self):
        return _NDFInterpolant(self.t_old, self.t, self.h_abs * self.direction, self.order,
                               self.D[: self.order + 1].copy())


class _NDFInterpolant(DenseOutput):
    """The interpolating polynomial of the backward differences at the end of the last step."""

    def __init__(self, t_old: float, t: float, h: float, order: int, D: np.ndarray):
        super().__init__(t_old, t)
        self.order, self.D = order, D
        self.t_shift = t - h * np.arange(order)
        self.denom = h * (1 + np.arange(order))

    def _call_impl(self, t):
        if np.ndim(t) == 0:
            p = np.cumprod((t - self.t_shift) / self.denom)
            return self.D[0] + _combine(p, self.D[1:])
        p = np.cumprod((np.asarray(t)[None, :] - self.t_shift[:, None]) / self.denom[:, None], axis=0)
        return self.D[0][:, None] + self.D[1:].T @ p
