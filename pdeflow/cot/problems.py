"""The COT test problems P1, P2, P2b, P3 of docs: theory/cot §6: data, teacher targets, residual map, μ₀.

Every problem has F_{μ₀} ≡ 0 (identity network, FixUp-like, [C21]), so R(μ₀) = (1/N)Σ½‖x^i − y^i‖²
for every depth S, and targets y^i = x̄^i(1) of a teacher network of the same family integrated
by RK4 with 2000 steps (so a zero-risk parameterisation exists).  μ₀ is the same product
measure in every layer; its cell averages are exact (CDF differences) and particles are drawn
from it i.i.d., stratified or antithetically.

Problems live in the open registry :data:`COT_PROBLEMS` (name → builder); :func:`cot_problem`
builds one.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.special import ive

from ..domains import Box, Circle, Domain, Interval, Torus
from ..scalars import as_count
from .residuals import CircleTranslation, LinearTrig, ResidualMap, TanhSHL, TorusTranslation

__all__ = ["Axis", "CosBump", "Uniform", "Plateau", "COTProblem", "COT_PROBLEMS", "cot_problem",
           "INITS", "teacher_targets"]


# ---- one-dimensional factors of μ₀ ---------------------------------------------------------
@dataclass(frozen=True)
class Axis:
    """A probability distribution on one θ-axis [lower, upper] (periodic or closed)."""

    lower: float
    upper: float
    periodic: bool = False

    def cdf(self, e: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def cell_averages(self, edges: np.ndarray) -> np.ndarray:
        """Exact cell averages ∫_cell ρ / |cell| from CDF differences (docs: theory/cot §4.2)."""
        return np.diff(self.cdf(edges)) / np.diff(edges)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF: a table inverted by interpolation, polished by bisection-safe Newton steps."""
        lo, hi = self.support
        grid = np.linspace(lo, hi, 4097)
        table = self.cdf(grid)
        q = np.interp(u, table, grid)
        for _ in range(3):   # secant-free polish on the exact CDF (smooth densities)
            h = 1e-7 * (hi - lo)
            dens = (self.cdf(q + h) - self.cdf(q - h)) / (2 * h)
            step = np.where(dens > 1e-12, (self.cdf(q) - u) / np.maximum(dens, 1e-12), 0.0)
            q = np.clip(q - step, lo, hi)
        return q

    @property
    def support(self) -> tuple[float, float]:
        return self.lower, self.upper


@dataclass(frozen=True)
class Uniform(Axis):
    """Uniform on [lower, upper] (the circle and torus layers of P2, P2b)."""

    def cdf(self, e):
        return np.clip((np.asarray(e, float) - self.lower) / (self.upper - self.lower), 0.0, 1.0)

    def quantile(self, u):
        return self.lower + np.asarray(u) * (self.upper - self.lower)


@dataclass(frozen=True)
class CosBump(Axis):
    """ρ(u) ∝ cos²(πu/(2r₀)) on |u| < r₀; CDF ½ + u/(2r₀) + sin(πu/r₀)/(2π) (P1, P3)."""

    r0: float = 0.5

    def cdf(self, e):
        u = np.clip(np.asarray(e, float), -self.r0, self.r0)
        return 0.5 + u / (2 * self.r0) + np.sin(np.pi * u / self.r0) / (2 * np.pi)

    @property
    def support(self):
        return -self.r0, self.r0


@dataclass(frozen=True)
class Plateau(Axis):
    """ρ(b) ∝ 1 on |b| ≤ flat, cos²(π(|b| − flat)/(2·taper)) on flat < |b| < flat + taper (P3's b)."""

    flat: float = 5.0
    taper: float = 2.0

    def _ramp(self, s):
        # ∫₀^s cos²(πt/(2T)) dt = s/2 + T sin(πs/T)/(2π), s ∈ [0, T]
        s = np.clip(s, 0.0, self.taper)
        return s / 2 + self.taper * np.sin(np.pi * s / self.taper) / (2 * np.pi)

    def cdf(self, e):
        b = np.asarray(e, float)
        half_t = self.taper / 2
        total = 2 * self.flat + 2 * half_t
        left = half_t - self._ramp(-self.flat - b)          # mass in [−flat − taper, min(b, −flat)]
        mid = np.clip(b + self.flat, 0.0, 2 * self.flat)
        right = self._ramp(b - self.flat)
        return (left + mid + right) / total

    @property
    def support(self):
        return -self.flat - self.taper, self.flat + self.taper


