"""Problem files (TOML) of ``solvers/``: read, check and run them.

A problem file names the model, the domain, the weight, the initial density, the
model parameters, the output times and the solver; see ``solvers/ufd_circle.toml``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .domains import Box, Circle, Domain, Interval, Torus
from .project_files import find_named
from .teacher import teacher_density

DEFAULT_PROBLEM = "ufd_circle"


@dataclass
class Problem:
    name: str
    model: str
    domain: Domain
    weight: np.ndarray
    rho0: np.ndarray | None
    parameters: dict[str, float]
    t_eval: np.ndarray
    plot_times: list[float]
    solver: dict[str, Any] = field(default_factory=dict)


def find_problem(name_or_path: str | None) -> Path:
    """A path to a TOML file, or the name of one in ``solvers/`` (default: ``ufd_circle``)."""
    candidate = Path(name_or_path or DEFAULT_PROBLEM)
    if candidate.suffix == ".toml" and candidate.is_file():
        return candidate
    return find_named("solvers", candidate.stem, ".toml")


def _domain(spec: dict) -> Domain:
    kind = spec.get("kind")
    if kind == "circle":
        return Circle(spec["n"])
    if kind == "torus":
        return Torus(spec["shape"], spec.get("length", 4.0))
    if kind == "interval":
        return Interval(spec["a"], spec["b"], spec["n"])
    if kind == "box":
        return Box(tuple(spec["x"]), tuple(spec["y"]), spec["shape"])
    raise ValueError(f"unknown domain kind {kind!r}; use circle, torus, interval or box")


def _density(domain: Domain, spec: dict, what: str) -> np.ndarray | None:
    kind = spec.get("kind", "uniform")
    if kind == "uniform":
        return None if what == "initial" else np.full(domain.shape, 1.0 / domain.volume)
    if kind == "teacher":
        return teacher_density(domain, spec["gamma"])
    raise ValueError(f"unknown {what} density kind {kind!r}; use 'uniform' or 'teacher'")


ALLOWED = {"parameters": {"r", "coef"}, "solver": {"method", "rtol", "atol"}}


def load_problem(path: str | Path) -> Problem:
    with open(path, "rb") as fh:
        spec = tomllib.load(fh)
    for table, keys in ALLOWED.items():
        unknown = set(spec.get(table, {})) - keys
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)} in [{table}] of {path}; "
                             f"allowed: {sorted(keys)}")
    domain = _domain(spec.get("domain", {}))
    time = spec.get("time", {})
    t_end = float(time.get("t_end", 1.0))
    t_eval = np.linspace(0.0, t_end, int(time.get("outputs", 11)))
    plot_times = [float(t) for t in time.get("plot_times", t_eval[:: max(1, len(t_eval) // 5)])]
    return Problem(name=str(spec.get("name", Path(path).stem)), model=str(spec.get("model", "ufd")),
                   domain=domain, weight=_density(domain, spec.get("weight", {}), "weight"),
                   rho0=_density(domain, spec.get("initial", {}), "initial"),
                   parameters=dict(spec.get("parameters", {})), t_eval=t_eval,
                   plot_times=plot_times, solver=dict(spec.get("solver", {})))


def run_problem(problem: Problem, out_dir: Path, *, progress: bool = True):
    """Solve ``problem``, writing ``<name>.h5`` and ``<name>.png`` into ``out_dir``."""
    from .models import solve_ufd
    from .plotting import plot_densities

    if problem.model != "ufd":
        raise ValueError(f"unknown model {problem.model!r}; this version runs 'ufd'")
    out_dir.mkdir(parents=True, exist_ok=True)
    store = out_dir / f"{problem.name}.h5"
    traj = solve_ufd(problem.domain, problem.weight, problem.rho0, t_eval=problem.t_eval,
                     store=store, progress=progress, **problem.parameters, **problem.solver)
    figure = out_dir / f"{problem.name}.png"
    plot_densities(traj, problem.plot_times, path=figure)
    return traj, store, figure
