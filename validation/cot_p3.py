"""COT P3: tanh SHL residual on a box in (u, b), the setting of Theorem II.7 (docs: theory/cot §6 P3, [C21]).

Claims checked: linear convergence of the grid risk on the late window (R² > 0.99, rate ≥ min q_low
there), q ≥ q_low at every output (grid and particles), the boundary monitor's mass stays small
(≤ 1e-6 of each layer in the outermost cells; 1e-4 on the quick mode's coarse grid), mass per
layer to round-off, and the ResNets (antithetic and i.i.d., M particles) converge at the grid's
rate within 15% on the late window.
(Their relative risk gap grows along a linear decay by the small rate difference — a width effect,
reported, not claimed.)  Reported: λ₀ = ∫λ_min(𝕂¹[μ₀]) ds of Theorem II.7.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import pdeflow as pf
from pdeflow.cot import depth_pass
from pdeflow.cot.validate import log_slope, risk_summary, risks_beside_layers
from pdeflow.experiments import check_claim, pairs, write_summary


@dataclass(frozen=True)
class P3Config:
    S: int = 5
    grid: tuple = (48, 96)
    t_end: float = 40.0
    outputs: int = 21
    window: tuple = (20.0, 40.0)
    M: int = 256
    max_boundary_mass: float = 1e-6


FULL = P3Config()
QUICK = P3Config(S=3, grid=(20, 40), t_end=10.0, outputs=11, window=(5.0, 10.0), M=64,
                max_boundary_mass=1e-4)   # coarse cells smear the b-taper further out


def lambda0(problem, domain, S: int) -> float:
    """λ₀ = (1/S)Σ_k λ_min(𝕂¹_k) at μ₀, 𝕂¹_k(i, j) = Σ_c m_c A² tanh(w₀x^i_k + b_c) tanh(w₀x^j_k + b_c)."""
    rho = problem.initial_density(domain)
    w = np.broadcast_to(rho.ravel() * domain.cell_volume, (S, domain.size))
    centres = np.stack([m.ravel() for m in domain.mesh()], axis=-1)
    dp = depth_pass(problem.residual, centres, w, problem.x, problem.y, velocities=True)
    feat = dp.dth[:, :, :, 0, 0]                               # ∂ψ/∂u = A tanh(w₀x + b), (S, C, N)
    k1 = np.einsum("kc,kci,kcj->kij", w, feat, feat)
    return float(np.mean(np.linalg.eigvalsh(k1)[:, 0]))


def run(out_dir: Path, quick: bool = False, progress: bool = True, jobs: int = 1,
        resume: bool = False, executor=None) -> dict:

    started = time.perf_counter()
    cfg = QUICK if quick else FULL
    out_dir.mkdir(parents=True, exist_ok=True)
    problem = pf.cot_problem("P3")
    t = np.linspace(0.0, cfg.t_end, cfg.outputs)
    grid = pf.solve_cot(problem, S=cfg.S, grid=cfg.grid, t_eval=t, rtol=1e-8, store=out_dir / "grid.h5",
                        resume=resume, progress=progress)
    parts = {init: pf.run_resnet(problem, S=cfg.S, M=cfg.M, init=init, t_eval=t, seed=3, rtol=1e-9,
                                 store=out_dir / f"resnet_{init}_M{cfg.M}.h5", resume=resume)
             for init in ("antithetic", "iid")}
    rate, r2 = log_slope(t, grid.risk, cfg.window)
    inwin = (t >= cfg.window[0]) & (t <= cfg.window[1])
    summary = {"experiment": "cot_p3", "quick": quick, "config": asdict(cfg),
               "risk": risk_summary(grid), "R0": float(grid.risk[0]), "R_end": float(grid.risk[-1]),
               "slope_log_risk_window": rate, "slope_r2": r2,
               "min_q_low_window": float(grid.q_low[inwin].min()),
               "q_minus_q_low_min": float(np.min(grid.q - grid.q_low)),
               "particles_q_minus_q_low_min": {k: float(np.min(p.q - p.q_low)) for k, p in parts.items()},
               "max_boundary_mass": float(grid.boundary_mass.max()),
               "mass_drift": float(np.abs(grid.mass - 1).max()),
               "particles_outside_box": {k: int(p.n_outside.max()) for k, p in parts.items()},
               "particle_risk_max_rel_gap": {k: float(np.max(np.abs(p.risk - grid.risk) / grid.risk))
                                             for k, p in parts.items()},
               "particle_slope_log_risk_window": {k: log_slope(t, p.risk, cfg.window)[0] for k, p in parts.items()},
               "particle_risk": {k: pairs(t, p.risk) for k, p in parts.items()},
               "lambda0_K1": lambda0(problem, grid.domain, cfg.S),
               "wall_time_s": time.perf_counter() - started}
    write_summary(out_dir, summary)

    curves = {f"grid {cfg.grid[0]}×{cfg.grid[1]}": (t, grid.risk)}
    curves.update({f"particles M = {cfg.M} ({k})": (t, p.risk) for k, p in parts.items()})
    risks_beside_layers(curves, f"P3 risk, S = {cfg.S}", grid, [0, cfg.t_end / 8, cfg.t_end / 2, cfg.t_end],
                        "P3: layers in (u horizontal, b vertical); rows: layers, columns: times",
                        out_dir / "cot_p3.png")

    check_claim(r2 > 0.99 and rate >= summary["min_q_low_window"],
                f"no linear convergence: rate {rate:.3g} (R² {r2:.4f}) vs min q_low {summary['min_q_low_window']:.3g}")
    check_claim(summary["q_minus_q_low_min"] >= 0 and min(summary["particles_q_minus_q_low_min"].values()) >= 0,
                "q < q_low at some output time")
    check_claim(summary["max_boundary_mass"] <= cfg.max_boundary_mass,
                f"boundary mass {summary['max_boundary_mass']:.3g} > {cfg.max_boundary_mass:g}")
    check_claim(summary["mass_drift"] < 1e-12, f"layer mass drifted by {summary['mass_drift']:.3g}")
    rates = summary["particle_slope_log_risk_window"]
    check_claim(all(abs(r / rate - 1) <= 0.15 for r in rates.values()),
                f"ResNet rates {rates} differ from the grid's {rate:.4g} by more than 15%")
    return summary
