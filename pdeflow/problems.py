"""Problem files (TOML) of ``solvers/``: read, check and run them.

A problem file names the model, the domain, the weight, the initial density, the
model parameters, the output times and the solver; see ``solvers/ufd_circle.toml``.

Every section and key is checked against the tables below before anything is run or
written: unknown names are refused with the nearest valid one suggested, counts must be
TOML integers (``n = 64``; ``64.0`` and ``64.7`` are refused), numbers must be numbers
(``true`` is not one), and ``name`` must be a plain file stem, since it names the output
files.  The tables are registries: a new domain kind, density kind or model is a new entry
(:data:`DOMAIN_KINDS`, :data:`DENSITY_KINDS`, :data:`MODELS`), not a new branch.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

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
    """A path to a TOML file, or the name of one in pdeflow's own ``solvers/`` (default: ``ufd_circle``).

    An argument ending in ``.toml`` or containing a path separator is a path and must exist
    (a user's own problem is data, so any path is fine); anything else is a name and is
    looked up only among the package's problem files, never in the working directory.
    """
    arg = DEFAULT_PROBLEM if name_or_path is None else str(name_or_path)
    if arg.endswith(".toml") or "/" in arg or "\\" in arg:
        path = Path(arg)
        if not path.is_file():
            raise FileNotFoundError(f"no problem file {arg!r}")
        return path
    return find_named("solvers", arg, ".toml")


# ---- value checkers: (value, where) -> checked value -------------------------------------------

Checker = Callable[[Any, str], Any]


def _suggest(name: str, valid) -> str:
    close = difflib.get_close_matches(name, sorted(valid), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _integer(minimum: int) -> Checker:
    def check(value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            hint = f" (write {int(value)})" if isinstance(value, float) and value.is_integer() else ""
            raise ValueError(f"{where} must be an integer, got {value!r}{hint}")
        if value < minimum:
            raise ValueError(f"{where} must be an integer >= {minimum}, got {value}")
        return value
    return check


def _number(*, positive: bool = False, minimum: float | None = None) -> Checker:
    def check(value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{where} must be a finite number, got {value!r}")
        if positive and value <= 0:
            raise ValueError(f"{where} must be > 0, got {value!r}")
        if minimum is not None and value < minimum:
            raise ValueError(f"{where} must be >= {minimum}, got {value!r}")
        return float(value)
    return check


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where} must be a string, got {value!r}")
    return value


def _list_of(item: Checker, lengths: tuple[int, ...] | None = None) -> Checker:
    def check(value: Any, where: str) -> list:
        if not isinstance(value, list) or (lengths is not None and len(value) not in lengths):
            size = "" if lengths is None else " of " + " or ".join(str(n) for n in lengths) + " entries"
            raise ValueError(f"{where} must be a list{size}, got {value!r}")
        return [item(v, f"{where}[{k}]") for k, v in enumerate(value)]
    return check


def _torus_shape(value: Any, where: str) -> list[int]:
    """A torus shape: ``[n]``, ``[n1, n2]``, or a bare ``n`` for the 1-D torus (as ``Torus(n)`` takes)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return [_integer(3)(value, where)]
    return _list_of(_integer(3), (1, 2))(value, where)


# key -> (checker, required)
Table = dict[str, tuple[Checker, bool]]


@dataclass(frozen=True)
class Kind:
    """One kind of a section with a ``kind`` key: its own keys and how to build it."""

    keys: Table
    build: Callable[..., Any]


DOMAIN_KINDS: dict[str, Kind] = {
    "circle": Kind({"n": (_integer(3), True)}, lambda s: Circle(s["n"])),
    "torus": Kind({"shape": (_torus_shape, True), "length": (_number(positive=True), False)},
                  lambda s: Torus(s["shape"], s.get("length", 4.0))),
    "interval": Kind({"a": (_number(), True), "b": (_number(), True), "n": (_integer(3), True)},
                     lambda s: Interval(s["a"], s["b"], s["n"])),
    "box": Kind({"x": (_list_of(_number(), (2,)), True), "y": (_list_of(_number(), (2,)), True),
                 "shape": (_list_of(_integer(3), (2,)), True)},
                lambda s: Box(s["x"], s["y"], s["shape"])),
}

# build(domain, spec, section) -> density array, or None for "the solver's default"
DENSITY_KINDS: dict[str, Kind] = {
    "uniform": Kind({}, lambda d, s, section: None if section == "initial"
                    else np.full(d.shape, 1.0 / d.volume)),
    "teacher": Kind({"gamma": (_number(minimum=0.0), True)},
                    lambda d, s, section: teacher_density(d, s["gamma"])),
}

TIME_KEYS: Table = {"t_end": (_number(positive=True), False), "outputs": (_integer(2), False),
                    "plot_times": (_list_of(_number(minimum=0.0)), False)}


def _check_solver(problem: Problem) -> None:
    """The [solver] and [time] sections as :func:`pdeflow.solve` will check them (atol against the
    initial density is left to it; without a method the model's default, always valid, is used)."""
    from .checks import check_positive_scalar
    from .driver import check_rtol
    from .integrators import check_method, check_times

    if "method" in problem.solver:
        check_method(problem.solver["method"])
    check_times(problem.t_eval)
    if "rtol" in problem.solver:
        check_rtol(problem.solver["rtol"])
    if "atol" in problem.solver:
        check_positive_scalar(problem.solver["atol"], "atol")


def _check_ufd(problem: Problem) -> None:
    """Everything :func:`pdeflow.solve_ufd` checks before it works, done before anything is written."""
    from .checks import check_density, check_same_mass
    from .models import UFDParams

    UFDParams(**problem.parameters)
    _check_solver(problem)
    weight = check_density(problem.domain, problem.weight, "weight")
    if problem.rho0 is not None:
        check_same_mass(problem.domain, check_density(problem.domain, problem.rho0, "initial density"),
                        weight)


def _run_ufd(problem: Problem, store: Path, progress: bool):
    from .models import solve_ufd

    return solve_ufd(problem.domain, problem.weight, problem.rho0, t_eval=problem.t_eval,
                     store=store, progress=progress, **problem.parameters, **problem.solver)


def _teacher_student(problem: Problem):
    """The teacher–student data a Wasserstein-flow problem file describes in [parameters]."""
    from .particles import make_teacher_student

    p = problem.parameters
    return make_teacher_student(problem.domain, p["gamma"], p.get("n_data", 4096),
                                p.get("n_teacher", 4096), rng=p.get("seed", 0),
                                teacher_modes=p.get("teacher_modes", "iid"))


_FLOW_KEYS = ("lam", "reg", "r", "scheme")


def _check_wasserstein(problem: Problem) -> None:
    """Everything :func:`pdeflow.solve_wasserstein_flow` checks before it works."""
    from .models.wasserstein import WassersteinParams, check_probability

    p = problem.parameters
    WassersteinParams(**{k: p[k] for k in _FLOW_KEYS if k in p})
    if problem.domain.kind not in ("circle", "torus") or (problem.domain.kind == "torus"
                                                           and problem.domain.ndim != 2):
        raise ValueError(f"model 'wasserstein' runs on the circle or the 2-D torus (the thesis' features), "
                         f"not on a {problem.domain.ndim}-D {problem.domain.kind}")
    _check_solver(problem)
    if problem.rho0 is not None:
        check_probability(problem.domain, problem.rho0)
    _teacher_student(problem)


def _run_wasserstein(problem: Problem, store: Path, progress: bool):
    from .models import solve_wasserstein_flow

    p = problem.parameters
    return solve_wasserstein_flow(_teacher_student(problem), rho0=problem.rho0, t_eval=problem.t_eval,
                                  store=store, progress=progress,
                                  **{k: p[k] for k in _FLOW_KEYS if k in p}, **problem.solver)


@dataclass(frozen=True)
class Model:
    """What a problem file of one model may hold, how to check it fully, and how to run it.

    ``densities`` are the density sections the model reads (the UFD's ``[weight]`` has no
    meaning for a flow whose target is set by the teacher's data).
    """

    parameters: Table
    solver: Table
    check: Callable[[Problem], None]
    run: Callable[[Problem, Path, bool], Any]
    densities: tuple[str, ...] = ("weight", "initial")


MODELS: dict[str, Model] = {
    "ufd": Model(parameters={"r": (_number(), False), "coef": (_number(), False)},
                 solver={"method": (_string, False), "rtol": (_number(positive=True), False),
                         "atol": (_number(positive=True), False)},
                 check=_check_ufd, run=_run_ufd),
    "wasserstein": Model(
        parameters={"lam": (_number(positive=True), True), "reg": (_string, False),
                    "r": (_number(), False), "scheme": (_string, False),
                    "gamma": (_number(minimum=0.0), True), "n_data": (_integer(1), False),
                    "n_teacher": (_integer(1), False), "seed": (_integer(0), False),
                    "teacher_modes": (_string, False)},
        solver={"method": (_string, False), "rtol": (_number(positive=True), False),
                "atol": (_number(positive=True), False)},
        check=_check_wasserstein, run=_run_wasserstein, densities=("initial",)),
}

TOP_KEYS: Table = {"name": (_string, False), "model": (_string, False)}
SECTIONS = ("domain", "weight", "initial", "parameters", "time", "solver")

# A plain file stem: it names <name>.h5 and <name>.png inside --out and nothing else.
_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}")


