"""Method-of-lines time integration: one scipy ``OdeSolver`` driven step by step.

The solver object lives for the whole run (no restart at output times); outputs are
read off its dense output, and every accepted step is guarded: time must advance and
the model must accept the state (finite, in its cone, mass kept), else
:class:`IntegrationError`.  Progress is shown in simulated time.

Any :class:`scipy.integrate.OdeSolver` subclass can drive a run, by name through the
open registry :data:`METHODS` (``register_method`` adds one) or passed as the class.
The Jacobian handed to it follows the model's structure and what the solver accepts,
not the solver's name: a solver that takes ``lband``/``uband`` (LSODA) gets the banded
Jacobian of a local model; one that takes ``jac`` (BDF, Radau, …) gets the sparse one
(or the model's dense one), or, if the solver says ``accepts_scaled_symmetric`` and the
model offers it, the product form S·diag(d) (:mod:`pdeflow.newton_matrix`); an explicit
solver (RK45, DOP853, …) gets none.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import asdict, dataclass
from typing import Callable, Protocol

import numpy as np
from scipy.integrate import BDF, DOP853, LSODA, RK23, RK45, Radau, OdeSolver
from tqdm.auto import tqdm

from .errors import IntegrationError
from .integrators_bdf import ReuseBDF
from .threads import blas_threads_limited

__all__ = ["METHODS", "IntegrationError", "ReuseBDF", "SolverStats", "blas_threads_limited", "check_method",
           "check_times", "integrate", "jacobian_options", "register_method"]

#: Integrators by name; any OdeSolver subclass may be registered or passed directly.
METHODS: dict[str, type[OdeSolver]] = {"LSODA": LSODA, "BDF": BDF, "Radau": Radau,
                                       "RK45": RK45, "RK23": RK23, "DOP853": DOP853,
                                       "ReuseBDF": ReuseBDF}


#: the names pdeflow ships: a run recorded as "RK45" must have been solved by scipy's RK45
BUILTIN_METHODS = frozenset(METHODS)


def register_method(name: str, solver: type[OdeSolver]) -> None:
    """Make ``solver`` (an :class:`scipy.integrate.OdeSolver` subclass) available as ``method=name``.

    Parameters
    ----------
    name : str
        A new name, or one registered earlier (replaced); a built-in name (:data:`METHODS` as
        shipped) is refused, since runs record the method by name.
    solver : type
        The OdeSolver subclass.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"a method name must be a non-empty string, got {name!r}")
    if name in BUILTIN_METHODS and METHODS.get(name) is not solver:
        raise ValueError(f"method {name!r} is built in and cannot be replaced (runs record the method by "
                         "name): register the solver under another name")
    if not (isinstance(solver, type) and issubclass(solver, OdeSolver)):
        raise ValueError(f"method {name!r} must be an OdeSolver subclass, got {solver!r}")
    METHODS[name] = solver


class System(Protocol):
    """What the integrator needs of a model: the right-hand side and, optionally, Jacobians."""

    jacobian: str

    def rhs(self, t: float, y: np.ndarray) -> np.ndarray: ...


@dataclass
class SolverStats:
    """Work counters of one run (as in scipy's ``OdeResult``), plus wall time."""

    method: str
    rtol: float
    atol: float
    nsteps: int = 0
    nfev: int = 0
    njev: int = 0
    nlu: int = 0
    linear_solver: str = ""      # what factorized Newton's matrix (ReuseBDF), "" if not known
    wall_time: float = 0.0
    message: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def check_method(method) -> type[OdeSolver]:
    """The solver class for ``method``: a name in :data:`METHODS` or an OdeSolver subclass."""
    if isinstance(method, type) and issubclass(method, OdeSolver):
        return method
    if isinstance(method, str) and method in METHODS:
        return METHODS[method]
    raise ValueError(f"unknown method {method!r}; choose one of {sorted(METHODS)} "
                     "or pass a scipy.integrate.OdeSolver subclass")


