"""The torus analogue of thesis Fig. III.2 (not in the thesis): the UFD on ℝ²/4ℤ² beside VarPro particles.

The weighted ultra-fast diffusion (r = 2, weight μ_γ, γ = 100, uniform start) on a 128² grid, and
M = 1024 VarPro particles (Laplace RBF features, f_b, λ = 1e-3, N = M̄ = 4096, τ = 2⁻¹⁰) smoothed
by a wrapped Gaussian (σ = 0.08, for the images only), as 2-D images at matched times t = kτ,
with the MMD between particles and grid (raw particles against cell masses, chordal torus
distance) at each.  λ = 1e-3 is the smallest λ the thesis can run on the torus at τ = 2⁻¹⁰.

Claims checked (as for Fig. III.2, the particles follow the diffusion):
- the MMD of the particles to the UFD stays below half the MMD between the uniform start and the
  teacher, at every matched time;
- in the transient (t ≤ t_end/10) the particles are closer to the UFD at the same time than to the
  teacher: they are on the diffusion's way to it, not merely near its end.  (Later the particles
  approach their teacher μ̄ and the UFD its steady state μ_γ, which differ by MMD(μ̄, μ_γ), the
  teacher's sampling error: 0.013–0.016 for M̄ = 4096 on 128², seeds 0–2.)

Full mode: the setting of :mod:`pdeflow.experiments_torus` (t_end = 20), one seed: the run is
fig_III_11_12's M = 1024 f_b run (with one ``--out`` and ``--resume`` it is not run again;
otherwise ≈ 540 core-seconds at the measured 38 steps/s).  Quick mode: N = 1024, M = 256,
λ = 1e-2 at τ = 2⁻⁸ (λ = 1e-3 needs τ = 2⁻¹⁰ on the torus), t_end = 5, the UFD on 64², one seed.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from pdeflow.outputs import save_figure
from pdeflow.experiments import average_runs, check_claim, curves_summary, parameters, ran_on, run_many, run_name
from pdeflow.experiments_torus import configure, torus_setting, ufd_references, write_figure_summary
from pdeflow.metrics import smooth_particles

WIDTH_FULL, WIDTH_QUICK = 1024, 256
LAM_FULL, LAM_QUICK = 1e-3, 1e-2
SHOWN = (0.0, 0.25, 0.5, 1.0, 2.0, 5.0, 20.0)   # image times, those ≤ t_end
SIGMA = 0.08        # image smoothing of the particles: 2.5 cells of 128², a third of a γ = 100 peak
TRANSIENT = 1 / 10  # fraction of t_end
DECADES = 1e-3      # image colours span [1e-3, 1] of each column's largest density


def run(out_dir: Path, quick: bool = False, progress: bool = True, jobs: int = 1,
        resume: bool = False, executor=None) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    started = time.perf_counter()
    base = torus_setting(quick)
    width, lam = (WIDTH_QUICK, LAM_QUICK) if quick else (WIDTH_FULL, LAM_FULL)
    out_dir.mkdir(parents=True, exist_ok=True)
    references = ufd_references(out_dir, resume)
    exp = configure(base, quick, width=width, lam=lam, reg="f_b")
    ufd = references(exp)
    runs = run_many([(exp, seed, ufd, out_dir / f"{run_name(exp, seed)}.h5") for seed in range(exp.seeds)],
                    jobs=jobs, executor=executor, progress=progress, resume=resume)
    mean = average_runs(runs)
    start_gap = float(mean["mmd_to_teacher"][0])
    shown = [int(np.argmin(np.abs(mean["t"] - t))) for t in SHOWN if t <= base.t_end]
    transient = mean["t"] <= TRANSIENT * base.t_end
    summary = {"experiment": "fig_torus_ufd", "quick": quick, **ran_on(jobs, executor), "parameters": parameters(exp),
               **curves_summary(mean),
               "shown_times": [float(mean["t"][k]) for k in shown],
               "mmd_to_ufd_at_shown": [float(mean["mmd_to_ufd"][k]) for k in shown],
               "max_mmd_to_ufd_over_initial_gap": float(mean["mmd_to_ufd"].max() / start_gap),
               "transient_end": TRANSIENT * base.t_end,
               "wall_time_s": time.perf_counter() - started}
    write_figure_summary(out_dir, summary)

    domain = ufd.domain
    extent = (domain.lower[0], domain.upper[0], domain.lower[1], domain.upper[1])
    fig, axes = plt.subplots(2, len(shown) + 1, figsize=(2.6 * (len(shown) + 1), 5.6))
    for col, k in enumerate(shown):
        smooth = np.mean([smooth_particles(r["positions"][k], domain, SIGMA) for r in runs], axis=0)
        # log colours: where the two differ is where the density is low
        top = max(ufd.rho[k].max(), smooth.max())
        norm = LogNorm(vmin=DECADES * top, vmax=top)
        for row, (image, name) in enumerate(((ufd.rho[k], "UFD"), (smooth, "particles"))):
            ax = axes[row, col]
            ax.imshow(np.maximum(image, DECADES * top).T, origin="lower", extent=extent, cmap="magma", norm=norm)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{name}, t = {mean['t'][k]:g}" if row == 0 else
                         f"{name}, MMD {mean['mmd_to_ufd'][k]:.3f}", fontsize=8)
    axes[0, -1].semilogy(mean["t"], mean["mmd_to_ufd"], label="to the UFD")
    axes[0, -1].semilogy(mean["t"], mean["mmd_to_teacher"], label="to the teacher μ̄")
    axes[0, -1].set_title("MMD of the particles", fontsize=8)
    axes[0, -1].set_xlabel("t = kτ")
    axes[0, -1].legend(fontsize=7)
    weight = ufd.static["weight"]
    axes[1, -1].imshow(weight.T, origin="lower", extent=extent, cmap="magma",
                       norm=LogNorm(vmin=DECADES * weight.max(), vmax=weight.max()))
    axes[1, -1].set_title("teacher μ_γ (γ = 100)", fontsize=8)
    fig.suptitle(f"torus UFD ({domain.shape[0]}² cells) and VarPro particles (M = {width}, f_b, λ = {lam:g}, "
                 f"smoothed σ = {SIGMA:g} for display; log colours over 3 decades)", fontsize=10)
    fig.tight_layout()
    save_figure(fig, out_dir / "fig_torus_ufd.png")
    plt.close(fig)

    check_claim(summary["max_mmd_to_ufd_over_initial_gap"] < 0.5,
                "particles drifted away from the UFD: max MMD to the UFD is "
                f"{summary['max_mmd_to_ufd_over_initial_gap']:.2f} of the initial distance to the teacher")
    behind = mean["mmd_to_ufd"][transient] >= mean["mmd_to_teacher"][transient]
    check_claim(not behind.any(),
                f"in the transient the particles are not closer to the UFD than to the teacher at "
                f"t = {mean['t'][transient][behind].tolist()}")
    return summary
