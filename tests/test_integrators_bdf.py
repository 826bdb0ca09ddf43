"""ReuseBDF (pdeflow.integrators_bdf): BDF/NDF whose LU outlives the step size (docs: theory/driver)."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.integrate import solve_ivp
from scipy.linalg import expm

import pdeflow as pf
from pdeflow.integrators import METHODS
from pdeflow.integrators_bdf import ReuseBDF


def _stiff_linear(n=30):
    """y' = A y with A = Q diag(λ) Qᵀ + a small skew part, λ log-spaced in [−1e5, −0.5] (stiffness
    ratio 2e5), Q a fixed random rotation; the exact solution is expm(tA) y0."""
    rng = np.random.default_rng(1)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    skew = rng.standard_normal((n, n))
    A = Q @ np.diag(-np.logspace(np.log10(0.5), 5, n)) @ Q.T + 0.1 * (skew - skew.T)
    return A, rng.uniform(0.5, 1.5, n)


@pytest.mark.parametrize("form", ["sparse", "dense", "constant", "differences"])
def test_a_stiff_linear_system_matches_the_matrix_exponential(form):
    A, y0 = _stiff_linear()
    jac = {"sparse": lambda t, y: sp.csc_matrix(A), "dense": lambda t, y: A,
           "constant": sp.csc_matrix(A), "differences": None}[form]
    t = np.array([0.0, 1e-4, 1e-2, 0.1, 0.5])
    sol = solve_ivp(lambda t, y: A @ y, (0, t[-1]), y0, method=ReuseBDF, t_eval=t, rtol=1e-8,
                    atol=1e-12, jac=jac)
    assert sol.success
    exact = np.stack([expm(s * A) @ y0 for s in t], axis=1)
    # dense output (t = 1e-4 … 0.1 fall inside steps) and step ends alike
    err = np.abs(sol.y - exact).max()
    assert err < 1e-7 * np.abs(y0).max(), err
    assert sol.njev >= (0 if form == "constant" else 1) and sol.nlu >= 1


def test_the_error_follows_the_tolerance():
    """Tolerance proportionality: 1000× smaller rtol gives an error at least ~300× smaller,
    and always within a small multiple of rtol (global error on [0, 1] of a stiff linear system)."""
    A, y0 = _stiff_linear()
    exact = expm(1.0 * A) @ y0
    errors = {}
    for rtol in (1e-5, 1e-8):
        sol = solve_ivp(lambda t, y: A @ y, (0, 1.0), y0, method=ReuseBDF, rtol=rtol, atol=rtol * 1e-4,
                        jac=sp.csc_matrix(A))
        errors[rtol] = np.abs(sol.y[:, -1] - exact).max() / np.abs(exact).max()
        assert errors[rtol] < 10 * rtol, (rtol, errors[rtol])
    assert errors[1e-8] < errors[1e-5] / 300, errors


def test_a_nonlinear_problem_with_a_closed_form():
    """y' = −y² (y0 = 1) gives y = 1/(1 + t); the stiff z' = −k(z − cos t), k = 1e5, follows its
    slow solution (k² cos t + k sin t)/(k² + 1) once the initial layer (width 1/k) has passed."""
    def f(t, u):
        return np.array([-u[0] ** 2, -1e5 * (u[1] - np.cos(t))])

    def jac(t, u):
        return np.array([[-2 * u[0], 0.0], [0.0, -1e5]])

    t = np.linspace(0, 10, 11)
    sol = solve_ivp(f, (0, 10), [1.0, 1.0], method=ReuseBDF, t_eval=t, jac=jac, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sol.y[0], 1 / (1 + t), rtol=1e-7)
    slow = (1e10 * np.cos(t) + 1e5 * np.sin(t)) / (1e10 + 1)
    np.testing.assert_allclose(sol.y[1, 1:], slow[1:], atol=1e-7)


def test_the_factorization_is_reused_across_step_sizes():
    """On the 12² torus UFD the LU count falls far below scipy's BDF (which refactors at every h change),
    and refactoring at every change of c (lu_reuse = 1) gives the same solution with more LUs."""
    d = pf.Torus((12, 12), 4.0)
    w = pf.teacher_density(d, 100)
    kw = dict(r=2, coef=0.5, t_eval=[0, 1], rtol=1e-6)
    ours = pf.solve_ufd(d, w, method="ReuseBDF", **kw)
    scipy_bdf = pf.solve_ufd(d, w, method="BDF", **kw)
    assert ours.stats["nlu"] < scipy_bdf.stats["nlu"] / 2, (ours.stats, scipy_bdf.stats)
    assert ours.stats["nlu"] < ours.stats["nsteps"] / 10 and ours.stats["njev"] >= 1

    class RefactorEachStep(ReuseBDF):
        def __init__(self, fun, t0, y0, t_bound, jac=None, **kwargs):
            super().__init__(fun, t0, y0, t_bound, jac=jac, lu_reuse=1.0, **kwargs)

    every = pf.solve_ufd(d, w, method=RefactorEachStep, **kw)
    assert every.stats["nlu"] > 3 * ours.stats["nlu"]
    assert d.integrate(np.abs(every.rho[-1] - ours.rho[-1])) < 1e-6


@pytest.mark.parametrize("domain", [pf.Torus((12, 12), 4.0), pf.Box((-2.0, 2.0), (-2.0, 2.0), (10, 8))],
                         ids=["torus", "box"])
def test_the_2d_ufd_agrees_with_scipy_bdf_and_conserves_mass(domain):
    """γ = 100: ReuseBDF at rtol 1e-10 against scipy's BDF at rtol 1e-10 (L¹ gap ≪ the rtol-1e-6
    error, which is itself small), the mass constant to round-off and the energy decaying."""
    d = domain
    w = pf.teacher_density(d, 100) if d.kind == "torus" else np.exp(-d.mesh()[0] ** 2) + 0.1
    t = [0.0, 0.5, 1.0, 2.0]
    ref = pf.solve_ufd(d, w, r=2, coef=0.5, t_eval=t, method="BDF", rtol=1e-10)
    fine = pf.solve_ufd(d, w, r=2, coef=0.5, t_eval=t, method="ReuseBDF", rtol=1e-10)
    coarse = pf.solve_ufd(d, w, r=2, coef=0.5, t_eval=t, method="ReuseBDF", rtol=1e-6)
    gap_fine = d.integrate(np.abs(fine.rho - ref.rho))
    gap_coarse = d.integrate(np.abs(coarse.rho - ref.rho))
    assert np.max(gap_fine) < 1e-9 * ref.mass[0], gap_fine
    assert 0 < np.max(gap_coarse) < 1e-6 * ref.mass[0], gap_coarse      # L¹ error below rtol × mass
    for traj in (fine, coarse):
        assert np.max(np.abs(traj.mass - traj.mass[0])) <= 1e-13 * traj.mass[0]
        assert np.all(np.diff(traj.energy) <= 1e-12 * traj.energy[0])   # the discrete energy decays


def test_the_ufd_default_is_lsoda_in_1d_and_reusebdf_in_2d():
    assert pf.UltraFastDiffusion(pf.Circle(8), np.ones(8)).default_method == "LSODA"
    assert pf.UltraFastDiffusion(pf.Torus((6, 6), 2.0), np.ones((6, 6))).default_method == "ReuseBDF"
    assert METHODS["ReuseBDF"] is ReuseBDF
    d = pf.Torus((8, 8), 4.0)
    traj = pf.solve_ufd(d, pf.teacher_density(d, 10), r=2, coef=0.5, t_eval=[0, 0.1])
    assert traj.stats["method"] == "ReuseBDF" and traj.stats["nlu"] >= 1 and traj.stats["njev"] >= 1
    one_d = pf.solve_ufd(pf.Circle(16), pf.teacher_density(pf.Circle(16), 10), t_eval=[0, 0.1])
    assert one_d.stats["method"] == "LSODA"


def test_the_driver_guards_still_apply(tmp_path):
    """A right-hand side that turns non-finite: ReuseBDF cannot make progress and the driver
    raises IntegrationError, keeping the outputs so far; an overflowing one too."""
    d = pf.Torus((8, 8), 4.0)
    with pytest.raises(pf.IntegrationError, match="no progress|non-finite|failed|mass drifted"):
        pf.solve_ufd(d, pf.teacher_density(d, 100), r=2, coef=1e300, t_eval=[0, 1.0], method="ReuseBDF",
                     store=tmp_path / "run.h5")
    assert pf.load_trajectory(tmp_path / "run.h5").t.tolist() == [0.0]

    class BlowsUp(pf.GridModel):
        """dρ/dt = ρ² (cell by cell): ρ = ρ₀/(1 − ρ₀t) blows up at t = 1/ρ₀."""

        name, jacobian, mass_rtol = "blowup", "dense", None

        def __init__(self, domain):
            self.domain = domain

        def rhs(self, t, y):
            return y * y

        def jac_dense(self, t, y):
            return np.diag(2 * y)

        def diagnostics(self, rho):
            return {}

    line = pf.Circle(4)
    with pytest.raises(pf.IntegrationError, match="ReuseBDF") as err:
        pf.solve(BlowsUp(line), np.ones(4), [0, 0.5, 2.0], method="ReuseBDF", rtol=1e-9,
                 store=tmp_path / "b.h5")
    assert 0.999 < err.value.t <= 1.0
    kept = pf.load_trajectory(tmp_path / "b.h5")
    np.testing.assert_allclose(kept.rho[1], 2.0, rtol=1e-7)       # ρ(0.5) = 1/(1 − 0.5)


@pytest.mark.parametrize("kwargs, match", [(dict(lu_reuse=0.5), "lu_reuse"), (dict(newton_tol=0.0), "newton_tol"),
                                           (dict(max_step=0.0), "max_step"), (dict(first_step=5.0), "first_step")])
def test_bad_options_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ReuseBDF(lambda t, y: -y, 0.0, np.ones(3), 1.0, **kwargs)
