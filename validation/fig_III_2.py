"""Thesis Fig. III.2: the UFD on a fine grid beside VarPro particles, at matched times t = kτ.

Full mode (thesis): M = 1024, f_b, λ = 1e-4, γ = 100, N = M̄ = 4096, τ = 2⁻¹⁰, 6 seeds.
Claim checked: the particles stay close to the UFD — their MMD to the UFD stays well
below the MMD between the uniform start and the teacher, at every matched time.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from pdeflow.outputs import save_figure
from pdeflow.experiments import (CircleExperiment, average_runs, check_claim, curves_summary, parameters, ran_on,
                                 run_many, run_name, write_summary)
from pdeflow.grid_references import GridReferences
from pdeflow.metrics import smooth_particles

FULL = CircleExperiment(gamma=100.0, width=1024, lam=1e-4, reg="f_b", n_data=4096,
                        tau=2.0**-10, t_end=20.0, outputs=41, n_grid=2048, seeds=6)
QUICK = CircleExperiment(gamma=100.0, width=256, lam=1e-4, reg="f_b", n_data=512,
                         tau=2.0**-8, t_end=2.0, outputs=9, n_grid=512, seeds=1)


def run(out_dir: Path, quick: bool = False, progress: bool = True, jobs: int = 1,
        resume: bool = False, executor=None) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    started = time.perf_counter()
    exp = QUICK if quick else FULL
    out_dir.mkdir(parents=True, exist_ok=True)
    ufd = GridReferences("ufd", out_dir, resume=resume)(exp)
    runs = run_many([(exp, seed, ufd, out_dir / f"{run_name(exp, seed)}.h5") for seed in range(exp.seeds)],
                    jobs=jobs, executor=executor, progress=progress, resume=resume)
    mean = average_runs(runs)
    start_gap = mean["mmd_to_teacher"][0]
    summary = {"experiment": "fig_III_2", "quick": quick, **ran_on(jobs, executor), "parameters": parameters(exp),
               **curves_summary(mean),
               "max_mmd_to_ufd_over_initial_gap": float(mean["mmd_to_ufd"].max() / start_gap)}
    summary["wall_time_s"] = time.perf_counter() - started
    write_summary(out_dir, summary)

    domain = ufd.domain
    x = domain.axes[0]
    show = np.unique(np.searchsorted(mean["t"], np.array([0, 0.05, 0.1, 0.25, 0.5, 1.0]) * exp.t_end))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    colors = plt.cm.viridis(np.linspace(0, 0.9, show.size))
    for k, c in zip(show, colors):
        axes[0].plot(x, ufd.rho[k], color=c, label=f"t = {mean['t'][k]:g}")
        smooth = np.mean([smooth_particles(r["positions"][k], domain, 0.04) for r in runs], axis=0)
        axes[1].plot(x, smooth, color=c, label=f"t = {mean['t'][k]:g}")
    for ax, title in zip(axes[:2], ["UFD (grid, LSODA)", f"VarPro particles M = {exp.width} (σ = 0.04)"]):
        ax.plot(x, ufd.static["weight"], "k--", lw=1, label="μ_γ")
        ax.set_title(title)
        ax.set_xlabel("ω")
        ax.legend(fontsize=7, loc="upper center")
    axes[2].semilogy(mean["t"], mean["mmd_to_ufd"], label="MMD(particles, UFD)")
    axes[2].semilogy(mean["t"], mean["mmd_to_teacher"], label="MMD(particles, teacher μ̄)")
    axes[2].set_xlabel("t = kτ")
    axes[2].legend()
    fig.tight_layout()
    save_figure(fig, out_dir / "fig_III_2.png")
    plt.close(fig)

    check_claim(summary["max_mmd_to_ufd_over_initial_gap"] < 0.5,
                "particles drifted away from the UFD: max MMD to UFD is "
                f"{summary['max_mmd_to_ufd_over_initial_gap']:.2f} of the initial distance to the teacher")
    return summary
