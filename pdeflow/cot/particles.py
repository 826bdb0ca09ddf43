"""The finite ResNet of depth S and width M: particles of the COT flow (docs: theory/cot §3, §4.4, [C9]).

    x_{k+1} = x_k + (1/S)(1/M) Σ_j ψ(θ_{k,j}, x_k),   k = 0..S−1.

Its parameter measure is Σ_k 1_{[k/S,(k+1)/S)} ds ⊗ (1/M)Σ_j δ_{θ_{k,j}}, and the empirical
measures are exact weak solutions of the semi-discrete COT flow when every particle moves by
dθ_{k,j}/dt = −V_k(θ_{k,j}) ([C9]; V_k of :mod:`pdeflow.cot.depth`).  The Euclidean gradient of
the finite network is ∂R/∂θ_{k,j} = V_k(θ_{k,j})/(S M) (docs: theory/cot §3), so gradient descent
θ ← θ − η∇_θR with η = S·M·τ is explicit Euler of the flow with time step τ: iteration n is
time nτ.  Both the ODE (any scipy OdeSolver) and that gradient descent are offered.
"""

from __future__ import annotations

import os
from typing import Callable

import numpy as np
from tqdm.auto import tqdm

from ..scalars import as_count, as_flag, as_real
from ..errors import IntegrationError
from ..integrators import METHODS, SolverStats, check_method, check_times, integrate, method_name
from ..io import check_path
from ..runs import Run, previous_run
from ..trajectory import Trajectory
from .depth import DepthPass, DepthWorkspace, gradient_norm, pl_lower_bound
from .problems import INITS, COTProblem
from .solve import as_problem, check_depth

__all__ = ["ResNetFlow", "run_resnet", "DEFAULT_METHOD"]

#: The ODE integrator of :func:`run_resnet` unless told otherwise: DOP853 was faster than RK45,
#: at better accuracy, on every test problem (docs: theory/cot §4.4).
DEFAULT_METHOD = "DOP853"


class ResNetFlow:
    """dθ/dt = −V(θ) for the particles θ (S, M, p) of a problem (the ODE of [C9]).

    The Jacobian is dense (every particle moves every datum), so none is offered; LSODA is told
    a band of 1 as a memory device only (without it, it allocates a dense (S·M·p)² matrix and
    forms it by S·M·p evaluations whenever it turns stiff; docs: theory/cot §4.3).
    """

    jacobian = "none"
    band_hint = 1
    blas_threads = 1          # the right-hand side is numba only

    def __init__(self, problem: COTProblem, S: int, M: int):
        self.problem, self.S, self.M = problem, S, M
        self.p = problem.residual.p
        self.weights = np.full((S, M), 1.0 / M)
        lo = np.array([ax.lower for ax in problem.axes])
        hi = np.array([ax.upper for ax in problem.axes])
        self._closed = np.array([not ax.periodic for ax in problem.axes])
        self._lo, self._hi = lo, hi
        # every right-hand side is one fused depth pass on these buffers
        self._depth = DepthWorkspace(problem.residual, S, M, problem.x, problem.y, shared=False)

    def shape(self, y: np.ndarray) -> np.ndarray:
        return y.reshape(self.S, self.M, self.p)

    def _run(self, theta: np.ndarray, kernels: bool = False) -> DepthWorkspace:
        """The depth pass with velocities at positions θ (S, M, p) (or the flat state)."""
        ws = self._depth
        ws.run(theta.reshape(ws.velocity.shape), self.weights, velocities=True, kernels=kernels)
        return ws

    def fields(self, theta: np.ndarray) -> DepthPass:
        """Forward states, adjoints, risk, potentials and velocities V (S, M, p) at θ."""
        return self._run(theta).depth_pass()

    def rhs(self, t: float, y: np.ndarray) -> np.ndarray:
        """−V_k(θ_{k,j}) for the flat state y (one compiled call; a fresh array)."""
        return -self._run(y).velocity.reshape(-1)

    def outside(self, theta: np.ndarray) -> np.ndarray:
        """Particles of each layer outside the box (closed axes only), shape (S,)."""
        out = (theta < self._lo) | (theta > self._hi)
        return np.sum(np.any(out & self._closed, axis=-1), axis=-1)

    def diagnostics(self, theta: np.ndarray) -> dict:
        ws = self._run(theta, kernels=True)
        dp = ws.depth_pass()
        G = gradient_norm(dp, self.weights)
        return {"risk": dp.risk, "grad_norm": G, "q": G / dp.risk if dp.risk > 0 else np.inf,
                "q_low": pl_lower_bound(dp, ws.kernels),
                "mass": self.weights.sum(axis=1), "n_outside": self.outside(theta)}


