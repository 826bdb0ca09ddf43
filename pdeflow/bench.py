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
import os
import time
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

from .domains import Circle, Torus
from .io import check_path
from .integrators_bdf import ReuseBDF
from .models import UFDParams, UltraFastDiffusion, solve_ufd
from .outputs import write_aside
from .teacher import teacher_density

#: references shipped with the source (read only: a benchmark never writes into the source tree)
SHIPPED = Path(__file__).resolve().parent.parent / "data"
REFERENCE = SHIPPED / "ufd_circle_gamma100_t5_ref8192.npz"
GAMMA, R, COEF, T_END, T_CHECK = 100.0, 2.0, 0.5, 20.0, 5.0


def reference_cache() -> Path:
    """Where computed benchmark references are kept: ``$XDG_CACHE_HOME/pdeflow`` (``~/.cache/pdeflow``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pdeflow"


def _load_reference(name: str, fresh: bool) -> dict | None:
    """The arrays of reference ``name``: shipped in data/, else computed earlier into the cache; None if neither or ``fresh``."""
    if fresh:
        return None
    for folder in (SHIPPED, reference_cache()):
        path = folder / name
        if path.is_file():
            with np.load(path) as ref:
                return dict(ref)
    return None


def _save_reference(name: str, **arrays) -> None:
    """Keep a computed reference in :func:`reference_cache` (:func:`pdeflow.outputs.write_aside`: a
    reader never sees half a file); a cache that cannot be written is skipped."""
    try:
        folder = reference_cache()
        folder.mkdir(parents=True, exist_ok=True)
        write_aside(folder / name, lambda tmp: np.savez(tmp, **arrays))
    except OSError:
        pass


def reference_solution(n: int, n_ref: int = 8192, *, fresh: bool = False) -> np.ndarray:
    """Cell averages on ``n`` cells at t = 5 of the n_ref-cell solution (rtol 1e-10): shipped in data/,
    computed (and kept in :func:`reference_cache`) otherwise or if ``fresh``."""
    if 1024 % n:
        raise ValueError(f"the benchmark compares on grids that divide 1024 cells, got n = {n}")
    ref = _load_reference(REFERENCE.name, fresh)
    if ref is not None and int(ref["n_ref"]) == n_ref:
        return ref["rho"].reshape(n, -1).mean(axis=1)
    domain = Circle(n_ref)
    traj = solve_ufd(domain, teacher_density(domain, GAMMA), r=R, coef=COEF,
                     t_eval=[0.0, T_CHECK], rtol=1e-10, progress=True)
    fine = traj.rho[-1].reshape(1024, -1).mean(axis=1)
    if n_ref == 8192:
        _save_reference(REFERENCE.name, rho=fine, n_ref=n_ref, rtol=1e-10, t=T_CHECK, gamma=GAMMA)
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


def check_report_path(out: Path | str | None) -> Path | None:
    """``out`` as a Path a report may be written to: a new file in an existing folder (checked
    before a benchmark runs, so that minutes of timing are not lost to a bad path).

    A report never replaces a file: ``--json run.h5`` must not destroy a trajectory.
    """
    if out is None:
        return None
    out = Path(check_path(out, "out (the --json report)"))
    if os.path.lexists(out):
        raise ValueError(f"the report file {str(out)!r} already exists; a report never replaces a file: "
                         "choose a new name")
    if not out.parent.is_dir():
        raise ValueError(f"the report's folder {str(out.parent)!r} does not exist")
    return out


def write_report(report, out: Path | str | None) -> None:
    """Write a benchmark report as JSON to ``out`` (``pdeflow bench --json``), a new file; nothing if ``None``."""
    if out is not None:
        with open(check_report_path(out), "x") as f:
            f.write(json.dumps(report, indent=2))


def _interleaved(solvers: dict, repeats: int, call) -> tuple[dict, dict]:
    """Time ``call(run)`` for each solver ``repeats`` times, interleaved so that both see the same
    machine load; returns the times per solver and each solver's last result."""
    times: dict = {name: [] for name in solvers}
    last: dict = {}
    for _ in range(repeats):
        for name, run in solvers.items():
            start = time.perf_counter()
            last[name] = call(run)
            times[name].append(time.perf_counter() - start)
    return times, last


