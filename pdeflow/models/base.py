"""The contract every grid model fulfils, so that one driver (:func:`pdeflow.solve`) runs them all.

A grid model turns a density on a :class:`~pdeflow.Domain` into a semi-discrete ODE system
dy/dt = rhs(t, y) on a state vector ``y`` (the cell averages, in an order of the model's
choosing), and says what is recorded at each output.  The driver owns everything else:
the integrator, the output times, the HDF5 store, status, statistics and errors.

A model offers the Jacobian that its structure allows (:attr:`GridModel.jacobian`):

* ``"local"`` — fluxes couple neighbouring cells only: :meth:`jac_banded` (packed band
  storage, for LSODA) and :meth:`jac_sparse` (CSC, for BDF/Radau) are exact and cheap;
  a model whose fluxes are ``T(ψ_r − ψ_l)`` of a cell-wise potential ψ(y) also offers
  :meth:`jac_scaled_symmetric`, J = S·diag(ψ′) with S symmetric, which an integrator
  that accepts it factorizes by sparse Cholesky (``scaled_symmetric = True``);
* ``"dense"`` — nonlocal but available: :meth:`jac_dense`;
* ``"none"`` — the integrator approximates it by finite differences if it needs one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from ..domains import Domain, _real_array
from ..errors import IntegrationError


class GridModel(ABC):
    """Base class of the grid models (UFD, λ > 0 Wasserstein flow, COT).

    Subclasses set :attr:`name`, :attr:`jacobian` and :attr:`default_method` and
    implement :meth:`rhs` and :meth:`diagnostics`; they override :meth:`to_state` and
    :meth:`to_density` when the state is stored in another order than the grid's.

    Attributes
    ----------
    domain : Domain
        The grid the densities live on.
    name : str
        Stored as the ``model`` attribute of the run's HDF5 file.
    jacobian : {"local", "dense", "none"}
        Which Jacobian the model supplies (see the module docstring).
    default_method : str
        Integrator used when :func:`pdeflow.solve` is given ``method=None``; a model may
        make it a property of its domain (the UFD: LSODA in 1-D, ReuseBDF in 2-D).
    band_hint : int or None
        For a model without a local Jacobian (``jacobian != "local"``): the half-bandwidth
        LSODA is told to assume.  Without ``lband``/``uband`` LSODA allocates a dense
        (size × size) work matrix, which for large states does not fit in memory; the band
        is then a memory device only (it is used just if LSODA switches to stiff mode).
    mass_rtol : float or None
        Relative mass drift beyond which a step is refused (the schemes conserve mass to
        round-off, so a larger drift means the integrator lost accuracy); ``None``: no check.
    blas_threads : int or None
        BLAS threads while integrating (:func:`pdeflow.integrators.blas_threads_limited`);
        ``None`` leaves them alone.  A model whose right-hand side does no BLAS work sets 1:
        the integrator's vector operations gain nothing from threads and lose much on a busy
        machine.
    scaled_symmetric : bool
        Whether :meth:`jac_scaled_symmetric` is offered (``jacobian == "local"`` only).
    """

    name: ClassVar[str] = "grid"
    jacobian: ClassVar[str] = "none"
    default_method: ClassVar[str] = "LSODA"
    mass_rtol: ClassVar[float | None] = 1e-10
    band_hint: ClassVar[int | None] = None
    blas_threads: ClassVar[int | None] = None
    scaled_symmetric: ClassVar[bool] = False

    domain: Domain

    # ---- state <-> grid --------------------------------------------------
    def to_state(self, rho: np.ndarray) -> np.ndarray:
        """The state vector, shape ``(domain.size,)``, of a density of shape ``domain.shape``."""
        return np.array(rho, dtype=float).ravel()

    def to_density(self, y: np.ndarray) -> np.ndarray:
        """The density, shape ``domain.shape``, of a state vector (inverse of :meth:`to_state`)."""
        return np.asarray(y).reshape(self.domain.shape)

    # ---- the ODE system --------------------------------------------------
    @abstractmethod
    def rhs(self, t: float, y: np.ndarray) -> np.ndarray:
        """dy/dt, shape ``(domain.size,)``."""

    def jac_banded(self, t: float, y: np.ndarray) -> np.ndarray:
        """Jacobian in packed band storage, shape ``(2·bandwidth + 1, size)`` (``jacobian == "local"``)."""
        raise NotImplementedError(f"{type(self).__name__} has no banded Jacobian")

    @property
    def bandwidth(self) -> int:
        """Lower (= upper) bandwidth of :meth:`jac_banded`."""
        raise NotImplementedError(f"{type(self).__name__} has no banded Jacobian")

    def jac_sparse(self, t: float, y: np.ndarray):
        """Jacobian as a scipy sparse matrix (``jacobian == "local"``)."""
        raise NotImplementedError(f"{type(self).__name__} has no sparse Jacobian")

    def jac_scaled_symmetric(self, t: float, y: np.ndarray):
        """The Jacobian as :class:`~pdeflow.newton_matrix.ScaledSymmetric` S·diag(d), S symmetric
        (models with ``scaled_symmetric = True``; Newton's matrix is then factorized by Cholesky)."""
        raise NotImplementedError(f"{type(self).__name__} has no Jacobian of the form S·diag(d)")

    def jac_dense(self, t: float, y: np.ndarray) -> np.ndarray:
        """Jacobian as a dense ``(size, size)`` array (``jacobian == "dense"``)."""
        raise NotImplementedError(f"{type(self).__name__} has no dense Jacobian")

    # ---- what is recorded ------------------------------------------------
    def mass(self, rho: np.ndarray) -> float | np.ndarray:
        """Total mass ∫ρ (works on stacks of densities)."""
        return self.domain.integrate(rho)

    @abstractmethod
    def diagnostics(self, rho: np.ndarray) -> dict[str, Any]:
        """The scalars (or small arrays) recorded beside ``rho`` at each output, e.g. energy and mass."""

    def run_params(self) -> dict[str, Any]:
        """The model's parameters, stored in the run's file (JSON and one attribute each)."""
        return {}

    def static(self) -> dict[str, np.ndarray]:
        """Time-independent arrays stored under ``/static`` (e.g. the UFD weight)."""
        return {}

    def default_atol(self, rtol: float, rho0: np.ndarray) -> float:
        """Absolute tolerance when none is given: ``1e-3·rtol`` times the mean initial density."""
        return 1e-3 * rtol * float(np.mean(np.abs(rho0)))

    # ---- checks ----------------------------------------------------------
    @property
    def density_shape(self) -> tuple[int, ...]:
        """Shape of a density of this model: the grid's, or ``(S, *grid)`` for S layers (COT)."""
        return self.domain.shape

    def check_initial(self, rho0: Any) -> np.ndarray:
        """``rho0`` as a float array if it may start a run, else a one-line ``ValueError`` naming it.

        :func:`pdeflow.solve` calls it before any work.  The base check: an array of real
        numbers (not bools, strings or callables) of exactly the grid shape — a scalar or a
        ``(n, 1)`` array is not broadcast —, finite, non-negative and not zero everywhere.
        Subclasses may ask more (the UFD: strictly positive, with the weight's mass) by
        extending it; a model whose density has layer axes sets :attr:`density_shape`.
        """
        if callable(rho0):
            raise ValueError("rho0 must be an array of cell averages, got a callable "
                             "(evaluate it on the grid first, e.g. with domain.evaluate)")
        values = _real_array(rho0, "rho0")
        if values.shape != self.density_shape:
            raise ValueError(f"rho0 has shape {values.shape}; expected {self.density_shape} "
                             "(no broadcasting)")
        bad = ~np.isfinite(values)
        if bad.any():
            cell = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"rho0 is not finite at cell {cell}: {float(values[cell])!r}")
        if values.min() < 0:
            cell = tuple(int(i) for i in np.unravel_index(int(np.argmin(values)), values.shape))
            raise ValueError(f"rho0 must be non-negative; cell {cell} holds {float(values[cell]):.6g}")
        if not values.max() > 0:
            raise ValueError("rho0 is zero everywhere: there is no mass to move")
        return values

    def check_state(self, t: float, y: np.ndarray) -> None:
        """Raise :class:`IntegrationError` naming time, cell and value if ``y`` is not admissible.

        The base check: finite, and non-negative.  Subclasses may ask more (the UFD:
        strictly positive).
        """
        self._refuse(t, y, np.isfinite(y) & (y >= 0), "negative")

    def _refuse(self, t: float, y: np.ndarray, ok: np.ndarray, kind: str) -> None:
        """Raise for the first state entry where ``ok`` is false, naming its grid cell."""
        if ok.all():
            return
        bad = int(np.flatnonzero(~ok)[0])
        probe = np.zeros(y.size)
        probe[bad] = 1.0
        where = self.to_density(probe)
        cell = tuple(int(i) for i in np.unravel_index(int(np.argmax(where)), where.shape))
        what = "non-finite" if not np.isfinite(y[bad]) else kind
        raise IntegrationError(f"{what} density at t = {t:.6g}, cell {cell}: {y[bad]!r}",
                               t=t, cell=cell, value=float(y[bad]))