def method_name(method) -> str:
    return method if isinstance(method, str) else method.__name__


def check_times(t_eval, t0: float = 0.0) -> np.ndarray:
    """Output times: finite, strictly increasing, starting at or after ``t0``, ending after it."""
    if isinstance(t_eval, (str, bytes)) or not hasattr(t_eval, "__len__") and not np.isscalar(t_eval):
        # generators and other one-shot iterables would be consumed by a first look
        raise ValueError(f"t_eval must be an array or list of times, got {type(t_eval).__name__}")
    from .domains import _real_array

    try:
        # real numbers only: bools and strings ("0.1") are not times, though numpy converts them
        t = np.atleast_1d(_real_array(t_eval, "t_eval"))
    except ValueError:
        raise ValueError(f"t_eval must be an array of numbers, got {t_eval!r:.80}") from None
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)):
        raise ValueError("t_eval must be a non-empty 1-D array of finite times")
    if np.any(np.diff(t) <= 0):
        raise ValueError("t_eval must be strictly increasing")
    if t[0] < t0 or t[-1] <= t0:
        raise ValueError(f"t_eval must lie in [{t0}, t_end] with t_end > {t0}, got [{t[0]}, {t[-1]}]")
    return t


def _below_resolution(system, t: float, y: np.ndarray, t_end: float) -> bool:
    """Whether ``y`` cannot change over [t, t_end] in floating point: (t_end − t)·|f(s, y)| <= eps·|y|
    at both ends s = t and s = t_end (a right-hand side that changes with time is caught there)."""
    for s in (t, t_end):
        with np.errstate(all="ignore"):
            rate = np.asarray(system.rhs(s, y), dtype=float)
            change = (t_end - t) * np.abs(rate)
        if not (np.all(np.isfinite(change)) and np.all(change <= np.finfo(float).eps * np.abs(y))):
            return False
    return True


def _accepts(solver_cls: type[OdeSolver], name: str) -> bool:
    params = inspect.signature(solver_cls.__init__).parameters
    return name in params


def jacobian_options(solver_cls: type[OdeSolver], system) -> dict:
    """Keyword arguments giving ``solver_cls`` the Jacobian that ``system`` offers by structure."""
    structure = getattr(system, "jacobian", "none")
    if structure == "local" and _accepts(solver_cls, "lband"):
        b = system.bandwidth
        return {"jac": system.jac_banded, "lband": b, "uband": b}
    hint = getattr(system, "band_hint", None)
    if structure != "local" and hint is not None and _accepts(solver_cls, "lband"):
        # no Jacobian, but keep LSODA from allocating a dense size² matrix (GridModel.band_hint)
        return {"lband": int(hint), "uband": int(hint)}
    if _accepts(solver_cls, "jac"):
        if structure == "local":
            # J = S·diag(d), S symmetric, to a solver that can factorize it by Cholesky (ReuseBDF)
            if getattr(solver_cls, "accepts_scaled_symmetric", False) and getattr(system, "scaled_symmetric", False):
                return {"jac": system.jac_scaled_symmetric}
            return {"jac": system.jac_sparse}
        if structure == "dense":
            return {"jac": system.jac_dense}
    return {}