def _record_speedup(report: dict, times: dict) -> None:
    """Best, median and all times per solver, and the speed-up of the first over the second."""
    for name, ts in times.items():
        report[name].update({"best_s": min(ts), "median_s": float(np.median(ts)), "all_s": ts})
    ours, base = (report[name] for name in times)
    report["speedup_best"] = base["best_s"] / ours["best_s"]
    report["speedup_median"] = base["median_s"] / ours["median_s"]



def run_benchmark(n: int = 1024, repeats: int = 5, rtol: float = 1e-6,
                  fresh_reference: bool = False, out: Path | None = None) -> dict:
    check_report_path(out)
    domain = Circle(n)
    weight = teacher_density(domain, GAMMA)
    t_eval = np.array([0.0, T_CHECK, T_END])
    ref = reference_solution(n, fresh=fresh_reference)
    solvers = {"pdeflow (LSODA, banded analytic Jacobian)": _pdeflow,
               "baseline (solve_ivp BDF, jac_sparsity)": _baseline}
    _pdeflow(Circle(64), teacher_density(Circle(64), GAMMA), t_eval, rtol)  # compile / load kernels
    report: dict = {"problem": {"n": n, "gamma": GAMMA, "r": R, "coef": COEF, "t_end": T_END,
                                "rtol": rtol, "repeats": repeats}}
    times, last = _interleaved(solvers, repeats, lambda run: run(domain, weight, t_eval, rtol))
    for name, (rho, nfev, njev) in last.items():
        report[name] = {"L1_error_t5": float(domain.integrate(np.abs(rho - ref))), "nfev": int(nfev),
                        "njev": int(njev)}
    _record_speedup(report, times)
    write_report(report, out)
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


# ---- the 2-D UFD (torus): the default 2-D integrator against scipy's BDF ------------------------------------
UFD2D_CASE = {"length": 4.0, "gamma": GAMMA, "r": R, "coef": COEF, "t_end": 10.0, "checks": (1.0, 10.0)}
#: the reference tolerance: 1000× finer than the benchmark's default rtol = 1e-6
UFD2D_REFERENCE_RTOL = 1e-9


def ufd2d_reference(n: int, rtol: float = UFD2D_REFERENCE_RTOL, *, fresh: bool = False) -> np.ndarray:
    """The n × n torus UFD at t = 1 and t = 10, shape ``(2, n, n)``, by ``ReuseBDF`` at ``rtol``: shipped in
    data/ (n = 128), else computed and kept in :func:`reference_cache`.

    Same grid as the runs it judges, so the L¹ gap measures time-integration error only.  At
    n = 64 it agrees with scipy's ``BDF`` at rtol = 1e-10 to 1e-10 in L¹ (tests/test_integrators_bdf.py
    checks n = 16), well below the 1e-8 errors it is used to measure.
    """
    name = f"ufd_torus_gamma100_n{n}_rtol{rtol:g}.npz"
    ref = _load_reference(name, fresh)
    if ref is not None:
        return ref["rho"]
    domain, weight, t_eval = _ufd2d_problem(n)
    traj = solve_ufd(domain, weight, r=R, coef=COEF, t_eval=t_eval, method="ReuseBDF", rtol=rtol, progress=True)
    rho = traj.rho[1:]
    _save_reference(name, rho=rho, n=n, rtol=rtol, t=t_eval[1:], gamma=GAMMA, method="ReuseBDF")
    return rho


def _ufd2d_problem(n: int):
    case = UFD2D_CASE
    domain = Torus((n, n), case["length"])
    return domain, teacher_density(domain, case["gamma"]), np.array([0.0, *case["checks"]])


class _ReuseBDFSparseLU(ReuseBDF):
    """ReuseBDF handed the UFD's Jacobian as a sparse matrix (SuperLU), not as K·diag(ψ′) (Cholesky)."""

    accepts_scaled_symmetric = False


