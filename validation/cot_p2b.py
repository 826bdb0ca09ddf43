"""COT P2b: translation residual on the 2-D torus, grid vs finite ResNets (docs: theory/cot §6 P2b).

Tuned values in :data:`pdeflow.cot.problems.P2B` (κ = 1.5, A = 3.5, six points: λ_min(𝕂₀) = 0.175,
q(0) = 0.68).  Claims checked: the stratified (lattice) ResNets' risk approaches the grid's as M
grows, and the energy-distance MMD between particles and grid (layer-averaged) shrinks; q ≥ q_low at
every output time; the grid risk decreases monotonically and keeps every layer's mass.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import pdeflow as pf
from pdeflow.cot.validate import risk_summary, risks_beside_layers
from pdeflow.experiments import check_claim, pairs, write_summary
from pdeflow.metrics import grid_points, mmd


@dataclass(frozen=True)
class P2bConfig:
    S: int = 6
    n: int = 48
    t_end: float = 20.0
    outputs: int = 11
    widths: tuple = (64, 256, 1024)
    max_gap: float = 0.05


FULL = P2bConfig()
QUICK = P2bConfig(S=3, n=20, t_end=4.0, outputs=5, widths=(16, 64), max_gap=0.15)


def run(out_dir: Path, quick: bool = False, progress: bool = True, jobs: int = 1,
        resume: bool = False, executor=None) -> dict:

    started = time.perf_counter()
    cfg = QUICK if quick else FULL
    out_dir.mkdir(parents=True, exist_ok=True)
    problem = pf.cot_problem("P2b")
    t = np.linspace(0.0, cfg.t_end, cfg.outputs)
    grid = pf.solve_cot(problem, S=cfg.S, grid=cfg.n, t_eval=t, rtol=1e-8, store=out_dir / "grid.h5",
                        resume=resume, progress=progress)
    dom = grid.domain
    parts, gaps, dists = {}, {}, {}
    for M in cfg.widths:
        p = pf.run_resnet(problem, S=cfg.S, M=M, init="stratified", t_eval=t, seed=M, rtol=1e-9,
                          store=out_dir / f"resnet_stratified_M{M}.h5", resume=resume)
        parts[M] = p
        gaps[M] = float(np.max(np.abs(p.risk - grid.risk) / grid.risk))
        end = []
        for k in (0, t.size - 1):
            layer_d = []
            for s in range(cfg.S):
                centres, masses = grid_points(dom, grid.rho[k, s])
                layer_d.append(mmd(np.mod(p.positions[k, s], 2 * np.pi), centres, dom, y_weights=masses))
            end.append(float(np.sqrt(np.mean(np.square(layer_d)))))
        dists[M] = end
    summary = {"experiment": "cot_p2b", "quick": quick, "config": asdict(cfg),
               "tuned": {k: v for k, v in problem.info.items()},
               "risk": risk_summary(grid), "R0": float(grid.risk[0]), "R_end": float(grid.risk[-1]),
               "q0": float(grid.q[0]), "q_low0": float(grid.q_low[0]),
               "q_minus_q_low_min": float(np.min(grid.q - grid.q_low)),
               "particles_q_minus_q_low_min": float(min(np.min(p.q - p.q_low) for p in parts.values())),
               "particle_risk_max_rel_gap": {str(M): v for M, v in gaps.items()},
               "mmd_particles_grid_t0_tend": {str(M): v for M, v in dists.items()},
               "particle_risk": {str(M): pairs(t, p.risk) for M, p in parts.items()},
               "mass_drift": float(np.abs(grid.mass - 1).max()),
               "wall_time_s": time.perf_counter() - started}
    write_summary(out_dir, summary)

    curves = {f"grid {cfg.n}²": (t, grid.risk)}
    curves.update({f"particles M = {M} (stratified)": (t, p.risk) for M, p in parts.items()})
    risks_beside_layers(curves, f"P2b risk, S = {cfg.S}", grid, [0, cfg.t_end / 8, cfg.t_end / 2, cfg.t_end],
                        "P2b: layers on the torus (θ₁ horizontal, θ₂ vertical); rows: layers, columns: times",
                        out_dir / "cot_p2b.png")

    check_claim(gaps[cfg.widths[-1]] < gaps[cfg.widths[0]] and gaps[cfg.widths[-1]] < cfg.max_gap,
                f"particle risk does not approach the grid's: {gaps}")
    check_claim(dists[cfg.widths[-1]][-1] < dists[cfg.widths[0]][-1],
                f"MMD(particles, grid) does not shrink with M: {dists}")
    check_claim(summary["q_minus_q_low_min"] >= 0 and summary["particles_q_minus_q_low_min"] >= 0,
                "q < q_low at some output time")
    check_claim(bool(np.all(np.diff(grid.risk) < 0)) and summary["mass_drift"] < 1e-12,
                "grid risk not decreasing or layer mass not kept")
    return summary