# ---- the problems -----------------------------------------------------------------------
@dataclass
class COTProblem:
    """One COT training problem (docs: theory/cot §6).

    Attributes
    ----------
    name : str
    residual : ResidualMap
    x, y : ndarray, shape (N, d)
        Data and teacher targets.
    axes : list of Axis, length p
        The factors of μ₀(· given s) (same for every s) and the θ-domain (bounds, periodicity).
    antithetic : tuple of bool, length p
        Axes reflected θ ↦ −θ in an antithetic pair: pairs then cancel in F exactly.
    teacher : callable (s, x) -> F̄(s, x), shape (N, d)
        The teacher field (documentation and checks).
    default_grid : tuple of int
        Cells per axis used when ``grid`` is not given.
    info : dict
        Teacher and tuning parameters (JSON).
    """

    name: str
    residual: ResidualMap
    x: np.ndarray
    y: np.ndarray
    axes: list[Axis]
    antithetic: tuple[bool, ...]
    teacher: Callable[[float, np.ndarray], np.ndarray]
    default_grid: tuple[int, ...]
    info: dict = field(default_factory=dict)

    @property
    def initial_risk(self) -> float:
        """R(μ₀) = (1/N)Σ½‖x^i − y^i‖² (F_{μ₀} ≡ 0)."""
        return 0.5 * float(np.sum((self.x - self.y) ** 2)) / self.x.shape[0]

    def domain(self, grid) -> Domain:
        """The Θ-grid with ``grid`` cells per axis (int or tuple), or ``grid`` itself if a Domain."""
        if isinstance(grid, Domain):
            return grid
        if np.isscalar(grid):
            shape = (as_count(grid, "grid (cells per axis)", minimum=3),) * len(self.axes)
        else:
            try:
                shape = tuple(as_count(g, "grid (cells per axis)", minimum=3) for g in grid)
            except TypeError:
                raise ValueError(f"grid must be a number of cells, a tuple of them or a Domain, got {grid!r}") from None
        if len(shape) != len(self.axes):
            raise ValueError(f"grid {grid!r}: problem {self.name} has a {len(self.axes)}-D parameter space")
        a = self.axes
        if len(a) == 1:
            if a[0].periodic:
                return Circle(shape[0]) if (a[0].lower, a[0].upper) == (0.0, 2 * np.pi) else \
                    Torus(shape, a[0].upper - a[0].lower, origin=a[0].lower)
            return Interval(a[0].lower, a[0].upper, shape[0])
        if all(ax.periodic for ax in a):
            return Torus(shape, a[0].upper - a[0].lower, origin=a[0].lower)
        return Box((a[0].lower, a[0].upper), (a[1].lower, a[1].upper), shape)

    def initial_density(self, domain: Domain) -> np.ndarray:
        """Exact cell averages of μ₀(· given s) on ``domain`` (product of the axes' CDF differences)."""
        dens = None
        for ax, edges in zip(self.axes, domain.edges):
            f = ax.cell_averages(edges)
            dens = f if dens is None else np.multiply.outer(dens, f)
        return dens

    def sample(self, S: int, M: int, init: str, rng: np.random.Generator) -> np.ndarray:
        """Particles θ_{k,j}, shape (S, M, p), drawn from μ₀ by ``init`` (see :data:`INITS`)."""
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; choose one of {sorted(INITS)}")
        return INITS[init](self, S, M, rng)


def _iid(problem: COTProblem, S: int, M: int, rng) -> np.ndarray:
    u = rng.random((S, M, len(problem.axes)))
    return np.stack([ax.quantile(u[..., a]) for a, ax in enumerate(problem.axes)], axis=-1)