def _ufd2d_run(method, blas_threads="model"):
    """A run of the torus UFD through :func:`pdeflow.solve`; ``blas_threads`` other than "model"
    replaces the model's :attr:`~pdeflow.GridModel.blas_threads` (None: BLAS threads left alone)."""
    from .driver import solve

    def run(domain, weight, t_eval, rtol):
        model = UltraFastDiffusion(domain, weight, UFDParams(R, COEF))
        if blas_threads != "model":
            model.blas_threads = blas_threads
        rho0 = np.full(domain.shape, domain.integrate(model.weight) / domain.volume)
        traj = solve(model, rho0, t_eval, method=method, rtol=rtol)
        return traj.rho[1:], traj.stats
    return run


def run_ufd2d_benchmark(n: int = 128, repeats: int = 1, rtol: float = 1e-6, large_n: int | None = None,
                        fresh_reference: bool = False, out: Path | None = None) -> dict:
    """The torus UFD (n × n, L = 4, γ = 100, r = 2, coef = ½, t ∈ [0, 10]): the 2-D default against ``BDF``.

    Both run through :func:`pdeflow.solve_ufd` at the same ``rtol`` (``atol`` its default),
    ``repeats`` times, interleaved; the report gives the speed-up on the best and median times,
    each one's L¹ error at t = 1 and t = 10 against :func:`ufd2d_reference` (rtol = 1e-9) and
    their work counters.  ``BDF`` runs twice per repeat: as a user gets it (BLAS on one thread,
    ``UltraFastDiffusion.blas_threads``), and with BLAS threads left alone, as before issue 15:
    on a busy machine its error norms' threaded BLAS dots then wait for a second thread.
    ``large_n``: also time the default alone on a large_n² grid (one run).
    """
    check_report_path(out)
    domain, weight, t_eval = _ufd2d_problem(n)
    default = UltraFastDiffusion(domain, weight, UFDParams(R, COEF)).default_method
    ref = ufd2d_reference(n, fresh=fresh_reference)
    small = _ufd2d_problem(16)
    _ufd2d_run(default)(*small[:2], [0.0, 0.01], rtol)             # compile / load the kernels
    ours, base, threaded, lu = (f"pdeflow default ({default})", "scipy BDF (method=\"BDF\")",
                                "scipy BDF, BLAS threads left alone", "ReuseBDF with SuperLU (sparse J)")
    solvers = {ours: _ufd2d_run(default), base: _ufd2d_run("BDF"), threaded: _ufd2d_run("BDF", blas_threads=None),
               lu: _ufd2d_run(_ReuseBDFSparseLU)}
    report: dict = {"problem": {**UFD2D_CASE, "n": n, "rtol": rtol, "repeats": repeats,
                                "reference_rtol": UFD2D_REFERENCE_RTOL, "reference_method": "ReuseBDF"}}
    times, last = _interleaved(solvers, repeats, lambda run: run(domain, weight, t_eval, rtol))
    for name, (rho, stats) in last.items():
        errors = [float(domain.integrate(np.abs(rho[k] - ref[k]))) for k in range(len(UFD2D_CASE["checks"]))]
        report[name] = {"L1_error_t1": errors[0], "L1_error_t10": errors[1],
                        **{k: int(stats[k]) for k in ("nsteps", "nfev", "njev", "nlu")},
                        "linear_solver": stats.get("linear_solver", "")}
    _record_speedup(report, {ours: times[ours], base: times[base]})
    for other, key in ((threaded, "threaded"), (lu, "sparse_lu")):
        report[other].update({"best_s": min(times[other]), "median_s": float(np.median(times[other])),
                              "all_s": times[other]})
        report[f"speedup_{key}_best"] = report[other]["best_s"] / report[ours]["best_s"]
        report[f"speedup_{key}_median"] = report[other]["median_s"] / report[ours]["median_s"]
    if large_n is not None:
        big, big_weight, big_t = _ufd2d_problem(large_n)
        start = time.perf_counter()
        rho, stats = _ufd2d_run(default)(big, big_weight, big_t, rtol)
        report["large"] = {"n": int(large_n), "method": default, "wall_s": time.perf_counter() - start,
                           **{k: int(stats[k]) for k in ("nsteps", "nfev", "njev", "nlu")},
                           "linear_solver": stats.get("linear_solver", "")}
    write_report(report, out)
    return report