def _check_theta0(theta0, S: int, M: int, p: int) -> np.ndarray:
    theta = np.array(theta0, dtype=float)
    if theta.shape == (S, M) and p == 1:
        theta = theta[..., None]
    if theta.shape != (S, M, p):
        raise ValueError(f"theta0 has shape {theta.shape}; expected (S, M, p) = {(S, M, p)}")
    if not np.all(np.isfinite(theta)):
        raise ValueError("theta0 has non-finite entries")
    return theta


def _gd_steps(t_eval: np.ndarray, tau: float) -> np.ndarray:
    """The GD iteration of each output time (which must be a multiple of τ)."""
    steps = np.round(t_eval / tau).astype(int)
    if np.any(np.abs(steps * tau - t_eval) > 1e-9 * max(1.0, t_eval[-1])):
        raise ValueError(f"with method='gd' every output time must be a multiple of tau = {tau:g}")
    return steps


def _gd(flow: ResNetFlow, theta0: np.ndarray, t_eval: np.ndarray, tau: float,
        on_output: Callable, progress: bool, stats: dict) -> None:
    """Gradient descent θ ← θ − τV(θ) (η = S·M·τ on the Euclidean gradient), iteration n = time nτ."""
    steps = _gd_steps(t_eval, tau)
    theta = theta0
    k_out = 0
    bar = tqdm(total=int(steps[-1]), disable=not progress, leave=False, desc="ResNet GD")
    for n in range(int(steps[-1]) + 1):
        with np.errstate(over="ignore", invalid="ignore"):   # reported below as IntegrationError
            dp = flow.fields(theta)
        if not (np.isfinite(dp.risk) and np.all(np.isfinite(dp.velocity))):
            raise IntegrationError(f"non-finite velocity or risk at t = {n * tau:.6g} (step {n}): "
                                   "the step tau is too large", t=n * tau)
        while k_out < steps.size and steps[k_out] == n:
            on_output(n * tau, theta, dp)
            k_out += 1
        if n < steps[-1]:
            theta = theta - tau * dp.velocity
            if not np.all(np.isfinite(theta)):
                raise IntegrationError(f"non-finite positions at t = {(n + 1) * tau:.6g} (step {n + 1})",
                                       t=(n + 1) * tau)
        stats["nsteps"] = n
        bar.update(1)
    bar.close()


