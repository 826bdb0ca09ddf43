"""The Wasserstein gradient flow of the reduced risk for λ > 0 (docs: theory/wasserstein, thesis eq. III.31).

    ∂ₜμ + div(μ ∇f*(h[μ])) = 0,

the exact mean-field limit of VarPro (eq. III.26): a density on a grid is the atoms ω_c (cell
centres) with masses m_c = μ_c·|c|, and for them the weighted ridge problem

    u = argmin_u  1/(2λN) Σⱼ (Σ_c m_c u_c φ(ω_c, xⱼ) − Yⱼ)² + Σ_c m_c f(u_c)

gives α = (Y − A(m∘u))/λ and h(ω) = (1/N)Σⱼ αⱼφ(ω, xⱼ), with f′(u_c) = h(ω_c).  With
m_c = 1/M at particle positions these are VarPro's u, h and reduced risk exactly.

**Projection without the data.**  At the centres h = (AᵀY/N − G(m∘u))/λ with G = AᵀA/N, a
fixed n × n matrix: G, AᵀY/N and ‖Y‖²/N are computed once (on the circle from the sorted
ReLU sums, O(n²); otherwise O(n²N) by blocks of data), and every solve works on n numbers.
The solve is PCG on the symmetrised system (DGD + λI)v = D(AᵀY/N + λ·shift), D = diag(√m),
preconditioned exactly on G's leading eigenpairs (:class:`~pdeflow.particles.ridge.SpectralPreconditioner`),
warm-started from the last solution; it reaches ``tol`` (relative residual, 1e-12 by default) in
two or three iterations.

**Finite volumes.**  Ψ_c = f*(h(ω_c)); across each interior face the velocity is the difference
quotient (Ψ_r − Ψ_l)/Δ and the flux is (face density)·velocity·|face|, the face density being the
upwind cell average (``scheme="upwind"``) or its minmod / van Leer limited reconstruction
(``"minmod"``, ``"vanleer"``, second order where smooth).  Closed boundaries carry no flux.
Hence, with L_h(m) the reduced risk of the weighted centres (:meth:`WassersteinFlow.risk`):

* mass is conserved to round-off (each flux leaves one cell and enters another);
* an empty cell sends nothing and face densities lie between neighbouring averages, so the
  semi-discrete flow keeps μ ≥ 0;
* ∂L_h/∂m_c = −Ψ_c (envelope theorem), so
  dL_h/dt = −Σ_faces |face|·Δ·(face density)·((Ψ_r − Ψ_l)/Δ)² ≤ 0  (:meth:`WassersteinFlow.dissipation`).

**Cost of one right-hand side** (n cells): one PCG solve, i.e. 1 + k products with G
(k ≈ 2–3 iterations; O(n²) each, or O(N + n) through the sorted ReLU sums on the circle when
that is cheaper, n ≳ 700 for N = 4096), O(n r) per preconditioner application (r ≈ 10–40
leading eigenpairs kept) and an O(n r²) set-up whenever the masses have drifted, plus O(n) for
the fluxes.  About 0.3 ms at n = 512 and 0.5 ms at n = 1024.

**Time integration.**  The coupling through h is nonlocal but not what limits the step: the
step is bounded by the grid-scale transport |v|Δt/Δ (evaluations grow like n, not like 1/λ), so
an explicit Runge–Kutta method needs no Jacobian: ``jacobian = "none"``.  Implicit methods
still work (they difference the right-hand side, n evaluations per Jacobian) at a large cost.
CPU seconds to t = 10 on the circle (γ = 100, N = 4096, f_u, van Leer, rtol 1e-6, uniform
start; one core, measured back to back):

    n     method   λ = 1e-1   λ = 1e-2   λ = 1e-3     (evaluations)
    512   RK23      0.47       0.91       1.02        1055 / 1520 / 2246
    512   RK45      0.55       0.78       1.25        1352 / 2066 / 2996
    512   LSODA     1.05       1.46       1.90        (stays non-stiff: no Jacobian)
    512   DOP853    1.66       2.54       2.74
    512   BDF      20.8       24.4      > 440         (finite-difference Jacobians)
    1024  RK23      1.14       1.38       2.61        1598 / 2585 / 3908
    1024  RK45      1.25       2.59       3.80        2432 / 4004 / 6020
    1024  LSODA     2.55       3.92       6.33

RK23 is the default (RK45 agrees with it to 1e-5 in L¹ at t = 10).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..checks import check_density, check_positive_scalar
from ..domains import Domain
from ..errors import IntegrationError
from ..fv import face_graph
from ..fv.kernels import LIMITERS, face_densities, face_flux_divergence
from ..integrators import check_method, check_times
from ..particles.data import TeacherStudent
from ..particles.operators import FixedAtoms, fixed_atoms
from ..particles.regularizers import Regularizer, regularizer
from ..particles.ridge import SpectralPreconditioner
from ..particles.varpro import Projection
from ..scalars import as_real
from ..trajectory import Trajectory
from .base import GridModel

@dataclass(frozen=True)
class WassersteinParams:
    """Parameters of the λ > 0 flow (docs: theory/particles, theory/wasserstein).

    Attributes
    ----------
    lam : float
        Ridge parameter λ > 0.
    reg : str
        Regularisation f: ``"f_b"``, ``"f_u"`` or ``"f_r"``.
    r : float
        Exponent of f_r (r > 1; ignored by f_b and f_u).
    scheme : str
        Face density: ``"upwind"``, ``"minmod"`` or ``"vanleer"`` (:data:`pdeflow.fv.kernels.LIMITERS`).
    tol : float
        Relative residual of every ridge solve.
    """

    lam: float
    reg: str = "f_u"
    r: float = 2.0
    scheme: str = "vanleer"
    tol: float = 1e-12

    def __post_init__(self) -> None:
        object.__setattr__(self, "lam", check_positive_scalar(as_real(self.lam, "lam"), "lam"))
        object.__setattr__(self, "r", as_real(self.r, "r"))
        object.__setattr__(self, "tol", check_positive_scalar(as_real(self.tol, "tol"), "tol"))
        self.regularizer()  # unknown names and r ≤ 1 fail here
        if self.scheme not in LIMITERS:
            raise ValueError(f"unknown scheme {self.scheme!r}; choose one of {sorted(LIMITERS)}")

    def regularizer(self) -> Regularizer:
        """The regularisation f named by ``reg`` (and ``r``)."""
        if not isinstance(self.reg, str):
            raise ValueError(f"unknown regularisation {self.reg!r}; use 'f_b', 'f_u' or 'f_r'")
        return regularizer(self.reg, self.r)


@dataclass
class RidgeFields:
    """The projection at the cell centres for one density (all shape ``(n,)``, flat grid order).

    ``masses`` m_c; outer weights ``u``; potential ``h`` = h(ω_c); ``psi`` = f*(h), whose
    gradient is the velocity.
    """

    masses: np.ndarray
    u: np.ndarray
    h: np.ndarray
    psi: np.ndarray


def check_same_space(problem_domain: Domain, grid: Domain) -> None:
    """A grid must discretise the problem's feature space: same kind, bounds and periodicity."""
    mine = (problem_domain.kind, problem_domain.lower, problem_domain.upper, problem_domain.periodic)
    theirs = (grid.kind, grid.lower, grid.upper, grid.periodic)
    if mine != theirs:
        raise ValueError(f"the grid ({grid.kind} {grid.lower}–{grid.upper}) is not the problem's feature "
                         f"space ({problem_domain.kind} {problem_domain.lower}–{problem_domain.upper})")