def format_ufd2d_report(report: dict) -> str:
    p = report["problem"]
    lines = [f"UFD torus {p['n']}x{p['n']}, L={p['length']:g}, gamma={p['gamma']:g}, r={p['r']:g}, coef={p['coef']:g}, "
             f"t in [0, {p['t_end']:g}], rtol={p['rtol']:g}, {p['repeats']} repeat(s); L1 errors against "
             f"{p['reference_method']} at rtol={p['reference_rtol']:g} on the same grid"]
    for name, rec in report.items():
        if isinstance(rec, dict) and "best_s" in rec:
            lines.append(f"  {name:35s} best {rec['best_s']:8.2f} s  median {rec['median_s']:8.2f} s  "
                         f"L1 t=1 {rec['L1_error_t1']:.2e}  t=10 {rec['L1_error_t10']:.2e}  steps {rec['nsteps']}  "
                         f"nfev {rec['nfev']}  njev {rec['njev']}  nlu {rec['nlu']}  {rec['linear_solver']}")
    lines.append(f"  speed-up of the default over BDF: {report['speedup_best']:.1f}x (best), "
                 f"{report['speedup_median']:.1f}x (median); over BDF with BLAS threads left alone: "
                 f"{report['speedup_threaded_best']:.1f}x (best), {report['speedup_threaded_median']:.1f}x (median); "
                 f"over ReuseBDF with SuperLU: {report['speedup_sparse_lu_best']:.2f}x (best), "
                 f"{report['speedup_sparse_lu_median']:.2f}x (median)")
    if "large" in report:
        g = report["large"]
        lines.append(f"  {g['n']}x{g['n']} with {g['method']}: {g['wall_s']:.1f} s  steps {g['nsteps']}  "
                     f"nfev {g['nfev']}  njev {g['njev']}  nlu {g['nlu']}  {g['linear_solver']}")
    return "\n".join(lines)


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


