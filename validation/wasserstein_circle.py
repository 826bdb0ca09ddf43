"""VarPro particles against their exact mean-field limit, the λ > 0 Wasserstein flow (docs: theory/wasserstein, eq. III.31).

Circle, ReLU features, γ = 100, N = M̄ = 4096, f_u, one problem (the SAME data and teacher for every
run), uniform start; particles are i.i.d. uniform, M ∈ {256, 1024, 4096}, 6 seeds; λ ∈ {1e-1, 1e-2};
MMD at t = 1, 5, 10.  The flow is solved on 4096 cells (its own error measured against 2048 cells).

Claims checked, for each λ:
- the MMD between particles and flow decays in M with a fitted exponent in [−0.7, −0.3] (the
  mean-field rate is −½).  The fit pools t = 1, 5, 10 (one intercept per time) and uses the
  root-mean-square over seeds: the energy distance is dominated by the first Fourier mode
  (2/3 of MMD² for uniform samples), whose squared size is a two-degree-of-freedom χ², so a
  mean over few seeds is noisy and the mean of MMD² is what scales like 1/M;
- every seed-averaged MMD is at most 2·√(4/(πM)) (twice that of M uniform samples to the uniform
  law, the distance at t = 0);
- the grid is fine enough: its W₁ error (the distance between the flows on n/2 and n cells) is
  below a tenth of the particles' W₁ at the largest M, and its MMD error below a quarter of theirs
  (in MMD the flow converges at first order in n at λ = 1e-2 — 8.6e-4 between 1024 and 2048 cells,
  4.1e-4 between 2048 and 4096 — against 4.0e-3 for the particles at M = 4096, t = 10).
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from pdeflow.outputs import save_figure
from pdeflow.experiments import (ParticleExperiment, check_claim, fit_exponent, grid_distance, pairs, parameters,
                                 ran_on, run_sweep, seed_distances, write_summary)
from pdeflow.grid_references import GridReferences

# τ = 2⁻⁸: the mean-field limit is the continuous-time flow, and the GD step moves the MMD to it by
# less than 1 % between τ = 2⁻⁷ and 2⁻¹⁰ (M = 1024, t = 1, measured), far below the M-dependence.
FULL = ParticleExperiment(gamma=100.0, reg="f_u", n_data=4096, tau=2.0**-8, t_end=10.0, outputs=11,
                          n_grid=4096, seeds=6, data_seed=0)
WIDTHS_FULL = (256, 1024, 4096)
TIMES_FULL = (1.0, 5.0, 10.0)
# Quick: fewer data, a coarser step, a shorter horizon, three seeds; the same claims.
QUICK = ParticleExperiment(gamma=100.0, reg="f_u", n_data=1024, tau=2.0**-7, t_end=2.0, outputs=5,
                           n_grid=1024, seeds=3, data_seed=0)
WIDTHS_QUICK = (64, 256, 1024)
TIMES_QUICK = (0.5, 1.0, 2.0)
LAMBDAS = (1e-1, 1e-2)
GRID_SHARE = {"w1": 0.1, "mmd": 0.25}   # largest grid error allowed, as a share of the particles' distance


def run(out_dir: Path, quick: bool = False, progress: bool = True, jobs: int = 1,
        resume: bool = False, executor=None) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    started = time.perf_counter()
    base = QUICK if quick else FULL
    widths, times = (WIDTHS_QUICK, TIMES_QUICK) if quick else (WIDTHS_FULL, TIMES_FULL)
    out_dir.mkdir(parents=True, exist_ok=True)
    flow_of = GridReferences("wasserstein", out_dir, resume=resume, progress=progress)
    flows = {lam: flow_of(replace(base, lam=lam)) for lam in LAMBDAS}
    coarse = {lam: flow_of(replace(base, lam=lam, n_grid=base.n_grid // 2)) for lam in LAMBDAS}
    configs = [replace(base, lam=lam, width=m) for lam in LAMBDAS for m in widths]
    means = run_sweep(configs, flow_of, jobs=jobs, executor=executor, progress=progress, out_dir=out_dir,
                      resume=resume)
    # seed by seed, for the root-mean-square over seeds and for W₁
    per_seed = {(exp.lam, exp.width): seed_distances(out_dir, exp, flows[exp.lam], ("mmd", "w1"))
                for exp in configs}
    rms = {key: np.sqrt(np.mean(d["mmd"] ** 2, axis=0)) for key, d in per_seed.items()}
    t_out = flows[LAMBDAS[0]].t
    at = [int(np.argmin(np.abs(t_out - t))) for t in times]
    summary: dict = {"experiment": "wasserstein_circle", "quick": quick, **ran_on(jobs, executor),
                     "parameters": parameters(base),
                     "lambdas": list(LAMBDAS), "widths": list(widths), "times": list(times),
                     "mmd_particles_to_flow": {}, "mmd_particles_to_flow_rms": {}, "exponent": {},
                     "exponent_of_mean": {}, "exponent_by_time": {}, "bound": {}, "grid_error": {},
                     "particle_error_largest_M": {}}
    for lam in LAMBDAS:
        key = f"{lam:g}"
        by_m = {exp.width: mean for exp, mean in zip(configs, means) if exp.lam == lam}
        summary["mmd_particles_to_flow"][key] = {
            str(m): pairs(by_m[m]["t"][at], by_m[m]["mmd_to_wasserstein"][at]) for m in widths}
        summary["mmd_particles_to_flow_rms"][key] = {
            str(m): pairs(t_out[at], rms[lam, m][at]) for m in widths}
        per_time_rms = {t: np.array([rms[lam, m][k] for m in widths]) for t, k in zip(times, at)}
        per_time_mean = {t: np.array([by_m[m]["mmd_to_wasserstein"][k] for m in widths]) for t, k in zip(times, at)}
        summary["exponent"][key] = fit_exponent(widths, per_time_rms)
        summary["exponent_of_mean"][key] = fit_exponent(widths, per_time_mean)
        summary["exponent_by_time"][key] = {f"{t:g}": fit_exponent(widths, {t: v}) for t, v in per_time_rms.items()}
        summary["bound"][key] = {str(m): 2 * np.sqrt(4 / (np.pi * m)) for m in widths}
        errors = [grid_distance(coarse[lam], flows[lam], k, ("mmd", "w1")) for k in at]
        summary["grid_error"][key] = {"w1": max(e["w1"] for e in errors), "mmd": max(e["mmd"] for e in errors),
                                      "cells": [base.n_grid // 2, base.n_grid]}
        largest = per_seed[lam, widths[-1]]
        summary["particle_error_largest_M"][key] = {"w1": float(largest["w1"].mean(axis=0)[at].min()),
                                                    "mmd": float(largest["mmd"].mean(axis=0)[at].min())}
    summary["wall_time_s"] = time.perf_counter() - started
    write_summary(out_dir, summary)

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    colors = plt.cm.viridis(np.linspace(0, 0.85, len(times)))
    for ax, lam in zip(axes[:2], LAMBDAS):
        key = f"{lam:g}"
        for c, t, k in zip(colors, times, at):
            ax.loglog(widths, [rms[lam, m][k] for m in widths], "o-", color=c, label=f"t = {t:g} (rms over seeds)")
        ref = np.array(widths, dtype=float)
        ax.loglog(ref, [2 * np.sqrt(4 / (np.pi * m)) for m in ref], "k--", lw=1, label="2·√(4/(πM))")
        ax.loglog(ref, rms[lam, widths[0]][at[0]] * (ref / ref[0]) ** -0.5, "k:", lw=1, label="slope −½")
        ax.axhline(summary["grid_error"][key]["mmd"], color="r", lw=1, label="grid error (MMD)")
        ax.set_title(f"λ = {lam:g}: MMD(particles, flow), fitted exponent {summary['exponent'][key]:.2f}")
        ax.set_xticks(widths, [str(m) for m in widths], minor=False)
        ax.minorticks_off()
        ax.set_xlabel("M")
        ax.legend(fontsize=7)
    for exp, mean in zip(configs, means):
        axes[2].semilogy(mean["t"], mean["mmd_to_wasserstein"], ls="-" if exp.lam == LAMBDAS[0] else "--",
                         label=f"λ = {exp.lam:g}, M = {exp.width}")
    axes[2].set_xlabel("t = kτ")
    axes[2].set_title("MMD(particles, λ-flow), mean over seeds")
    axes[2].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    save_figure(fig, out_dir / "wasserstein_circle.png")
    plt.close(fig)

    for lam in LAMBDAS:
        key = f"{lam:g}"
        beta = summary["exponent"][key]
        check_claim(-0.7 <= beta <= -0.3,
                    f"λ = {lam:g}: the particles' MMD to the flow decays like M^{beta:.2f}, not within [−0.7, −0.3]")
        for m in widths:
            worst = max(v for _, v in summary["mmd_particles_to_flow"][key][str(m)])
            check_claim(worst <= summary["bound"][key][str(m)],
                        f"λ = {lam:g}, M = {m}: MMD to the flow {worst:.3g} exceeds 2·√(4/(πM)) = "
                        f"{summary['bound'][key][str(m)]:.3g}")
        grid, particles = summary["grid_error"][key], summary["particle_error_largest_M"][key]
        for metric, share in GRID_SHARE.items():
            check_claim(grid[metric] <= share * particles[metric],
                        f"λ = {lam:g}: the grid's own {metric} error {grid[metric]:.3g} is not below {share:g} of "
                        f"the particles' {particles[metric]:.3g} at M = {widths[-1]}")
    return summary
