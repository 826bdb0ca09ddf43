"""Thesis Fig. III.7: VarPro against two-timescale gradient descent (η = λM), on the circle.

ReLU features, γ = 100, f_u, N = M̄ = 4096, τ = 2⁻¹⁰, λ ∈ {1e-1, 1e-2, 1e-3}, M ∈ {32, 128, 512,
1024}: reduced risk, MMD to the teacher and to the UFD, VarPro (eq. III.42, solid) and two-timescale
GD (eq. III.44, dashed; the outer weights start at their exact projection) from the same data and
start.  With η = λM the ratio of the two step sizes is η/(Mτ) = λ/τ: about 100, 10 and 1 here, so
the outer weights keep up with the features for λ ≥ 1e-2 and lag at λ = 1e-3.

Claims checked, with the relative gap s = max over t of |MMD₂ₜₛ/MMD_VarPro − 1| of the
seed-averaged MMDs to the teacher, for every width M:
- λ ≥ 1e-2, the two agree: s ≤ 0.1;
- λ = 1e-3, they separate: s ≥ 0.1 and at least three times the largest s at λ ≥ 1e-2 of that M,
  and two-timescale GD is the one behind (farther from the teacher at t_end).
summary.json holds the final values of both methods for each (λ, M).

Full mode: 6 seeds (the thesis' averages), t_end = 20: 72 VarPro and 72 two-timescale runs of
20 480 steps.  The circle's sorted ReLU operator makes a step O((M + N) log), so the cost hardly
depends on M: measured 0.9 / 1.9 ms per VarPro step and 0.25 / 0.5 ms per two-timescale step at
M = 128 / 1024 (one core, λ = 1e-3), about 2 300 core-seconds in all, 20 minutes on two cores.
The VarPro runs at λ = 1e-3 are fig_III_3_4's f_u runs and those at M = 1024 fig_III_5's, with
the same settings and file names: run into their ``--out`` with ``--resume``, they are read back
(summary.json is then the last figure's; this one is also kept as fig_III_7.json).

Quick mode: τ = 2⁻¹⁰ kept (the claim is about λ/τ), N = 4096, t_end = 2, M ∈ {32, 256}, one seed,
the UFD on 512 cells.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from pdeflow.outputs import save_figure
from pdeflow.experiments import (CURVE_TITLES, ParticleExperiment, check_claim, curves_summary, parameters,
                                 plot_curves, ran_on, run_sweep, write_summary)
from pdeflow.grid_references import GridReferences

FULL = ParticleExperiment(gamma=100.0, reg="f_u", n_data=4096, tau=2.0**-10, t_end=20.0, outputs=41,
                          n_grid=2048, seeds=6)
QUICK = ParticleExperiment(gamma=100.0, reg="f_u", n_data=4096, tau=2.0**-10, t_end=2.0, outputs=17,
                           n_grid=512, seeds=1)
LAMBDAS = (1e-1, 1e-2, 1e-3)
WIDTHS_FULL = (32, 128, 512, 1024)
WIDTHS_QUICK = (32, 256)
METHODS = ("varpro", "two_timescale")
AGREE, APART = 0.1, 0.1   # bounds on the relative gap s for λ ≥ 1e-2 and λ = 1e-3
FACTOR = 3.0              # at λ = 1e-3, s at least this many times that of λ ≥ 1e-2


def relative_gap(varpro: dict, two_timescale: dict) -> float:
    """max over t of |MMD₂ₜₛ/MMD_VarPro − 1| of the MMD to the teacher."""
    return float(np.max(np.abs(two_timescale["mmd_to_teacher"] / varpro["mmd_to_teacher"] - 1)))


def run(out_dir: Path, quick: bool = False, progress: bool = True, jobs: int = 1,
        resume: bool = False, executor=None) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    started = time.perf_counter()
    base = QUICK if quick else FULL
    widths = WIDTHS_QUICK if quick else WIDTHS_FULL
    out_dir.mkdir(parents=True, exist_ok=True)
    configs = [replace(base, lam=lam, width=width, method=method)
               for lam in LAMBDAS for width in widths for method in METHODS]
    means = dict(zip(((e.lam, e.width, e.method) for e in configs),
                     run_sweep(configs, GridReferences("ufd", out_dir, resume=resume), jobs=jobs,
                               executor=executor, progress=progress, out_dir=out_dir, resume=resume)))
    by_lambda: dict = {}
    fig, axes = plt.subplots(len(LAMBDAS), 3, figsize=(15, 3.6 * len(LAMBDAS)), sharex=True)
    colors = plt.cm.viridis(np.linspace(0, 0.85, len(widths)))
    for row, lam in enumerate(LAMBDAS):
        for width, color in zip(widths, colors):
            vp, tts = means[lam, width, "varpro"], means[lam, width, "two_timescale"]
            entry = {method: curves_summary(means[lam, width, method]) for method in METHODS}
            for method in METHODS:
                entry[method]["final"] = {key: entry[method][key][-1][1]
                                          for key in ("risk", "mmd_to_teacher", "mmd_to_ufd")}
            entry["relative_gap"] = relative_gap(vp, tts)
            by_lambda.setdefault(f"{lam:g}", {})[str(width)] = entry
            plot_curves(axes[row], vp, color=color, label=f"M = {width}, VarPro")
            plot_curves(axes[row], tts, color=color, ls="--", label=f"M = {width}, two-timescale")
        for ax, title in zip(axes[row], CURVE_TITLES):
            ax.set_title(f"{title}, λ = {lam:g} (η/(Mτ) = {lam / base.tau:.3g})")
        axes[row, 0].legend(fontsize=7, ncol=2)
    for ax in axes[-1]:
        ax.set_xlabel("t = kτ")
    fig.suptitle("VarPro (solid) and two-timescale GD with η = λM (dashed), circle, f_u (thesis Fig. III.7)")
    fig.tight_layout()
    save_figure(fig, out_dir / "fig_III_7.png")
    plt.close(fig)
    summary = {"experiment": "fig_III_7", "quick": quick, **ran_on(jobs, executor), "parameters": parameters(base),
               "lambdas": list(LAMBDAS), "widths": list(widths), "by_lambda": by_lambda,
               "relative_gap": {f"{lam:g}": {str(w): by_lambda[f"{lam:g}"][str(w)]["relative_gap"] for w in widths}
                                for lam in LAMBDAS},
               "wall_time_s": time.perf_counter() - started}
    write_summary(out_dir, summary)
    write_summary(out_dir, summary, "fig_III_7.json")   # kept when a figure sharing --out writes summary.json

    gaps = summary["relative_gap"]
    for width in map(str, widths):
        agree = max(gaps[f"{lam:g}"][width] for lam in LAMBDAS if lam >= 1e-2)
        apart = gaps["0.001"][width]
        check_claim(agree <= AGREE, f"M = {width}: VarPro and two-timescale GD differ by {agree:.3f} "
                                    f"(relative, MMD to the teacher) at λ ≥ 1e-2, more than {AGREE}")
        check_claim(apart >= max(APART, FACTOR * agree),
                    f"M = {width}: at λ = 1e-3 VarPro and two-timescale GD do not separate: relative gap "
                    f"{apart:.3f}, against {agree:.3f} at λ ≥ 1e-2")
        final = {m: by_lambda["0.001"][width][m]["final"]["mmd_to_teacher"] for m in METHODS}
        check_claim(final["two_timescale"] > final["varpro"],
                    f"M = {width}, λ = 1e-3: two-timescale GD is not the one behind at t_end: {final}")
    return summary