def run_cot_benchmark(repeats: int = 5, S: int = 10, n: int = 256, M: int = 1024, t_end: float = 40.0,
                      rtol: float = 1e-8, reference_rtol: float = 1e-11, out: Path | None = None) -> dict:
    """P2 (docs: theory/cot §6) on the grid (S layers × n cells, van Leer) and as a ResNet (S × M particles,
    stratified): pdeflow against plain numpy right-hand sides driven by ``solve_ivp(method="RK45")``.

    Every solver runs at the same ``rtol`` (and atol) ``repeats`` times, interleaved; the speed-ups
    are on the best and median times.  pdeflow runs with its default method (the grid: RK45, the
    particles: DOP853) and, where that is not RK45, also with RK45, so that the same-method ratio
    is reported too.  Accuracy: each solver's risk curve (5 outputs) against a pdeflow run at
    ``reference_rtol``, as the largest relative difference — a speed-up counts only at equal or
    better accuracy.  BLAS is held to one thread for every solver: the baseline's solver does
    its vector operations through BLAS too, and on a busy machine threaded BLAS on 10⁴-entry
    vectors costs milliseconds per call (:func:`pdeflow.integrators.blas_threads_limited`), so
    this only speeds the baseline up.
    """
    check_report_path(out)
    from .cot import cot_problem, run_resnet, solve_cot
    from .cot.particles import DEFAULT_METHOD
    from .integrators import blas_threads_limited

    pb = cot_problem("P2")
    res = pb.residual
    A, kappa, mean = res.A, res.kappa, float(res.fused().params[2])
    x0, y = pb.x[:, 0], pb.y[:, 0]
    t_eval = np.array([0.0, t_end / 8, t_end / 4, t_end / 2, t_end])
    dom = pb.domain(n)
    h, centres = dom.spacing[0], dom.axes[0][None, :]
    rho0 = np.tile(pb.initial_density(dom), (S, 1))
    grid_atol = 1e-3 * float(np.mean(rho0))          # × rtol: the package's default atol
    theta0 = pb.sample(S, M, "stratified", np.random.default_rng(0))
    part_atol = 1e-2                                  # × rtol
    w_part = np.full((S, M), 1.0 / M)

    def grid_ours(method=None, tol=rtol):
        traj = solve_cot(pb, S=S, grid=n, t_eval=t_eval, rtol=tol, atol=grid_atol * tol, method=method)
        return traj.risk, traj.stats["nfev"], traj.stats["method"]

    def grid_numpy():
        def rhs(t, yv):
            rho = yv.reshape(S, n)
            _, pot, _ = _numpy_p2_pass(centres, rho * h, x0, y, A, kappa, mean)
            return _numpy_vanleer_ring(rho, pot, h).ravel()
        sol = solve_ivp(rhs, (0.0, t_end), rho0.ravel(), method="RK45", t_eval=t_eval, rtol=rtol,
                        atol=grid_atol * rtol)
        risk = np.array([_numpy_p2_pass(centres, r.reshape(S, n) * h, x0, y, A, kappa, mean)[0] for r in sol.y.T])
        return risk, sol.nfev, "RK45"

    def part_ours(method=DEFAULT_METHOD, tol=rtol):
        traj = run_resnet(pb, S=S, M=M, theta0=theta0, t_eval=t_eval, rtol=tol, atol=part_atol * tol,
                          method=method)
        return traj.risk, traj.stats["nfev"], traj.stats["method"]

    def part_numpy():
        def rhs(t, yv):
            return -_numpy_p2_pass(yv.reshape(S, M), w_part, x0, y, A, kappa, mean, True)[2].ravel()
        sol = solve_ivp(rhs, (0.0, t_end), theta0[..., 0].ravel(), method="RK45", t_eval=t_eval, rtol=rtol,
                        atol=part_atol * rtol)
        risk = np.array([_numpy_p2_pass(th.reshape(S, M), w_part, x0, y, A, kappa, mean)[0] for th in sol.y.T])
        return risk, sol.nfev, "RK45"

    cases = {
        "grid": {"pdeflow (default method)": grid_ours, "pdeflow (RK45)": lambda: grid_ours("RK45"),
                 "numpy + RK45": grid_numpy},
        "particles": {"pdeflow (default method)": lambda: part_ours(DEFAULT_METHOD),
                      "pdeflow (RK45)": lambda: part_ours("RK45"), "numpy + RK45": part_numpy},
    }
    references = {"grid": lambda: grid_ours(tol=reference_rtol), "particles": lambda: part_ours(tol=reference_rtol)}
    report: dict = {"problem": {"S": S, "n": n, "M": M, "t_end": t_end, "rtol": rtol, "repeats": repeats,
                                "reference_rtol": reference_rtol, "t_eval": t_eval.tolist(),
                                "grid_atol": grid_atol * rtol, "particles_atol": part_atol * rtol}}
    with blas_threads_limited(1):
        for case, solvers in cases.items():
            ours_default = solvers["pdeflow (default method)"]()      # compile / load the kernels
            if ours_default[2] == "RK45":
                del solvers["pdeflow (RK45)"]                         # the default is the same method
            ref, ref_nfev, ref_method = references[case]()
            times, last = _interleaved(solvers, repeats, lambda run: run())
            rec = report[case] = {"reference": {"method": ref_method, "rtol": reference_rtol, "nfev": int(ref_nfev),
                                                "risk": ref.tolist()}}
            for name, (risk, nfev, method) in last.items():
                ts = times[name]
                rec[name] = {"method": method, "nfev": int(nfev), "best_s": min(ts), "median_s": float(np.median(ts)),
                             "all_s": ts, "risk": [float(r) for r in risk],
                             "max_rel_risk_error": float(np.max(np.abs(np.asarray(risk) / ref - 1.0)))}
            base = rec["numpy + RK45"]
            for name in solvers:
                if name.startswith("pdeflow"):
                    rec[name]["speedup_best"] = base["best_s"] / rec[name]["best_s"]
                    rec[name]["speedup_median"] = base["median_s"] / rec[name]["median_s"]
    write_report(report, out)
    return report


