"""Variable projection (VarPro) and two-timescale gradient descent (docs: theory/particles, eqs. III.41–III.44).

Reduced risk of particles ω₁…ω_M, A[j, i] = φ(ωᵢ, xⱼ):

    L̂(ω) = min_u 1/(2λN)‖Au/M − Y‖² + (1/M)Σf(uᵢ).

With α = (Y − Au/M)/λ and h(ω) = (1/N)Σⱼαⱼφ(ω, xⱼ), the optimal u has f′(uᵢ) = h(ωᵢ)
and the particles move by dωᵢ/dt = −M∇_{ωᵢ}L̂ = uᵢ∇h(ωᵢ) (III.26); gradient descent
takes ωᵢ ← ωᵢ + τuᵢ∇h(ωᵢ), iteration k being time kτ (III.42).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from scipy.linalg import blas, lapack
import scipy.sparse.linalg as spla
from tqdm.auto import tqdm

from ..errors import IntegrationError
from ..scalars import as_count, as_flag, as_real
from ..io import TrajectoryWriter, as_saved, load_trajectory, read_checkpoint
from ..runs import Run
from ..threads import blas_threads_limited
from ..trajectory import Trajectory
from .data import TeacherStudent
from .operators import FeatureOperator
from .regularizers import Regularizer, regularizer
from .ridge import SpectralPreconditioner, pcg


#: Steps ahead over which the extra iterations of the last solve are expected to recur
#: (mixed-precision refresh policy, :meth:`Projection._count`).
REFRESH_HORIZON = 8


@dataclass
class Projection:
    """The exact projection u*(ω) of the outer weights, warm-started from one step to the next.

    Atoms carry masses: 1/M each for particles (the default, ``weights=None``) or any
    non-negative masses mᵢ (a grid's cell masses, docs: theory/wasserstein).  For f_b and f_u the normal
    equations (AᵀA diag(m)/N + λI)u = AᵀY/N + λ·shift are solved by conjugate gradients;
    with masses they are first made symmetric, S v = D(AᵀY/N + λ·shift), S = D(AᵀA/N)D + λI,
    D = diag(√m), v = Du (:mod:`pdeflow.particles.ridge`).  For 1/M this is the original
    system divided by M, which is what the default path solves, unchanged.

    Preconditioner: for atoms that move (particles), the same matrix at an earlier ω, applied
    through its Cholesky factor in single precision (two triangular solves, 0.1 ms at
    M = 1024; forming the explicit inverse instead would double the cost of every refresh
    to save half of that per iteration).  Particles move little per step, so a few iterations
    suffice and the factor is recomputed only when they stop sufficing.

    Mixed precision: when the operator has a single-precision twin (``op.approximate``, the
    Laplace features), each solve is an iterative refinement.  The residual
    r = AᵀY/N + λ·shift − Su is always formed with the double A (one fused pass, the first
    one inside the fill of A), and conjugate gradients on the single-precision matrix solve
    for the correction, until the true residual is below ``tol``.  The preconditioner is then
    refreshed from the single-precision Gram matrix at the current ω once the iterations it
    has cost beyond the first solve after the last refresh reach ``refresh_cost``
    (:meth:`_count`; by default what a refresh costs in iterations, measured at M = 1024,
    N = 4096 and scaled: M/16 + M²/(12N)).  Counting iterations rather than seconds keeps a
    run reproducible.

    For atoms that never move (a grid: only the masses change), pass a
    :class:`~pdeflow.particles.ridge.SpectralPreconditioner` as ``preconditioner``.  For f_r,
    Newton–CG on the convex objective.  ``residual`` is ‖b − Su‖/‖b‖ (quadratic) or the
    relative gradient norm (f_r) of the last solve.
    """

    reg: Regularizer
    lam: float
    tol: float = 1e-10
    refresh_after: int = 10      # refactor when PCG needed more iterations than this
    max_iter: int = 500
    residual: float = np.nan
    iterations: int = 0
    factorizations: int = 0
    preconditioner: SpectralPreconditioner | None = None   # fixed atoms: G's leading eigenpairs
    extrapolate: bool = True     # start from 2·last − before when asked to start from the last solution
    refresh_cost: float | None = None   # mixed precision: iterations a refresh is worth (None: M/16 + M²/(12N))
    max_rounds: int = 4          # mixed precision: refinement rounds before giving up
    _factor: np.ndarray | None = field(default=None, repr=False)   # R (float32, upper, Fortran): S ≈ RᵀR
    _previous: tuple | None = field(default=None, repr=False)
    _baseline: int | None = field(default=None, repr=False)   # iterations of the first solve after a refresh
    _excess: float = field(default=0.0, repr=False)           # iterations spent beyond it since

    def _refactor(self, op: FeatureOperator, d: np.ndarray | None = None) -> None:
        m = op.shape[1]
        gram = op.gram()
        if d is None:
            gram /= m
        else:
            gram *= d[:, None]
            gram *= d[None, :]
        gram.flat[:: m + 1] += self.lam
        factor, info = lapack.dpotrf(gram, lower=0, overwrite_a=1, clean=0)
        if info != 0:
            raise RuntimeError(f"projection matrix AᵀA/(MN) + λI is not positive definite (LAPACK info {info})")
        # single precision halves the memory the solves stream through; the preconditioner
        # only needs to be near S, the residual itself stays in double
        self._factor = np.asfortranarray(factor, dtype=np.float32)
        self.factorizations += 1

    def _refactor_single(self, op: FeatureOperator) -> None:
        """The preconditioner from the single-precision Gram matrix at the current ω (double if that fails)."""
        m = op.shape[1]
        gram = op.approximate.gram()
        gram /= m
        gram.flat[:: m + 1] += self.lam
        # symmetric: its transpose is the same matrix in the Fortran order LAPACK reads in place
        factor, info = lapack.spotrf(gram.T, lower=0, overwrite_a=1, clean=0)
        if info == 0:
            self._factor = factor
            self.factorizations += 1
        else:   # too ill-conditioned for single precision (λ tiny against AᵀA/(MN))
            self._refactor(op)
        self._baseline, self._excess = None, 0.0

    def _refresh_due(self, op: FeatureOperator) -> bool:
        n, m = op.shape
        if self._factor is None or self._factor.shape[0] != m:
            return True
        cost = m / 16 + m * m / (12 * n) if self.refresh_cost is None else self.refresh_cost
        return self._excess >= cost

    def _count(self, iterations: int) -> None:
        """Charge a solve's iterations to the refresh policy.

        The first solve after a refresh is the baseline.  A refresh is due once the
        iterations spent beyond it pay for one: those already spent since the refresh, or
        those the last solve forecasts for the next :data:`REFRESH_HORIZON` steps, whichever
        is more (a sudden jump, when the particles start moving fast, is answered at once
        rather than after it has been paid for).
        """
        if self._baseline is None:
            self._baseline = iterations
            return
        extra = max(0, iterations - self._baseline)
        self._excess = max(self._excess + extra, REFRESH_HORIZON * extra)

    def refresh_state(self) -> np.ndarray:
        """The refresh policy's counters (baseline, excess) as an array, −1 for no baseline (checkpoints)."""
        return np.array([-1.0 if self._baseline is None else float(self._baseline), self._excess])

    def restore_refresh_state(self, state) -> None:
        """Set the counters saved by :meth:`refresh_state`."""
        baseline, excess = (float(v) for v in np.asarray(state, dtype=float))
        self._baseline = None if baseline < 0 else int(baseline)
        self._excess = excess

    def _precondition(self, r: np.ndarray) -> np.ndarray:
        """S⁻¹r through the factor: Rᵀz = r, then R x = z (single precision)."""
        z = blas.strsv(self._factor, r.astype(np.float32), trans=1, lower=0, overwrite_x=1)
        return blas.strsv(self._factor, z, trans=0, lower=0, overwrite_x=1).astype(float)

    def _start(self, u0: np.ndarray | None) -> np.ndarray | None:
        """The start: ``u0``, or, when ``u0`` is the last solution, 2·last − before.

        Along a trajectory the extrapolation halves the first residual.
        """
        if u0 is not None and self.extrapolate and self._previous is not None:
            before, last = self._previous
            if last.shape == u0.shape and np.array_equal(last, u0):
                return 2 * last - before
        return u0

    def solve(self, op: FeatureOperator, y: np.ndarray, u0: np.ndarray | None = None,
              weights: np.ndarray | None = None) -> np.ndarray:
        """u*(ω) for the feature operator A(ω), starting from ``u0`` (e.g. the last step's weights).

        ``weights`` (shape (M,), non-negative) are the atom masses; ``None`` means 1/M each.
        """
        if weights is not None:
            return self.solve_weighted(op, op.adjoint(y)[0], weights, u0)[0]
        start = self._start(u0)
        if not self.reg.quadratic:
            u = self._solve_convex(op, y, start)
        elif op.approximate is not None:
            u = self._solve_refined(op, y, start)
        else:
            u = self._solve_quadratic(op, y, start)
        self._previous = (u0 if u0 is not None else u, u)
        return u

    def solve_weighted(self, op: FeatureOperator, data_term: np.ndarray, weights: np.ndarray,
                       u0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """u* and the potential h at atoms of masses ``weights`` (docs: theory/wasserstein), given AᵀY/N.

        Minimises 1/(2λN)‖A(m∘u) − Y‖² + Σᵢ mᵢ f(uᵢ) over u.  Only ``op.normal`` (and, for the
        cached-inverse preconditioner, ``op.gram``) is used, so atoms that never move can pass
        a :class:`~pdeflow.particles.operators.GramOperator`.

        Parameters
        ----------
        op : FeatureOperator
            A at the atoms, shape (N, M).
        data_term : ndarray, shape (M,)
            AᵀY/N.
        weights : ndarray, shape (M,)
            Masses mᵢ ≥ 0 (not all zero).
        u0 : ndarray, shape (M,), optional
            Start (e.g. the last solution).

        Returns
        -------
        u : ndarray, shape (M,)
            Outer weights, u = (f*)′(h), also where mᵢ = 0.
        h : ndarray, shape (M,)
            h(ωᵢ) = (AᵀY/N − G(m∘u))/λ = (1/N)Σⱼ αⱼ φ(ωᵢ, xⱼ), α = (Y − A(m∘u))/λ.
        """
        w = np.asarray(weights, dtype=float)
        if w.shape != (op.shape[1],) or not np.all(np.isfinite(w)) or w.min() < 0 or w.max() <= 0:
            raise ValueError(f"atom weights must be {op.shape[1]} finite non-negative numbers, not all zero")
        start = self._start(u0)
        solver = self._solve_weighted_quadratic if self.reg.quadratic else self._solve_weighted_convex
        u, h = solver(op, np.asarray(data_term, dtype=float), w, start)
        self._previous = (u0 if u0 is not None else u, u)
        return u, h

    def _solve_quadratic(self, op, y, u0):
        m = op.shape[1]
        lam = self.lam
        b = op.adjoint(y)[0] + lam * self.reg.shift
        bnorm = np.linalg.norm(b)

        def apply(v):
            return op.normal(v) / m + lam * v

        if self._factor is None or self._factor.shape[0] != m:
            self._refactor(op)
        for attempt in range(2):
            u = np.zeros(m) if u0 is None else np.array(u0, dtype=float)
            u, k, _, _ = pcg(apply, b, self._precondition, u, tol=self.tol, max_iter=self.max_iter)
            # the recursively updated residual drifts: measure the true one
            true_res = np.linalg.norm(b - apply(u)) / bnorm
            self.iterations, self.residual = k, true_res
            if k > self.refresh_after or true_res > 10 * self.tol:
                self._refactor(op)
                if true_res > 10 * self.tol and attempt == 0:
                    continue  # retry once with a fresh preconditioner
            break
        if self.residual > 10 * self.tol:
            raise RuntimeError(f"projection did not converge: relative residual {self.residual:.2e}")
        return u

    def _solve_refined(self, op, y, u0):
        """Mixed-precision iterative refinement (see the class docstring): u ← u + δ, S̃δ = b − Su by PCG.

        The correction's own error (S − S̃)δ is 2⁻²⁴ of a correction that is already small, so
        one round usually reaches ``tol``; the inner tolerance leaves half of it for that error.
        """
        m = op.shape[1]
        lam, shift = self.lam, self.reg.shift
        single = op.approximate

        def apply(v):
            return single.normal(v) / m + lam * v

        u = np.zeros(m) if u0 is None else np.array(u0, dtype=float)
        total = 0
        for attempt in range(self.max_rounds + 1):
            # the first residual comes out of the fill; later ones are, most likely, the
            # last, whose gradient the velocity needs
            terms = op.residual(u, y, m, gradient=attempt > 0)
            data = terms.data_term if terms.data_term is not None else op.adjoint(y)[0]
            r = terms.adjoint + lam * (shift - u)
            bnorm, rnorm = np.linalg.norm(data + lam * shift), np.linalg.norm(r)
            self.residual = rnorm / bnorm if bnorm > 0 else rnorm
            if self.residual <= self.tol or attempt == self.max_rounds:
                break
            if attempt == 0 and self._refresh_due(op):
                # after the first residual, not before: that residual came out of the fill of A,
                # which the Gram matrix then reads, so no pass is spent on the fill alone
                self._refactor_single(op)
            delta, k, _, _ = pcg(apply, r, self._precondition, np.zeros(m), tol=0.5 * self.tol * bnorm / rnorm,
                                 max_iter=self.max_iter)
            total += k
            u = u + delta
            if k >= self.max_iter:   # the preconditioner no longer fits: refresh before going on
                self._refactor_single(op)
        self.iterations = total
        if self.residual > self.tol:
            raise RuntimeError(f"projection did not converge: relative residual {self.residual:.2e}")
        self._count(total)
        return u

    def _solve_convex(self, op, y, u0):
        """Damped Newton on J(u) = M/(2λN)‖Au/M − Y‖² + Σf(uᵢ), Newton systems by CG (matrix-free)."""
        n, m = op.shape
        lam, reg = self.lam, self.reg

        def objective(u):
            r = op.forward(u) / m - y
            return m / (2 * lam * n) * (r @ r) + reg.f(u).sum()

        def gradient(u):
            return op.adjoint(op.forward(u) / m - y)[0] / lam + reg.df(u)

        aty = op.adjoint(y)[0] / lam
        u = reg.df_inverse(aty) if u0 is None else np.array(u0, dtype=float)
        scale = np.linalg.norm(aty)
        g = gradient(u)
        k = 0
        while np.linalg.norm(g) > self.tol * scale and k < self.max_iter:
            curvature = np.maximum(reg.d2f(u), 1e-12)
            hess = spla.LinearOperator((m, m), dtype=float,
                                       matvec=lambda v: op.normal(v) / (m * lam) + curvature * v)
            direction, _ = spla.cg(hess, -g, rtol=min(0.1, np.linalg.norm(g) / scale), maxiter=200)
            step, j0 = 1.0, objective(u)
            slope = g @ direction
            while objective(u + step * direction) > j0 + 1e-4 * step * slope and step > 1e-12:
                step *= 0.5
            u = u + step * direction
            g = gradient(u)
            k += 1
        self.iterations = k
        self.residual = float(np.linalg.norm(g) / scale)
        return u

    def _weighted_preconditioner(self, op, d):
        """P⁻¹ for S = DGD + λI, and a callback to refresh it when PCG struggled."""
        spectral = self.preconditioner
        if spectral is not None:
            # the last solve's iteration count says whether the masses have drifted from the
            # ones the preconditioner was prepared for
            if not spectral.ready or self.iterations > spectral.refresh_after:
                spectral.prepare(d)
            return spectral, lambda: spectral.prepare(d)
        if self._factor is None or self._factor.shape[0] != d.size:
            self._refactor(op, d)
        return self._precondition, lambda: self._refactor(op, d)

    def _solve_weighted_quadratic(self, op, data_term, w, u0):
        """PCG on S v = D(AᵀY/N + λ·shift), tracking G D v so that h needs no further product."""
        lam = self.lam
        d = np.sqrt(w)
        b = d * (data_term + lam * self.reg.shift)
        bnorm = np.linalg.norm(b)

        def apply(v):
            gdv = op.normal(d * v)
            return d * gdv + lam * v, gdv

        precondition, refresh = self._weighted_preconditioner(op, d)
        for attempt in range(2):
            v = np.zeros(d.size) if u0 is None else d * u0
            v, k, _, gdv = pcg(apply, b, precondition, v, tol=self.tol, max_iter=self.max_iter, tracked=True)
            # residual from the tracked G D v: it drifts from the true product by round-off per
            # iteration only, and the grid flow takes two or three iterations per solve
            self.iterations = k
            self.residual = np.linalg.norm(b - d * gdv - lam * v) / bnorm
            if k > self.refresh_after or self.residual > 10 * self.tol:
                refresh()
                if self.residual > 10 * self.tol and attempt == 0:
                    continue
            break
        if self.residual > 10 * self.tol:
            raise RuntimeError(f"projection did not converge: relative residual {self.residual:.2e}")
        h = (data_term - gdv) / lam
        return self.reg.df_star(h), h

    def _solve_weighted_convex(self, op, data_term, w, u0):
        """Damped Newton on J(u) = (zᵀGz − 2zᵀAᵀY/N)/(2λ) + Σmᵢf(uᵢ), z = m∘u, for f_r.

        The gradient is m∘(f′(u) − h); Newton systems are solved by CG in the variables Dδ,
        where the Hessian becomes DGD/λ + diag(f″(u)), as well conditioned as the quadratic case.
        """
        lam, reg = self.lam, self.reg
        d = np.sqrt(w)
        live = w > 0

        def potential(u):
            gz = op.normal(w * u)
            return (data_term - gz) / lam, gz

        def objective(u):
            z = w * u
            return (z @ op.normal(z) - 2 * z @ data_term) / (2 * lam) + w @ reg.f(u)

        u = reg.df_star(data_term / lam) if u0 is None else np.array(u0, dtype=float)
        scale = np.linalg.norm(d * data_term) / lam
        h, _ = potential(u)
        g = d * (reg.df(u) - h)
        k = 0
        while np.linalg.norm(g) > self.tol * scale and k < self.max_iter:
            curvature = np.maximum(reg.d2f(u), 1e-12)
            hess = spla.LinearOperator((d.size, d.size), dtype=float,
                                       matvec=lambda s: d * op.normal(d * s) / lam + curvature * s)
            scaled, _ = spla.cg(hess, -g, rtol=min(0.1, np.linalg.norm(g) / scale), maxiter=200)
            direction = np.where(live, scaled / np.where(live, d, 1.0), 0.0)
            trial = u + direction
            h_trial, _ = potential(trial)
            g_trial = d * (reg.df(trial) - h_trial)
            # near the minimiser J changes below its own round-off, so an Armijo test on J
            # would stall: the full Newton step is taken whenever it shrinks the gradient
            if np.linalg.norm(g_trial) >= np.linalg.norm(g):
                step, j0 = 1.0, objective(u)
                slope = (w * (reg.df(u) - h)) @ direction   # ∇J · direction < 0
                while objective(u + step * direction) > j0 + 1e-4 * step * slope and step > 1e-12:
                    step *= 0.5
                trial = u + step * direction
                h_trial, _ = potential(trial)
                g_trial = d * (reg.df(trial) - h_trial)
            u, h, g = trial, h_trial, g_trial
            k += 1
        self.iterations = k
        self.residual = float(np.linalg.norm(g) / scale)
        if not self.residual <= 10 * self.tol:
            raise RuntimeError(f"projection did not converge: relative gradient {self.residual:.2e}")
        # atoms without mass do not enter J: their weight is the one their potential asks for
        return np.where(live, u, reg.df_star(h)), h

@dataclass
class VarProState:
    omega: np.ndarray
    u: np.ndarray
    velocity: np.ndarray
    risk: float
    residual: float


class VarPro:
    """VarPro dynamics of M particles on a teacher–student problem (docs: theory/particles, eq. III.42).

    ``state(omega)`` projects the outer weights and returns the velocity uᵢ∇h(ωᵢ) and the
    reduced risk; :func:`run_varpro` moves the particles by τ·velocity and maps them back
    into the domain (wrap on circle and torus, clip on a box).

    Parameters
    ----------
    problem : TeacherStudent
        Data, labels and feature map (:func:`make_teacher_student`).
    lam : float
        Ridge regularisation λ > 0.
    reg : {"f_b", "f_u", "f_r"} or Regularizer
        Regularisation of the outer weights.
    tol : float
        Relative residual of each projection, in (0, 1).
    r : float
        Exponent of f_r.
    """

    def __init__(self, problem: TeacherStudent, lam: float, reg: str | Regularizer = "f_b",
                 *, tol: float = 1e-10, r: float = 2.0):
        lam = as_real(lam, "lam")
        if not np.isfinite(lam) or lam <= 0:
            raise ValueError(f"lam (the ridge λ) must be > 0, got {lam}")
        tol = as_real(tol, "tol")
        if not 0 < tol < 1:
            raise ValueError(f"tol (relative residual of the projection) must be in (0, 1), got {tol}")
        if not isinstance(problem, TeacherStudent):
            raise ValueError(f"problem must come from pf.make_teacher_student, got {type(problem).__name__}")
        self.problem = problem
        self.lam = float(lam)
        self.reg = reg if isinstance(reg, Regularizer) else regularizer(reg, r)
        self.projection = Projection(self.reg, self.lam, tol=tol)
        self.operator_at = problem.feature.bind(problem.x)

    def _fields(self, omega, u_prev=None, weights=None):
        op = self.operator_at(omega)
        return op, self.projection.solve(op, self.problem.y, u_prev, weights)

    def potential_terms(self, op: FeatureOperator, u: np.ndarray, weights: np.ndarray | None = None):
        """h(ωᵢ), the particle velocity uᵢ∇h(ωᵢ) (shaped like ω) and the reduced risk for weights u.

        ``weights`` are the atom masses mᵢ (default 1/M): the network is F = A(m∘u) and the
        risk 1/(2λN)‖F − Y‖² + Σᵢmᵢf(uᵢ) (docs: theory/particles, theory/wasserstein).
        """
        n, m = op.shape
        if weights is None:
            terms = op.residual(u, self.problem.y, m)
            penalty = self.reg.f(u).mean()
        else:
            terms = op.residual(weights * u, self.problem.y, 1.0)
            penalty = weights @ self.reg.f(u)
        resid, grad_h = terms.resid, terms.gradient
        h = terms.adjoint / self.lam
        velocity = u[:, None] * grad_h / self.lam
        if velocity.shape[1] == 1:  # 1-D features: ω has shape (M,)
            velocity = velocity[:, 0]
        risk = (resid @ resid) / (2 * self.lam * n) + penalty
        return h, velocity, float(risk)

    def state(self, omega: np.ndarray, u_prev: np.ndarray | None = None,
              weights: np.ndarray | None = None) -> VarProState:
        """Projection, velocity and reduced risk at atoms ``omega`` (shape (M, d), or (M,) in 1-D).

        ``weights`` (shape (M,)) are the atom masses, 1/M each by default; the velocity has
        the shape of ``omega``.
        """
        with blas_threads_limited(1):
            op, u = self._fields(omega, u_prev, weights)
            _, velocity, risk = self.potential_terms(op, u, weights)
        return VarProState(omega, u, np.reshape(velocity, np.shape(omega)), risk, self.projection.residual)

    def reduced_risk(self, omega: np.ndarray) -> float:
        """The reduced risk L̂(ω) (eq. III.41)."""
        return self.state(omega).risk


def _check_particles(problem: TeacherStudent, omega0) -> np.ndarray:
    try:
        array = np.asarray(omega0)
    except (TypeError, ValueError):   # ragged nested lists
        raise ValueError("omega0 must be an array of numbers (particle positions), not a ragged list") from None
    if array.ndim == 0:
        raise ValueError(f"omega0 must be an array of M particle positions, got the scalar {omega0!r}")
    if array.dtype.kind not in "iuf":
        raise ValueError(f"omega0 must be an array of numbers (real particle positions), got "
                         f"{array.dtype} values")
    omega0 = array.astype(float)
    dim = problem.feature.dim
    expected = (omega0.shape[0],) if dim == 1 else (omega0.shape[0], dim)
    if omega0.shape != expected or omega0.shape[0] < 1:
        raise ValueError(f"omega0: particles must have shape (M,) or (M, {dim}) for this feature map, "
                         f"got {omega0.shape}")
    if not np.all(np.isfinite(omega0)):
        raise ValueError("omega0: particle positions must be finite")
    limit = _lost_digits(problem.domain)
    if np.abs(omega0).max() > limit:
        raise ValueError(f"omega0 holds |positions| up to {np.abs(omega0).max():.3g}, beyond {limit:.3g} "
                         "(2**52 periods): every digit of the position within the domain is lost")
    return problem.domain.wrap(omega0)


def _lost_digits(domain) -> float:
    """Coordinates beyond 2**52 times the domain's longest side carry no digit within it."""
    return 2.0**52 * max(domain.lengths)


def _move(domain, omega: np.ndarray, tau: float, velocity: np.ndarray, k: int) -> np.ndarray:
    """ω + τ·velocity mapped back into the domain; a step that loses every digit is an error."""
    with np.errstate(over="ignore", invalid="ignore"):
        step = tau * velocity
        moved = omega + step
    if not np.all(np.isfinite(moved)) or np.abs(step).max() > _lost_digits(domain):
        what = "non-finite positions" if not np.all(np.isfinite(moved)) else "positions lose every digit"
        raise IntegrationError(f"{what} at t = {(k + 1) * tau:.6g} (step {k + 1}): particles move by up to "
                               f"{np.abs(step).max():.3g} in one step (tau = {tau:g}); the run is unstable or "
                               "tau too large: reduce tau (check eta and lam)", t=(k + 1) * tau)
    return domain.wrap(moved)


def _resume_point(store, model: str, params: dict, problem: TeacherStudent, omega0: np.ndarray):
    """The saved run to continue in ``store``, checked to be the same problem, start and parameters."""
    previous = load_trajectory(store)
    theirs = {k: v for k, v in previous.params.items() if k != "steps"}
    ours = {k: v for k, v in as_saved(params).items() if k != "steps"}
    if theirs.get("config_key") != ours.get("config_key"):
        raise ValueError(f"cannot resume {str(store)!r}: it holds the run of another configuration "
                         f"(config_key {theirs.get('config_key')}, not {ours.get('config_key')})")
    if previous.model != model or theirs != ours:
        raise ValueError(f"cannot resume {str(store)!r}: it holds a {previous.model} run with parameters "
                         f"{theirs}, not {ours}")
    same_x = np.array_equal(previous.static.get("x"), problem.x)
    # Y is recomputed from x and the teacher: equal up to the round-off of how it is summed
    saved_y = previous.static.get("y")
    same_y = saved_y is not None and saved_y.shape == problem.y.shape and np.allclose(
        saved_y, problem.y, rtol=1e-12, atol=1e-12 * np.abs(problem.y).max())
    for name, same in (("x", same_x), ("y", same_y)):
        if not same:
            raise ValueError(f"cannot resume {str(store)!r}: it was run on other data ({name} differs)")
    # files written before the start was stored: the first saved output is the start
    saved_start = previous.static.get("omega0", previous.data["positions"][0]
                                      if previous.t.size and previous.t[0] == 0 else None)
    if saved_start is not None and not np.array_equal(saved_start, omega0):
        raise ValueError(f"cannot resume {str(store)!r}: it started from other particles (omega0 differs)")
    if previous.t.size == 0:
        return None
    return previous


@dataclass
class _Stepper:
    """How one particle method moves: ``advance`` yields ``(step, state)`` for steps first..last.

    ``checkpoint`` returns what the next step needs beyond the recorded state (VarPro: the
    warm start of its projection), and ``restore`` takes it back, so that a resumed run
    continues bit for bit where the interrupted one stopped.
    """

    advance: Callable
    checkpoint: Callable[[], dict] = lambda: {}
    restore: Callable[[dict], None] = lambda saved: None
    stats: Callable[[], dict] = lambda: {}


def _check_step(k: int, tau: float, state: VarProState) -> None:
    """Refuse a step whose particles, weights or risk are not finite (a run gone unstable)."""
    for name, value in (("positions", state.omega), ("outer weights u", state.u),
                        ("velocity", state.velocity), ("risk", state.risk)):
        if not np.all(np.isfinite(value)):
            raise IntegrationError(f"non-finite {name} at t = {k * tau:.6g} (step {k}): the run is "
                                   "unstable or the projection broke down (check tau, eta and lam)",
                                   t=k * tau)


def _run(problem, omega0, *, steps, save_every, tau, store, overwrite, progress, params, stepper,
         model, resume: bool = False, desc: str = "") -> Trajectory:
    """Run a particle method through :class:`pdeflow.runs.Run`, resuming from ``store`` if asked."""
    overwrite, resume, progress = (as_flag(overwrite, "overwrite"), as_flag(resume, "resume"),
                                   as_flag(progress, "progress"))
    first, omega, u, writer, previous = 0, omega0, None, None, None
    if resume and store is not None and Path(store).exists():
        previous = _resume_point(store, model, params, problem, omega0)
    if previous is not None:
        # Continue from the last saved output: its (ω, u) are the state; the checkpoint (if
        # it belongs to that output) restores the projection's warm start as well.
        first = int(round(previous.t[-1] / tau))
        if first > steps:
            raise ValueError(f"cannot resume {str(store)!r} to {steps} steps: it has already run {first}")
        if first == steps and previous.status == "complete":
            return previous
        omega, u = previous.positions[-1], previous.u[-1]
        saved = read_checkpoint(store, step=first)
        if saved.pop("step", None) == first:
            stepper.restore(saved)
        writer = TrajectoryWriter.reopen(store)
    static = {"x": problem.x, "y": problem.y, "teacher": problem.teacher, "omega0": omega0}
    bar = tqdm(total=steps + 1, initial=first, desc=desc, leave=False, disable=not progress)
    with Run(store, model=model, domain=problem.domain, params=params, static=static, writer=writer,
             overwrite=overwrite) as run:
        if previous is not None:
            run.restore(previous)
        run.stats.update(steps=steps, resumed_at_step=first)
        k = first - 1   # the last step completed
        try:
            with blas_threads_limited(1):
                for k, state in stepper.advance(omega, u, first, steps):
                    _check_step(k, tau, state)
                    if (k % save_every == 0 or k == steps) and (k > first or previous is None):
                        # checkpoint first: stopped between the two, the file's last output is the
                        # previous one, whose checkpoint is kept beside this one
                        if run.recorder.writer is not None:
                            run.recorder.writer.write_checkpoint(k, stepper.checkpoint())
                        run.record(k * tau, positions=state.omega, u=state.u, risk=state.risk,
                                   residual=state.residual)
                    bar.update(1)
        except RuntimeError as err:   # the projection failed: name the time, keep the outputs
            if isinstance(err, IntegrationError):
                raise
            raise IntegrationError(f"{err} at t = {(k + 1) * tau:.6g} (step {k + 1})",
                                   t=(k + 1) * tau) from err
        finally:
            bar.close()
            run.stats.update(stepper.stats())
    return run.trajectory()


def _release_features(varpro: VarPro) -> None:
    """After a run that finished: its feature buffers serve the next run (the run's own features, no operator left)."""
    release = getattr(varpro.operator_at, "release", None)
    if release is not None:
        release()


def _check_run_args(steps, save_every, tau) -> tuple[int, int, float]:
    steps = as_count(steps, "steps", minimum=0)
    save_every = as_count(save_every, "save_every", minimum=1)
    tau = as_real(tau, "tau")
    if not np.isfinite(tau) or tau <= 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    try:
        horizon = steps * tau
    except OverflowError:   # an int too large for a float
        horizon = np.inf
    if not np.isfinite(horizon):
        raise ValueError(f"steps·tau = {steps}·{tau:g} overflows: the final time t = steps·tau must be finite")
    return steps, save_every, tau


def _record_key(params: dict, key: str | None) -> None:
    """Add the run's configuration key to its parameters (resuming a file of another key is refused)."""
    if key is not None:
        if not isinstance(key, str) or not key:
            raise ValueError(f"key must be a non-empty string, got {key!r:.60}")
        params["config_key"] = key


def run_varpro(problem: TeacherStudent, omega0, *, lam: float, reg: str = "f_b", r: float = 2.0,
               tau: float = 2.0**-10, steps: int, save_every: int = 1, tol: float = 1e-10,
               store: str | os.PathLike | None = None, overwrite: bool = False,
               progress: bool = False, resume: bool = False, key: str | None = None) -> Trajectory:
    """VarPro gradient descent ωᵢ ← ωᵢ + τuᵢ∇h(ωᵢ) (docs: theory/particles, eq. III.42) from ``omega0``.

    Parameters
    ----------
    problem : TeacherStudent
        Data, labels and feature map (:func:`make_teacher_student`).
    omega0 : ndarray, shape (M,) on the circle or (M, d)
        Initial particle positions.
    lam : float
        Ridge regularisation λ > 0.
    reg, r : {"f_b", "f_u", "f_r"}, float
        Regularisation f of the outer weights, and the exponent r > 1 of f_r.
    tau : float
        Step size; step k is time kτ.
    steps : int
        Number of steps.
    save_every : int
        Record every ``save_every`` steps (and the last).
    tol : float
        Relative residual of each projection, in (0, 1).
    store : path, optional
        HDF5 file written as the run goes.
    overwrite : bool
        Replace an earlier pdeflow trajectory at ``store`` (never another kind of file).
    progress : bool
        Progress bar.
    resume : bool
        With an existing ``store`` of the same problem, start and parameters, continue from
        the last output saved there (up to ``steps``) instead of starting over.  The
        projection's warm start is saved with every output, so a resumed run is the
        uninterrupted one bit for bit.
    key : str, optional
        The key of the run's whole configuration (e.g. :func:`pdeflow.experiments.run_key`),
        recorded as the parameter and HDF5 attribute ``config_key``; resuming a file whose
        ``config_key`` differs is refused.

    Returns
    -------
    Trajectory
        ``t`` (T,), ``positions`` (T, M[, d]), outer weights ``u`` (T, M), reduced ``risk``
        (T,) and the projection ``residual`` (T,).

    Raises
    ------
    ValueError
        Bad input, before any work or file.
    IntegrationError
        Non-finite positions, weights or risk (outputs so far kept, status ``failed: …``).
    """
    varpro = VarPro(problem, lam, reg, tol=tol, r=r)
    r = as_real(r, "r")
    steps, save_every, tau = _check_run_args(steps, save_every, tau)
    omega0 = _check_particles(problem, omega0)
    params = {"lam": varpro.lam, "reg": varpro.reg.name, "r": float(r), "tau": tau, "steps": steps,
              "tol": float(tol), "gamma": problem.gamma, "M": int(omega0.shape[0]),
              "N": int(problem.x.shape[0])}
    _record_key(params, key)
    projection = varpro.projection
    restored: dict = {}

    def advance(omega, u, first, last):
        for k in range(first, last + 1):
            if k == first and u is not None:
                # resumed: (ω, u) of this step are saved; projecting again would move u
                # within the tolerance and the run would no longer be the uninterrupted one
                op = varpro.operator_at(omega)
                if "u_before" in restored:
                    projection._previous = (restored["u_before"], u)
            else:
                op, u = varpro._fields(omega, u)
            _, velocity, risk = varpro.potential_terms(op, u)
            yield k, VarProState(omega, u, velocity, risk, projection.residual)
            if k < last:
                omega = _move(problem.domain, omega, tau, velocity, k)

    def checkpoint():
        before, _ = projection._previous
        return {"u_before": before, "preconditioner_factor": projection._factor,
                "refresh_policy": projection.refresh_state()}

    def restore(saved):
        # files of earlier versions hold the explicit inverse ("preconditioner"): it is not a
        # factor, so the first solve refreshes the preconditioner instead
        if "u_before" in saved:
            restored["u_before"] = np.asarray(saved["u_before"], dtype=float)
            if "preconditioner_factor" in saved:
                projection._factor = np.asfortranarray(saved["preconditioner_factor"], dtype=np.float32)
                if "refresh_policy" in saved:
                    projection.restore_refresh_state(saved["refresh_policy"])

    stepper = _Stepper(advance, checkpoint, restore,
                       lambda: {"factorizations": projection.factorizations})
    trajectory = _run(problem, omega0, steps=steps, save_every=save_every, tau=tau, store=store,
                      overwrite=overwrite, progress=progress, params=params, stepper=stepper,
                      model="varpro", resume=resume, desc="VarPro")
    _release_features(varpro)
    return trajectory


def run_two_timescale(problem: TeacherStudent, omega0, *, lam: float, reg: str = "f_u",
                      r: float = 2.0, tau: float = 2.0**-10, eta: float | None = None, steps: int,
                      save_every: int = 1, store: str | os.PathLike | None = None,
                      overwrite: bool = False, progress: bool = False,
                      resume: bool = False, key: str | None = None) -> Trajectory:
    """Two-timescale gradient descent on R̂/λ (docs: theory/particles, eq. III.44), η = λM by default.

    ωᵢ ← ωᵢ − Mτ∇_{ωᵢ}(R̂/λ) = ωᵢ + τuᵢ∇h(ωᵢ) and uᵢ ← uᵢ − η∇_{uᵢ}(R̂/λ) = uᵢ − (η/M)(f′(uᵢ) − h(ωᵢ)),
    starting from u⁰ = the exact projection at ω⁰.  The state (ω, u) is saved exactly, so a
    resumed run is the uninterrupted one bit for bit.

    Parameters
    ----------
    problem : TeacherStudent
        Data, labels and feature map (:func:`make_teacher_student`).
    omega0 : ndarray, shape (M,) on the circle or (M, d)
        Initial particle positions.
    lam : float
        Ridge regularisation λ > 0.
    reg, r : {"f_b", "f_u", "f_r"}, float
        Regularisation f of the outer weights, and the exponent r > 1 of f_r.
    tau : float
        Step size of the features; step k is time kτ.
    eta : float, optional
        Step size of the outer weights, > 0; default λM (the thesis' choice).
    steps, save_every : int
        Number of steps; record every ``save_every`` steps (and the last).
    store, overwrite, progress, resume, key : as :func:`run_varpro`.

    Returns
    -------
    Trajectory
        ``t`` (T,), ``positions`` (T, M[, d]), ``u`` (T, M), ``risk`` (T,) and ``residual``
        (T,), NaN: nothing is projected after the start.

    Raises
    ------
    ValueError
        Bad input, before any work or file.
    IntegrationError
        Non-finite positions, weights or risk (outputs so far kept, status ``failed: …``).
    """
    varpro = VarPro(problem, lam, reg, r=r)
    r = as_real(r, "r")
    steps, save_every, tau = _check_run_args(steps, save_every, tau)
    omega0 = _check_particles(problem, omega0)
    m = int(omega0.shape[0])
    eta = varpro.lam * m if eta is None else as_real(eta, "eta")
    if not np.isfinite(eta) or eta <= 0:
        raise ValueError(f"eta must be > 0, got {eta}")
    params = {"lam": varpro.lam, "reg": varpro.reg.name, "r": float(r), "tau": tau, "eta": eta,
              "steps": steps, "gamma": problem.gamma, "M": m, "N": int(problem.x.shape[0])}
    _record_key(params, key)
    if varpro.reg.name != "f_r":
        del params["r"]   # as files written before f_r was accepted here, so they still resume
    p = problem

    def advance(omega, u, first, last):
        if u is None:
            op, u = varpro._fields(omega)
        else:
            op = varpro.operator_at(omega)
        for k in range(first, last + 1):
            h, velocity, risk = varpro.potential_terms(op, u)
            yield k, VarProState(omega, u, velocity, risk, np.nan)
            if k < last:
                u = u - eta / m * (varpro.reg.df(u) - h)
                omega = _move(p.domain, omega, tau, velocity, k)
                op = varpro.operator_at(omega)

    trajectory = _run(problem, omega0, steps=steps, save_every=save_every, tau=tau, store=store,
                      overwrite=overwrite, progress=progress, params=params, stepper=_Stepper(advance),
                      model="two_timescale", resume=resume, desc="two-timescale")
    _release_features(varpro)
    return trajectory
