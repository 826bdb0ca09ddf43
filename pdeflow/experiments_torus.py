"""The torus experiments of thesis Appendix III.B: Laplace RBF features on ℝ²/4ℤ² (docs: validation).

One setting serves the four torus figures (``fig_III_11_12``, ``fig_III_13``, ``fig_III_14``,
``fig_torus_ufd``): the same data size, step, horizon, output times and UFD grid, so that a
configuration two figures both need is one run, under one file name (:func:`pdeflow.experiments.run_name`),
and figures run into one ``--out`` directory with ``--resume`` share it instead of running it again.
Each figure also writes its summary under its own name there (:func:`write_figure_summary`),
since ``summary.json`` is the last figure's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from .experiments import ParticleExperiment, write_summary
from .grid_references import GridReferences
from .trajectory import Trajectory

#: The thesis setting (N = M̄ = 4096, τ = 2⁻¹⁰, t ≤ 20), outputs every 0.25, the UFD on 128² cells
#: (Δ = 1/32: four cells across the half-width 0.13 of a γ = 100 peak).
TORUS_FULL = ParticleExperiment(space="torus", gamma=100.0, n_data=4096, tau=2.0**-10, t_end=20.0,
                                outputs=81, n_grid=128, seeds=1)
#: Quick (CI): N = 1024, τ = 2⁻⁸ where λ allows it (:func:`stable_tau`), t ≤ 5, the UFD on 64².
TORUS_QUICK = ParticleExperiment(space="torus", gamma=100.0, n_data=1024, tau=2.0**-8, t_end=5.0,
                                 outputs=21, n_grid=64, seeds=1)

#: Seeds per width in full mode.  A VarPro step costs ~N·M, so one M = 1024 run costs as much as 32
#: runs at M = 32: the narrow widths get the thesis' 6 seeds, M = 512 two and M = 1024 one, which
#: keeps the four figures within an hour on two cores at the ~38 steps/s measured for M = 1024
#: (about 50 minutes with their shared runs read back; docs: validation).
FULL_SEEDS = {32: 6, 128: 6, 512: 2, 1024: 1}


def torus_setting(quick: bool) -> ParticleExperiment:
    """The common setting of the torus figures (quick or full)."""
    return TORUS_QUICK if quick else TORUS_FULL


def stable_tau(base: ParticleExperiment, lam: float) -> float:
    """The step of a run at ridge λ: the setting's τ, halved down to the largest power of two ≤ λ.

    The explicit step moves a particle by τ·u∇h, and h scales like 1/λ where the data are few:
    on the torus, λ = 10⁻³ converges at τ = 2⁻¹⁰ and diverges at 2⁻⁹ (the thesis finds λ < 10⁻³
    impracticable at τ = 2⁻¹⁰).  The full setting's τ = 2⁻¹⁰ is left as it is for every λ ≥ 10⁻³.
    """
    return min(base.tau, 2.0 ** np.floor(np.log2(lam)))


def configure(base: ParticleExperiment, quick: bool, **changes) -> ParticleExperiment:
    """``base`` with ``changes``, the step :func:`stable_tau` for its λ and, in full mode, the width's seeds."""
    exp = replace(base, **changes)
    exp = replace(exp, tau=stable_tau(base, exp.lam))
    if not quick:
        exp = replace(exp, seeds=FULL_SEEDS.get(exp.width, exp.seeds))
    return exp


def ufd_references(out_dir: Path, resume: bool = False) -> Callable[[ParticleExperiment], Trajectory | None]:
    """For :func:`pdeflow.experiments.run_sweep`: each experiment's UFD (solved once per key and kept
    in ``out_dir``, :class:`pdeflow.grid_references.GridReferences`), none for γ = ∞, whose atoms
    have no density to diffuse."""
    solved = GridReferences("ufd", out_dir, resume=resume)
    return lambda exp: solved(exp) if np.isfinite(exp.gamma) else None


def values_at(mean: dict, key: str, times) -> list[list[float]]:
    """``[[t, value], ...]`` of a seed-averaged curve at the output times nearest to ``times``."""
    t = np.asarray(mean["t"])
    rows = []
    for target in times:
        k = int(np.argmin(np.abs(t - target)))
        rows.append([float(t[k]), float(mean[key][k])])
    return rows


def write_figure_summary(out_dir: Path, summary: dict) -> Path:
    """``summary.json``, and the same under the figure's name (``<experiment>.json``) for a shared ``--out``."""
    write_summary(out_dir, summary)
    return write_summary(out_dir, summary, f"{summary['experiment']}.json")