def format_cot_report(rep: dict) -> str:
    p = rep["problem"]
    lines = [f"COT P2, S={p['S']}, t in [0, {p['t_end']:g}], rtol={p['rtol']:g}, {p['repeats']} interleaved repeats, "
             f"BLAS 1 thread; baseline: plain numpy RHS + solve_ivp RK45, same rtol and atol; "
             f"error: largest relative risk difference at t = {', '.join(f'{t:g}' for t in p['t_eval'][1:])} "
             f"against a pdeflow run at rtol={p['reference_rtol']:g}"]
    for case, label in (("grid", f"grid n={p['n']} van Leer"), ("particles", f"ResNet M={p['M']} stratified")):
        r = rep[case]
        lines.append(f"  {label} (reference: {r['reference']['method']}, nfev {r['reference']['nfev']})")
        for name, rec in r.items():
            if not isinstance(rec, dict) or "best_s" not in rec:
                continue
            speed = (f"  speed-up {rec['speedup_best']:5.1f}x (best) {rec['speedup_median']:5.1f}x (median)"
                     if "speedup_best" in rec else "")
            lines.append(f"    {name:26s} {rec['method']:7s} best {rec['best_s']:7.3f} s  median {rec['median_s']:7.3f} s  "
                         f"nfev {rec['nfev']:5d}  error {rec['max_rel_risk_error']:.1e}{speed}")
    return "\n".join(lines)


# ---- the λ > 0 Wasserstein flow (docs: theory/wasserstein) -------------------------------------------------
WFLOW_CASE = {"n": 512, "n_data": 4096, "lam": 1e-2, "reg": "f_u", "gamma": GAMMA, "t_end": 10.0,
              "outputs": 21, "scheme": "vanleer", "seed": 0}


class _NumpyWassersteinFlow:
    """The baseline: plain numpy, the ridge problem formed and solved densely at every right-hand side.

    Same semi-discretisation as :class:`pdeflow.WassersteinFlow` (f_u, van Leer face densities
    through the numpy twin of the kernel), none of its structure: each evaluation builds the
    N × n grid feature matrix, forms AᵀA diag(m)/N + λI (O(Nn²)) and solves it by LU (O(n³)).
    """

    def __init__(self, problem, domain, lam):
        from .fv import face_graph
        from .fv.kernels import LIMITERS

        self.x, self.y, self.lam = problem.x, problem.y, lam
        self.omega = domain.axes[0]
        self.cell = domain.cell_volume
        self.graph = face_graph(domain)
        self.limiter = LIMITERS["vanleer"]

    def ridge(self, rho):
        x, n = self.x, self.x.shape[0]
        A = np.maximum(x[:, :1] * np.cos(self.omega) + x[:, 1:] * np.sin(self.omega), 0.0)
        m = np.maximum(rho, 0.0) * self.cell
        S = (A.T @ (A * m)) / n + self.lam * np.eye(m.size)
        u = np.linalg.solve(S, A.T @ self.y / n + self.lam)        # f_u: shift 1
        resid = self.y - A @ (m * u)
        h = A.T @ resid / (self.lam * n)
        risk = resid @ resid / (2 * self.lam * n) + m @ (0.5 * (u - 1.0) ** 2)
        return h, risk

    def rhs(self, t, rho):
        from .fv import reference

        h, _ = self.ridge(rho)
        psi = h + 0.5 * h * h                                       # f_u*
        g = self.graph
        face = reference.face_densities(rho, psi, g.left, g.right, g.far_left, g.far_right, self.limiter)
        return reference.face_flux_divergence(g.trans * face, psi, g.left, g.right)