def _stratified(problem: COTProblem, S: int, M: int, rng) -> np.ndarray:
    """Per layer and axis, one point in each of the M quantile strata (j + U_k)/M: W₂ to μ₀ is
    O(1/M) instead of O(M^{−1/2}).  In 2-D with M = m² the layer is the m × m lattice of quantile
    strata shifted by one uniform offset per layer (on a torus its residual field is F ≡ 0 up to
    aliasing, exponentially small in m); otherwise the strata of the axes are paired by random
    permutations (Latin hypercube)."""
    p = len(problem.axes)
    out = np.empty((S, M, p))
    m = int(round(np.sqrt(M)))
    if p == 2 and m * m == M:
        for k in range(S):
            u = (np.arange(m) + rng.random(2)[:, None]) / m               # (2, m)
            g0, g1 = np.meshgrid(problem.axes[0].quantile(u[0]), problem.axes[1].quantile(u[1]),
                                 indexing="ij")
            out[k] = np.stack([g0.ravel(), g1.ravel()], axis=-1)
        return out
    for k in range(S):
        for a, ax in enumerate(problem.axes):
            u = (np.arange(M) + rng.random()) / M
            out[k, :, a] = ax.quantile(u if a == 0 else rng.permutation(u))
    return out


def _antithetic(problem: COTProblem, S: int, M: int, rng) -> np.ndarray:
    """Pairs (θ, θ′) with θ′ reflected on the problem's antithetic axes: F_{μ₀} ≡ 0 exactly."""
    if not any(problem.antithetic):
        raise ValueError(f"problem {problem.name} has no linear coordinate to reflect; "
                         "antithetic initialisation is for P1 and P3")
    if M % 2:
        raise ValueError(f"antithetic initialisation needs an even width M, got {M}")
    half = _iid(problem, S, M // 2, rng)
    sign = np.where(problem.antithetic, -1.0, 1.0)
    return np.concatenate([half, half * sign], axis=1)


#: Particle initialisations by name: (problem, S, M, rng) -> θ (S, M, p).
INITS: dict[str, Callable] = {"iid": _iid, "stratified": _stratified, "antithetic": _antithetic}


def teacher_targets(teacher: Callable, x: np.ndarray, steps: int = 2000) -> np.ndarray:
    """x̄(1) of dx/ds = F̄(s, x), x̄(0) = x, by classical RK4 with ``steps`` steps (docs: theory/cot §6)."""
    h = 1.0 / steps
    z = np.array(x, dtype=float)
    for j in range(steps):
        s = j * h
        k1 = teacher(s, z)
        k2 = teacher(s + h / 2, z + h / 2 * k1)
        k3 = teacher(s + h / 2, z + h / 2 * k2)
        k4 = teacher(s + h, z + h * k3)
        z = z + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return z


def _p1() -> COTProblem:
    A, star = 1.0, (0.6, -0.4)
    x = np.array([[-1.0], [1.0]])

    def teacher(s, z):
        return A * (star[0] * np.cos(z) + star[1] * np.sin(z))

    axes = [CosBump(-2.5, 2.5, False, 0.5), CosBump(-2.5, 2.5, False, 0.5)]
    return COTProblem("P1", LinearTrig(A), x, teacher_targets(teacher, x), axes, (True, True), teacher,
                      (40, 40), {"theta_star": star, "A": A, "r0": 0.5, "box": [-2.5, 2.5]})


def _p2() -> COTProblem:
    res = CircleTranslation(A=3.0, kappa=4.0)
    beta, a1 = 0.5, res.fourier(1)
    x = (-2.0 + 0.8 * np.arange(6))[:, None]

    def teacher(s, z):
        return beta * a1 / 2 * np.cos(z - (np.pi / 2 + np.pi * s))

    axes = [Uniform(0.0, 2 * np.pi, True)]
    return COTProblem("P2", res, x, teacher_targets(teacher, x), axes, (False,), teacher, (256,),
                      {"beta": beta, "theta_star": "pi/2 + pi s", "a1": a1})


def _p3() -> COTProblem:
    res = TanhSHL(A=2.0, w0=4.0)
    x = np.array([-1.0, -1 / 3, 1 / 3, 1.0])[:, None]

    def teacher(s, z):
        return res.A * 0.15 * np.tanh(res.w0 * z + 0.5)

    axes = [CosBump(-1.5, 1.5, False, 0.5), Plateau(-9.0, 9.0, False, 5.0, 2.0)]
    return COTProblem("P3", res, x, teacher_targets(teacher, x), axes, (True, False), teacher, (48, 96),
                      {"teacher_neuron": [0.15, 0.5], "u_r0": 0.5, "b_flat": 5.0, "b_taper": 2.0})


#: P2b, tuned (docs: theory/cot §6 asks λ_min(𝕂₀) ≳ 0.05 and q(0) ≈ 0.5–1).  Scanned κ ∈ {1, 1.5, 2, 3} with
#: point sets of N = 4, 5, 6 in [−1.5, 1.5]² (48² grid, uniform μ₀); q(0) and λ_min scale with A²,
#: so A sets q(0) and (κ, points) the conditioning λ_min/q(0).  κ = 1 made 𝕂₀ ill-conditioned
#: (λ_min/q(0) ≈ 0.1 for N = 6), κ = 3 localised ψ so much that R(μ₀) fell below 1e-3.  Frozen:
#: κ = 1.5, six points, A = 3.5: λ_min(𝕂₀) = 0.175, q(0) = 0.68, q_low(0) = 0.058, R(μ₀) = 2.2e-3.
P2B = {"A": 3.5, "kappa": 1.5, "alpha": np.pi / 4, "beta": 0.5,
       "points": [[-1.2, -0.8], [0.0, -1.2], [1.2, -0.6], [-1.0, 0.6], [0.2, 1.0], [1.1, 1.1]]}


def _p2b() -> COTProblem:
    """2-D torus translation residual.  Teacher μ̄(θ|s) = (1/4π²)(1 + β cos(θ₁ − θ*(s))),
    θ*(s) = π/2 + πs; its field is in closed form: only the first Fourier mode of ∂₁G in θ₁
    survives, F̄(s, x) = A R_α (−β e^{−2κ} I₁(κ) I₀(κ) sin(x₁ − θ*(s)), 0)."""
    cfg = P2B
    res = TorusTranslation(A=cfg["A"], kappa=cfg["kappa"], alpha=cfg["alpha"])
    x = np.array(cfg["points"], dtype=float)
    amp = cfg["beta"] * ive(1, res.kappa) * ive(0, res.kappa)
    rot = res.A * res.rotation

    def teacher(s, z):
        field = np.zeros_like(z)
        field[:, 0] = -amp * np.sin(z[:, 0] - (np.pi / 2 + np.pi * s))
        return field @ rot.T

    axes = [Uniform(0.0, 2 * np.pi, True), Uniform(0.0, 2 * np.pi, True)]
    return COTProblem("P2b", res, x, teacher_targets(teacher, x), axes, (False, False), teacher, (48, 48),
                      {k: v for k, v in cfg.items()})


#: Problems by name (open: add a builder returning a :class:`COTProblem`).
COT_PROBLEMS: dict[str, Callable[[], COTProblem]] = {"P1": _p1, "P2": _p2, "P2b": _p2b, "P3": _p3}


_BUILT: dict[str, COTProblem] = {}


def cot_problem(name: str) -> COTProblem:
    """The COT test problem ``name`` ("P1", "P2", "P2b", "P3"; docs: theory/cot §6).

    The teacher's RK4 targets (2000 steps in Python, ~60 ms) are computed once per process;
    every call returns a fresh copy, so changing one problem object never changes another.

    Parameters
    ----------
    name : {"P1", "P2", "P2b", "P3"}
        P1 linear (RKHS) residual on a box, P2 translation residual on the circle, P2b its
        2-D torus variant, P3 tanh single-hidden-layer residual on a box.

    Returns
    -------
    COTProblem
        Data, teacher targets, residual map, initial parameter distribution and default grid.
    """
    if not isinstance(name, str) or name not in COT_PROBLEMS:
        raise ValueError(f"unknown COT problem {name!r}; choose one of {sorted(COT_PROBLEMS)}")
    if name not in _BUILT:
        _BUILT[name] = COT_PROBLEMS[name]()
    return copy.deepcopy(_BUILT[name])