def cell_centres(domain: Domain) -> np.ndarray:
    """Cell centres in flat C order, shape ``(n, d)``."""
    return np.stack([c.ravel() for c in domain.mesh()], axis=1)


class WassersteinFlow(GridModel):
    """The semi-discrete λ > 0 flow (eq. III.31) of a teacher–student problem on a grid.

    The state is the cell averages μ_c in flat C order (the grid's own), so ``to_state`` and
    ``to_density`` are reshapes.  See the module docstring for the scheme and its costs.

    Parameters
    ----------
    problem : TeacherStudent
        Data x (N, 2), labels Y (N,) and the feature map (:func:`pdeflow.make_teacher_student`).
    params : WassersteinParams
    domain : Domain, optional
        The grid; default ``problem.domain``.  Must be the same feature space.
    atoms : FixedAtoms, optional
        G, AᵀY/N, ‖Y‖²/N at the cell centres, if already computed for this problem and grid.
    """

    name = "wasserstein"
    jacobian = "none"
    default_method = "RK23"
    #: Negative cell averages down to this fraction of the mean density are integration error,
    #: not a failure (see :meth:`check_state`).
    negative_floor: ClassVar[float] = 1e-8

    def __init__(self, problem: TeacherStudent, params: WassersteinParams, domain: Domain | None = None,
                 *, atoms: FixedAtoms | None = None):
        domain = problem.domain if domain is None else domain
        check_same_space(problem.domain, domain)
        if problem.feature.dim != domain.ndim:
            raise ValueError(f"the feature map acts on {problem.feature.dim}-D features, the grid is "
                             f"{domain.ndim}-D")
        self.domain, self.problem, self.params = domain, problem, params
        self.reg = params.regularizer()
        self.centres = cell_centres(domain)
        self.atoms = atoms if atoms is not None else fixed_atoms(problem.feature, problem.x, problem.y,
                                                                self.centres)
        if self.atoms.gram.shape != (domain.size, domain.size):
            raise ValueError(f"atoms hold a {self.atoms.gram.shape} Gram matrix, the grid has {domain.size} cells")
        self._op = self.atoms.operator
        # the masses change from one solve to the next, the atoms never: precondition on G's
        # eigenpairs rather than on a cached inverse that each change of the masses would stale
        self.projection = Projection(self.reg, params.lam, tol=params.tol, extrapolate=False,
                                     preconditioner=SpectralPreconditioner(self.atoms.gram, params.lam))
        self.graph = face_graph(domain)
        self._limiter = LIMITERS[params.scheme]
        self._u: np.ndarray | None = None
        self._clock = 0.0   # the last time seen (rhs, check_state), to date a failure in diagnostics
        self._face_rho = np.empty(self.graph.left.size)

    # ---- the projection ------------------------------------------------
    def masses(self, rho: np.ndarray) -> np.ndarray:
        """Cell masses m_c = max(μ_c, 0)·(cell volume), flat, shape (n,).

        Integrators may visit states a round-off below zero; the ridge problem needs m ≥ 0.
        """
        return np.maximum(np.asarray(rho, dtype=float).ravel(), 0.0) * self.domain.cell_volume

    def fields(self, rho: np.ndarray) -> RidgeFields:
        """u, h and Ψ = f*(h) at the cell centres for the density ``rho`` (grid shape or flat).

        Raises
        ------
        RuntimeError
            The ridge solve did not reach its tolerance.
        """
        m = self.masses(rho)
        u, h = self.projection.solve_weighted(self._op, self.atoms.data_term, m, self._u)
        self._u = u
        return RidgeFields(m, u, h, self.reg.f_star(h))

    _SOLVE_ERRORS = (RuntimeError, ValueError, np.linalg.LinAlgError)

    @staticmethod
    def _failure(t: float, err: Exception) -> IntegrationError:
        return IntegrationError(f"the ridge projection failed at t = {t:.6g}: {err}", t=t)

    def _fields_at(self, t: float, y: np.ndarray) -> RidgeFields:
        self._clock = t
        try:
            return self.fields(y)
        except self._SOLVE_ERRORS as err:
            raise self._failure(t, err) from err

    # ---- the ODE system ------------------------------------------------
    def face_mobility(self, y: np.ndarray, psi: np.ndarray) -> np.ndarray:
        """trans_f · (face density), shape (n_faces,): the flux is this times Ψ_r − Ψ_l."""
        g = self.graph
        face_densities(y, psi, g.left, g.right, g.far_left, g.far_right, self._limiter, self._face_rho)
        return g.trans * self._face_rho

    def rhs(self, t: float, y: np.ndarray) -> np.ndarray:
        """dμ/dt of the semi-discrete eq. (III.31): −div(face density · ∇Ψ), Ψ = f*(h[μ])."""
        psi = self._fields_at(t, y).psi
        out = np.empty_like(y)
        face_flux_divergence(self.face_mobility(y, psi), psi, self.graph.left, self.graph.right, out)
        return out

    # ---- what is recorded ------------------------------------------------
    def risk(self, rho: np.ndarray) -> float:
        """L_h(μ) = 1/(2λN)‖A(m∘u) − Y‖² + Σ_c m_c f(u_c) at the optimal u (docs: theory/particles with m_c for 1/M).

        The data term is ((m∘u)ᵀG(m∘u) − 2(m∘u)ᵀAᵀY/N + ‖Y‖²/N)/(2λ): O(n²), no data.
        """
        f = self.fields(rho)
        z = f.masses * f.u
        a = self.atoms
        fit = (z @ (a.gram @ z) - 2 * z @ a.data_term + a.data_energy) / (2 * self.params.lam)
        return float(fit + f.masses @ self.reg.f(f.u))

    def dissipation(self, rho: np.ndarray) -> float:
        """−dL_h/dt = Σ_faces (face area)·Δ·(face density)·((Ψ_r − Ψ_l)/Δ)² ≥ 0 along the semi-discrete flow."""
        y = np.asarray(rho, dtype=float).ravel()
        psi = self.fields(y).psi
        g = self.graph
        gap = psi[g.right] - psi[g.left]
        return float(self.domain.cell_volume * np.sum(self.face_mobility(y, psi) * gap**2))

    def diagnostics(self, rho: np.ndarray) -> dict[str, Any]:
        """``risk`` (L_h) and ``mass`` at an output.

        The driver checks every output state (:meth:`check_state`, which notes its time) before
        recording it, and the first one is the initial state at t = 0, so a failed projection
        here is reported at the output's time.
        """
        try:
            risk = self.risk(rho)
        except self._SOLVE_ERRORS as err:
            raise self._failure(self._clock, err) from err
        return {"risk": risk, "mass": self.mass(rho)}

    def check_state(self, t: float, y: np.ndarray) -> None:
        """Refuse non-finite cells and cells below −``negative_floor``·(mean density).

        The semi-discrete flow keeps μ ≥ 0 (an empty cell sends nothing), but Runge–Kutta
        stages combine with some negative weights, so at the edge of an empty region a step may
        land a rounding-size amount below zero (−1e-71 has been seen).  The flow pulls such a
        cell back (its outflow has the sign of its density), so amounts of the integrator's
        own error are let through; anything larger means the run has gone wrong.
        """
        self._clock = t
        floor = -self.negative_floor * abs(float(np.mean(y)))
        self._refuse(t, y, np.isfinite(y) & (y >= floor), "negative")

    def run_params(self) -> dict[str, Any]:
        """λ, f, r, scheme, tolerance and the problem's sizes, stored with the run."""
        p, data = self.params, self.problem
        return {"lam": p.lam, "reg": self.reg.name, "r": p.r, "scheme": p.scheme, "tol": p.tol,
                "gamma": data.gamma, "N": int(data.x.shape[0]), "n_teacher": int(np.shape(data.teacher)[0])}

    def static(self) -> dict[str, np.ndarray]:
        """The data x, labels y and teacher features, stored under ``/static``."""
        return {"x": self.problem.x, "y": self.problem.y, "teacher": self.problem.teacher}


