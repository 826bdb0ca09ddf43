"""COT P2 (flagship): translation residual on the circle, grid vs finite ResNets (docs: theory/cot §6 P2).

Grid: S layers of van Leer finite volumes on n cells.  Particles: ResNets of depth S and width
M, stratified (W₂ to μ₀ ∝ 1/M) and i.i.d. (∝ M^{−1/2}).  Claims checked:

* the particle risk curves approach the grid's as M grows;
* W₂^COT(particles, grid) ∝ M^{−1} (stratified) and M^{−1/2} (i.i.d.), and grows in t by at most a
  bounded factor (the stability estimate [C13] allows e^{Ct});
* linear convergence: log R decays at a rate ≥ min q_low on the late window, and q ≥ q_low at every
  output time ([C16], [C18]);
* the observed grid order of the risk curve (van Leer) is ≥ 1.7 (quick mode: ≥ 1.5).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import pdeflow as pf
from pdeflow.cot.validate import (log_slope, loglog_slope, observed_orders, plot_depth_theta, plot_risks,
                                  risk_summary, save)
from pdeflow.experiments import check_claim, pairs, write_summary
from pdeflow.metrics import layer_measures, wasserstein_cot


@dataclass(frozen=True)
class P2Config:
    S: int = 10
    n: int = 256
    t_end: float = 40.0
    outputs: int = 41
    widths: tuple = (16, 32, 64, 128, 256)
    iid_seeds: int = 8
    order_grids: tuple = (32, 64, 128)
    reference_grid: int = 1024
    window: tuple = (20.0, 40.0)
    min_order: float = 1.7
    rtol: float = 1e-9


FULL = P2Config()
QUICK = P2Config(S=4, n=64, t_end=10.0, outputs=11, widths=(16, 32, 64), iid_seeds=2,
                 order_grids=(16, 32, 64), reference_grid=256, window=(5.0, 10.0), min_order=1.5,
                 rtol=1e-8)


def run(out_dir: Path, quick: bool = False, progress: bool = True, jobs: int = 1,
        resume: bool = False, executor=None) -> dict:
    import matplotlib.pyplot as plt

    started = time.perf_counter()
    cfg = QUICK if quick else FULL
    out_dir.mkdir(parents=True, exist_ok=True)
    t = np.linspace(0.0, cfg.t_end, cfg.outputs)
    grid = pf.solve_cot("P2", S=cfg.S, grid=cfg.n, t_eval=t, rtol=cfg.rtol, store=out_dir / "grid.h5",
                        resume=resume, progress=progress)
    dom = grid.domain
    grid_layers = [layer_measures(r, dom, "grid") for r in grid.rho]

    def distances(traj):
        return np.array([wasserstein_cot(layer_measures(traj.positions[k], dom, "particles"), grid_layers[k],
                                         dom) for k in range(t.size)])

    w2 = {"stratified": {}, "iid": {}}
    risks = {}
    for M in cfg.widths:
        strat = pf.run_resnet("P2", S=cfg.S, M=M, init="stratified", t_eval=t, seed=M, rtol=cfg.rtol,
                              store=out_dir / f"resnet_stratified_M{M}.h5", resume=resume)
        w2["stratified"][M] = distances(strat)
        risks[M] = strat
        sq = []
        for seed in range(cfg.iid_seeds):
            iid = pf.run_resnet("P2", S=cfg.S, M=M, init="iid", t_eval=t, seed=1000 * seed + M, rtol=cfg.rtol,
                                store=out_dir / f"resnet_iid_M{M}_seed{seed}.h5", resume=resume)
            sq.append(distances(iid) ** 2)
        w2["iid"][M] = np.sqrt(np.mean(sq, axis=0))   # root-mean-square over seeds

    # time-RMS distance per width, and the per-time exponents
    exponents = {kind: loglog_slope(cfg.widths, [np.sqrt(np.mean(w2[kind][M] ** 2)) for M in cfg.widths])
                 for kind in w2}
    per_time = {kind: [loglog_slope(cfg.widths, [w2[kind][M][k] for M in cfg.widths]) for k in range(t.size)]
                for kind in w2}
    growth = {kind: float(max(np.max(w2[kind][M] / w2[kind][M][0]) for M in cfg.widths)) for kind in w2}

    # grid order of the risk curve
    ref = pf.solve_cot("P2", S=cfg.S, grid=cfg.reference_grid, t_eval=t, rtol=1e-10, atol=1e-14)
    errors = [float(np.max(np.abs(pf.solve_cot("P2", S=cfg.S, grid=n, t_eval=t, rtol=1e-10, atol=1e-14).risk
                                  - ref.risk) / ref.risk)) for n in cfg.order_grids]
    orders = observed_orders(cfg.order_grids, errors)

    rate, r2 = log_slope(t, grid.risk, cfg.window)
    inwin = (t >= cfg.window[0]) & (t <= cfg.window[1])
    widest = risks[cfg.widths[-1]]
    rel_gap = {M: float(np.max(np.abs(risks[M].risk - grid.risk) / grid.risk)) for M in cfg.widths}
    summary = {
        "experiment": "cot_p2", "quick": quick, "config": asdict(cfg),
        "risk": risk_summary(grid),
        "risk_at": {f"{s:g}": float(np.interp(s, t, grid.risk)) for s in (5, 10, 20, 40) if s <= cfg.t_end},
        "slope_log_risk_window": rate,
        "slope_r2": r2,
        "min_q_low_window": float(grid.q_low[inwin].min()),
        "q_minus_q_low_min": float(np.min(grid.q - grid.q_low)),
        "particles_q_minus_q_low_min": float(min(np.min(r.q - r.q_low) for r in risks.values())),
        "w2cot_vs_M": {kind: {str(M): float(np.sqrt(np.mean(w2[kind][M] ** 2))) for M in cfg.widths}
                       for kind in w2},
        "w2cot_curves": {kind: {str(M): pairs(t, w2[kind][M]) for M in cfg.widths} for kind in w2},
        "w2cot_exponent": exponents,
        "w2cot_exponent_per_time": per_time,
        "w2cot_max_growth_over_t0": growth,
        "particle_risk_max_rel_gap": {str(M): v for M, v in rel_gap.items()},
        "grid_order_errors": dict(zip(map(str, cfg.order_grids), errors)),
        "grid_orders": orders,
        "mass_drift": float(np.abs(grid.mass - 1).max()),
        "grid_stats": {k: grid.stats[k] for k in ("nfev", "nsteps", "wall_time", "method")},
    }
    if cfg.window == (20.0, 40.0):
        summary["slope_log_risk_20_40"] = rate
    summary["wall_time_s"] = time.perf_counter() - started
    write_summary(out_dir, summary)

    fig = plt.figure(figsize=(15, 8))
    top = [fig.add_subplot(2, 3, i + 1) for i in range(3)]
    curves = {f"grid n = {cfg.n}": (t, grid.risk)}
    curves.update({f"particles M = {M} (stratified)": (t, risks[M].risk) for M in cfg.widths})
    plot_risks(top[0], curves, f"P2 risk, S = {cfg.S}")
    for kind, style in (("stratified", "o-"), ("iid", "s--")):
        top[1].loglog(cfg.widths, [summary["w2cot_vs_M"][kind][str(M)] for M in cfg.widths], style,
                      label=f"{kind}: slope {exponents[kind]:.2f}")
    top[1].set_xlabel("width M")
    top[1].set_title("W₂^COT(particles, grid), RMS over t")
    top[1].legend(fontsize=8)
    top[2].semilogy(t, grid.q, label="q = G/R (grid)")
    top[2].semilogy(t, grid.q_low, label="q_low (grid)")
    top[2].semilogy(t, widest.q, "--", label=f"q (M = {cfg.widths[-1]})")
    top[2].set_xlabel("t")
    top[2].legend(fontsize=8)
    top[2].set_title("P-Ł ratio and its lower bound")
    bottom = [fig.add_subplot(2, 4, 5 + i) for i in range(4)]
    plot_depth_theta(fig, bottom, grid, [0, cfg.t_end / 8, cfg.t_end / 2, cfg.t_end])
    save(fig, out_dir / "cot_p2.png")

    check_claim(rel_gap[cfg.widths[-1]] < rel_gap[cfg.widths[0]],
                f"particle risk does not approach the grid's as M grows: {rel_gap}")
    check_claim(-1.3 <= exponents["stratified"] <= -0.7,
                f"stratified W₂^COT exponent {exponents['stratified']:.2f}, expected ≈ −1")
    check_claim(-0.8 <= exponents["iid"] <= -0.25, f"i.i.d. W₂^COT exponent {exponents['iid']:.2f}, expected ≈ −1/2")
    check_claim(max(growth.values()) < 10.0, f"W₂^COT grows by {growth} over [0, {cfg.t_end}]")
    check_claim(summary["q_minus_q_low_min"] >= 0 and summary["particles_q_minus_q_low_min"] >= 0,
                "q < q_low at some output time")
    check_claim(r2 > 0.99 and rate >= summary["min_q_low_window"],
                f"no linear convergence: rate {rate:.3g} (R² {r2:.4f}) vs min q_low {summary['min_q_low_window']:.3g}")
    check_claim(min(orders) >= cfg.min_order, f"van Leer grid order {orders} < {cfg.min_order}")
    return summary
