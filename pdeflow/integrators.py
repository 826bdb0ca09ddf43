"""Method-of-lines time integration: one scipy ``OdeSolver`` driven step by step.

The solver object lives for the whole run (no restart at output times); outputs
are read off its dense output, every accepted step is checked by the model, and
progress is shown in simulated time.  The model supplies the right-hand side and
its Jacobian in the layout each method wants (banded for LSODA, sparse for
BDF/Radau) through ``solver_options(method)``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable, Protocol

import numpy as np
from scipy.integrate import BDF, LSODA, Radau
from tqdm.auto import tqdm

METHODS = {"LSODA": LSODA, "BDF": BDF, "Radau": Radau}


class IntegrationError(RuntimeError):
    """A run that cannot go on; names the time and, where known, the grid cell and value."""

    def __init__(self, message: str, t: float | None = None, cell: tuple | None = None,
                 value: float | None = None):
        super().__init__(message)
        self.t, self.cell, self.value = t, cell, value


class SemiDiscreteSystem(Protocol):
    def rhs(self, t: float, y: np.ndarray) -> np.ndarray: ...

    def solver_options(self, method: str) -> dict: ...


@dataclass
class SolverStats:
    method: str
    rtol: float
    atol: float
    nsteps: int = 0
    nfev: int = 0
    njev: int = 0
    nlu: int = 0
    wall_time: float = 0.0
    message: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {sorted(METHODS)}")
    return method


def check_times(t_eval, t0: float = 0.0) -> np.ndarray:
    """Output times: finite, strictly increasing, starting at or after ``t0``, ending after it."""
    t = np.atleast_1d(np.asarray(t_eval, dtype=float))
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)):
        raise ValueError("t_eval must be a non-empty 1-D array of finite times")
    if np.any(np.diff(t) <= 0):
        raise ValueError("t_eval must be strictly increasing")
    if t[0] < t0 or t[-1] <= t0:
        raise ValueError(f"t_eval must lie in [{t0}, t_end] with t_end > {t0}, got [{t[0]}, {t[-1]}]")
    return t


def integrate(system: SemiDiscreteSystem, y0: np.ndarray, t_eval: np.ndarray, *,
              on_output: Callable[[float, np.ndarray], None],
              check_state: Callable[[float, np.ndarray], None] | None = None,
              method: str = "LSODA", rtol: float = 1e-6, atol: float = 1e-9,
              t0: float = 0.0, progress: bool = False) -> SolverStats:
    """Integrate ``y' = system.rhs(t, y)`` from ``t0``, calling ``on_output(t, y)`` at each ``t_eval``.

    ``check_state(t, y)`` runs after every accepted step and on every output and
    may raise :class:`IntegrationError`; outputs already delivered stay delivered.
    """
    solver_cls = METHODS[check_method(method)]
    stats = SolverStats(method=method, rtol=rtol, atol=atol)
    check = check_state or (lambda t, y: None)
    start = time.perf_counter()
    k = 0
    while k < t_eval.size and t_eval[k] <= t0:
        on_output(float(t_eval[k]), y0)
        k += 1
    t_end = float(t_eval[-1])
    solver = solver_cls(system.rhs, t0, np.array(y0, dtype=float), t_end, rtol=rtol, atol=atol,
                        **system.solver_options(method))
    bar = tqdm(total=t_end - t0, disable=not progress, unit="t", leave=False,
               bar_format="{l_bar}{bar}| t={n:.3g}/{total:.3g} [{elapsed}<{remaining}]")
    try:
        while k < t_eval.size:
            t_before = solver.t
            message = solver.step()
            stats.nsteps += 1
            if solver.status == "failed":
                raise IntegrationError(f"{method} failed at t = {solver.t:.6g}: {message}", t=solver.t)
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
    stats.message = "complete"
    return stats