def _wflow_pdeflow(problem, domain, t_eval, rtol):
    from .models import solve_wasserstein_flow

    traj = solve_wasserstein_flow(problem, lam=WFLOW_CASE["lam"], reg=WFLOW_CASE["reg"], grid=domain,
                                  t_eval=t_eval, rtol=rtol, scheme=WFLOW_CASE["scheme"])
    return traj.risk, traj.rho[-1], traj.stats["nfev"], traj.stats["method"]


def _wflow_baseline(problem, domain, t_eval, rtol):
    base = _NumpyWassersteinFlow(problem, domain, WFLOW_CASE["lam"])
    rho0 = np.full(domain.size, 1.0 / domain.volume)
    sol = solve_ivp(base.rhs, (0.0, float(t_eval[-1])), rho0, method="RK45", t_eval=t_eval, rtol=rtol,
                    atol=1e-3 * rtol * float(rho0.mean()))
    if not sol.success:
        raise RuntimeError(f"baseline failed: {sol.message}")
    risk = np.array([base.ridge(sol.y[:, k])[1] for k in range(sol.t.size)])
    return risk, sol.y[:, -1], sol.nfev, "RK45"


def run_wasserstein_benchmark(n: int = 512, repeats: int = 1, rtol: float = 1e-6,
                              out: Path | None = None) -> dict:
    """The λ-flow on the circle (n cells, N = 4096, λ = 1e-2, f_u, t ∈ [0, 10]) against the dense numpy baseline.

    Both run ``repeats`` times, interleaved; the report gives the speed-up on the best and median
    times and the largest difference between the two reduced-risk curves at the 21 outputs.
    """
    check_report_path(out)
    from .particles import make_teacher_student

    case = {**WFLOW_CASE, "n": int(n)}
    domain = Circle(case["n"])
    problem = make_teacher_student(domain, case["gamma"], case["n_data"], case["n_data"], case["seed"])
    t_eval = np.linspace(0.0, case["t_end"], case["outputs"])
    small = Circle(32)
    _wflow_pdeflow(make_teacher_student(small, GAMMA, 64, 64, 0), small, [0.0, 0.01], rtol)  # compile kernels
    solvers = {"pdeflow (WassersteinFlow, default method)": _wflow_pdeflow,
               "baseline (numpy: dense ridge solve per evaluation, RK45)": _wflow_baseline}
    report: dict = {"problem": {**case, "rtol": rtol, "repeats": repeats}}
    times, last = _interleaved(solvers, repeats, lambda run: run(problem, domain, t_eval, rtol))
    for name, (risk, _, nfev, method) in last.items():
        report[name] = {"nfev": int(nfev), "method": method, "final_risk": float(risk[-1])}
    _record_speedup(report, times)
    curves = [risk for risk, *_ in last.values()]
    report["max_risk_difference"] = float(np.max(np.abs(curves[0] - curves[1])))
    report["max_risk_relative_difference"] = float(np.max(np.abs(curves[0] - curves[1]) / np.abs(curves[1])))
    write_report(report, out)
    return report


def format_wasserstein_report(report: dict) -> str:
    p = report["problem"]
    lines = [f"lambda-flow, circle n={p['n']}, N={p['n_data']}, lambda={p['lam']:g}, {p['reg']}, {p['scheme']}, "
             f"t in [0, {p['t_end']:g}], rtol={p['rtol']:g}, {p['repeats']} repeat(s)"]
    for name, rec in report.items():
        if isinstance(rec, dict) and "best_s" in rec:
            lines.append(f"  {name:58s} best {rec['best_s']:8.2f} s  median {rec['median_s']:8.2f} s  "
                         f"nfev {rec['nfev']}  ({rec['method']})")
    lines.append(f"  speed-up of pdeflow over the baseline: {report['speedup_best']:.1f}x (best), "
                 f"{report['speedup_median']:.1f}x (median)")
    lines.append(f"  largest difference of the reduced-risk curves: {report['max_risk_difference']:.2e} "
                 f"(relative {report['max_risk_relative_difference']:.2e})")
    return "\n".join(lines)
