"""Thesis Fig. III.6: the γ sweep, M = 1024, f_u, λ = 1e-4, γ ∈ {10, 100, 1000}.

Reduced risk, MMD to the teacher μ̄ (drawn from μ_γ) and to the UFD of the same γ, averaged over seeds.
Claim checked: the linear rate κ of the MMD to the teacher (fit of C e^{−κt} on a window)
decreases as γ grows — the UFD converges exponentially worse in ‖log(μ_γ/μ₀)‖∞ (thesis Thm. III.3).
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from pdeflow.experiments import (CircleExperiment, check_claim, curves_summary, finish_curve_figure, log_rate,
                                 parameters, plot_curves, ran_on, run_sweep, write_summary)
from pdeflow.grid_references import GridReferences

FULL = CircleExperiment(width=1024, lam=1e-4, reg="f_u", n_data=4096, tau=2.0**-10, t_end=20.0,
                        outputs=41, n_grid=2048, seeds=6)
QUICK = CircleExperiment(width=256, lam=1e-4, reg="f_u", n_data=512, tau=2.0**-8, t_end=10.0,
                         outputs=41, n_grid=512, seeds=1)
GAMMAS = (10.0, 100.0, 1000.0)
WINDOW = (0.05, 0.5)   # fit window as fractions of t_end


def run(out_dir: Path, quick: bool = False, progress: bool = True, jobs: int = 1,
        resume: bool = False, executor=None) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    started = time.perf_counter()
    base = QUICK if quick else FULL
    out_dir.mkdir(parents=True, exist_ok=True)
    configs = [replace(base, gamma=gamma) for gamma in GAMMAS]
    means = run_sweep(configs, GridReferences("ufd", out_dir, resume=resume), jobs=jobs, executor=executor,
                      progress=progress, out_dir=out_dir, resume=resume)
    window = (WINDOW[0] * base.t_end, WINDOW[1] * base.t_end)
    by_gamma: dict = {}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for exp, mean in zip(configs, means):
        entry = curves_summary(mean)
        entry["rate"], entry["r2"] = log_rate(mean["t"], mean["mmd_to_teacher"], window)
        by_gamma[f"{exp.gamma:g}"] = entry
        plot_curves(axes, mean, label=f"γ = {exp.gamma:g}")
    finish_curve_figure(fig, axes, out_dir / "fig_III_6.png", [window])
    plt.close(fig)
    summary = {"experiment": "fig_III_6", "quick": quick, **ran_on(jobs, executor), "parameters": parameters(base),
               "gammas": list(GAMMAS), "fit_window": list(window), "by_gamma": by_gamma,
               "wall_time_s": time.perf_counter() - started}
    write_summary(out_dir, summary)

    rates = [by_gamma[f"{g:g}"]["rate"] for g in GAMMAS]
    check_claim(all(a > b for a, b in zip(rates, rates[1:])),
                f"the linear rate of the MMD to the teacher does not decrease with γ: {rates}")
    return summary
