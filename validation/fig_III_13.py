"""Thesis Fig. III.13 (Appendix III.B): the ridge parameter λ on the torus ℝ²/4ℤ², Laplace RBF features.

VarPro, M = 1024, γ = 100, λ ∈ {1e-1, 1e-2, 1e-3}, f_b and f_u, N = M̄ = 4096, τ = 2⁻¹⁰
(the thesis finds λ < 1e-3 impracticable at that step): MMD to the teacher μ̄ and to the
torus UFD, reduced risk; summary.json quotes each curve's final values.

Claims checked (thesis: linear rate for λ ∈ {1e-2, 1e-3}, an algebraic one at λ = 1e-1 — the
order of the leading eigenvalues of K_μ —, and a bias of f_b that vanishes with λ):
- f_u, λ ≤ 1e-2: the MMD to the teacher decays at a linear rate on [t_end/40, t_end/5]
  (R² ≥ 0.9, rate > 0), before the finite-M floor;
- f_u, λ = 1e-1 is slower: its rate on [t_end/4, t_end/2] is below the slowest of those linear
  rates, and it ends farther from the teacher than every λ ≤ 1e-2 (so that slowness is not the
  finite-M floor the small-λ curves stop at);
- the bias of f_b shrinks with λ: the gap MMD_f_b − MMD_f_u to the teacher at t_end (the two runs
  share data and start) at λ = 1e-1 is more than four times the gap at every λ ≤ 1e-2.  Between
  1e-2 and 1e-3 the gap is quoted, not claimed: both are near the finite-M floor (N = 4096,
  M = 256, λ = 1e-3: f_u 0.0134, f_b 0.0153 at t = 10), where one seed's spread is of their size.

Full mode: the setting of :mod:`pdeflow.experiments_torus`, one seed at M = 1024 (a run is
20 480 steps, ≈ 540 s at the measured 38 steps/s: six runs, 3 200 core-seconds).  The λ = 1e-3
pair is fig_III_11_12's M = 1024 pair and the λ = 1e-2 f_u run is fig_III_14's γ = 100 run: with
one ``--out`` for the torus figures and ``--resume``, they are run once (four new runs here,
2 200 core-seconds).

Quick mode: N = 1024, M = 128, t_end = 5, the UFD on 64², one seed; τ = 2⁻⁸ for λ ≥ 1e-2 and
2⁻¹⁰ for λ = 1e-3 (:func:`pdeflow.experiments_torus.stable_tau`: 2⁻⁹ diverges there).  f_b runs at
λ ≥ 1e-2 only: at N = 1024 the λ = 1e-3 runs are still converging at t = 5 (they are also the
costly ones), and f_b's slower transient would be read as a bias.
"""

from __future__ import annotations

import time
from pathlib import Path

from pdeflow.experiments import (check_claim, check_lambda_claims, curves_summary, finish_curve_figure, log_rate,
                                 parameters, plot_curves, ran_on, run_sweep)
from pdeflow.experiments_torus import configure, torus_setting, ufd_references, write_figure_summary

LAMBDAS = (1e-1, 1e-2, 1e-3)
REGS = ("f_u", "f_b")
WIDTH_FULL, WIDTH_QUICK = 1024, 128
WINDOW = (1 / 40, 1 / 5)   # linear-rate fit, fractions of t_end: past the start, before the floor
QUICK_F_B_LAMBDAS = (1e-1, 1e-2)
LATE = (1 / 4, 1 / 2)      # where an algebraic decay has fallen behind a linear one


def run(out_dir: Path, quick: bool = False, progress: bool = True, jobs: int = 1,
        resume: bool = False, executor=None) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    started = time.perf_counter()
    base = torus_setting(quick)
    width = WIDTH_QUICK if quick else WIDTH_FULL
    out_dir.mkdir(parents=True, exist_ok=True)
    references = ufd_references(out_dir, resume)
    configs = [configure(base, quick, width=width, lam=lam, reg=reg) for reg in REGS for lam in LAMBDAS
               if not (quick and reg == "f_b" and lam not in QUICK_F_B_LAMBDAS)]
    means = run_sweep(configs, references, jobs=jobs, executor=executor, progress=progress,
                      out_dir=out_dir, resume=resume)
    window, late = (tuple(f * base.t_end for f in fractions) for fractions in (WINDOW, LATE))
    by_lambda: dict = {}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for exp, mean in zip(configs, means):
        entry = curves_summary(mean)
        entry["tau"] = exp.tau
        entry["seeds"] = exp.seeds
        entry["rate"], entry["r2"] = log_rate(mean["t"], mean["mmd_to_teacher"], window)
        entry["late_rate"], _ = log_rate(mean["t"], mean["mmd_to_teacher"], late)
        entry["final"] = {key: entry[key][-1][1] for key in ("risk", "mmd_to_teacher", "mmd_to_ufd")}
        by_lambda.setdefault(f"{exp.lam:g}", {})[exp.reg] = entry
        plot_curves(axes, mean, ls="-" if exp.reg == "f_u" else "--",
                    color=plt.cm.viridis(LAMBDAS.index(exp.lam) / len(LAMBDAS)),
                    label=f"λ = {exp.lam:g}, {exp.reg}")
    fig.suptitle(f"torus, Laplace RBF, M = {width}, γ = 100 (thesis Fig. III.13)")
    finish_curve_figure(fig, axes, out_dir / "fig_III_13.png", [window, late])
    plt.close(fig)
    gaps = {f"{lam:g}": by_lambda[f"{lam:g}"]["f_b"]["final"]["mmd_to_teacher"]
            - by_lambda[f"{lam:g}"]["f_u"]["final"]["mmd_to_teacher"] for lam in LAMBDAS
            if "f_b" in by_lambda[f"{lam:g}"]}
    summary = {"experiment": "fig_III_13", "quick": quick, **ran_on(jobs, executor), "parameters": parameters(base),
               "width": width, "lambdas": list(LAMBDAS), "fit_window": list(window), "late_window": list(late),
               "by_lambda": by_lambda, "f_b_gap_to_teacher": gaps,
               "wall_time_s": time.perf_counter() - started}
    write_figure_summary(out_dir, summary)

    fu = {lam: by_lambda[f"{lam:g}"]["f_u"] for lam in LAMBDAS}
    check_lambda_claims(fu, window, late)
    small_gaps = [gap for lam, gap in gaps.items() if float(lam) <= 1e-2]
    check_claim(gaps["0.1"] > 4 * max(small_gaps),
                f"the bias of f_b (MMD_f_b − MMD_f_u to the teacher at t_end) does not shrink with λ: {gaps}")
    return summary
