"""``pdeflow bench``: the thesis UFD case timed against a scipy baseline in the same run.

Problem: circle, n = 1024, weight μ_γ (γ = 100, exact cell averages), r = 2,
coef = ½, uniform start, t ∈ [0, 20].  Baseline: ``solve_ivp(method="BDF")``
with ``jac_sparsity`` (finite-difference sparse Jacobian) on the same
semi-discretisation.  Accuracy: L¹ error at t = 5 against an n = 8192 solution
coarsened by cell averaging.  The machine may be shared, so each solver runs
``repeats`` times, interleaved, and the ratio is reported on the best and on the
median times.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

from .domains import Circle
from .models import UFDParams, UltraFastDiffusion, solve_ufd
from .teacher import teacher_density

REFERENCE = Path(__file__).resolve().parent.parent / "data" / "ufd_circle_gamma100_t5_ref8192.npz"
GAMMA, R, COEF, T_END, T_CHECK = 100.0, 2.0, 0.5, 20.0, 5.0


def reference_solution(n: int, n_ref: int = 8192, *, fresh: bool = False) -> np.ndarray:
    """Cell averages on ``n`` cells at t = 5 of the n_ref-cell solution (rtol 1e-10), cached in data/."""
    if 1024 % n:
        raise ValueError(f"the benchmark compares on grids that divide 1024 cells, got n = {n}")
    if not fresh and REFERENCE.is_file():
        with np.load(REFERENCE) as ref:
            if int(ref["n_ref"]) == n_ref:
                fine = ref["rho"]
                return fine.reshape(n, -1).mean(axis=1)
    domain = Circle(n_ref)
    traj = solve_ufd(domain, teacher_density(domain, GAMMA), r=R, coef=COEF,
                     t_eval=[0.0, T_CHECK], rtol=1e-10, progress=True)
    fine = traj.rho[-1].reshape(1024, -1).mean(axis=1)
    try:
        REFERENCE.parent.mkdir(exist_ok=True)
        np.savez(REFERENCE, rho=fine, n_ref=n_ref, rtol=1e-10, t=T_CHECK, gamma=GAMMA)
    except OSError:
        pass
    return fine.reshape(n, -1).mean(axis=1)


def _pdeflow(domain, weight, t_eval, rtol):
    traj = solve_ufd(domain, weight, r=R, coef=COEF, t_eval=t_eval, rtol=rtol)
    return traj.rho[1], traj.stats["nfev"], traj.stats["njev"]


def _baseline(domain, weight, t_eval, rtol):
    model = UltraFastDiffusion(domain, weight, UFDParams(R, COEF))
    y0 = model.to_state(np.full(domain.shape, 1.0 / domain.volume))
    atol = 1e-3 * rtol * float(np.mean(weight))
    sol = solve_ivp(model.rhs, (0.0, T_END), y0, method="BDF", t_eval=t_eval, rtol=rtol, atol=atol,
                    jac_sparsity=model.sparse.pattern())
    if not sol.success:
        raise RuntimeError(f"baseline failed: {sol.message}")
    return model.to_density(sol.y[:, 1]), sol.nfev, sol.njev


def run_benchmark(n: int = 1024, repeats: int = 5, rtol: float = 1e-6,
                  fresh_reference: bool = False, out: Path | None = None) -> dict:
    domain = Circle(n)
    weight = teacher_density(domain, GAMMA)
    t_eval = np.array([0.0, T_CHECK, T_END])
    ref = reference_solution(n, fresh=fresh_reference)
    solvers = {"pdeflow (LSODA, banded analytic Jacobian)": _pdeflow,
               "baseline (solve_ivp BDF, jac_sparsity)": _baseline}
    _pdeflow(Circle(64), teacher_density(Circle(64), GAMMA), t_eval, rtol)  # compile / load kernels
    times = {name: [] for name in solvers}
    report: dict = {"problem": {"n": n, "gamma": GAMMA, "r": R, "coef": COEF, "t_end": T_END,
                                "rtol": rtol, "repeats": repeats}}
    for _ in range(repeats):
        for name, run in solvers.items():
            start = time.perf_counter()
            rho, nfev, njev = run(domain, weight, t_eval, rtol)
            times[name].append(time.perf_counter() - start)
            report.setdefault(name, {}).update(
                {"L1_error_t5": float(domain.integrate(np.abs(rho - ref))), "nfev": int(nfev),
                 "njev": int(njev)})
    for name, ts in times.items():
        report[name].update({"best_s": min(ts), "median_s": float(np.median(ts)), "all_s": ts})
    ours, base = (report[name] for name in solvers)
    report["speedup_best"] = base["best_s"] / ours["best_s"]
    report["speedup_median"] = base["median_s"] / ours["median_s"]
    if out is not None:
        Path(out).write_text(json.dumps(report, indent=2))
    return report


def format_report(report: dict) -> str:
    lines = [f"UFD thesis case: circle n={report['problem']['n']}, gamma=100, r=2, coef=1/2, "
             f"t in [0, 20], rtol={report['problem']['rtol']:g}, {report['problem']['repeats']} repeats"]
    for name, rec in report.items():
        if isinstance(rec, dict) and "best_s" in rec:
            lines.append(f"  {name:45s} best {rec['best_s']:8.3f} s  median {rec['median_s']:8.3f} s  "
                         f"L1 error(t=5) {rec['L1_error_t5']:.2e}  nfev {rec['nfev']}  njev {rec['njev']}")
    lines.append(f"  speed-up of pdeflow over the baseline: {report['speedup_best']:.1f}x (best), "
                 f"{report['speedup_median']:.1f}x (median)")
    return "\n".join(lines)


def _numpy_varpro_step(omega, x, y, lam, tau):
    """The baseline: form AᵀA and solve the normal equations densely at every step (f_b)."""
    n, m = x.shape[0], omega.size
    z = x[:, :1] * np.cos(omega) + x[:, 1:] * np.sin(omega)
    A = np.maximum(z, 0.0)
    dA = (z > 0) * (x[:, 1:] * np.cos(omega) - x[:, :1] * np.sin(omega))
    b = A.T @ y / n
    S = A.T @ A / (m * n) + lam * np.eye(m)
    u = np.linalg.solve(S, b)
    alpha = (y - A @ u / m) / lam
    velocity = u * (dA.T @ alpha) / n
    residual = np.linalg.norm(b - S @ u) / np.linalg.norm(b)
    return np.mod(omega + tau * velocity, 2 * np.pi), residual


def run_varpro_benchmark(width: int = 1024, n_data: int = 4096, steps: int = 20, lam: float = 1e-4,
                         seed: int = 0) -> dict:
    """Seconds per VarPro step (f_b, circle): pdeflow vs the dense numpy baseline, same start."""
    from .particles import VarPro, make_teacher_student

    domain = Circle(8)
    rng = np.random.default_rng(seed)
    problem = make_teacher_student(domain, GAMMA, n_data, n_data, rng)
    omega0 = rng.uniform(0, 2 * np.pi, width)
    tau = 2.0**-10
    varpro = VarPro(problem, lam, "f_b")
    state = varpro.state(omega0)  # compile kernels, first factorisation
    ours, base, res_ours, res_base = [], [], [], []
    omega_a = omega_b = omega0
    u = state.u
    for _ in range(steps):
        start = time.perf_counter()
        state = varpro.state(omega_a, u)
        u = state.u
        omega_a = domain.wrap(omega_a + tau * state.velocity)
        ours.append(time.perf_counter() - start)
        res_ours.append(state.residual)
        start = time.perf_counter()
        omega_b, res = _numpy_varpro_step(omega_b, problem.x, problem.y, lam, tau)
        base.append(time.perf_counter() - start)
        res_base.append(res)
    gap = np.abs(np.angle(np.exp(1j * (omega_a - omega_b)))).max()
    return {"width": width, "n_data": n_data, "steps": steps, "lam": lam,
            "pdeflow_step_best_s": min(ours), "pdeflow_step_median_s": float(np.median(ours)),
            "baseline_step_best_s": min(base), "baseline_step_median_s": float(np.median(base)),
            "speedup_best": min(base) / min(ours), "speedup_median": float(np.median(base) / np.median(ours)),
            "pdeflow_max_residual": max(res_ours), "baseline_max_residual": max(res_base),
            "factorizations": varpro.projection.factorizations, "max_position_gap": float(gap)}


def format_varpro_report(rep: dict) -> str:
    return "\n".join([
        f"VarPro step, circle, M={rep['width']}, N={rep['n_data']}, f_b, lambda={rep['lam']:g}, "
        f"{rep['steps']} steps from the same start",
        f"  pdeflow (PCG, warm start, cached inverse)   best {rep['pdeflow_step_best_s'] * 1e3:8.1f} ms  "
        f"median {rep['pdeflow_step_median_s'] * 1e3:8.1f} ms  max residual {rep['pdeflow_max_residual']:.1e}  "
        f"({rep['factorizations']} factorisations)",
        f"  baseline (form AᵀA, dense solve each step)  best {rep['baseline_step_best_s'] * 1e3:8.1f} ms  "
        f"median {rep['baseline_step_median_s'] * 1e3:8.1f} ms  max residual {rep['baseline_max_residual']:.1e}",
        f"  speed-up: {rep['speedup_best']:.1f}x (best), {rep['speedup_median']:.1f}x (median); "
        f"largest position difference after {rep['steps']} steps {rep['max_position_gap']:.1e}",
    ])
