"""``solve_cot``: the COT gradient flow of a test problem on a Θ-grid, run by :func:`pdeflow.solve`."""

from __future__ import annotations

import os

import numpy as np

from ..scalars import as_count, as_real
from ..trajectory import Trajectory
from .grid import SCHEMES, COTGrid, COTGridParams
from .problems import COTProblem, cot_problem

__all__ = ["solve_cot", "as_problem", "check_depth", "check_layers"]


def as_problem(problem) -> COTProblem:
    """A :class:`COTProblem` from itself or its name."""
    return problem if isinstance(problem, COTProblem) else cot_problem(problem)


def check_depth(S) -> int:
    """S as a positive integer (10.5, True, "10" are refused)."""
    return as_count(S, "S (depth, number of layers)", minimum=1)


def check_layers(domain, rho0, S: int, rtol: float = 1e-8) -> np.ndarray:
    """``rho0`` as an (S, *grid) array of finite, nonnegative layers of mass 1 each."""
    rho = np.asarray(rho0, dtype=float)
    if rho.shape == domain.shape:
        rho = np.broadcast_to(rho, (S,) + domain.shape)
    if rho.shape != (S,) + domain.shape:
        raise ValueError(f"rho0 has shape {rho.shape}; expected {(S,) + domain.shape} (S layers) "
                         f"or {domain.shape} (one layer, repeated)")
    if not np.all(np.isfinite(rho)):
        raise ValueError("rho0 has non-finite values")
    if rho.min() < 0:
        raise ValueError(f"rho0 must be nonnegative; its smallest value is {rho.min():.6g}")
    masses = domain.integrate(rho)
    k = int(np.argmax(np.abs(masses - 1)))
    if abs(masses[k] - 1) > rtol:
        raise ValueError(f"rho0: layer {k} has mass {masses[k]:.12g}; every layer of a COT state is a "
                         "probability density (mass 1)")
    return np.array(rho)


def solve_cot(problem, *, S: int, grid=None, scheme: str = "vanleer", t_eval, method=None,
              rtol: float = 1e-8, atol: float | None = None, rho0=None,
              max_boundary_mass: float = 1e-3, store: str | os.PathLike | None = None,
              overwrite: bool = False, progress: bool = False, resume: bool = False) -> Trajectory:
    """Solve the COT gradient flow ∂ₜμ − div((0, ∇R[μ])μ) = 0 ([C7], (I.21)) on a Θ-grid.

    Parameters
    ----------
    problem : str or COTProblem
        ``"P1"``, ``"P2"``, ``"P2b"``, ``"P3"`` (:func:`pdeflow.cot_problem`) or a problem object.
    S : int
        Number of explicit-Euler layers (depth discretisation, docs: theory/cot §4.1).
    grid : int, tuple of int or Domain, optional
        Cells per θ-axis (the problem fixes the bounds), or a Domain; default
        ``problem.default_grid``.
    scheme : {"vanleer", "upwind"}
        Face values: MUSCL with the van Leer limiter (order ≈ 2) or upwind (order 1).
    t_eval : array_like, shape (T,)
        Output times, increasing, in [0, t_end].
    method : str, OdeSolver subclass or None
        Any :data:`pdeflow.integrators.METHODS` name; default ``"RK45"`` (the flow is a
        nonstiff nonlocal advection; measured faster than LSODA, see README).  LSODA gets
        ``lband = uband = 1`` as a memory device.
    rtol, atol : float
        Tolerances (``atol`` default 1e-3·rtol × mean initial density).  Densities may dip below 0
        by up to 10·√(S·cells)·atol (the scheme is positive, Runge–Kutta stages only to within
        scipy's RMS error norm); lower values stop the run.
    rho0 : ndarray, shape ``(S, *grid)`` or the grid shape, optional
        Initial layers (default μ₀ of the problem in every layer); each must have mass 1.
    max_boundary_mass : float
        On a box/interval, the run fails (IntegrationError) when a layer holds more than this in
        the outermost cell layer; a start above it is refused (ValueError).
    store, overwrite, progress, resume
        As :func:`pdeflow.solve`; ``/rho`` has shape ``(T, S, *grid)``.

    Returns
    -------
    Trajectory
        ``t`` (T,), ``rho`` ``(T, S, *grid)``, ``risk``, ``grad_norm`` (G, [C15]), ``q`` = G/R,
        ``q_low`` ([C16]), ``dissipation`` (−dR_h/dt, exact), ``mass`` (T, S) and
        ``boundary_mass`` (T, S).

    Raises
    ------
    ValueError
        Unknown problem or scheme, S not a positive integer, layers not of mass 1, a start
        already leaking through the box, bad times/tolerances/method — before any work.
    IntegrationError
        Boundary leak, mass loss or a non-finite state during the run (outputs kept).
    """
    from ..driver import solve

    problem = as_problem(problem)
    S = check_depth(S)
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; choose one of {sorted(SCHEMES)}")
    leak = as_real(max_boundary_mass, "max_boundary_mass")
    if not leak > 0:
        raise ValueError(f"max_boundary_mass must be > 0, got {leak}")
    domain = problem.domain(problem.default_grid if grid is None else grid)
    model = COTGrid(problem, domain, COTGridParams(S, scheme, leak))
    rho0 = problem.initial_density(domain) if rho0 is None else rho0
    rho0 = check_layers(domain, rho0, S)
    rim = model.boundary_mass(rho0)
    if rim.max() > leak:
        raise ValueError(f"the initial layers hold mass {rim.max():.3g} in the outermost cells "
                         f"(> max_boundary_mass = {leak:g}): enlarge the box or refine the grid")
    if atol is None:
        atol = model.default_atol(as_real(rtol, "rtol"), rho0)
    model.negative_tolerance = 10 * np.sqrt(model.domain.size * S) * abs(as_real(atol, "atol"))
    return solve(model, rho0, t_eval, method=method, rtol=rtol, atol=atol, store=store,
                 overwrite=overwrite, progress=progress, resume=resume)
