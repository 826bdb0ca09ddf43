"""The COT gradient flow on a Θ-grid: S layers of finite volumes (docs: theory/cot §4.2, [C7]).

Layer k of the state holds the cell averages ρ_{k,c} of μ_t(·|s ∈ [k/S, (k+1)/S)) on one grid;
its weighted atoms (cell masses w_{k,c} = ρ_{k,c}|cell| at the centres θ_c) enter the shared
depth pass (:mod:`pdeflow.cot.depth`), which returns the layer potentials Π_{k,c}.  The face
velocity is the discrete gradient of the first variation,

    v_{k,f} = −(Π_{k,right(f)} − Π_{k,left(f)})/h_f,

and the face fluxes are upwind (order 1) or MUSCL–van Leer (order 2)
(:func:`pdeflow.fv.kernels.tensor_advection_fluxes`), zero through closed boundaries.  Because v is a
difference of ∂R_h/∂w = Π/S, the discrete risk R_h (the risk of the weighted-atom model)
decays exactly along the semi-discrete flow (docs: theory/cot §4.2 (c)):

    dR_h/dt = −(1/S) Σ_k Σ_f h_f|face_f| v_{k,f} F_{k,f} = −(1/S) Σ_k |cell| Σ_f (v⁺²ρ_L + v⁻²ρ_R) ≤ 0,

recorded as ``dissipation``.  Layers exchange no mass (the Leb marginal of [C1]); each keeps
mass 1 to round-off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..domains import Domain
from ..errors import IntegrationError
from ..fv import face_stencil
from ..fv.kernels import tensor_advection_fluxes
from ..models.base import GridModel
from .depth import DepthWorkspace, depth_pass, gradient_norm, pl_lower_bound
from .kernels import layer_summary
from .problems import COTProblem

__all__ = ["SCHEMES", "COTGridParams", "COTGrid"]

#: Flux schemes by name → reconstruction order of the flux kernels (:mod:`pdeflow.fv.kernels`).
SCHEMES: dict[str, int] = {"upwind": 1, "vanleer": 2}


@dataclass(frozen=True)
class COTGridParams:
    """Depth S, flux scheme and the boundary-leak threshold of a truncated box.

    ``max_boundary_mass``: largest mass any layer may hold in the outermost cell layer of a
    closed axis (the box truncates Θ = ℝ^p; beyond it the flow is no longer the COT flow).
    """

    S: int
    scheme: str = "vanleer"
    max_boundary_mass: float = 1e-3

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ValueError(f"unknown scheme {self.scheme!r}; choose one of {sorted(SCHEMES)}")


class COTGrid(GridModel):
    """Semi-discrete COT flow of ``problem`` on the Θ-grid ``domain`` with S layers.

    State: ``y`` = the S layers of cell averages, layer-major, each in C order
    (``to_density(y)`` has shape ``(S, *domain.shape)``).  The velocity is nonlocal (coupled
    through the forward and backward passes), so no Jacobian is offered; LSODA is told a band
    of 1 as a memory device only (:attr:`GridModel.band_hint`, docs: theory/cot §4.3).
    """

    name = "cot"
    jacobian = "none"
    default_method = "RK45"
    band_hint: ClassVar[int | None] = 1
    blas_threads: ClassVar[int | None] = 1         # the right-hand side is numba only
    mass_rtol = 1e-10

    def __init__(self, problem: COTProblem, domain: Domain, params: COTGridParams):
        if domain.ndim != len(problem.axes):
            raise ValueError(f"problem {problem.name} needs a {len(problem.axes)}-D grid, got {domain.ndim}-D")
        self.problem, self.domain, self.params = problem, domain, params
        self.S = params.S
        self.order = SCHEMES[params.scheme]
        self.stencil = face_stencil(domain)
        self.centres = np.stack([m.ravel() for m in domain.mesh()], axis=-1)   # (C, p)
        self.cell = domain.cell_volume
        closed = np.zeros(domain.shape, dtype=bool)
        for a, per in enumerate(domain.periodic):
            if not per:
                edge = [slice(None)] * domain.ndim
                edge[a] = [0, domain.shape[a] - 1]
                closed[tuple(edge)] = True
        self._rim = closed.ravel()
        self._rim_weight = self._rim.astype(float)
        self._sums, self._rim_sums = np.empty(params.S), np.empty(params.S)
        S, F = self.S, self.stencil.graph.left.size
        self._flux = np.empty((S, F))
        self._vel = np.empty((S, F))
        # the tensor-grid flux kernel: shape, periodicity and 1/h per axis (the stencil's own
        # values, face_graph numbers the faces axis by axis), and a line of slope scratch
        self._shape = np.array(domain.shape, dtype=np.int64)
        self._periodic = np.array(domain.periodic, dtype=np.bool_)
        starts = np.cumsum([0] + [domain.size // n * (n if per else n - 1)
                                  for n, per in zip(domain.shape, domain.periodic)])[:-1]
        self._inv_h = np.ascontiguousarray(self.stencil.inv_h[starts])
        self._slopes = np.empty(max(domain.shape))
        # every right-hand side is one fused depth pass on these buffers (the atoms — the cell
        # centres — are the same for all layers and all times) and one flux kernel
        self._depth = DepthWorkspace(problem.residual, S, domain.size, problem.x, problem.y, shared=True)
        self._theta = self._depth.kernel_theta(self.centres)
        #: Negative densities down to this are integrator noise, not a failure (set by solve_cot to
        #: 10·√size·atol: the semi-discrete flow keeps ρ ≥ 0 exactly, but Runge–Kutta stages do not,
        #: and scipy's RMS error norm lets a single component err by √size·atol).
        self.negative_tolerance = 0.0

    # ---- state <-> grid --------------------------------------------------
    def to_state(self, rho: np.ndarray) -> np.ndarray:
        return np.array(rho, dtype=float).reshape(-1)

    @property
    def density_shape(self) -> tuple[int, ...]:
        """S layers of densities on the Θ-grid."""
        return (self.S,) + self.domain.shape

    def to_density(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(y).reshape(self.density_shape)

    def layer_mass(self, rho: np.ndarray) -> np.ndarray:
        """Mass of each layer, shape (..., S)."""
        return self.domain.integrate(rho)

    def mass(self, rho: np.ndarray) -> float | np.ndarray:
        """Total mass of μ on [0, 1] × Θ, (1/S) Σ_k (layer mass) — 1 for a probability measure."""
        rho = np.asarray(rho)
        if rho.ndim == 1 + self.domain.ndim:
            return float(np.sum(rho)) * self.cell / self.S     # one state: one sum (checked every step)
        return np.mean(self.layer_mass(rho), axis=-1)

    def boundary_mass(self, rho: np.ndarray) -> np.ndarray:
        """Mass of each layer in the outermost cell layer of the closed axes, shape (S,) (0 on tori)."""
        flat = np.asarray(rho).reshape(self.S, -1)
        return flat[:, self._rim].sum(axis=1) * self.cell

    # ---- the ODE system --------------------------------------------------
    def fields(self, y: np.ndarray, velocities: bool = False):
        """Depth pass at the state ``y``: weights (S, C) and :class:`~pdeflow.cot.depth.DepthPass`."""
        weights = y.reshape(self.S, -1) * self.cell
        dp = depth_pass(self.problem.residual, self.centres, weights, self.problem.x, self.problem.y,
                        velocities=velocities)
        return weights, dp

    def _advect(self, y: np.ndarray, potential: np.ndarray, out: np.ndarray | None = None):
        """Face velocities (S, F) and dρ/dt (S, C) (into ``out`` if given); the fluxes are left in
        ``self._flux`` (:func:`~pdeflow.fv.kernels.tensor_advection_fluxes`, faces numbered as in
        :func:`~pdeflow.fv.face_graph`)."""
        out = np.empty((self.S, y.size // self.S)) if out is None else out
        tensor_advection_fluxes(y.reshape(self.S, -1), potential, self._shape, self._periodic, self._inv_h,
                                self.order, self._vel, self._flux, out, self._slopes)
        return self._vel, out

    def rhs(self, t: float, y: np.ndarray) -> np.ndarray:
        """dρ/dt of all layers: ∂ₜρ_k = div(ρ_k ∇Π_k) discretised on faces ([C7], docs: theory/cot §4.2).

        Two compiled calls on preallocated buffers: the fused depth pass (weights ρ·|cell|) and
        the flux kernel; the result is a fresh array (the integrator keeps it).
        """
        rho = y.reshape(self.S, -1)
        self._depth.run(self._theta, rho, self.cell)
        out = np.empty(y.shape)
        self._advect(y, self._depth.potential, out.reshape(self.S, -1))
        return out

    def dissipation(self, y: np.ndarray, potential: np.ndarray | None = None) -> float:
        """−dR_h/dt = (1/S) Σ_k |cell| Σ_f v_{k,f} F_{k,f} ≥ 0 (docs: theory/cot §4.2 (c))."""
        if potential is None:
            self._depth.run(self._theta, y.reshape(self.S, -1), self.cell)
            potential = self._depth.potential
        vel, _ = self._advect(y, potential)
        return float(np.sum(vel * self._flux)) * self.cell / self.S

    # ---- what is recorded ------------------------------------------------
    def diagnostics(self, rho: np.ndarray) -> dict:
        """risk R_h, grad_norm G (atoms, [C15]), q = G/R, q_low ([C16]), dissipation, per-layer mass
        and boundary mass."""
        y = self.to_state(rho)
        layers = y.reshape(self.S, -1)
        ws = self._depth
        ws.run(self._theta, layers, self.cell, velocities=True, kernels=True)
        dp = ws.depth_pass()
        G = gradient_norm(dp, layers * self.cell)
        q_low = pl_lower_bound(dp, ws.kernels)
        return {"risk": dp.risk, "grad_norm": G, "q": G / dp.risk if dp.risk > 0 else np.inf,
                "q_low": q_low, "dissipation": self.dissipation(y, dp.potential),
                "mass": self.layer_mass(rho), "boundary_mass": self.boundary_mass(rho)}

    def run_params(self) -> dict:
        return {"problem": self.problem.name, "S": self.S, "scheme": self.params.scheme,
                "max_boundary_mass": self.params.max_boundary_mass,
                "residual": self.problem.residual.describe()}

    def static(self) -> dict:
        return {"x": self.problem.x, "y": self.problem.y}

    def default_atol(self, rtol: float, rho0: np.ndarray) -> float:
        return 1e-3 * rtol * float(np.mean(np.abs(rho0)))

    # ---- checks ----------------------------------------------------------
    def check_state(self, t: float, y: np.ndarray) -> None:
        """Finite, nonnegative up to round-off and :attr:`negative_tolerance`, every layer of mass 1,
        no leak through a box wall."""
        layers = y.reshape(self.S, -1)
        lo, hi, finite = layer_summary(layers, self._rim_weight, self._sums, self._rim_sums)
        floor = -max(1e-9 * hi, self.negative_tolerance)
        if not (finite and lo >= floor):
            self._refuse(t, y, np.isfinite(y) & (y >= floor), "negative")
        masses = self._sums * self.cell
        k = int(np.argmax(np.abs(masses - 1.0)))
        if abs(masses[k] - 1.0) > 1e-9:
            raise IntegrationError(f"layer {k} has mass {masses[k]:.15g} at t = {t:.6g} (should stay 1): "
                                   "the integrator lost accuracy; try a smaller rtol", t=t, cell=(k,),
                                   value=float(masses[k]))
        rim = self._rim_sums * self.cell
        k = int(np.argmax(rim))
        if rim[k] > self.params.max_boundary_mass:
            raise IntegrationError(
                f"layer {k} holds mass {rim[k]:.3g} in the outermost cells at t = {t:.6g} "
                f"(> max_boundary_mass = {self.params.max_boundary_mass:g}): the box "
                f"{self.domain.describe()['lower']}..{self.domain.describe()['upper']} is too small, "
                "the truncated flow is no longer the COT flow", t=t, cell=(k,), value=float(rim[k]))
