"""COT P1: linear (RKHS) residual, an exactly reducible flow (docs: theory/cot §6 P1, [C19]).

Every layer is translated rigidly, μ_t(·|k) = μ₀(· − c_k(t)), with dc_k/dt = −V_k[c] (V_k does not
depend on θ): the reduced ODE is the ResNet flow of one particle per layer started at the mean, 0.
Claims checked:

* order-1 upwind grid risk = reduced risk up to the boundary leak: rel. diff ≤ 10 × (outer-cell mass) + 1e-8;
* antithetic particles (θ, −θ) have mean 0, so their risk is the reduced one for any M (≤ 1e-7);
* mass per layer to round-off, positivity, monotone risk;
* van Leer density L¹ error against the exact translate decreases at an observed order ≥ 1.4.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import pdeflow as pf
from pdeflow.cot.validate import observed_orders, risk_summary, risks_beside_layers
from pdeflow.experiments import check_claim, pairs, write_summary


@dataclass(frozen=True)
class P1Config:
    S: int = 5
    t_end: float = 20.0
    outputs: int = 21
    upwind_grids: tuple = (40, 80)
    vanleer_grids: tuple = (32, 64, 128)
    vanleer_half_width: float = 2.0
    widths: tuple = (2, 8, 32, 128)
    min_order: float = 1.4


FULL = P1Config()
QUICK = P1Config(S=3, t_end=8.0, outputs=9, upwind_grids=(24, 40), vanleer_grids=(16, 32),
                 widths=(2, 16), min_order=1.0)


def exact_translate(problem, domain, shift):
    """Cell averages of μ₀(· − c) on ``domain`` for each layer shift c (S, 2): CDF differences."""
    out = []
    for c in shift:
        f0 = problem.axes[0].cell_averages(domain.edges[0] - c[0])
        f1 = problem.axes[1].cell_averages(domain.edges[1] - c[1])
        out.append(np.multiply.outer(f0, f1))
    return np.array(out)


def run(out_dir: Path, quick: bool = False, progress: bool = True, jobs: int = 1,
        resume: bool = False, executor=None) -> dict:

    started = time.perf_counter()
    cfg = QUICK if quick else FULL
    out_dir.mkdir(parents=True, exist_ok=True)
    problem = pf.cot_problem("P1")
    t = np.linspace(0.0, cfg.t_end, cfg.outputs)
    # the reduced ODE: one particle per layer at the (moving) mean
    reduced = pf.run_resnet(problem, S=cfg.S, M=1, theta0=np.zeros((cfg.S, 1, 2)), t_eval=t, rtol=1e-12,
                            atol=1e-14, store=out_dir / "reduced.h5", resume=resume)
    grids, upwind = {}, {}
    for n in cfg.upwind_grids:
        g = pf.solve_cot(problem, S=cfg.S, grid=n, scheme="upwind", t_eval=t, rtol=1e-10, atol=1e-14,
                         store=out_dir / f"grid_upwind_n{n}.h5", resume=resume, progress=progress)
        grids[n] = g
        upwind[n] = {"max_rel_diff": float(np.max(np.abs(g.risk - reduced.risk) / reduced.risk)),
                     "outer_cell_mass": float(g.boundary_mass.max()),
                     "mass_drift": float(np.abs(g.mass - 1).max()), "min_density": float(g.rho.min()),
                     "monotone": bool(np.all(np.diff(g.risk) < 0))}
    anti = {}
    for M in cfg.widths:
        p = pf.run_resnet(problem, S=cfg.S, M=M, init="antithetic", t_eval=t, seed=M, rtol=1e-12, atol=1e-14)
        anti[M] = float(np.max(np.abs(p.risk - reduced.risk) / reduced.risk))
    a = cfg.vanleer_half_width
    vl_err, vl_risk = [], []
    for n in cfg.vanleer_grids:
        box = pf.Box((-a, a), (-a, a), (n, n))
        g = pf.solve_cot(problem, S=cfg.S, grid=box, scheme="vanleer", t_eval=[0.0, cfg.t_end], rtol=1e-10,
                         atol=1e-14)
        exact = exact_translate(problem, box, reduced.positions[-1][:, 0, :])
        vl_err.append(float(np.mean(box.integrate(np.abs(g.rho[-1] - exact)))))
        vl_risk.append(float(abs(g.risk[-1] - reduced.risk[-1]) / reduced.risk[-1]))
    orders = observed_orders(cfg.vanleer_grids, vl_err)
    summary = {"experiment": "cot_p1", "quick": quick, "config": asdict(cfg),
               "risk": risk_summary(grids[cfg.upwind_grids[-1]]), "reduced_risk": pairs(t, reduced.risk),
               "R0": float(reduced.risk[0]),
               "upwind_vs_reduced": {str(n): v for n, v in upwind.items()},
               "antithetic_max_rel_diff": {str(M): v for M, v in anti.items()},
               "vanleer_density_L1_t_end": dict(zip(map(str, cfg.vanleer_grids), vl_err)),
               "vanleer_density_orders": orders,
               "vanleer_risk_rel_error_t_end": dict(zip(map(str, cfg.vanleer_grids), vl_risk)),
               "wall_time_s": time.perf_counter() - started}
    write_summary(out_dir, summary)

    fine = grids[cfg.upwind_grids[-1]]
    curves = {"reduced ODE (exact)": (t, reduced.risk)}
    curves.update({f"grid upwind n = {n}": (t, grids[n].risk) for n in cfg.upwind_grids})
    risks_beside_layers(curves, f"P1 risk, S = {cfg.S}", fine, [0, cfg.t_end / 4, cfg.t_end / 2, cfg.t_end],
                        "P1: layers are translated rigidly (rows: layers; columns: times)", out_dir / "cot_p1.png")

    for n, rec in upwind.items():
        check_claim(rec["max_rel_diff"] <= 10 * rec["outer_cell_mass"] + 1e-8,
                    f"n = {n}: upwind risk differs from the reduced ODE by {rec['max_rel_diff']:.3g} "
                    f"with outer-cell mass {rec['outer_cell_mass']:.3g}")
        check_claim(rec["mass_drift"] < 1e-12 and rec["min_density"] > -1e-12 and rec["monotone"],
                    f"n = {n}: mass, positivity or monotone risk fails: {rec}")
    check_claim(max(anti.values()) < 1e-7, f"antithetic particles differ from the reduced ODE: {anti}")
    check_claim(min(orders) >= cfg.min_order, f"van Leer density order {orders} < {cfg.min_order}")
    return summary
