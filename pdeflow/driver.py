"""One driver for every grid model: :func:`solve` owns a run's lifecycle.

The model (:class:`pdeflow.models.GridModel`) says what the ODE system is and what is
recorded; :func:`solve` checks the input, opens the store, integrates with the chosen
:class:`scipy.integrate.OdeSolver`, records the outputs, and settles the status and
statistics through :class:`pdeflow.runs.Run`.
"""

from __future__ import annotations

import os

import numpy as np

from .scalars import as_flag, as_real
from .errors import IntegrationError
from .io import check_path
from .integrators import SolverStats, check_method, check_times, integrate, method_name
from .models.base import GridModel
from .runs import Run, previous_run
from .trajectory import Trajectory


def solve(model: GridModel, rho0: np.ndarray, t_eval, *, method=None, rtol: float = 1e-6,
          atol: float | None = None, store: str | os.PathLike | None = None,
          overwrite: bool = False, resume: bool = False, progress: bool = False) -> Trajectory:
    """Integrate a grid model from ``rho0`` and record it at the times ``t_eval``.

    Parameters
    ----------
    model : GridModel
        The semi-discrete PDE (e.g. :class:`pdeflow.UltraFastDiffusion`).
    rho0 : ndarray, shape ``model.domain.shape``
        Initial density, checked by ``model.check_initial`` (base: exact grid shape, real
        numbers, finite, non-negative; the UFD also: strictly positive, the weight's mass).
    t_eval : array_like, shape (T,)
        Increasing output times in [0, t_end]; integration runs from 0 to ``t_eval[-1]``.
    method : str, OdeSolver subclass or None
        A name in :data:`pdeflow.integrators.METHODS` or any
        :class:`scipy.integrate.OdeSolver` subclass; ``None``: ``model.default_method``.
    rtol, atol : float
        Tolerances: ``rtol`` in [100·eps, 1) (below, LSODA fails obscurely; at 1 or more it
        controls nothing), ``atol`` finite, > 0 and below the mean initial density (above, any
        solution is accepted); ``atol`` defaults to ``model.default_atol(rtol, rho0)``.
    store : path, optional
        HDF5 file written as the run goes (:mod:`pdeflow.io`); created before any work.
    overwrite : bool
        Replace an existing pdeflow trajectory at ``store`` (never another kind of file).
    resume : bool
        If ``store`` holds a complete run of the same model, parameters, static data, start
        ``rho0`` (stored as ``/static/rho0``) and output times, return it as read back instead
        of solving again (with ``method=None`` a run solved by any method at these tolerances
        counts: the default may change between versions, what it solves does not); if it holds an unfinished run of the same problem, solve again into
        it (a grid run restarts from ``rho0``: the integrator's internal state is not saved).
        Another run there — including a complete one with other output times — is a
        ValueError, and the file is left as it is.
    progress : bool
        Show a progress bar in simulated time.

    Returns
    -------
    Trajectory
        ``t`` (T,), ``rho`` ``(T, *grid shape)``, the model's diagnostics (T,) each, and the
        solver's work counters in ``stats``.

    Raises
    ------
    ValueError
        A model that is not a GridModel, a bad ``rho0``, times, tolerances or method, before
        any work or file.
    OSError
        ``store`` cannot be written or is not ours to replace.
    IntegrationError
        The run failed (time, cell, value); every output so far is kept.
    """
    if not isinstance(model, GridModel):
        raise ValueError(f"model must be a pdeflow GridModel (e.g. pf.UltraFastDiffusion), "
                         f"got {type(model).__name__}")
    any_method = method is None
    method = model.default_method if any_method else method
    check_method(method)
    t_eval = check_times(t_eval)
    rtol = check_rtol(rtol)
    rho0 = model.check_initial(rho0)
    y0 = model.to_state(rho0)
    atol = check_atol(model.default_atol(rtol, rho0) if atol is None else atol, rho0)
    overwrite, resume, progress = (as_flag(overwrite, "overwrite"), as_flag(resume, "resume"),
                                   as_flag(progress, "progress"))
    name = method_name(method)
    params = {**model.run_params(), "method": name, "rtol": rtol, "atol": atol,
              "t_end": float(t_eval[-1])}
    stats = SolverStats(method=name, rtol=rtol, atol=atol)
    mass0 = float(model.mass(model.to_density(y0)))
    check_mass = model.mass_rtol is not None

    def check_state(t: float, y: np.ndarray) -> None:
        model.check_state(t, y)
        if check_mass:
            drift = abs(float(model.mass(model.to_density(y))) - mass0)
            if drift > model.mass_rtol * abs(mass0):
                raise IntegrationError(f"mass drifted by {drift:.3g} (relative {drift / abs(mass0):.3g}) "
                                       f"at t = {t:.6g}: the integrator lost accuracy; "
                                       "try a smaller rtol", t=t)

    if store is not None:
        store = check_path(store)
    static = {**model.static(), "rho0": rho0}
    if resume and store is not None and os.path.lexists(store):
        done = previous_run(store, model.name, params, static, t_eval,
                            ignored=("t_end", "method") if any_method else ("t_end",))
        if done is not None:
            return done
        overwrite = True
    with Run(store, model=model.name, domain=model.domain, params=params, static=static,
             overwrite=overwrite) as run:
        def on_output(t: float, y: np.ndarray) -> None:
            rho = model.to_density(y)
            run.record(t, rho=rho, **model.diagnostics(rho))

        try:
            integrate(model, y0, t_eval, on_output=on_output, check_state=check_state,
                      method=method, rtol=rtol, atol=atol, progress=progress, stats=stats,
                      context=_context(model, t_eval, rtol, atol))
        finally:
            run.stats.update(stats.as_dict())
    return run.trajectory()


def _context(model: GridModel, t_eval: np.ndarray, rtol: float, atol: float) -> str:
    """What a user can change about a run that failed, for the error message."""
    shown = [f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}"
             for k, v in model.run_params().items()
             if isinstance(v, (int, float, str, np.number)) and not isinstance(v, bool)]
    shown += [f"rtol = {rtol:g}", f"atol = {atol:g}"]
    return f"for {', '.join(shown)} over t_eval [{t_eval[0]:g}, {t_eval[-1]:g}]"


#: Smallest relative tolerance: below about 100 machine epsilons LSODA and the other solvers
#: cannot meet it and fail with obscure messages.
RTOL_MIN = 100 * np.finfo(float).eps


def check_rtol(rtol) -> float:
    """``rtol`` as a float in [100·eps, 1), else a one-line ValueError naming it."""
    rtol = as_real(rtol, "rtol")
    if not (RTOL_MIN <= rtol < 1):
        raise ValueError(f"rtol must lie in [{RTOL_MIN:.3g}, 1), got {rtol!r}: below, the solver cannot "
                         "meet it; at 1 or more it controls nothing")
    return rtol


def check_atol(atol, rho0: np.ndarray) -> float:
    """``atol`` as a finite float > 0 and below the mean of ``|rho0|``, else a ValueError naming it."""
    atol = as_real(atol, "atol")
    scale = float(np.mean(np.abs(rho0)))
    if not (np.isfinite(atol) and atol > 0):
        raise ValueError(f"atol must be a positive finite number, got {atol!r}")
    if not atol < scale:
        raise ValueError(f"atol = {atol:g} is not below the mean initial density {scale:.6g}: "
                         "with it any solution would be accepted")
    return atol
