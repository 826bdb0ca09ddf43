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


# ---- COT (issue 14): P2 on the grid and as a ResNet, against plain numpy + solve_ivp RK45 ----------

def _numpy_p2_pass(theta, w, x0, y, A, kappa, mean, want_velocity=False):
    """Plain numpy depth pass of P2 (docs: theory/cot §4.1): loops over layers, arrays over (data, atoms)."""
    S, N = w.shape[0], x0.size
    xs, dfx, ex, sn = [x0], [], [], []
    for k in range(S):
        z = xs[-1][:, None] - theta[k if theta.shape[0] > 1 else 0][None, :]
        e, s = np.exp(kappa * (np.cos(z) - 1.0)), np.sin(z)
        ex.append(e)
        sn.append(s)
        xs.append(xs[-1] + A * ((e - mean) @ w[k]) / S)
        dfx.append(-A * kappa * ((s * e) @ w[k]))
    ps = [None] * (S + 1)
    ps[S] = xs[-1] - y
    for k in range(S - 1, -1, -1):
        ps[k] = ps[k + 1] + dfx[k] * ps[k + 1] / S
    pot = np.array([A * (ps[k + 1] @ (ex[k] - mean)) / N for k in range(S)])
    vel = np.array([A * kappa * (ps[k + 1] @ (sn[k] * ex[k])) / N for k in range(S)]) if want_velocity else None
    return 0.5 * float(np.mean(ps[S] ** 2)), pot, vel


def _numpy_vanleer_ring(rho, pot, h):
    """∂ₜρ = −div(ρv), v = −ΔΠ/h at the faces of a ring, MUSCL–van Leer face values (plain numpy)."""
    v = -(np.roll(pot, -1, axis=1) - pot) / h                     # face j: between cells j and j + 1
    a, b = rho - np.roll(rho, 1, axis=1), np.roll(rho, -1, axis=1) - rho
    prod = a * b
    sigma = np.where(prod > 0, 2 * prod / np.where(prod > 0, a + b, 1.0), 0.0)
    left, right = rho + sigma / 2, np.roll(rho - sigma / 2, -1, axis=1)
    flux = np.where(v > 0, v * left, v * right)
    return -(flux - np.roll(flux, 1, axis=1)) / h


def run_cot_benchmark(repeats: int = 3, S: int = 10, n: int = 256, M: int = 1024, t_end: float = 40.0,
                      rtol: float = 1e-8) -> dict:
    """P2 (docs: theory/cot §6) on the grid (S layers × n cells, van Leer) and as a ResNet (S × M particles,
    stratified), pdeflow vs plain numpy right-hand sides driven by ``solve_ivp(method="RK45")`` at the
    same tolerances; interleaved repeats, ratios on best and median times, and the risk gap."""
    from .cot import cot_problem, run_resnet, solve_cot

    pb = cot_problem("P2")
    res = pb.residual
    A, kappa, mean = res.A, res.kappa, float(res.fused()[1][2])
    x0, y = pb.x[:, 0], pb.y[:, 0]
    t_eval = np.array([0.0, t_end / 8, t_end / 4, t_end / 2, t_end])
    dom = pb.domain(n)
    h, centres = dom.spacing[0], dom.axes[0][None, :]
    rho0 = np.tile(pb.initial_density(dom), (S, 1))
    atol_grid = 1e-3 * rtol * float(np.mean(rho0))
    theta0 = pb.sample(S, M, "stratified", np.random.default_rng(0))
    atol_part = 1e-10

    def grid_ours():
        return solve_cot(pb, S=S, grid=n, t_eval=t_eval, rtol=rtol, atol=atol_grid).risk

    def grid_numpy():
        def rhs(t, yv):
            rho = yv.reshape(S, n)
            _, pot, _ = _numpy_p2_pass(centres, rho * h, x0, y, A, kappa, mean)
            return _numpy_vanleer_ring(rho, pot, h).ravel()
        sol = solve_ivp(rhs, (0.0, t_end), rho0.ravel(), method="RK45", t_eval=t_eval, rtol=rtol, atol=atol_grid)
        return np.array([_numpy_p2_pass(centres, r.reshape(S, n) * h, x0, y, A, kappa, mean)[0] for r in sol.y.T])

    w_part = np.full((S, M), 1.0 / M)

    def part_ours():
        return run_resnet(pb, S=S, M=M, theta0=theta0, t_eval=t_eval, rtol=rtol, atol=atol_part).risk

    def part_numpy():
        def rhs(t, yv):
            return -_numpy_p2_pass(yv.reshape(S, M), w_part, x0, y, A, kappa, mean, True)[2].ravel()
        sol = solve_ivp(rhs, (0.0, t_end), theta0[..., 0].ravel(), method="RK45", t_eval=t_eval, rtol=rtol,
                        atol=atol_part)
        return np.array([_numpy_p2_pass(th.reshape(S, M), w_part, x0, y, A, kappa, mean)[0] for th in sol.y.T])

    cases = {"grid": (grid_ours, grid_numpy), "particles": (part_ours, part_numpy)}
    grid_ours(), part_ours()                                      # compile / load the kernels
    report: dict = {"problem": {"S": S, "n": n, "M": M, "t_end": t_end, "rtol": rtol, "repeats": repeats}}
    for case, (ours, base) in cases.items():
        times = {"pdeflow": [], "numpy": []}
        for _ in range(repeats):
            for name, fn in (("pdeflow", ours), ("numpy", base)):
                start = time.perf_counter()
                risk = fn()
                times[name].append(time.perf_counter() - start)
                report.setdefault(case, {})[f"{name}_risk"] = [float(r) for r in risk]
        rec = report[case]
        for name, ts in times.items():
            rec[f"{name}_best_s"], rec[f"{name}_median_s"] = min(ts), float(np.median(ts))
        rec["speedup_best"] = rec["numpy_best_s"] / rec["pdeflow_best_s"]
        rec["speedup_median"] = rec["numpy_median_s"] / rec["pdeflow_median_s"]
        rec["max_rel_risk_gap"] = float(np.max(np.abs(np.array(rec["pdeflow_risk"]) - rec["numpy_risk"])
                                               / np.array(rec["numpy_risk"])))
    return report


def format_cot_report(rep: dict) -> str:
    p = rep["problem"]
    lines = [f"COT P2, S={p['S']}, t in [0, {p['t_end']:g}], rtol={p['rtol']:g}, {p['repeats']} repeats; "
             "baseline: plain numpy RHS + solve_ivp RK45, same tolerances"]
    for case, label in (("grid", f"grid n={p['n']} van Leer"), ("particles", f"ResNet M={p['M']}")):
        r = rep[case]
        lines.append(f"  {label:24s} pdeflow best {r['pdeflow_best_s']:7.3f} s  numpy best {r['numpy_best_s']:7.3f} s  "
                     f"speed-up {r['speedup_best']:.1f}x (best), {r['speedup_median']:.1f}x (median); "
                     f"risk gap {r['max_rel_risk_gap']:.1e}")
    return "\n".join(lines)
