"""Weighted ultra-fast diffusion (docs: theory/ufd, thesis eq. III.35).

    ∂ₜμ = −div( μ ∇G(μ̄/μ) ),   G(w) = coef · w^r,  r > 1.

The thesis case (f_b, f_u) is r = 2, coef = ½.  Since μ∇G(w) = μ̄∇H(w) with
H′(w) = G′(w)/w, i.e. H = coef·r/(r−1)·w^{r−1}, we discretise the symmetric
μ̄-weighted form ∂ₜμ = −div(μ̄ ∇H(μ̄/μ)): finite volumes on cell averages, face
fluxes ``T·√(μ̄_l μ̄_r)·(H_r − H_l)`` (:mod:`pdeflow.fv`).  The scheme is second
order, conserves mass exactly, has μ̄ as an exact steady state, keeps μ > 0
(H → ∞ as μ → 0 pulls mass in), and its discrete energy
E_h = Σ|c| coef/(r−1) μ̄^r μ^{1−r} decays, since ∂E_h/∂μ_c = −|c| G_c gives
dE_h/dt = −Σ_faces |c| T √(μ̄_l μ̄_r) (H_r − H_l)(G_r − G_l) ≤ 0 (G and H both increase with w).
Of the face means tried (arithmetic or geometric, of μ or of μ̄) the geometric mean
of μ̄ had the smallest error on the thesis case: 3.9e-6 in L¹ at n = 1024 against
1.3e-5 for the arithmetic mean of μ.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from ..checks import check_density, check_positive_scalar, check_same_mass
from ..domains import Domain, check_domain
from ..scalars import as_real
from ..fv import BandedLayout, SparseLayout, band_ordering, face_graph
from ..fv.kernels import face_flux_divergence, face_flux_jacobian, ufd_potential
from ..newton_matrix import ScaledSymmetric
from ..trajectory import Trajectory
from .base import GridModel


@dataclass(frozen=True)
class UFDParams:
    """Exponent and coefficient of G(w) = coef · w^r in the weighted UFD (eq. III.35).

    Parameters
    ----------
    r : float
        Exponent, r > 1 (2 for the quadratic regularisations f_b and f_u).
    coef : float
        Coefficient, > 0: ‖ν̄‖^r for f_r, ½‖ν̄‖² for f_b and f_u (½ for a unit-mass teacher).
    """

    r: float = 2.0
    coef: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "r", as_real(self.r, "r"))
        if not np.isfinite(self.r) or self.r <= 1:
            raise ValueError(f"the UFD exponent r must be > 1, got {self.r}")
        object.__setattr__(self, "coef", check_positive_scalar(self.coef, "coef"))


class UltraFastDiffusion(GridModel):
    """The semi-discrete weighted UFD on ``domain`` with weight (target density) ``weight``.

    The unknown vector ``y`` holds the cell averages in *band order*
    (:func:`pdeflow.fv.band_ordering`): on periodic axes neighbours are at most two
    places apart, so the Jacobian is banded for LSODA.  Use :meth:`to_state` and
    :meth:`to_density` to convert.  Fluxes couple neighbours only, so the exact
    Jacobian is offered in banded and sparse form (``jacobian = "local"``).

    Parameters
    ----------
    domain : Domain
        The grid.
    weight : ndarray of shape ``domain.shape`` or callable
        The target density μ̄ > 0 (cell averages), or a function of the cell-centre coordinates.
    params : UFDParams
        Exponent and coefficient of G.
    """

    name = "ufd"
    jacobian = "local"
    #: J = K·diag(ψ′(y)), K the face graph's Laplacian weighted by the fixed mobilities
    scaled_symmetric = True
    #: right-hand side and Jacobian are numba only; scipy's BDF spent more than half its time at
    #: 128² in error norms whose threaded BLAS dot waits for a second thread (docs: theory/driver)
    blas_threads = 1

    @property
    def default_method(self) -> str:
        """``"LSODA"`` on a line or ring, ``"ReuseBDF"`` in 2-D (docs: theory/driver).

        LSODA's banded Jacobian has bandwidth 2 on a ring; in 2-D the band is 2·n₁ wide, and
        a reused sparse Cholesky factorization of the symmetrised Newton matrix
        (:class:`pdeflow.integrators_bdf.ReuseBDF` with :meth:`jac_scaled_symmetric`) ran 9×
        faster than scipy's ``BDF`` on the 128² torus, 12–14× faster than ``BDF`` with BLAS
        threads left alone (``pdeflow bench ufd2d``).
        """
        return "LSODA" if self.domain.ndim == 1 else "ReuseBDF"

    def __init__(self, domain: Domain, weight: np.ndarray, params: UFDParams = UFDParams()):
        self.domain = check_domain(domain)
        if not isinstance(params, UFDParams):
            raise ValueError(f"params must be a UFDParams(r, coef), got {type(params).__name__}")
        self.params = params
        self.weight = check_density(domain, weight, "weight")
        self.position = band_ordering(domain)
        self.graph = face_graph(domain).relabel(self.position)
        self._mubar = self.to_state(self.weight)
        g = self.graph
        with np.errstate(over="ignore"):   # a weight near the float range: refused by check_initial
            self._mobility = g.trans * np.sqrt(self._mubar[g.left] * self._mubar[g.right])
        n = domain.size
        self._psi, self._dpsi = np.empty(n), np.empty(n)
        self._vals = np.empty((self.graph.left.size, 4))
        self._banded: BandedLayout | None = None
        self._sparse: SparseLayout | None = None
        self._face_laplacian: sp.csc_matrix | None = None

    # ---- state <-> grid ------------------------------------------------
    def to_state(self, rho: np.ndarray) -> np.ndarray:
        """The cell averages in band order (:func:`pdeflow.fv.band_ordering`)."""
        y = np.empty(self.domain.size)
        y[self.position] = np.asarray(rho, dtype=float).ravel()
        return y

    def to_density(self, y: np.ndarray) -> np.ndarray:
        """The density on the grid, shape ``domain.shape``, of a state in band order."""
        return y[self.position].reshape(self.domain.shape)

    # ---- the ODE system -------------------------------------------------
    def rhs(self, t: float, y: np.ndarray) -> np.ndarray:
        """dμ/dt of the semi-discrete eq. (III.35)."""
        ufd_potential(y, self._mubar, self.params.coef, self.params.r, self._psi, self._dpsi)
        out = np.empty_like(y)
        face_flux_divergence(self._mobility, self._psi, self.graph.left, self.graph.right, out)
        return out

    def face_jacobian(self, y: np.ndarray) -> np.ndarray:
        """The four Jacobian entries of every face, shape ``(n_faces, 4)``."""
        ufd_potential(y, self._mubar, self.params.coef, self.params.r, self._psi, self._dpsi)
        face_flux_jacobian(self._mobility, self._dpsi, self.graph.left, self.graph.right, self._vals)
        return self._vals

    @property
    def banded(self) -> BandedLayout:
        """Where the face entries of the Jacobian go in LSODA's packed band storage."""
        if self._banded is None:
            self._banded = BandedLayout(self.graph)
        return self._banded

    @property
    def sparse(self) -> SparseLayout:
        """Where the face entries of the Jacobian go in a CSC matrix."""
        if self._sparse is None:
            self._sparse = SparseLayout(self.graph)
        return self._sparse

    @property
    def bandwidth(self) -> int:
        """Lower (= upper) bandwidth of the Jacobian in band order (2 on a ring)."""
        return self.banded.bandwidth

    def jac_banded(self, t: float, y: np.ndarray) -> np.ndarray:
        """Exact Jacobian in packed band storage, shape ``(2·bandwidth + 1, size)``."""
        return self.banded.assemble(self.face_jacobian(y))

    def jac_sparse(self, t: float, y: np.ndarray):
        """Exact Jacobian as a CSC matrix."""
        return self.sparse.assemble(self.face_jacobian(y))

    @property
    def face_laplacian(self) -> sp.csc_matrix:
        """K = Σ_faces m_f (e_l − e_r)(e_l − e_r)ᵀ, m_f the mobility T·√(μ̄_l μ̄_r), shape (size, size).

        Symmetric positive semi-definite and constant: the flux divergence is dμ/dt = Kψ(μ),
        ψ = H(μ̄/μ) cell by cell, so the Jacobian is K·diag(ψ′(μ)).
        """
        if self._face_laplacian is None:
            # the Jacobian's own face entries and assembly, with ψ′ ≡ 1: J = K·diag(ψ′) is then K
            vals = np.empty_like(self._vals)
            g = self.graph
            face_flux_jacobian(self._mobility, np.ones(self.domain.size), g.left, g.right, vals)
            self._face_laplacian = self.sparse.assemble(vals)
        return self._face_laplacian

    def jac_scaled_symmetric(self, t: float, y: np.ndarray) -> ScaledSymmetric:
        """Exact Jacobian as K·diag(dψ/dμ) (:attr:`face_laplacian`; ψ′ < 0, so Newton's matrix is
        symmetric positive definite after scaling, docs: theory/driver)."""
        ufd_potential(y, self._mubar, self.params.coef, self.params.r, self._psi, self._dpsi)
        return ScaledSymmetric(self.face_laplacian, self._dpsi.copy())

    # ---- diagnostics ----------------------------------------------------
    def energy(self, rho: np.ndarray) -> np.ndarray | float:
        """Discrete energy E_h(μ) = Σ|c| coef/(r−1) μ̄^r μ^{1−r} (docs: theory/ufd); works on stacks of densities."""
        return self._energy(rho)

    def _energy(self, rho):
        r, coef = self.params.r, self.params.coef
        return self.domain.integrate(coef / (r - 1) * self.weight**r * np.asarray(rho) ** (1 - r))

    def diagnostics(self, rho: np.ndarray) -> dict:
        """The discrete energy E_h and the mass, recorded at each output."""
        return {"energy": self.energy(rho), "mass": self.mass(rho)}

    def run_params(self) -> dict:
        """``r`` and ``coef``."""
        return asdict(self.params)

    def static(self) -> dict:
        """The weight μ̄, stored under ``/static/weight``."""
        return {"weight": self.weight}

    def default_atol(self, rtol: float, rho0: np.ndarray) -> float:
        """``1e-3·rtol`` times the mean weight."""
        return 1e-3 * rtol * float(np.mean(self.weight))

    def check_initial(self, rho0) -> np.ndarray:
        """The base checks, and: strictly positive, with the weight's mass (mass is conserved
        and the steady state is the weight); the energy and the right-hand side must be finite
        at ``rho0`` (densities near the float range overflow)."""
        rho0 = super().check_initial(rho0)
        rho0 = check_density(self.domain, rho0, "rho0")
        check_same_mass(self.domain, rho0, self.weight, name="rho0 (the initial density)")
        with np.errstate(over="ignore", invalid="ignore"):
            energy = self._energy(rho0)
            rate = self.rhs(0.0, self.to_state(rho0))
        if not np.isfinite(energy) or not np.all(np.isfinite(rate)):
            what = "energy" if not np.isfinite(energy) else "right-hand side"
            raise ValueError(f"the UFD {what} overflows at rho0 (weight up to {self.weight.max():.3g}, "
                             f"r = {self.params.r:g}, coef = {self.params.coef:g}): floats cannot hold it; "
                             "reduce the weight's scale, r or coef")
        return rho0

    def check_state(self, t: float, y: np.ndarray) -> None:
        """Raise :class:`IntegrationError` naming time, cell and value if ``y`` left the positive cone."""
        self._refuse(t, y, np.isfinite(y) & (y > 0), "non-positive")


