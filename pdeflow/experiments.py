"""Particles beside grid solutions: the building blocks of the validation scripts (docs: validation).

A finite network trained by VarPro (eq. III.42) from uniform i.i.d. features on the
circle or the torus is compared, at matched times t = kτ, with a grid solution — the UFD
(eq. III.35, r = 2, coef = ½) or the λ > 0 Wasserstein flow (eq. III.31), its exact mean-field
limit — and with the teacher measure μ̄, by the energy-distance MMD (docs: theory/metrics).
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .outputs import save_figure, write_summary_json
from .domains import Circle, Domain, Torus
from .io import load_trajectory
from .keys import SHORT, config_key
from .metrics import grid_mean_distance, grid_points, mean_distance, mmd, wasserstein_circle
from .models import solve_ufd, solve_wasserstein_flow
from .particles import make_teacher_student, run_two_timescale, run_varpro
from .particles.regularizers import regularizer
from .scalars import as_count, as_real
from .teacher import teacher_density
from .trajectory import Trajectory


#: Feature spaces of the experiments, by name: the thesis' circle, and its torus ℝ²/4ℤ² (docs: theory/particles).
SPACES: dict[str, Callable[[int], Domain]] = {"circle": Circle, "torus": lambda n: Torus((n, n), 4.0)}

#: How the particles are trained, by name: VarPro (eq. III.42) or two-timescale GD with η = λM (eq. III.44).
PARTICLE_METHODS: dict[str, Callable[..., Trajectory]] = {"varpro": run_varpro, "two_timescale": run_two_timescale}


@dataclass(frozen=True)
class ParticleExperiment:
    """Parameters of one particles-vs-PDE comparison (thesis §III.6.1; torus: Appendix III.B).

    ``space`` names the feature space (:data:`SPACES`; the grid has ``n_grid`` cells per axis).
    ``data_seed``: ``None`` draws each seed's own data and teacher from the seed (the thesis'
    averages over seeds); an integer fixes one problem for every seed, so that all particle
    runs share the data that a grid solution of the same problem was computed on.
    ``teacher_modes`` assigns the teacher atoms to the modes of μ_γ (:func:`pdeflow.sample_teacher`):
    "stratified" (the thesis code's fixed pattern, no multinomial noise in the mode masses) or "iid".
    ``method`` names how the particles are trained (:data:`PARTICLE_METHODS`).
    """

    gamma: float = 100.0
    width: int = 1024           # M
    lam: float = 1e-4
    reg: str = "f_b"
    n_data: int = 4096          # N = M̄
    tau: float = 2.0**-10
    t_end: float = 20.0
    outputs: int = 41           # matched output times in [0, t_end], on the τ lattice
    n_grid: int = 2048
    seeds: int = 6
    space: str = "circle"
    data_seed: int | None = None
    teacher_modes: str = "stratified"
    method: str = "varpro"

    def __post_init__(self):
        # One type per field: the run keys (:func:`run_key`) of gamma=100 and gamma=100.0 agree.
        for name in ("gamma", "lam", "tau", "t_end"):
            object.__setattr__(self, name, as_real(getattr(self, name), name))
        for name in ("tau", "t_end"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {getattr(self, name)!r}")
        for name in ("width", "n_data", "outputs", "n_grid", "seeds"):
            object.__setattr__(self, name, as_count(getattr(self, name), name, minimum=1))
        if self.data_seed is not None:
            object.__setattr__(self, "data_seed", as_count(self.data_seed, "data_seed"))
        for name in ("reg", "space", "teacher_modes", "method"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string, got {getattr(self, name)!r}")
        # names are checked here, at the door, not when a worker first uses them in a sweep
        for name, known in (("space", SPACES), ("method", PARTICLE_METHODS),
                            ("teacher_modes", ("iid", "stratified"))):
            if getattr(self, name) not in known:
                raise ValueError(f"unknown {name} {getattr(self, name)!r}; choose one of {sorted(known)}")
        regularizer(self.reg)

    def output_steps(self) -> np.ndarray:
        steps = int(round(self.t_end / self.tau))
        return np.unique(np.round(np.linspace(0, steps, self.outputs)).astype(int))

    def output_times(self) -> np.ndarray:
        """The matched output times kτ, shape (T,): where particles and grid runs are compared."""
        return self.output_steps() * self.tau

    def grid(self) -> Domain:
        """The grid of the experiment's feature space."""
        if self.space not in SPACES:
            raise ValueError(f"unknown space {self.space!r}; choose one of {sorted(SPACES)}")
        return SPACES[self.space](self.n_grid)

    def problem(self, rng=None):
        """The teacher–student problem: from ``data_seed`` if set, else from ``rng``."""
        source = rng if self.data_seed is None else self.data_seed
        return make_teacher_student(self.grid(), self.gamma, self.n_data, self.n_data, source,
                                    teacher_modes=self.teacher_modes)


#: The thesis figures' name for it (circle experiments).
CircleExperiment = ParticleExperiment


def uniform_points(domain: Domain, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` i.i.d. uniform points of ``domain``: shape (count,) in 1-D, (count, d) otherwise."""
    if domain.ndim == 1:
        return rng.uniform(domain.lower[0], domain.upper[0], count)
    return rng.uniform(domain.lower, domain.upper, (count, domain.ndim))


def ufd_reference(exp: ParticleExperiment, store: Path | None = None, resume: bool = False, *,
                  rtol: float = 1e-8, progress: bool = False) -> Trajectory:
    """The grid UFD at the experiment's matched times (weight μ_γ, uniform start).

    With ``resume``, the complete run already in ``store`` is read back, not solved again.
    """
    domain = exp.grid()
    return solve_ufd(domain, teacher_density(domain, exp.gamma), r=2.0, coef=0.5, t_eval=exp.output_times(),
                     rtol=rtol, store=store, resume=resume, progress=progress)


def wasserstein_reference(exp: ParticleExperiment, store: Path | None = None, *, rtol: float = 1e-6,
                          resume: bool = False, progress: bool = False) -> Trajectory:
    """The λ-flow (eq. III.31) of the experiment's problem (``data_seed``) at its matched times, uniform start.

    rtol = 1e-6 keeps its time error (about 1e-5 in L¹) far below the particles' distances.

    With ``resume``, a complete run already in ``store`` of the same problem, parameters and
    times is read back instead of recomputed (:func:`pdeflow.solve`).
    """
    if exp.data_seed is None:
        raise ValueError("the flow needs one problem for all particle runs: set data_seed")
    return solve_wasserstein_flow(exp.problem(), lam=exp.lam, reg=exp.reg, t_eval=exp.output_times(), rtol=rtol,
                                  store=store, resume=resume, progress=progress)


#: Fields of an experiment that say how many runs a sweep makes, not what one run is: more
#: seeds reuse the runs of the first ones.
SWEEP_ONLY_FIELDS = ("seeds",)


def run_key(exp: ParticleExperiment, seed: int) -> str:
    """The key of one particle run: SHA-256 of its full configuration (:func:`pdeflow.keys.config_key`).

    Every field of the experiment but :data:`SWEEP_ONLY_FIELDS`, and the seed.  The grid
    reference is not part of it: the run's file holds the particles only, and the distances to
    the reference are computed again whenever the run is read back (:func:`particle_run`
    checks that the reference is at the run's own times).
    """
    fields = {k: v for k, v in asdict(exp).items() if k not in SWEEP_ONLY_FIELDS}
    return config_key({"run": "varpro", "experiment": fields, "seed": as_count(seed, "seed")})


def run_name(exp: ParticleExperiment, seed: int) -> str:
    """File stem of one particle run: a readable prefix (f, M, λ, γ, seed) and its key's first characters.

    Two runs share a name only if they share their whole configuration (:func:`run_key`), so a
    sweep over τ, t_end, N or the outputs never reads another sweep's runs.
    """
    return (f"{exp.method}_{exp.reg}_M{exp.width}_lam{exp.lam:g}_gamma{exp.gamma:g}_seed{seed}_"
            f"{run_key(exp, seed)[:SHORT]}")


def check_reference_times(exp: ParticleExperiment, reference: Trajectory) -> None:
    """Refuse a grid reference that is not at the experiment's matched times (a one-line ValueError)."""
    times = exp.output_times()
    if reference.t.shape != times.shape or not np.allclose(reference.t, times, rtol=0,
                                                            atol=1e-12 * float(times[-1] or 1.0)):
        span = f" in [{reference.t[0]:g}, {reference.t[-1]:g}]" if reference.t.size else ""
        raise ValueError(f"reference: the {reference.model or 'grid'} run has {reference.t.size} outputs{span}, "
                         f"not this experiment's {times.size} matched "
                         f"times in [0, {times[-1]:g}] (tau = {exp.tau:g}, t_end = {exp.t_end:g}, outputs = "
                         f"{exp.outputs}): solve the reference for this experiment (GridReferences)")


def particle_run(exp: ParticleExperiment, seed: int, reference: Trajectory | None, *, store: Path | None = None,
                 progress: bool = False, resume: bool = False) -> dict:
    """One seed: particles (``exp.method``) from uniform features; MMD to the grid run and to the teacher.

    ``reference`` is a grid run at the matched times (the UFD or the λ-flow); the distance to it
    is returned as ``"mmd_to_<model>"`` (``mmd_to_ufd``, ``mmd_to_wasserstein``).  ``None``: no
    grid run (a teacher without a density, γ = ∞), the particles and the teacher only.
    "The teacher" is the run's own teacher measure μ̄ = (1/M̄) Σ δ_{ω̄ᵢ} (docs: theory/metrics), the teacher of
    the training problem itself (for f_u its unique minimiser), not μ_γ: against μ_γ every curve
    would flatten near MMD(μ̄, μ_γ) ~ M̄^{-1/2}, a sampling floor unrelated to the training dynamics.

    The run records its key (:func:`run_key`) in ``store``; with ``resume``, a run already there
    (complete or interrupted) is continued, not redone, and one of another key is refused.
    """
    if exp.method not in PARTICLE_METHODS:
        raise ValueError(f"unknown method {exp.method!r}; choose one of {sorted(PARTICLE_METHODS)}")
    if reference is not None:
        check_reference_times(exp, reference)
    domain = exp.grid() if reference is None else reference.domain
    rng = np.random.default_rng(seed)
    problem = exp.problem(rng)
    omega0 = uniform_points(domain, exp.width, rng)
    steps = exp.output_steps()
    gcd = int(np.gcd.reduce(steps[1:])) if steps.size > 1 else 1
    traj = PARTICLE_METHODS[exp.method](problem, omega0, lam=exp.lam, reg=exp.reg, tau=exp.tau,
                                        steps=int(steps[-1]), save_every=gcd, store=store, progress=progress,
                                        resume=resume, key=run_key(exp, seed))
    saved_steps = np.round(traj.t / exp.tau).astype(int)
    keep = np.searchsorted(saved_steps, steps)
    if keep[-1] >= saved_steps.size or not np.array_equal(saved_steps[keep], steps):
        raise ValueError(f"store: {store} does not hold this run's outputs at steps {steps.tolist()}")
    # the self terms once per target: O(M̄²) for the teacher, O(G log G) by FFT for a grid density
    teacher_self = mean_distance(problem.teacher, domain)
    to_grid, to_teacher = [], []
    for k, idx in enumerate(keep):
        pts = traj.positions[idx]
        if reference is not None:
            centres, masses = grid_points(domain, reference.rho[k])
            to_grid.append(mmd(pts, centres, domain, y_weights=masses,
                               y_self=grid_mean_distance(domain, reference.rho[k])))
        to_teacher.append(mmd(pts, problem.teacher, domain, y_self=teacher_self))
    out = {"t": traj.t[keep], "mmd_to_teacher": np.array(to_teacher), "risk": traj.risk[keep],
           "positions": traj.positions[keep]}
    if reference is not None:
        out[f"mmd_to_{reference.model}"] = np.array(to_grid)
    return out


#: What worker processes run with: with one run per core, nested BLAS/numba threads only contend.
SINGLE_THREADED_ENV = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                        "NUMBA_NUM_THREADS")}


@contextmanager
def _single_threaded_children():
    """Workers inherit one thread each: with one run per core, nested BLAS/numba threads only contend."""
    keys = tuple(SINGLE_THREADED_ENV)
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: "1" for k in keys})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


Task = tuple[ParticleExperiment, int, Trajectory, Path | None]


def _check_stores(tasks: list[Task], resume: bool) -> None:
    """Before any work: no two runs share a file, and without ``resume`` no run's file exists yet."""
    stores = [Path(store) for *_, store in tasks if store is not None]
    shared = [str(s) for s, n in Counter(stores).items() if n > 1]
    if shared:
        raise ValueError(f"tasks: {len(shared)} files are the store of more than one run (e.g. {shared[0]})")
    existing = [s for s in stores if os.path.lexists(s)]
    if existing and not resume:
        raise FileExistsError(f"{len(existing)} of the runs are already stored (e.g. {existing[0]}): "
                              "pass resume=True to continue and reuse them, or choose other stores")


def run_many(tasks: list[Task], *, jobs: int = 1, executor: Any = None, progress: bool = False,
             resume: bool = False) -> list[dict]:
    """:func:`particle_run` for each ``(experiment, seed, reference, store)``; results in task order.

    Where the runs go: ``executor``, anything with the ``concurrent.futures`` ``submit``
    interface (a ``ProcessPoolExecutor``, a ``dask.distributed.Client``, see
    :func:`pdeflow.cluster.dask_client`); else ``jobs > 1`` worker processes of this machine
    (fresh interpreters, one thread each); else this process, one run after the other.
    Workers write the stores themselves: on a cluster they must see the same file system.

    Every store is checked before any work (:func:`_check_stores`); from then on each is this
    call's own, so every run is started with resume: a run whose worker died and which the
    executor starts again (dask does) continues from its last checkpoint, and runs already
    complete are read back, never redone.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
    if executor is not None and jobs > 1:
        raise ValueError(f"jobs = {jobs} with an executor: give one or the other (the executor's workers "
                         "run the runs)")
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise ValueError(f"executor must have a submit method (concurrent.futures), got {type(executor).__name__}")
    _check_stores(tasks, resume)
    if executor is None and jobs == 1:
        return [particle_run(exp, seed, ref, store=store, progress=progress, resume=True)
                for exp, seed, ref, store in tasks]
    if executor is not None:
        return _submit_all(executor, tasks, progress)
    with _single_threaded_children(), ProcessPoolExecutor(
            jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        return _submit_all(pool, tasks, progress)


def _submit_all(executor: Any, tasks: list[Task], progress: bool) -> list[dict]:
    """Submit every task, gather the results in order; on an error or Ctrl-C, runs not started are cancelled.

    Each task carries its reference (pickled with it), so the executor can start a task again
    on any worker without anything else surviving the one that died.
    """
    bar = tqdm(total=len(tasks), desc="particle runs", disable=not progress)
    with warnings.catch_warnings():
        # dask advises scattering large arguments; shipping the reference with every task is
        # deliberate (scattered data dies with its only worker), so its warning would only mislead
        warnings.filterwarnings("ignore", message="(Large object|Sending large graph) of size",
                                category=UserWarning)
        futures = [executor.submit(particle_run, exp, seed, ref, store=store, resume=True)
                   for exp, seed, ref, store in tasks]
    try:
        for future in futures:
            future.add_done_callback(lambda _: bar.update(1))
        return [f.result() for f in futures]
    finally:
        for future in futures:
            if not future.done():
                future.cancel()
        bar.close()


References = Callable[[ParticleExperiment], Trajectory | None]


def run_sweep(configs: list[ParticleExperiment], references: References, *, jobs: int = 1,
              executor: Any = None, progress: bool = False, out_dir: Path | None = None,
              resume: bool = False) -> list[dict]:
    """Seed-averaged curves (:func:`average_runs`) for each experiment, against its grid reference.

    ``references`` is a function of the experiment returning its grid run at the experiment's
    matched times — :class:`pdeflow.grid_references.GridReferences` solves and stores each
    distinct one once — or ``None`` for an experiment without one (a teacher without density,
    γ = ∞).  It is called once per experiment, in this process; the runs go to
    ``executor`` or ``jobs`` processes (:func:`run_many`).  With ``out_dir`` every particle run is
    kept there as HDF5 (:func:`run_name`), which is what lets ``resume`` continue an
    interrupted sweep.
    """
    if not callable(references):
        # a mapping keyed by γ alone compared the runs of another τ or t_end at the wrong times
        raise ValueError("references must be a function of the experiment (e.g. GridReferences('ufd', out_dir)), "
                         f"not a {type(references).__name__}")
    reference_of = {exp: references(exp) for exp in dict.fromkeys(configs)}
    tasks = [(exp, seed, reference_of[exp], None if out_dir is None else out_dir / f"{run_name(exp, seed)}.h5")
             for exp in configs for seed in range(exp.seeds)]
    order = sorted(range(len(tasks)), key=lambda k: -tasks[k][0].width)  # widest first: workers end together
    by_task = dict(zip(order, run_many([tasks[k] for k in order], jobs=jobs, executor=executor,
                                       progress=progress, resume=resume)))
    means, k = [], 0
    for exp in configs:
        means.append(average_runs([by_task[k + s] for s in range(exp.seeds)]))
        k += exp.seeds
    return means


CURVES = ("risk", "mmd_to_teacher", "mmd_to_ufd")
CURVE_TITLES = ("reduced risk", "MMD to teacher", "MMD to UFD")


def average_runs(runs: list[dict]) -> dict:
    """The mean over runs of every curve (``t`` and ``positions`` excepted)."""
    out = {"t": runs[0]["t"]}
    for key in runs[0]:
        if key not in ("t", "positions"):
            out[key] = np.mean([r[key] for r in runs], axis=0)
    return out


def pairs(t: np.ndarray, values: np.ndarray) -> list[list[float]]:
    return [[float(a), float(b)] for a, b in zip(t, values)]


def curves_summary(mean: dict) -> dict:
    """The averaged curves as ``[[t, value], ...]`` lists, plus the run-averaged MMD to the UFD (if any)."""
    out = {key: pairs(mean["t"], mean[key]) for key in CURVES if key in mean}
    if "mmd_to_ufd" in mean:
        out["mean_mmd_to_ufd"] = float(np.mean(mean["mmd_to_ufd"]))
    return out


def plot_curves(axes, mean: dict, **style) -> None:
    """Reduced risk, MMD to the teacher and MMD to the UFD against t, one axis each (log scale)."""
    for ax, key in zip(axes, CURVES):
        if key in mean:
            ax.semilogy(mean["t"], mean[key], **style)


def finish_curve_figure(fig, axes, path: Path, windows: Sequence[tuple[float, float]] = ()) -> None:
    """Title the :func:`plot_curves` axes, shade the rate-fit ``windows`` and save the figure as PNG."""
    for ax, title in zip(axes, CURVE_TITLES):
        ax.set_title(title)
        ax.set_xlabel("t = kτ")
    for k, window in enumerate(windows):
        axes[1].axvspan(*window, color=("0.9", "0.8")[k % 2], zorder=0)
    axes[0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    save_figure(fig, path, dpi=110, close=False)


def log_rate(t: np.ndarray, values: np.ndarray, window: tuple[float, float]) -> tuple[float, float]:
    """Rate κ of a linear-rate decay values ≈ C e^{−κt} on ``window``: least squares on log values.

    Returns ``(κ, R²)``; R² near 1 says the decay is exponential there (a straight line in log scale).
    """
    t = np.asarray(t, dtype=float)
    keep = (t >= window[0]) & (t <= window[1])
    if keep.sum() < 3:
        raise ValueError(f"need at least 3 points in the window {window}, got {int(keep.sum())}")
    logs = np.log(np.asarray(values, dtype=float)[keep])
    slope, intercept = np.polyfit(t[keep], logs, 1)
    fitted = slope * t[keep] + intercept
    spread = np.sum((logs - logs.mean()) ** 2)
    r2 = 1.0 - np.sum((logs - fitted) ** 2) / spread if spread > 0 else 1.0
    return float(-slope), float(r2)


def _w1(x, y, domain: Domain, x_weights=None, y_weights=None) -> float:
    if domain.kind != "circle":
        raise ValueError(f"W1 is computed exactly on the circle only, not on a {domain.kind}")
    return wasserstein_circle(x, y, x_weights=x_weights, y_weights=y_weights, p=1)


#: Distances between weighted point sets on a domain, by name: ``f(x, y, domain, x_weights, y_weights)``.
DISTANCES: dict[str, Callable[..., float]] = {
    "mmd": lambda x, y, domain, x_weights=None, y_weights=None: mmd(x, y, domain, x_weights=x_weights,
                                                                     y_weights=y_weights),
    "w1": _w1,
}


def seed_distances(out_dir: Path, exp: ParticleExperiment, reference: Trajectory,
                   names: Sequence[str] = ("mmd",)) -> dict[str, np.ndarray]:
    """Distances (:data:`DISTANCES`) between each seed's stored particle run (:func:`run_name` in
    ``out_dir``) and a grid run at the grid run's output times; shape (seeds, T) each.

    :func:`run_sweep` returns seed averages; this reads the runs back for what an average of
    the distance loses (e.g. the root-mean-square over seeds, or W₁).
    """
    out: dict[str, list] = {name: [] for name in names}
    for seed in range(exp.seeds):
        traj = load_trajectory(out_dir / f"{run_name(exp, seed)}.h5")
        rows: dict[str, list] = {name: [] for name in names}
        for k, t in enumerate(reference.t):
            pts = traj.positions[int(np.argmin(np.abs(traj.t - t)))]
            centres, masses = grid_points(reference.domain, reference.rho[k])
            for name in names:
                rows[name].append(DISTANCES[name](pts, centres, reference.domain, y_weights=masses))
        for name in names:
            out[name].append(rows[name])
    return {name: np.array(v) for name, v in out.items()}


def grid_distance(coarse: Trajectory, fine: Trajectory, k: int, names: Sequence[str] = ("mmd",)) -> dict:
    """Distances between two grid runs of one problem at output k, the coarse grid's cell averages taken
    as a density on the fine grid (:func:`pdeflow.metrics.grid_points` with ``refine``)."""
    factor = fine.domain.shape[0] // coarse.domain.shape[0]
    a = grid_points(coarse.domain, coarse.rho[k], refine=factor)
    b = grid_points(fine.domain, fine.rho[k])
    return {name: DISTANCES[name](a[0], b[0], fine.domain, x_weights=a[1], y_weights=b[1]) for name in names}


def fit_exponent(widths: Sequence[int], values: Mapping[float, np.ndarray]) -> float:
    """Slope β of log value = a_t + β log M over widths M, one intercept a_t per time t (least squares).

    ``values[t]`` holds one value per width.
    """
    x = np.log(np.asarray(widths, dtype=float))
    xc = x - x.mean()
    num = sum(xc @ (np.log(v) - np.log(v).mean()) for v in values.values())
    return float(num / (len(values) * (xc @ xc)))


def write_summary(out_dir: Path, summary: dict, name: str = "summary.json") -> Path:
    """``summary`` as JSON in ``out_dir/name``, replacing only an earlier pdeflow summary (:mod:`pdeflow.outputs`)."""
    return write_summary_json(out_dir / name, summary)


def ran_on(jobs: int, executor: Any = None) -> dict:
    """Where a sweep's runs went, for its summary: ``jobs`` processes of this machine, or an executor.

    Parameters
    ----------
    jobs : int
        Local worker processes (1 when the runs went to ``executor``).
    executor : object, optional
        What ran them (:func:`run_many`); for a dask client its scheduler address and worker count
        are recorded.

    Returns
    -------
    dict
        ``{"jobs": jobs}``, plus ``executor`` (its type), ``scheduler`` and ``workers`` where known.
    """
    where: dict = {"jobs": jobs}
    if executor is None:
        return where
    where["executor"] = type(executor).__name__
    address = getattr(getattr(executor, "scheduler", None), "address", None)
    if isinstance(address, str):
        where["scheduler"] = address
    nthreads = getattr(executor, "nthreads", None)
    if callable(nthreads):
        try:
            where["workers"] = len(nthreads())
        except Exception:   # a closed or unreachable client: the summary is still written
            pass
    return where


def parameters(exp: ParticleExperiment) -> dict:
    return asdict(exp)


def check_claim(ok: bool, message: str) -> None:
    """Validation claims hold or fail loudly (an exception, not an ``assert`` that -O removes)."""
    if not ok:
        raise AssertionError(message)


def check_lambda_claims(fu: Mapping[float, dict], window: tuple[float, float], late: tuple[float, float],
                        slower: float = 1.0) -> None:
    """The claims of a λ sweep (thesis Thms. III.3–III.4) on the f_u curves of the MMD to the teacher.

    ``fu[λ]`` holds ``rate`` and ``r2`` (:func:`log_rate` on ``window``), ``late_rate`` (on
    ``late``) and the ``mmd_to_teacher`` curve; λ = 0.1 and some λ ≤ 10⁻² must be present.

    * every λ ≤ 10⁻² decays at a linear rate on ``window`` (rate > 0, R² ≥ 0.9);
    * λ = 0.1's rate on ``late`` is below ``slower`` times the slowest of those rates;
    * λ = 0.1 ends farther from the teacher than every λ ≤ 10⁻² (so its late slowness is not the
      finite-M floor the small-λ curves stop at).
    """
    small = [lam for lam in fu if lam <= 1e-2]
    for lam in small:
        check_claim(fu[lam]["rate"] > 0 and fu[lam]["r2"] >= 0.9,
                    f"f_u, λ = {lam:g}: MMD to the teacher is not a linear-rate decay on {window} "
                    f"(rate {fu[lam]['rate']:.3g}, R² {fu[lam]['r2']:.3f})")
    slowest = min(fu[lam]["rate"] for lam in small)
    check_claim(fu[1e-1]["late_rate"] < slower * slowest,
                f"f_u, λ = 0.1 is not slower: its rate on {late} is {fu[1e-1]['late_rate']:.3g}, "
                f"{slower:g} × the slowest linear rate for λ ≤ 1e-2 is {slower * slowest:.3g}")
    final = {lam: fu[lam]["mmd_to_teacher"][-1][1] for lam in fu}
    check_claim(final[1e-1] > max(final[lam] for lam in small),
                f"f_u, λ = 0.1 ends no farther from the teacher than λ ≤ 1e-2 ({final}): "
                "its late slowness would be the finite-M floor, not a slower decay")
