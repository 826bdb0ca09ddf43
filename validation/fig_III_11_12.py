"""Thesis Figs. III.11–III.12 (Appendix III.B): widths on the torus ℝ²/4ℤ², Laplace RBF features.

VarPro, γ = 100, λ = 1e-3, f_b and f_u, M ∈ {32, 128, 512, 1024}, N = M̄ = 4096, τ = 2⁻¹⁰,
uniform i.i.d. start: reduced risk, MMD to the teacher μ̄ and — new, the thesis has no torus
UFD — MMD to the UFD on the torus (128² cells), at matched times; summary.json quotes the
distances at t = 5, 10, 20.

Claims checked:
- the MMD to the UFD, averaged over the transient t ≤ t_end/4, decreases with M for both f (more
  features, a finer discretisation of the diffusion).  Later the torus UFD has converged to μ_γ
  (its energy is within 10⁻⁸ of the steady value by t = 8) and the particles to their teacher
  μ̄, M̄ samples of μ_γ: the distance then tends to MMD(μ̄, μ_γ) for every M (quoted as
  ``teacher_sampling_mmd``, seed 0), so the run average is quoted, not claimed;
- with f_u the reduced risk and the MMD to the teacher at t_end both decrease with M (the
  thesis: lower values of the unbiased risk, finer approximations of the teacher);
- f_b is biased: at the largest M its MMD to the teacher at t_end is above that of f_u;
- at small λ the decay is linear-rate: the f_u MMD to the teacher at the largest M is a straight
  line in log scale (R² ≥ 0.9, rate > 0) on [t_end/40, t_end/5], before the finite-M floor.

Full mode: the setting of :mod:`pdeflow.experiments_torus` — t_end = 20, outputs every 0.25,
seeds 6 / 6 / 2 / 1 for M = 32 / 128 / 512 / 1024 (a step costs ~N·M: one M = 1024 run costs as
much as 25 runs at M = 32).  At the measured 38 / 75 / 370 / 970 steps/s (one core, N = 4096) for
M = 1024 / 512 / 128 / 32 the 20 480-step runs take 2·540 + 4·275 + 12·55 + 12·21 ≈ 3 100
core-seconds, 26 minutes on two cores.  The M = 1024 f_b run is the run fig_torus_ufd shows,
and the two M = 1024 runs are fig_III_13's λ = 1e-3 pair: run those figures with the same
``--out`` and ``--resume`` to reuse them.

Quick mode: N = 1024, M ∈ {16, 64, 256}, λ = 1e-2 at τ = 2⁻⁸, t_end = 5, the UFD on 64², two
seeds (seed 0 alone puts M = 256 only 0.5% below M = 64 in run-averaged MMD to the UFD, seeds
1–3 20–40%).  λ = 1e-3 needs τ = 2⁻¹⁰ on the torus (2⁻⁹ diverges), four times the steps, each
with more conjugate-gradient iterations; λ = 1e-2 is in the same linear-rate regime (thesis
Fig. III.13) and shows the same bias of f_b, larger.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from pdeflow.outputs import save_figure
from pdeflow.experiments import (CURVE_TITLES, check_claim, curves_summary, log_rate, parameters, plot_curves, ran_on,
                                 run_sweep)
from pdeflow.experiments_torus import (configure, torus_setting, ufd_references, values_at,
                                       write_figure_summary)
from pdeflow.metrics import grid_points, mmd

WIDTHS_FULL = (32, 128, 512, 1024)
WIDTHS_QUICK = (16, 64, 256)
LAM_FULL, LAM_QUICK = 1e-3, 1e-2
SEEDS_QUICK = 2
REGS = ("f_b", "f_u")
QUOTED = (0.25, 0.5, 1.0)     # quoted times as fractions of t_end: t = 5, 10, 20
WINDOW = (1 / 40, 1 / 5)      # linear-rate fit, fractions of t_end: past the start, before the floor
TRANSIENT = 1 / 4             # fraction of t_end: the UFD comparison claimed before both have converged


def teacher_sampling_mmd(base, ufd) -> float:
    """MMD(μ̄, μ_γ) of seed 0's teacher against μ_γ on the grid (the UFD's steady state, its weight)."""
    teacher = base.problem(np.random.default_rng(0)).teacher
    centres, masses = grid_points(ufd.domain, ufd.static["weight"])
    return mmd(teacher, centres, ufd.domain, y_weights=masses)


def run(out_dir: Path, quick: bool = False, progress: bool = True, jobs: int = 1,
        resume: bool = False, executor=None) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    started = time.perf_counter()
    base = torus_setting(quick)
    widths, lam = (WIDTHS_QUICK, LAM_QUICK) if quick else (WIDTHS_FULL, LAM_FULL)
    out_dir.mkdir(parents=True, exist_ok=True)
    references = ufd_references(out_dir, resume)
    seeds = {"seeds": SEEDS_QUICK} if quick else {}
    configs = [configure(base, quick, width=width, reg=reg, lam=lam, **seeds) for reg in REGS for width in widths]
    means = run_sweep(configs, references, jobs=jobs, executor=executor, progress=progress,
                      out_dir=out_dir, resume=resume)
    quoted = [f * base.t_end for f in QUOTED]
    window = tuple(f * base.t_end for f in WINDOW)
    by_width: dict = {}
    fig, axes = plt.subplots(2, 3, figsize=(15, 8), sharex=True)
    for exp, mean in zip(configs, means):
        entry = curves_summary(mean)
        entry["seeds"] = exp.seeds
        entry["tau"] = exp.tau
        entry["at"] = {key: values_at(mean, key, quoted) for key in ("mmd_to_teacher", "mmd_to_ufd")}
        entry["rate"], entry["r2"] = log_rate(mean["t"], mean["mmd_to_teacher"], window)
        entry["transient_mmd_to_ufd"] = float(np.mean(mean["mmd_to_ufd"][mean["t"] <= TRANSIENT * base.t_end]))
        by_width.setdefault(str(exp.width), {})[exp.reg] = entry
        plot_curves(axes[REGS.index(exp.reg)], mean, label=f"M = {exp.width}")
    for row, reg in enumerate(REGS):
        for ax, title in zip(axes[row], CURVE_TITLES):
            ax.set_title(f"{title} ({reg}, λ = {lam:g})")
            ax.legend(fontsize=8)
    axes[0, 1].axvspan(*window, color="0.9", zorder=0)
    for ax in axes[1]:
        ax.set_xlabel("t = kτ")
    fig.suptitle("torus ℝ²/4ℤ², Laplace RBF features, γ = 100 (thesis Figs. III.11–III.12)")
    fig.tight_layout()
    save_figure(fig, out_dir / "fig_III_11_12.png")
    plt.close(fig)
    summary = {"experiment": "fig_III_11_12", "quick": quick, **ran_on(jobs, executor), "parameters": parameters(base),
               "lam": lam, "widths": list(widths), "quoted_times": quoted, "fit_window": list(window),
               "transient_end": TRANSIENT * base.t_end, "teacher_sampling_mmd": teacher_sampling_mmd(base, references(base)),
               "by_width": by_width, "wall_time_s": time.perf_counter() - started}
    write_figure_summary(out_dir, summary)

    def final(reg, key):
        return [by_width[str(w)][reg][key][-1][1] for w in widths]

    for reg in REGS:
        means_ufd = [by_width[str(w)][reg]["transient_mmd_to_ufd"] for w in widths]
        check_claim(all(a > b for a, b in zip(means_ufd, means_ufd[1:])),
                    f"{reg}: the MMD to the UFD averaged over t <= {TRANSIENT * base.t_end:g} does not "
                    f"decrease with M: {means_ufd}")
    for key in ("risk", "mmd_to_teacher"):
        values = final("f_u", key)
        check_claim(all(a > b for a, b in zip(values, values[1:])),
                    f"f_u: the final {key} does not decrease with M: {values}")
    top = by_width[str(widths[-1])]
    fb, fu = top["f_b"]["mmd_to_teacher"][-1][1], top["f_u"]["mmd_to_teacher"][-1][1]
    check_claim(fb > fu, f"M = {widths[-1]}: f_b ends no farther from the teacher than f_u ({fb:.4g} <= {fu:.4g})")
    check_claim(top["f_u"]["rate"] > 0 and top["f_u"]["r2"] >= 0.9,
                f"f_u, M = {widths[-1]}: the MMD to the teacher is not a linear-rate decay on {window} "
                f"(rate {top['f_u']['rate']:.3g}, R² {top['f_u']['r2']:.3f})")
    return summary