def solve_ufd(domain: Domain, weight, rho0=None, *, r: float = 2.0, coef: float = 1.0,
              t_eval, method: str | None = None, rtol: float = 1e-6, atol: float | None = None,
              store: str | os.PathLike | None = None, overwrite: bool = False,
              resume: bool = False, progress: bool = False) -> Trajectory:
    """Solve the weighted ultra-fast diffusion ∂ₜμ = −div(μ∇(coef·(μ̄/μ)^r)) (docs: theory/ufd, eq. III.35).

    Parameters
    ----------
    domain : a :class:`pdeflow.Domain` (circle, torus, interval or box).
    weight : the target density μ̄ > 0, an array of shape ``domain.shape`` or a
        callable of the cell-centre coordinates.
    rho0 : the initial density μ₀ > 0 (same forms); default: uniform, with the weight's mass.
    r, coef : G(w) = coef·w^r; the thesis' case is r = 2, coef = ½.
    t_eval : increasing output times in [0, t_end]; integration runs from 0 to ``t_eval[-1]``.
    method : a name in :data:`pdeflow.integrators.METHODS` or an OdeSolver subclass; ``None``
        (default): ``"LSODA"`` (banded analytic Jacobian) in 1-D, ``"ReuseBDF"`` (sparse
        analytic Jacobian, LU reused across steps) in 2-D.  ``"BDF"`` and ``"Radau"`` take
        the sparse Jacobian too.
    rtol, atol : tolerances; ``atol`` defaults to ``1e-3·rtol`` times the mean density.
    store : path of an HDF5 file written as the run goes (see :mod:`pdeflow.io`).
    overwrite, resume : replace an earlier pdeflow trajectory at ``store``, or reuse it if it
        is this very run, complete (see :func:`pdeflow.solve`).
    progress : show a progress bar in simulated time.

    Returns
    -------
    :class:`pdeflow.Trajectory` with ``t``, ``rho`` (shape ``(len(t),) + domain.shape``),
    ``energy``, ``mass`` and solver statistics in ``stats`` (``nfev``, ``njev``, ``wall_time``).

    Raises
    ------
    ValueError for bad input and OSError for an unwritable ``store``, before any work;
    :class:`pdeflow.IntegrationError` (time, cell, value) if the run fails, after the
    outputs so far are saved.
    """
    from ..driver import solve

    params = UFDParams(r, coef)
    model = UltraFastDiffusion(domain, weight, params)
    if rho0 is None:
        rho0 = np.full(domain.shape, domain.integrate(model.weight) / domain.volume)
    # a callable or scalar rho0 is evaluated on the grid here; solve() checks the array
    # (shape, finite, positive, mass) through model.check_initial
    rho0 = domain.evaluate(rho0, "rho0")
    return solve(model, rho0, t_eval, method=method, rtol=rtol, atol=atol, store=store,
                 overwrite=overwrite, resume=resume, progress=progress)