def integrate(system, y0: np.ndarray, t_eval: np.ndarray, *,
              on_output: Callable[[float, np.ndarray], None],
              check_state: Callable[[float, np.ndarray], None] | None = None,
              method="LSODA", rtol: float = 1e-6, atol: float = 1e-9,
              t0: float = 0.0, progress: bool = False, stats: SolverStats | None = None,
              context: str = "") -> SolverStats:
    """Integrate ``y' = system.rhs(t, y)`` from ``t0``, calling ``on_output(t, y)`` at each ``t_eval``.

    ``check_state(t, y)`` runs after every accepted step and on every output and may raise
    :class:`IntegrationError`; so does a step that does not advance time or gives a
    non-finite state.  Outputs already delivered stay delivered, and ``stats`` (if given)
    holds the work counters so far even when an error propagates.  ``context`` (e.g. "for
    r = 2, coef = 0.5 over t_eval [0, 1]") is added to the message of a solver that fails or
    makes no progress, so that it names what the user can change.

    A solver that makes no progress while the time left is too short to change the state
    at all (``(t_end − t)·|dy/dt| <= eps·|y|`` in every entry, e.g. ``t_eval = [0, 1e-300]``)
    is not a failure: the remaining outputs are the current state.

    A system with an attribute ``blas_threads`` (e.g. 1) is integrated with BLAS limited to
    that many threads (:func:`blas_threads_limited`; :attr:`GridModel.blas_threads`).
    """
    solver_cls = check_method(method)
    stats = stats or SolverStats(method=method_name(method), rtol=rtol, atol=atol)
    check = check_state or (lambda t, y: None)
    start = time.perf_counter()
    k = 0
    while k < t_eval.size and t_eval[k] <= t0:
        on_output(float(t_eval[k]), y0)
        k += 1
    with blas_threads_limited(getattr(system, "blas_threads", None)):
        _run_solver(system, solver_cls, y0, t_eval, k, t0, on_output, check, rtol, atol, progress, stats,
                    context, start)
    return stats


def _run_solver(system, solver_cls, y0, t_eval, k, t0, on_output, check, rtol, atol, progress, stats,
                context, start) -> None:
    """The stepping loop of :func:`integrate` (outputs from index ``k`` on)."""
    t_end = float(t_eval[-1])
    solver = solver_cls(system.rhs, t0, np.array(y0, dtype=float), t_end, rtol=rtol, atol=atol,
                        **jacobian_options(solver_cls, system))
    bar = tqdm(total=t_end - t0, disable=not progress, unit="t", leave=False,
               bar_format="{l_bar}{bar}| t={n:.3g}/{total:.3g} [{elapsed}<{remaining}]")
    name = stats.method
    where = f" {context}" if context else ""
    try:
        while k < t_eval.size:
            t_before = solver.t
            message = solver.step()
            stats.nsteps += 1
            if not solver.t > t_before and solver.status != "failed" \
                    and _below_resolution(system, t_before, solver.y, t_end):
                # the time left cannot change the state in floating point: it is the answer
                while k < t_eval.size:
                    check(float(t_eval[k]), solver.y)
                    on_output(float(t_eval[k]), solver.y)
                    k += 1
                break
            if solver.status == "failed":
                raise IntegrationError(f"{name} failed at t = {solver.t:.6g}{where}: {message}", t=solver.t)
            if not solver.t > t_before:
                # e.g. LSODA with a step size that underflowed: it would loop for ever
                raise IntegrationError(f"{name} made no progress at t = {t_before:.6g} "
                                       f"(step size underflow){where}", t=float(t_before))
            if not np.all(np.isfinite(solver.y)):
                cell = int(np.flatnonzero(~np.isfinite(solver.y))[0])
                raise IntegrationError(f"{name} produced a non-finite state at t = {solver.t:.6g} "
                                       f"(state entry {cell})", t=float(solver.t))
            check(solver.t, solver.y)
            if t_eval[k] <= solver.t:
                interpolant = solver.dense_output()
                while k < t_eval.size and t_eval[k] <= solver.t:
                    y = interpolant(t_eval[k])
                    check(float(t_eval[k]), y)
                    on_output(float(t_eval[k]), y)
                    k += 1
            bar.update(solver.t - t_before)
    finally:
        bar.close()
        stats.wall_time = time.perf_counter() - start
        stats.nfev, stats.njev, stats.nlu = int(solver.nfev), int(solver.njev), int(solver.nlu)
        stats.linear_solver = str(getattr(solver, "linear_solver", ""))
    stats.message = "complete"
