"""Particles beside grid solutions: the building blocks of the validation scripts (SPEC.md §6).

A finite network trained by VarPro (eq. III.42) from uniform i.i.d. features on the
circle is compared, at matched times t = kτ, with the UFD (eq. III.35, r = 2, coef = ½)
solved on a grid, and with the teacher μ_γ, by the energy-distance MMD (SPEC §5).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

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


def ufd_reference(exp: CircleExperiment, store: Path | None = None) -> Trajectory:
    """The grid UFD at the experiment's matched times (weight μ_γ, uniform start)."""
    domain = Circle(exp.n_grid)
    times = exp.output_steps() * exp.tau
    return solve_ufd(domain, teacher_density(domain, exp.gamma), r=2.0, coef=0.5, t_eval=times,
                     rtol=1e-8, store=store)


def particle_run(exp: CircleExperiment, seed: int, ufd: Trajectory, *, store: Path | None = None,
                 progress: bool = False) -> dict:
    """One seed: VarPro from uniform features; MMD to the UFD and to the teacher at the output times."""
    domain = ufd.domain
    rng = np.random.default_rng(seed)
    problem = make_teacher_student(domain, exp.gamma, exp.n_data, exp.n_data, rng)
    omega0 = rng.uniform(0, 2 * np.pi, exp.width)
    steps = exp.output_steps()
    gcd = int(np.gcd.reduce(steps[1:])) if steps.size > 1 else 1
    traj = run_varpro(problem, omega0, lam=exp.lam, reg=exp.reg, tau=exp.tau, steps=int(steps[-1]),
                      save_every=gcd, store=store, progress=progress)
    keep = np.searchsorted(np.round(traj.t / exp.tau).astype(int), steps)
    teacher_pts, teacher_w = grid_points(domain, ufd.static["weight"])  # the UFD weight is μ_γ
    to_ufd, to_teacher = [], []
    for k, idx in enumerate(keep):
        pts = traj.positions[idx]
        centres, masses = grid_points(domain, ufd.rho[k])
        to_ufd.append(mmd(pts, centres, domain, y_weights=masses))
        to_teacher.append(mmd(pts, teacher_pts, domain, y_weights=teacher_w))
    return {"t": traj.t[keep], "mmd_to_ufd": np.array(to_ufd), "mmd_to_teacher": np.array(to_teacher),
            "risk": traj.risk[keep], "positions": traj.positions[keep]}


def average_runs(runs: list[dict]) -> dict:
    out = {"t": runs[0]["t"]}
    for key in ("mmd_to_ufd", "mmd_to_teacher", "risk"):
        out[key] = np.mean([r[key] for r in runs], axis=0)
    return out


def pairs(t: np.ndarray, values: np.ndarray) -> list[list[float]]:
    return [[float(a), float(b)] for a, b in zip(t, values)]


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