def check_probability(domain: Domain, rho0, rtol: float = 1e-8) -> np.ndarray:
    """``rho0`` (array of ``domain.shape`` or callable) as a finite, non-negative density of mass 1."""
    rho0 = check_density(domain, rho0, "rho0", allow_zero=True)
    mass = float(domain.integrate(rho0))
    if abs(mass - 1.0) > rtol:
        raise ValueError(f"rho0 has mass {mass:.12g}; the flow moves a probability measure: normalise it "
                         "to mass 1")
    return rho0


def solve_wasserstein_flow(problem: TeacherStudent, *, lam: float, reg: str = "f_u", r: float = 2.0,
                           grid: Domain | None = None, rho0=None, t_eval, method=None, rtol: float = 1e-6,
                           atol: float | None = None, store: str | os.PathLike | None = None,
                           overwrite: bool = False, resume: bool = False, progress: bool = False,
                           scheme: str = "vanleer") -> Trajectory:
    """Solve the λ > 0 Wasserstein gradient flow ∂ₜμ + div(μ∇f*(h[μ])) = 0 (docs: theory/wasserstein, eq. III.31).

    Parameters
    ----------
    problem : TeacherStudent
        From :func:`pdeflow.make_teacher_student`: data, labels, feature map, feature space.
    lam : float
        λ > 0.
    reg, r : {"f_b", "f_u", "f_r"}, float
        The regularisation f (docs: theory/particles), and the exponent r > 1 of f_r.
    grid : Domain, optional
        The grid; default ``problem.domain``.  Same kind and bounds as the problem's space.
    rho0 : array of shape ``grid.shape`` or callable of the cell centres, optional
        Initial density, non-negative, mass 1; default uniform.
    t_eval : array_like, shape (T,)
        Increasing output times in [0, t_end].
    method : str or OdeSolver subclass, optional
        Default :attr:`WassersteinFlow.default_method`.
    rtol, atol : float
        Integrator tolerances (``atol`` default: 1e-3·rtol·mean density).
    store : path, optional
        HDF5 file written as the run goes.
    overwrite : bool
        Replace an earlier pdeflow trajectory at ``store`` (never another kind of file).
    resume : bool
        Read back the complete run in ``store`` if it is this very run (same data, parameters,
        start and times) instead of solving again (:func:`pdeflow.solve`).
    progress : bool
        Progress bar in simulated time.
    scheme : {"vanleer", "minmod", "upwind"}
        Face density reconstruction.

    Returns
    -------
    Trajectory
        ``t`` (T,), ``rho`` ``(T, *grid.shape)``, ``risk`` (T,) the reduced risk L_h, ``mass`` (T,),
        ``stats`` (nfev, nsteps, wall_time, …); the data under ``static``.

    Raises
    ------
    ValueError
        Bad input (λ ≤ 0 or not a number, unknown regularisation or scheme, a grid on another
        space, rho0 of the wrong shape or mass, negative or not finite; bad times, tolerances or
        method), before any work and before any file is created.
    OSError
        ``store`` cannot be written.
    IntegrationError
        The run failed (e.g. the projection at time t); outputs so far are kept.
    """
    from ..driver import solve

    if not isinstance(problem, TeacherStudent):
        raise ValueError(f"problem must come from make_teacher_student, got {type(problem).__name__}")
    params = WassersteinParams(lam, reg, r, scheme)
    domain = problem.domain if grid is None else grid
    if not isinstance(domain, Domain):
        raise ValueError(f"grid must be a pdeflow Domain, got {type(domain).__name__}")
    check_same_space(problem.domain, domain)
    rho0 = np.full(domain.shape, 1.0 / domain.volume) if rho0 is None else check_probability(domain, rho0)
    check_method(WassersteinFlow.default_method if method is None else method)
    check_times(t_eval)
    check_positive_scalar(as_real(rtol, "rtol"), "rtol")
    if atol is not None:
        check_positive_scalar(as_real(atol, "atol"), "atol")
    model = WassersteinFlow(problem, params, domain)
    return solve(model, rho0, t_eval, method=method, rtol=rtol, atol=atol, store=store,
                 overwrite=overwrite, resume=resume, progress=progress)