# ---- reading ------------------------------------------------------------------------------------

def _check_keys(spec: dict, table: Table, section: str | None, source: str, kind: str | None = None) -> dict:
    """``spec`` checked against ``table``: no unknown or missing keys, every value of its type.

    ``section`` is ``None`` for the top level; ``kind`` names the section's kind in messages.
    """
    place = "at the top level" if section is None else f"in [{section}]"
    if kind is not None:
        place += f" (kind {kind!r})"
    unknown = sorted(set(spec) - set(table))
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(table), n=1) if len(unknown) == 1 else []
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(f"unknown keys {unknown} {place} of {source}; {hint}allowed: {sorted(table)}")
    missing = [key for key, (_, required) in table.items() if required and key not in spec]
    if missing:
        raise ValueError(f"missing key {missing[0]!r} {place} of {source}")
    prefix = "" if section is None else f"[{section}] "
    return {key: table[key][0](value, f"{prefix}{key}") for key, value in spec.items()}


def _section(spec: dict, name: str, source: str, required: bool = False) -> dict:
    value = spec.get(name)
    if value is None:
        if required:
            raise ValueError(f"missing section [{name}] in {source}")
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"[{name}] must be a section (a TOML table) in {source}, got {value!r}")
    return value


def _choices(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _kind_of(section: dict, name: str, kinds: dict[str, Kind], source: str, default: str | None,
             what: str) -> str:
    kind = section.get("kind", default)
    if kind is None:
        raise ValueError(f"missing key 'kind' in [{name}] of {source}; use {_choices(kinds)}")
    if not isinstance(kind, str) or kind not in kinds:
        hint = _suggest(kind, kinds) if isinstance(kind, str) else ""
        raise ValueError(f"unknown {what} kind {kind!r} in [{name}] of {source}; use {_choices(kinds)}{hint}")
    return kind


def _domain(spec: dict, source: str) -> Domain:
    section = _section(spec, "domain", source, required=True)
    kind = _kind_of(section, "domain", DOMAIN_KINDS, source, None, "domain")
    entry = DOMAIN_KINDS[kind]
    keys = {"kind": (_string, True), **entry.keys}
    values = _check_keys(section, keys, "domain", source, kind)
    try:
        return entry.build(values)
    except ValueError as err:
        raise ValueError(f"[domain] of {source}: {err}") from None


def _density(domain: Domain, spec: dict, name: str, source: str) -> np.ndarray | None:
    section = _section(spec, name, source)
    kind = _kind_of(section, name, DENSITY_KINDS, source, "uniform", f"{name} density")
    entry = DENSITY_KINDS[kind]
    values = _check_keys(section, {"kind": (_string, False), **entry.keys}, name, source, kind)
    try:
        return entry.build(domain, values, name)
    except ValueError as err:
        raise ValueError(f"[{name}] of {source}: {err}") from None


def _name(spec: dict, path: Path) -> str:
    name = spec.get("name", path.stem)
    where = "name" if "name" in spec else f"the file name {path.name!r} (used as name)"
    if not isinstance(name, str) or not _STEM.fullmatch(name):
        raise ValueError(f"{where} must be a plain file stem (letters, digits, '_', '-', '.', '+'; "
                         f"starting with a letter or digit; no path), got {name!r}")
    return name


def _top_level(spec: dict, source: str) -> None:
    """Unknown sections (tables) and unknown top-level keys; the sections' own keys come later."""
    for key, value in spec.items():
        if isinstance(value, dict) and key not in SECTIONS:
            close = difflib.get_close_matches(key, SECTIONS, n=1)
            hint = f"; did you mean [{close[0]}]?" if close else f"; sections are {list(SECTIONS)}"
            raise ValueError(f"unknown section [{key}] in {source}{hint}")
    plain = {key: value for key, value in spec.items() if key not in SECTIONS}
    _check_keys(plain, TOP_KEYS, None, source)


def load_problem(path: str | Path) -> Problem:
    """Read and check a problem file; ``ValueError`` (one line, naming the key) for anything wrong."""
    path = Path(path)
    source = str(path)
    try:
        with open(path, "rb") as fh:
            spec = tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"cannot read {source}: {err}") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"cannot read {source}: not UTF-8 text (byte {err.object[err.start:err.start + 1]!r} "
                         f"at position {err.start}); a problem file is TOML, which is UTF-8") from None
    _top_level(spec, source)
    model_name = spec.get("model", "ufd")
    if model_name not in MODELS:
        raise ValueError(f"unknown model {model_name!r} in {source}; this version runs "
                         f"{sorted(MODELS)}{_suggest(model_name, MODELS)}")
    model = MODELS[model_name]
    name = _name(spec, path)
    domain = _domain(spec, source)
    parameters = _check_keys(_section(spec, "parameters", source), model.parameters, "parameters", source)
    solver = _check_keys(_section(spec, "solver", source), model.solver, "solver", source)
    time = _check_keys(_section(spec, "time", source), TIME_KEYS, "time", source)
    t_eval = np.linspace(0.0, time.get("t_end", 1.0), time.get("outputs", 11))
    plot_times = time.get("plot_times", [float(t) for t in t_eval[:: max(1, len(t_eval) // 5)]])
    for section in ("weight", "initial"):
        if section in spec and section not in model.densities:
            raise ValueError(f"[{section}] does not apply to model {model_name!r} in {source}; "
                             f"its sections are {[s for s in SECTIONS if s not in ('weight', 'initial') or s in model.densities]}")
    outside = [t for t in plot_times if not 0.0 <= t <= t_eval[-1]]
    if outside:
        raise ValueError(f"[time] plot_times {outside} lie outside [0, t_end = {t_eval[-1]:g}] in {source}")
    return Problem(name=name, model=model_name, domain=domain,
                   weight=_density(domain, spec, "weight", source) if "weight" in model.densities else None,
                   rho0=_density(domain, spec, "initial", source),
                   parameters=parameters, t_eval=t_eval, plot_times=plot_times, solver=solver)


# ---- running ------------------------------------------------------------------------------------

def check_problem(problem: Problem) -> None:
    """Everything the model's solver would refuse, checked now (``ValueError``), before any output."""
    if problem.model not in MODELS:
        raise ValueError(f"unknown model {problem.model!r}; this version runs {sorted(MODELS)}")
    if not isinstance(problem.name, str) or not _STEM.fullmatch(problem.name):
        raise ValueError(f"problem name {problem.name!r} is not a plain file stem")
    MODELS[problem.model].check(problem)


def output_paths(problem: Problem, out_dir: Path) -> tuple[Path, Path]:
    """``<out_dir>/<name>.h5`` and ``<out_dir>/<name>.png``."""
    return out_dir / f"{problem.name}.h5", out_dir / f"{problem.name}.png"


def run_problem(problem: Problem, out_dir: Path, *, progress: bool = True, overwrite: bool = False,
                how_to_overwrite: str = "pass overwrite=True"):
    """Solve ``problem``, writing ``<name>.h5`` and ``<name>.png`` into ``out_dir``.

    The problem is checked in full, and the outputs of an earlier run are refused unless
    ``overwrite`` (``FileExistsError``, ``how_to_overwrite`` saying how), before the output
    directory is created or anything is written.  With ``overwrite``, the earlier trajectory
    is replaced only if it is a pdeflow trajectory no other process holds.
    """
    from .io import prepare_store
    from .outputs import check_replaceable, is_pdeflow_figure
    from .plotting import plot_densities

    check_problem(problem)
    out_dir = Path(out_dir)
    store, figure = output_paths(problem, out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"output directory {str(out_dir)!r} is a file")
    if out_dir.is_dir():
        prepare_store(store, overwrite=overwrite, how_to_overwrite=how_to_overwrite)
    if os.path.lexists(figure) and not overwrite:
        raise FileExistsError(f"{str(figure)!r} exists from an earlier run; {how_to_overwrite} to replace it")
    # only an earlier pdeflow figure is replaced: never a link, never the user's own file
    check_replaceable(figure, is_pdeflow_figure, "figure")
    if figure.is_file():
        figure.unlink()   # an old figure beside a new (perhaps interrupted) trajectory would mislead
    out_dir.mkdir(parents=True, exist_ok=True)
    traj = MODELS[problem.model].run(problem, store, progress)
    plot_densities(traj, problem.plot_times, path=figure)
    return traj, store, figure
