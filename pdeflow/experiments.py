"""Particles beside grid solutions: the building blocks of the validation scripts (docs: validation).

A finite network trained by VarPro (eq. III.42) from uniform i.i.d. features on the
circle is compared, at matched times t = kτ, with the UFD (eq. III.35, r = 2, coef = ½)
solved on a grid, and with the teacher measure μ̄, by the energy-distance MMD (docs: theory/metrics).
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .domains import Circle
from .metrics import grid_points, mmd
from .models import solve_ufd
from .particles import make_teacher_student, run_varpro
from .teacher import teacher_density
from .trajectory import Trajectory


@dataclass(frozen=True)
class CircleExperiment:
    """Parameters of one particles-vs-PDE comparison on the circle (thesis §III.6.1)."""

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

    def output_steps(self) -> np.ndarray:
        steps = int(round(self.t_end / self.tau))
        return np.unique(np.round(np.linspace(0, steps, self.outputs)).astype(int))


def ufd_reference(exp: CircleExperiment, store: Path | None = None, resume: bool = False) -> Trajectory:
    """The grid UFD at the experiment's matched times (weight μ_γ, uniform start).

    With ``resume``, the complete run already in ``store`` is read back, not solved again.
    """
    domain = Circle(exp.n_grid)
    times = exp.output_steps() * exp.tau
    return solve_ufd(domain, teacher_density(domain, exp.gamma), r=2.0, coef=0.5, t_eval=times,
                     rtol=1e-8, store=store, resume=resume)


def particle_run(exp: CircleExperiment, seed: int, ufd: Trajectory, *, store: Path | None = None,
                 progress: bool = False, resume: bool = False) -> dict:
    """One seed: VarPro from uniform features; MMD to the UFD and to the teacher at the output times.

    "The teacher" is the run's own teacher measure μ̄ = (1/M̄) Σ δ_{ω̄ᵢ} (docs: theory/metrics), the teacher of
    the training problem itself (for f_u its unique minimiser), not μ_γ: against μ_γ every curve
    would flatten near MMD(μ̄, μ_γ) ~ M̄^{-1/2}, a sampling floor unrelated to the training dynamics.

    With ``resume``, a run already in ``store`` (complete or interrupted) is continued, not redone.
    """
    domain = ufd.domain
    rng = np.random.default_rng(seed)
    problem = make_teacher_student(domain, exp.gamma, exp.n_data, exp.n_data, rng)
    omega0 = rng.uniform(0, 2 * np.pi, exp.width)
    steps = exp.output_steps()
    gcd = int(np.gcd.reduce(steps[1:])) if steps.size > 1 else 1
    traj = run_varpro(problem, omega0, lam=exp.lam, reg=exp.reg, tau=exp.tau, steps=int(steps[-1]),
                      save_every=gcd, store=store, progress=progress, resume=resume)
    keep = np.searchsorted(np.round(traj.t / exp.tau).astype(int), steps)
    to_ufd, to_teacher = [], []
    for k, idx in enumerate(keep):
        pts = traj.positions[idx]
        centres, masses = grid_points(domain, ufd.rho[k])
        to_ufd.append(mmd(pts, centres, domain, y_weights=masses))
        to_teacher.append(mmd(pts, problem.teacher, domain))
    return {"t": traj.t[keep], "mmd_to_ufd": np.array(to_ufd), "mmd_to_teacher": np.array(to_teacher),
            "risk": traj.risk[keep], "positions": traj.positions[keep]}


@contextmanager
def _single_threaded_children():
    """Workers inherit one thread each: with one run per core, nested BLAS/numba threads only contend."""
    keys = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
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


def run_many(tasks: list[tuple[CircleExperiment, int, Trajectory, Path | None]], *, jobs: int = 1,
             progress: bool = False, resume: bool = False) -> list[dict]:
    """:func:`particle_run` for each ``(experiment, seed, ufd, store)``; results in task order.

    ``jobs > 1`` runs them in that many worker processes (fresh interpreters, one thread each).
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    if jobs == 1:
        return [particle_run(exp, seed, ufd, store=store, progress=progress, resume=resume)
                for exp, seed, ufd, store in tasks]
    bar = tqdm(total=len(tasks), desc="particle runs", disable=not progress)
    with _single_threaded_children(), ProcessPoolExecutor(
            jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(particle_run, exp, seed, ufd, store=store, resume=resume)
                   for exp, seed, ufd, store in tasks]
        for future in futures:
            future.add_done_callback(lambda _: bar.update(1))
        results = [f.result() for f in futures]
    bar.close()
    return results


def run_name(exp: CircleExperiment, seed: int) -> str:
    """File stem of one particle run of a sweep: what varies between sweeps, and the seed."""
    return f"varpro_{exp.reg}_M{exp.width}_lam{exp.lam:g}_gamma{exp.gamma:g}_seed{seed}"


def run_sweep(configs: list[CircleExperiment], ufds: dict[float, Trajectory], *, jobs: int = 1,
              progress: bool = False, out_dir: Path | None = None, resume: bool = False) -> list[dict]:
    """Seed-averaged curves (:func:`average_runs`) for each experiment, against the UFD of its γ.

    With ``out_dir`` every particle run is kept there as HDF5 (see :func:`run_name`), which
    is what lets ``resume`` continue an interrupted sweep.
    """
    tasks = [(exp, seed, ufds[exp.gamma], None if out_dir is None else out_dir / f"{run_name(exp, seed)}.h5")
             for exp in configs for seed in range(exp.seeds)]
    order = sorted(range(len(tasks)), key=lambda k: -tasks[k][0].width)  # widest first: workers end together
    by_task = dict(zip(order, run_many([tasks[k] for k in order], jobs=jobs, progress=progress,
                                       resume=resume)))
    means, k = [], 0
    for exp in configs:
        means.append(average_runs([by_task[k + s] for s in range(exp.seeds)]))
        k += exp.seeds
    return means


CURVES = ("risk", "mmd_to_teacher", "mmd_to_ufd")
CURVE_TITLES = ("reduced risk", "MMD to teacher", "MMD to UFD")


def average_runs(runs: list[dict]) -> dict:
    out = {"t": runs[0]["t"]}
    for key in CURVES:
        out[key] = np.mean([r[key] for r in runs], axis=0)
    return out


def pairs(t: np.ndarray, values: np.ndarray) -> list[list[float]]:
    return [[float(a), float(b)] for a, b in zip(t, values)]


def curves_summary(mean: dict) -> dict:
    """The averaged curves as ``[[t, value], ...]`` lists, plus the run-averaged MMD to the UFD."""
    out = {key: pairs(mean["t"], mean[key]) for key in CURVES}
    out["mean_mmd_to_ufd"] = float(np.mean(mean["mmd_to_ufd"]))
    return out


def plot_curves(axes, mean: dict, **style) -> None:
    """Reduced risk, MMD to the teacher and MMD to the UFD against t, one axis each (log scale)."""
    for ax, key in zip(axes, CURVES):
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
    fig.savefig(path, dpi=110)


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


def write_summary(out_dir: Path, summary: dict) -> Path:
    path = out_dir / "summary.json"
    path.write_text(json.dumps(summary, indent=2, default=float))
    return path


def parameters(exp: CircleExperiment) -> dict:
    return asdict(exp)


def check_claim(ok: bool, message: str) -> None:
    """Validation claims hold or fail loudly (an exception, not an ``assert`` that -O removes)."""
    if not ok:
        raise AssertionError(message)
