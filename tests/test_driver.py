"""The grid-model contract and the one driver: any OdeSolver, guarded steps, one lifecycle."""

import h5py
import numpy as np
import pytest
from scipy.integrate import RK45

import pdeflow as pf
from pdeflow.integrators import jacobian_options, register_method, METHODS
from tests.conftest import smooth_positive


class Relaxation(pf.GridModel):
    """dρ/dt = k(ρ̄ − ρ): each cell relaxes to the mean; exact solution in closed form."""

    name = "relaxation"
    mass_rtol = None

    def __init__(self, domain, k=1.0):
        self.domain, self.k = domain, k

    def rhs(self, t, y):
        return self.k * (y.mean() - y)

    def diagnostics(self, rho):
        return {"mass": self.mass(rho), "spread": float(rho.max() - rho.min())}


def test_a_new_model_runs_through_the_driver_with_any_scipy_solver(tmp_path):
    d = pf.Circle(16)
    rho0 = smooth_positive(d)
    model = Relaxation(d, k=2.0)
    t = np.linspace(0, 1, 5)
    exact = rho0.mean() + np.exp(-2.0 * t)[:, None] * (rho0 - rho0.mean())
    for i, method in enumerate(["RK45", "DOP853", RK45, "BDF", "LSODA"]):
        traj = pf.solve(model, rho0, t, method=method, rtol=1e-10, atol=1e-12,
                        store=tmp_path / f"{i}.h5")
        np.testing.assert_allclose(traj.rho, exact, rtol=0, atol=1e-8)
        assert traj.status == "complete" and traj.model == "relaxation"
        assert traj.spread.shape == (5,) and traj.stats["nsteps"] > 0
        back = pf.load_trajectory(tmp_path / f"{i}.h5")
        assert back.status == "complete" and back.params["method"] == getattr(method, "__name__", method)


def test_jacobian_follows_structure_not_solver_names():
    ufd = pf.UltraFastDiffusion(pf.Circle(8), np.ones(8))
    relax = Relaxation(pf.Circle(8))
    assert set(jacobian_options(METHODS["LSODA"], ufd)) == {"jac", "lband", "uband"}
    assert jacobian_options(METHODS["BDF"], ufd)["jac"] == ufd.jac_sparse
    assert jacobian_options(METHODS["RK45"], ufd) == {}
    assert jacobian_options(METHODS["LSODA"], relax) == {} == jacobian_options(METHODS["Radau"], relax)

    class MyRK(RK45):
        pass

    register_method("myrk", MyRK)
    try:
        traj = pf.solve(relax, smooth_positive(pf.Circle(8)), [0, 0.5], method="myrk")
        assert traj.stats["method"] == "myrk"
    finally:
        del METHODS["myrk"]
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        pf.solve(relax, np.ones(8), [0, 1], method="nope")
    with pytest.raises(ValueError, match="OdeSolver subclass"):
        register_method("bad", dict)
    # a built-in name stays what runs record it as; a name must be a string
    import scipy.integrate

    with pytest.raises(ValueError, match="'RK45' is built in"):
        register_method("RK45", scipy.integrate.RK23)
    assert METHODS["RK45"] is scipy.integrate.RK45
    with pytest.raises(ValueError, match="non-empty string, got 5"):
        register_method(5, scipy.integrate.RK45)


# t_eval = [0, 1e-300] used to be here (step size underflows); it is now a valid run whose
# output is the start (tests/test_hardening_round2.py::test_a_span_below_resolution_returns_the_start)
@pytest.mark.parametrize("kwargs", [dict(t_eval=[0, 1.0], coef=1e300)])    # rhs overflows
def test_runs_that_cannot_advance_fail_instead_of_hanging(tmp_path, kwargs):
    d = pf.Circle(64)
    with pytest.raises(pf.IntegrationError, match="no progress|non-finite"):
        pf.solve_ufd(d, pf.teacher_density(d, 100), r=2, store=tmp_path / "run.h5", **kwargs)
    back = pf.load_trajectory(tmp_path / "run.h5")
    assert back.status.startswith("failed: ") and back.t.tolist() == [0.0]   # the start is kept


