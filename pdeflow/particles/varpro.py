"""Variable projection (VarPro) and two-timescale gradient descent (SPEC.md §3, eqs. III.41–III.44).

Reduced risk of particles ω₁…ω_M, A[j, i] = φ(ωᵢ, xⱼ):

    L̂(ω) = min_u 1/(2λN)‖Au/M − Y‖² + (1/M)Σf(uᵢ).

With α = (Y − Au/M)/λ and h(ω) = (1/N)Σⱼαⱼφ(ω, xⱼ), the optimal u has f′(uᵢ) = h(ωᵢ)
and the particles move by dωᵢ/dt = −M∇_{ωᵢ}L̂ = uᵢ∇h(ωᵢ) (III.26); gradient descent
takes ωᵢ ← ωᵢ + τuᵢ∇h(ωᵢ), iteration k being time kτ (III.42).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.linalg import blas, lapack
import scipy.sparse.linalg as spla
from tqdm.auto import tqdm

from ..io import TrajectoryWriter, as_saved, load_trajectory
from ..trajectory import Recorder, Trajectory
from .data import TeacherStudent
from .operators import FeatureOperator
from .regularizers import Regularizer, regularizer
from .ridge import SpectralPreconditioner, pcg


@dataclass
class Projection:
    """The exact projection u*(ω) of the outer weights, warm-started from one step to the next.

    Atoms carry masses: 1/M each for particles (the default, ``weights=None``) or any
    non-negative masses mᵢ (a grid's cell masses, SPEC §4a).  For f_b and f_u the normal
    equations (AᵀA diag(m)/N + λI)u = AᵀY/N + λ·shift are solved by conjugate gradients;
    with masses they are first made symmetric, S v = D(AᵀY/N + λ·shift), S = D(AᵀA/N)D + λI,
    D = diag(√m), v = Du (:mod:`pdeflow.particles.ridge`).  For 1/M this is the original
    system divided by M, which is what the default path solves, unchanged.

    Preconditioner: for atoms that move (particles), the inverse of the same matrix at an
    earlier ω (from its Cholesky factor; applying an explicit inverse is one symmetric
    matrix–vector product, several times cheaper than two triangular solves).  Particles move
    little per step, so a few iterations suffice and the inverse is recomputed only when they
    stop sufficing.  For atoms that never move (a grid: only the masses change), pass a
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
    _inverse: np.ndarray | None = field(default=None, repr=False)   # upper triangle used
    _previous: tuple | None = field(default=None, repr=False)

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
        if info == 0:
            inverse, info = lapack.dpotri(factor, lower=0, overwrite_c=1)
        if info != 0:
            raise RuntimeError(f"projection matrix AᵀA/(MN) + λI is not positive definite (LAPACK info {info})")
        # single precision halves the memory the product streams through; the preconditioner
        # only needs to be near the inverse, the residual itself stays in double
        self._inverse = inverse.astype(np.float32)
        self.factorizations += 1

    def _precondition(self, r: np.ndarray) -> np.ndarray:
        return blas.ssymv(1.0, self._inverse, r.astype(np.float32), lower=0).astype(float)

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
        u = self._solve_quadratic(op, y, start) if self.reg.quadratic else self._solve_convex(op, y, start)
        self._previous = (u0 if u0 is not None else u, u)
        return u

    def solve_weighted(self, op: FeatureOperator, data_term: np.ndarray, weights: np.ndarray,
                       u0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """u* and the potential h at atoms of masses ``weights`` (SPEC §4a), given AᵀY/N.

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

        if self._inverse is None or self._inverse.shape[0] != m:
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
        if self._inverse is None or self._inverse.shape[0] != d.size:
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
    """VarPro dynamics of M particles on a teacher–student problem (SPEC §3, eq. III.42).

    ``state(omega)`` projects the outer weights and returns the velocity uᵢ∇h(ωᵢ) and the
    reduced risk; :func:`run_varpro` moves the particles by τ·velocity and maps them back
    into the domain (wrap on circle and torus, clip on a box).
    """

    def __init__(self, problem: TeacherStudent, lam: float, reg: str | Regularizer = "f_b",
                 *, tol: float = 1e-10, r: float = 2.0):
        if not np.isfinite(lam) or lam <= 0:
            raise ValueError(f"lambda must be > 0, got {lam}")
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
        risk 1/(2λN)‖F − Y‖² + Σᵢmᵢf(uᵢ) (SPEC §3, §4a).
        """
        n, m = op.shape
        if weights is None:
            resid = self.problem.y - op.forward(u) / m
            penalty = self.reg.f(u).mean()
        else:
            resid = self.problem.y - op.forward(weights * u)
            penalty = weights @ self.reg.f(u)
        h, grad_h = op.adjoint(resid)
        h /= self.lam
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
        op, u = self._fields(omega, u_prev, weights)
        _, velocity, risk = self.potential_terms(op, u, weights)
        return VarProState(omega, u, np.reshape(velocity, np.shape(omega)), risk, self.projection.residual)

    def reduced_risk(self, omega: np.ndarray) -> float:
        return self.state(omega).risk


def _check_particles(problem: TeacherStudent, omega0) -> np.ndarray:
    omega0 = np.array(omega0, dtype=float)
    dim = problem.feature.dim
    expected = (omega0.shape[0],) if dim == 1 else (omega0.shape[0], dim)
    if omega0.ndim == 0 or omega0.shape != expected or omega0.shape[0] < 1:
        raise ValueError(f"particles must have shape (M,) or (M, {dim}) for this feature map, "
                         f"got {omega0.shape}")
    if not np.all(np.isfinite(omega0)):
        raise ValueError("particle positions must be finite")
    return problem.domain.wrap(omega0)


def _resume_point(store, model: str, params: dict, problem: TeacherStudent):
    """The saved run to continue in ``store``, checked to be the same problem and parameters."""
    previous = load_trajectory(store)
    theirs = {k: v for k, v in previous.params.items() if k != "steps"}
    ours = {k: v for k, v in as_saved(params).items() if k != "steps"}
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
    if previous.t.size == 0:
        return None
    return previous


def _run(problem, omega0, steps, save_every, tau, store, progress, params, advance, model,
         projection: Projection | None = None, resume: bool = False):
    omega, u = _check_particles(problem, omega0), None
    if steps < 0 or save_every < 1:
        raise ValueError("steps must be >= 0 and save_every >= 1")
    if not np.isfinite(tau) or tau <= 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    first, writer, recorder = 0, None, Recorder()
    previous = _resume_point(store, model, params, problem) if resume and store and Path(store).exists() else None
    if previous is not None:
        # Continue from the last saved output: VarPro's state is ω (u only warm-starts the
        # projection); two-timescale GD's state is (ω, u), and both were saved there.
        first = int(round(previous.t[-1] / tau))
        if first > steps:
            raise ValueError(f"cannot resume {str(store)!r} to {steps} steps: it has already run {first}")
        if first == steps and previous.status == "complete":
            if progress is not None:
                progress.close()
            return previous
        omega, u = previous.positions[-1], previous.u[-1]
        recorder.times = list(previous.t)
        recorder.series = {k: list(v) for k, v in previous.data.items()}
        writer = TrajectoryWriter.reopen(store)
    elif store is not None:
        writer = TrajectoryWriter(store, model=model, domain=problem.domain, params=params,
                                  static={"x": problem.x, "y": problem.y, "teacher": problem.teacher})
    recorder.writer = writer
    status, stats = "failed", {}
    start = time.perf_counter()
    if progress is not None:
        progress.update(first)
    try:
        for k, (state, u) in enumerate(advance(omega, u, steps - first), start=first):
            if (k % save_every == 0 or k == steps) and (k > first or previous is None):
                recorder.append(k * tau, positions=state.omega, u=u, risk=state.risk,
                                residual=state.residual)
            if progress is not None:
                progress.update(1)
        status = "complete"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        if progress is not None:
            progress.close()
        stats = {"wall_time": time.perf_counter() - start, "steps": steps, "resumed_at_step": first}
        if projection is not None:
            stats["factorizations"] = projection.factorizations
        recorder.close(status, stats)
    return recorder.trajectory(domain=problem.domain, model=model, params=params, status=status,
                               stats=stats, static={"teacher": problem.teacher})


def run_varpro(problem: TeacherStudent, omega0, *, lam: float, reg: str = "f_b", r: float = 2.0,
               tau: float = 2.0**-10, steps: int, save_every: int = 1, tol: float = 1e-10,
               store: str | os.PathLike | None = None, progress: bool = False,
               resume: bool = False) -> Trajectory:
    """VarPro gradient descent ωᵢ ← ωᵢ + τuᵢ∇h(ωᵢ) (eq. III.42) from ``omega0``.

    Records, every ``save_every`` steps, time kτ, ``positions``, outer weights ``u``,
    reduced ``risk`` and the projection ``residual``; ``store`` streams them to HDF5.
    With ``resume=True`` and an existing ``store`` of the same problem and parameters,
    the run continues from the last output saved there (up to ``steps``) instead of
    starting over.
    """
    varpro = VarPro(problem, lam, reg, tol=tol, r=r)
    params = {"lam": lam, "reg": varpro.reg.name, "r": r, "tau": tau, "steps": steps, "tol": tol,
              "gamma": problem.gamma, "M": int(np.shape(omega0)[0]), "N": int(problem.x.shape[0])}

    def advance(omega, u, n_steps):
        for k in range(n_steps + 1):
            state = varpro.state(omega, u)
            u = state.u
            yield state, u
            if k < n_steps:
                omega = problem.domain.wrap(omega + tau * state.velocity)

    bar = tqdm(total=steps + 1, desc="VarPro", leave=False) if progress else None
    return _run(problem, omega0, steps, save_every, tau, store, bar, params, advance, "varpro",
                varpro.projection, resume)


def run_two_timescale(problem: TeacherStudent, omega0, *, lam: float, reg: str = "f_u",
                      tau: float = 2.0**-10, eta: float | None = None, steps: int,
                      save_every: int = 1, store: str | os.PathLike | None = None,
                      progress: bool = False, resume: bool = False) -> Trajectory:
    """Two-timescale gradient descent on R̂/λ (eq. III.44), η = λM by default, u⁰ = projection at ω⁰.

    ωᵢ ← ωᵢ − Mτ∇_{ωᵢ}(R̂/λ) = ωᵢ + τuᵢ∇h(ωᵢ) and uᵢ ← uᵢ − η∇_{uᵢ}(R̂/λ) = uᵢ − (η/M)(f′(uᵢ) − h(ωᵢ)).
    """
    varpro = VarPro(problem, lam, reg)
    m = int(np.shape(omega0)[0])
    eta = lam * m if eta is None else float(eta)
    params = {"lam": lam, "reg": varpro.reg.name, "tau": tau, "eta": eta, "steps": steps,
              "gamma": problem.gamma, "M": m, "N": int(problem.x.shape[0])}
    p = problem

    def advance(omega, u, n_steps):
        if u is None:
            op, u = varpro._fields(omega)
        else:
            op = varpro.operator_at(omega)
        for k in range(n_steps + 1):
            h, velocity, risk = varpro.potential_terms(op, u)
            yield VarProState(omega, u, velocity, risk, np.nan), u
            if k < n_steps:
                u = u - eta / m * (varpro.reg.df(u) - h)
                omega = p.domain.wrap(omega + tau * velocity)
                op = varpro.operator_at(omega)

    bar = tqdm(total=steps + 1, desc="two-timescale", leave=False) if progress else None
    return _run(problem, omega0, steps, save_every, tau, store, bar, params, advance, "two_timescale",
                resume=resume)
