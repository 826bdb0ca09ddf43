"""λ → 0: the Wasserstein flow of the reduced risk (docs: theory/wasserstein, eq. III.31) against the UFD (§4b, eq. III.35).

Circle, ReLU, γ = 100, N = M̄ = 4096, f_u, one problem, uniform start, both on the same grid.

1. Distance (MMD and W₁) between the λ-flow and the UFD at t = 1, 5, 10 for λ ∈ {1e-1, 1e-2, 1e-3}.
   Claim: it decreases with λ at t = 1 and t = 5, in both metrics.
2. What is left at small λ, mode by mode.  The energy distance on the circle splits exactly over
   Fourier modes, MMD² = Σ_k (8/π)|σ̂_k|²/(4k² − 1) (:mod:`pdeflow.metrics.modes`), σ = flow − UFD.
   Reported for every λ and time, in √(sum of contributions):
   - ``invisible``: the odd modes k ≥ 3, which ReLU features cannot see (the flow has no force on them);
   - ``teacher``: the visible modes of μ̄ − μ_γ, the teacher's sampling error (the flow fits the data
     of the M̄ atoms μ̄, the UFD its density μ_γ); ``teacher_mmd`` is the whole MMD(μ̄, μ_γ);
   - ``rest``: the visible modes of σ − (μ̄ − μ_γ), what neither explains (the finite λ, the finite
     time, the finite N);
   - ``truncation``: MMD² minus the modes summed (k ≤ n/2), to show the split is complete.
3. The thesis setting side by side (M = 1024, λ ∈ {1e-3, 1e-4}, τ = 2⁻¹⁰, 6 seeds): particles vs the
   λ-flow vs the UFD, with the teacher floor MMD(μ̄, μ_γ) as a line.  Claim: the particles are at
   least as close to the λ-flow as to the UFD at t ≥ 1 (the flow is their limit at every λ).
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from pdeflow.outputs import save_figure
from pdeflow.experiments import (ParticleExperiment, check_claim, pairs, parameters, ran_on, run_sweep,
                                 seed_distances, write_summary)
from pdeflow.grid_references import GridReferences
from pdeflow.metrics import energy_distance_modes, grid_points, mmd, relu_invisible, wasserstein_circle

FULL = ParticleExperiment(gamma=100.0, reg="f_u", n_data=4096, tau=2.0**-10, t_end=10.0, outputs=41,
                          n_grid=2048, seeds=6, width=1024, data_seed=0)
QUICK = ParticleExperiment(gamma=100.0, reg="f_u", n_data=4096, tau=2.0**-7, t_end=10.0, outputs=41,
                           n_grid=512, seeds=1, width=256, data_seed=0)
LAMBDAS = (1e-1, 1e-2, 1e-3)
THESIS_LAMBDAS = (1e-3, 1e-4)
TIMES = (1.0, 5.0, 10.0)


def _grid(traj, k):
    return grid_points(traj.domain, traj.rho[k])


def distances(a, b, k) -> dict:
    """MMD and W₁ between two runs on one grid at output k."""
    (x, p), (y, q) = _grid(a, k), _grid(b, k)
    return {"mmd": mmd(x, y, a.domain, x_weights=p, y_weights=q),
            "w1": wasserstein_circle(x, y, x_weights=p, y_weights=q, p=1)}


def decomposition(flow, ufd, k, teacher: np.ndarray) -> dict:
    """The flow–UFD energy distance at output k split by Fourier mode (module docstring, item 2)."""
    centres = flow.domain.axes[0]
    k_max = flow.domain.shape[0] // 2
    masses_flow = flow.rho[k] * flow.domain.cell_volume
    masses_ufd = ufd.rho[k] * ufd.domain.cell_volume
    weight = ufd.static["weight"] * ufd.domain.cell_volume            # μ_γ, cell averages
    invisible = relu_invisible(k_max)
    sigma = energy_distance_modes(centres, centres, x_weights=masses_flow, y_weights=masses_ufd, k_max=k_max)
    # σ − (μ̄ − μ_γ) = (flow + μ_γ) − (UFD + μ̄): a difference of two (mass-2) measures
    rest = energy_distance_modes(np.r_[centres, centres], np.r_[centres, teacher],
                                 x_weights=np.r_[masses_flow, weight],
                                 y_weights=np.r_[masses_ufd, np.full(teacher.size, 1.0 / teacher.size)],
                                 k_max=k_max) * 4.0   # the weights are normalised to 1, not 2
    tau = energy_distance_modes(teacher, centres, y_weights=weight, k_max=k_max)
    total = mmd(centres, centres, flow.domain, x_weights=masses_flow, y_weights=masses_ufd)
    return {"total": total, "invisible": float(np.sqrt(sigma[invisible].sum())),
            "visible": float(np.sqrt(sigma[~invisible].sum())),
            "teacher": float(np.sqrt(tau[~invisible].sum())),
            "teacher_mmd": mmd(teacher, centres, flow.domain, y_weights=weight),
            "rest": float(np.sqrt(rest[~invisible].sum())),
            "truncation": float(total**2 - sigma.sum())}


def run(out_dir: Path, quick: bool = False, progress: bool = True, jobs: int = 1,
        resume: bool = False, executor=None) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    started = time.perf_counter()
    base = QUICK if quick else FULL
    out_dir.mkdir(parents=True, exist_ok=True)
    ufd = GridReferences("ufd", out_dir, resume=resume)(base)
    flow_of = GridReferences("wasserstein", out_dir, resume=resume, progress=progress)
    flows = {lam: flow_of(replace(base, lam=lam)) for lam in sorted(set(LAMBDAS) | set(THESIS_LAMBDAS), reverse=True)}
    teacher = np.asarray(base.problem().teacher)
    at = [int(np.argmin(np.abs(ufd.t - t))) for t in TIMES]

    to_ufd = {lam: [distances(flows[lam], ufd, k) for k in at] for lam in flows}
    parts = {lam: [decomposition(flows[lam], ufd, k, teacher) for k in at] for lam in flows}
    centres, weight = grid_points(ufd.domain, ufd.static["weight"])
    floor = mmd(teacher, centres, ufd.domain, y_weights=weight)                 # MMD(μ̄, μ_γ)

    # the thesis setting: particles beside both grid runs
    configs = [replace(base, lam=lam) for lam in THESIS_LAMBDAS]
    means = run_sweep(configs, flow_of, jobs=jobs, executor=executor, progress=progress, out_dir=out_dir,
                      resume=resume)
    particles_to_ufd = {exp.lam: seed_distances(out_dir, exp, ufd)["mmd"].mean(axis=0) for exp in configs}
    thesis = {f"{exp.lam:g}": {"t": [float(t) for t in mean["t"]],
                               "particles_to_flow": [float(v) for v in mean["mmd_to_wasserstein"]],
                               "particles_to_ufd": [float(v) for v in particles_to_ufd[exp.lam]],
                               "flow_to_ufd": [distances(flows[exp.lam], ufd, k)["mmd"] for k in range(ufd.t.size)]}
              for exp, mean in zip(configs, means)}

    summary = {"experiment": "wasserstein_limit", "quick": quick, **ran_on(jobs, executor),
               "parameters": parameters(base),
               "lambdas": list(LAMBDAS), "times": list(TIMES),
               "flow_to_ufd": {f"{lam:g}": {m: pairs(np.array(TIMES), np.array([d[m] for d in to_ufd[lam]]))
                                            for m in ("mmd", "w1")} for lam in flows},
               "decomposition": {f"{lam:g}": {f"{t:g}": p for t, p in zip(TIMES, parts[lam])} for lam in flows},
               "teacher_floor_mmd": floor, "thesis_setting": thesis}
    summary["wall_time_s"] = time.perf_counter() - started
    write_summary(out_dir, summary)

    fig, axes = plt.subplots(1, 4, figsize=(20, 4.4))
    every = sorted(flows)
    for m, ax in zip(("mmd", "w1"), axes[:2]):
        for c, (t, k) in zip(plt.cm.viridis(np.linspace(0, 0.85, len(TIMES))), enumerate(at)):
            ax.loglog(LAMBDAS, [to_ufd[lam][t][m] for lam in LAMBDAS], "o-", color=c, label=f"t = {TIMES[t]:g}")
            ax.loglog(every, [to_ufd[lam][t][m] for lam in every], ":", color=c)   # with λ = 1e-4 (not claimed)
        ax.set_xlabel("λ")
        ax.set_title(f"{m.upper()}(λ-flow, UFD); dotted: down to λ = {min(every):g}")
        ax.legend(fontsize=8)
    smallest = min(LAMBDAS)
    width = 0.2
    keys = ("invisible", "teacher", "rest")
    for j, key in enumerate(keys):
        axes[2].bar(np.arange(len(TIMES)) + (j - 1) * width, [p[key] for p in parts[smallest]], width, label=key)
    axes[2].plot(np.arange(len(TIMES)), [p["total"] for p in parts[smallest]], "k_", ms=30, mew=2, label="total")
    axes[2].axhline(floor, color="r", lw=1, label="MMD(μ̄, μ_γ)")
    axes[2].set_xticks(np.arange(len(TIMES)), [f"t = {t:g}" for t in TIMES])
    axes[2].set_title(f"λ = {smallest:g}: MMD(flow, UFD) by Fourier mode")
    axes[2].legend(fontsize=8)
    for lam, ls in zip(THESIS_LAMBDAS, ("-", "--")):
        row = thesis[f"{lam:g}"]
        axes[3].semilogy(row["t"], row["particles_to_flow"], ls, color="C0", label=f"particles–λ-flow, λ = {lam:g}")
        axes[3].semilogy(row["t"], row["particles_to_ufd"], ls, color="C1", label=f"particles–UFD, λ = {lam:g}")
        later = np.asarray(row["t"]) > 0      # both start uniform: 0 at t = 0
        axes[3].semilogy(np.asarray(row["t"])[later], np.asarray(row["flow_to_ufd"])[later], ls, color="C2",
                         label=f"λ-flow–UFD, λ = {lam:g}")
    axes[3].axhline(floor, color="r", lw=1, label="teacher floor MMD(μ̄, μ_γ)")
    axes[3].set_title(f"thesis setting: M = {base.width}, {base.seeds} seed(s)")
    axes[3].set_xlabel("t = kτ")
    axes[3].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, out_dir / "wasserstein_limit.png")
    plt.close(fig)

    for t_index, t in enumerate(TIMES[:2]):
        for m in ("mmd", "w1"):
            values = [to_ufd[lam][t_index][m] for lam in LAMBDAS]
            check_claim(all(a > b for a, b in zip(values, values[1:])),
                        f"t = {t:g}: {m} between the λ-flow and the UFD does not decrease with λ {LAMBDAS}: {values}")
    for lam in THESIS_LAMBDAS:
        row = thesis[f"{lam:g}"]
        late = np.asarray(row["t"]) >= 1.0
        gap = np.asarray(row["particles_to_flow"])[late] - np.asarray(row["particles_to_ufd"])[late]
        check_claim(np.all(gap <= 0), f"λ = {lam:g}: the particles are farther from the λ-flow than from the UFD "
                                      f"at some t ≥ 1 (by up to {gap.max():.3g})")
    return summary