def test_a_run_that_loses_mass_fails_loudly():
    d = pf.Circle(64)
    # coef = 1e20: the steps are so stiff that LSODA's Newton solves drift the mass by ~1e-10
    try:
        traj = pf.solve_ufd(d, pf.teacher_density(d, 100), r=2, coef=1e20, t_eval=[0, 1])
    except pf.IntegrationError as err:
        assert "mass drifted" in str(err)
    else:
        assert abs(traj.mass[-1] - traj.mass[0]) <= 1e-10


def test_interrupt_keeps_outputs_and_says_interrupted(tmp_path):
    d = pf.Circle(16)

    class Interrupted(Relaxation):
        def diagnostics(self, rho):
            if self.calls == 2:
                raise KeyboardInterrupt
            self.calls += 1
            return super().diagnostics(rho)

    model = Interrupted(d)
    model.calls = 0
    with pytest.raises(KeyboardInterrupt):
        pf.solve(model, smooth_positive(d), np.linspace(0, 1, 5), store=tmp_path / "run.h5")
    back = pf.load_trajectory(tmp_path / "run.h5")
    assert back.status == "interrupted" and back.t.size == 2
    with h5py.File(tmp_path / "run.h5") as f:
        assert "nfev" in f.attrs["stats"]


def test_times_must_be_an_array():
    d = pf.Circle(8)
    with pytest.raises(ValueError, match="t_eval must be an array"):
        pf.solve_ufd(d, np.ones(8), t_eval=(t for t in [0, 1]))
    with pytest.raises(ValueError, match="t_eval must be an array of numbers"):
        pf.solve_ufd(d, np.ones(8), t_eval=["a", "b"])


def test_resume_reuses_only_this_run(tmp_path):
    d = pf.Circle(32)
    w = pf.teacher_density(d, 10.0)
    path = tmp_path / "ufd.h5"
    first = pf.solve_ufd(d, w, r=2, coef=0.5, t_eval=[0, 0.5, 1], store=path)
    again = pf.solve_ufd(d, w, r=2, coef=0.5, t_eval=[0, 0.5, 1], store=path, resume=True)
    assert again.stats == first.stats          # read back, not solved again
    np.testing.assert_array_equal(again.rho, first.rho)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        pf.solve_ufd(d, w, r=2, coef=0.5, t_eval=[0, 0.5, 1], store=path)
    with pytest.raises(ValueError, match="cannot resume"):
        pf.solve_ufd(d, w, r=3, coef=0.5, t_eval=[0, 0.5, 1], store=path, resume=True)
    # a complete run with other output times is another run: refused, never replaced
    # (it used to be solved again into the file)
    with pytest.raises(ValueError, match="other output times"):
        pf.solve_ufd(d, w, r=2, coef=0.5, t_eval=[0, 0.5, 1, 2], store=path, resume=True)
    assert pf.load_trajectory(path).t.size == 3


def test_resume_without_a_method_takes_a_run_of_any_method(tmp_path):
    """method=None reads back a complete run another integrator solved at these tolerances (defaults
    change between versions); a method named explicitly must be the stored one."""
    d = pf.Circle(32)
    w = pf.teacher_density(d, 10.0)
    path = tmp_path / "ufd.h5"
    first = pf.solve_ufd(d, w, r=2, coef=0.5, t_eval=[0, 0.5, 1], method="BDF", store=path)
    again = pf.solve_ufd(d, w, r=2, coef=0.5, t_eval=[0, 0.5, 1], store=path, resume=True)
    assert again.params["method"] == "BDF" and again.stats == first.stats
    np.testing.assert_array_equal(again.rho, first.rho)
    with pytest.raises(ValueError, match="cannot resume"):
        pf.solve_ufd(d, w, r=2, coef=0.5, t_eval=[0, 0.5, 1], method="LSODA", store=path, resume=True)
    with pytest.raises(ValueError, match="cannot resume"):   # the tolerance still counts
        pf.solve_ufd(d, w, r=2, coef=0.5, t_eval=[0, 0.5, 1], rtol=1e-8, store=path, resume=True)