def run_resnet(problem, *, S: int, M: int, init: str = "iid", t_eval, method: str = DEFAULT_METHOD,
               tau: float | None = None, rtol: float = 1e-8, atol: float = 1e-10, theta0=None,
               seed=None, store: str | os.PathLike | None = None, overwrite: bool = False,
               progress: bool = False, resume: bool = False) -> Trajectory:
    """Train a finite ResNet (depth S, width M) by the COT flow of its particles ([C9], docs: theory/cot §3).

    Parameters
    ----------
    problem : str or COTProblem
        ``"P1"``, ``"P2"``, ``"P2b"``, ``"P3"`` or a problem object.
    S, M : int
        Depth (layers) and width (particles per layer).
    init : {"iid", "stratified", "antithetic"}
        Initialisation from μ₀: i.i.d. (W₂ to μ₀ ∝ M^{−1/2}), stratified per layer (∝ M^{−1}), or
        antithetic pairs reflected in the linear coordinates (F_{μ₀} ≡ 0 exactly; P1, P3).
    t_eval : array_like, shape (T,)
        Output times.
    method : str or OdeSolver subclass
        ``"gd"``: gradient descent with step ``tau`` (η = S·M·τ on the Euclidean gradient,
        iteration n = time nτ); else a scipy OdeSolver on dθ/dt = −V(θ) — default DOP853, which
        was faster than RK45 at better accuracy on every problem (docs: theory/cot §4.4).
    tau : float
        GD step (``method="gd"`` only); output times must be multiples of it.
    rtol, atol : float
        ODE tolerances.
    theta0 : ndarray, shape (S, M, p), optional
        Start instead of ``init``.
    seed : int or Generator, optional
        Randomness of the initialisation.
    store, overwrite, progress
        HDF5 file written as the run goes (shared :class:`~pdeflow.runs.Run` lifecycle).
    resume : bool
        If ``store`` holds a complete run of the same problem, parameters, start ``theta0`` and
        output times, return it as read back; if it holds an unfinished one, train again into
        it from ``theta0``; another run in ``store`` is an error, never replaced.

    Returns
    -------
    Trajectory
        ``positions`` (T, S, M, p), ``risk``, ``grad_norm`` (G), ``q``, ``q_low``, ``mass`` (T, S),
        ``n_outside`` (T, S): particles outside a box.

    Raises
    ------
    ValueError
        Unknown problem, init or method; S, M not positive integers; bad times — before any work.
    IntegrationError
        Non-finite positions, velocity or risk (outputs so far kept, status ``failed: …``).
    """
    problem = as_problem(problem)
    S = check_depth(S)
    M = as_count(M, "M (width)", minimum=1)
    t_eval = check_times(t_eval)
    gd = isinstance(method, str) and method == "gd"
    if gd:
        if tau is None:
            raise ValueError("method='gd' needs a step tau")
        tau = as_real(tau, "tau")
        if not (np.isfinite(tau) and tau > 0):
            raise ValueError(f"tau must be > 0, got {tau}")
        _gd_steps(t_eval, tau)
    else:
        try:
            check_method(method)
        except ValueError:
            raise ValueError(f"unknown method {method!r}; choose 'gd' or one of {sorted(METHODS)}") from None
    if theta0 is None:
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; choose one of {sorted(INITS)}")
        theta0 = problem.sample(S, M, init, np.random.default_rng(seed))
    theta0 = _check_theta0(theta0, S, M, problem.residual.p)
    flow = ResNetFlow(problem, S, M)
    name = "gd" if gd else method_name(method)
    params = {"problem": problem.name, "S": S, "M": M, "init": init, "method": name,
              "seed": seed if isinstance(seed, (int, type(None))) else str(seed),
              "residual": problem.residual.describe()}
    params.update({"tau": tau} if gd else {"rtol": float(rtol), "atol": float(atol)})
    domain = problem.domain(problem.default_grid)
    static = {"x": problem.x, "y": problem.y, "theta0": theta0}
    overwrite, resume, progress = (as_flag(overwrite, "overwrite"), as_flag(resume, "resume"),
                                   as_flag(progress, "progress"))
    if resume and store is not None and os.path.lexists(store):
        done = previous_run(check_path(store), "cot_resnet", params, static, t_eval)
        if done is not None:
            return done
        overwrite = True      # this run, unfinished: trained again from theta0
    with Run(store, model="cot_resnet", domain=domain, params=params, static=static,
             overwrite=overwrite) as run:
        def record(t, theta, dp=None):
            run.record(t, positions=theta, **flow.diagnostics(theta))

        if gd:
            try:
                _gd(flow, theta0, t_eval, tau, record, progress, run.stats)
            finally:
                run.stats.update(method="gd", tau=tau)
        else:
            stats = SolverStats(method=name, rtol=rtol, atol=atol)

            def check(t, y):
                if not np.all(np.isfinite(y)):
                    raise IntegrationError(f"non-finite positions at t = {t:.6g}", t=t)

            try:
                integrate(flow, theta0.reshape(-1), t_eval,
                          on_output=lambda t, y: record(t, flow.shape(y).copy()), check_state=check,
                          method=method, rtol=rtol, atol=atol, progress=progress, stats=stats)
            finally:
                run.stats.update(stats.as_dict())
    return run.trajectory()
