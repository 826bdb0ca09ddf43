"""The weighted ultra-fast diffusion solver: invariants, closed forms, order, Jacobian."""

import numpy as np
import pytest

import pdeflow as pf
from pdeflow.models.exact import ufd_uniform_r2
from tests.conftest import smooth_positive


def _model(domain, r=2.0, coef=0.5, seed=0):
    return pf.UltraFastDiffusion(domain, smooth_positive(domain, seed), pf.UFDParams(r, coef))


@pytest.mark.parametrize("r", [2.0, 3.0, 1.5])
def test_analytic_jacobian_matches_finite_differences(any_domain, r):
    model = _model(any_domain, r)
    y = model.to_state(smooth_positive(any_domain, seed=5))
    banded = model.banded.to_dense(model.jac_banded(0.0, y))
    sparse = model.jac_sparse(0.0, y).toarray()
    fd = np.empty_like(banded)
    for j in range(y.size):
        eps = 1e-6 * y[j]
        e = np.zeros_like(y)
        e[j] = eps
        fd[:, j] = (model.rhs(0, y + e) - model.rhs(0, y - e)) / (2 * eps)
    scale = np.abs(fd).max()
    np.testing.assert_allclose(banded, fd, rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(sparse, banded, rtol=0, atol=1e-13 * scale)
    assert np.abs(banded.sum(axis=0)).max() <= 1e-12 * scale  # columns sum to zero: mass


def test_weight_is_an_exact_discrete_steady_state(any_domain):
    model = _model(any_domain)
    dmu = model.rhs(0.0, model.to_state(model.weight))
    assert np.abs(dmu).max() == 0.0
    traj = pf.solve_ufd(any_domain, model.weight, model.weight, t_eval=[0, 1.0], rtol=1e-8)
    assert np.abs(traj.rho[-1] - model.weight).max() == 0.0


@pytest.mark.parametrize("method", ["LSODA", "BDF", "Radau"])
def test_mass_positivity_and_energy_decay(any_domain, method):
    weight = smooth_positive(any_domain, seed=1)
    rho0 = smooth_positive(any_domain, seed=2)
    traj = pf.solve_ufd(any_domain, weight, rho0, r=2.0, coef=0.5, t_eval=np.linspace(0, 0.5, 26),
                        method=method, rtol=1e-6)
    assert traj.rho.shape == (26,) + any_domain.shape
    drift = np.abs(traj.mass - traj.mass[0]).max()
    assert drift <= 1e-13, drift
    assert traj.rho.min() > 0
    assert np.all(np.diff(traj.energy) <= 1e-12 * traj.energy[0])
    assert traj.energy[-1] < traj.energy[0]
    assert traj.stats["nfev"] > 0 and traj.stats["nsteps"] > 0 and traj.stats["wall_time"] > 0


def test_positivity_in_a_hard_case():
    """Near-empty regions of μ_1000 on a coarse grid, r = 3: the density must stay positive."""
    d = pf.Circle(128)
    traj = pf.solve_ufd(d, pf.teacher_density(d, 1000.0), r=3.0, coef=1.0,
                        t_eval=np.linspace(0, 2, 41), rtol=1e-5)
    assert traj.rho.min() > 0
    assert np.all(np.diff(traj.energy) <= 1e-10 * traj.energy[0])
    assert traj.njev > 0  # stiff: LSODA switched to BDF and used the banded analytic Jacobian


def test_decay_to_the_weight():
    d = pf.Circle(256)
    w = pf.teacher_density(d, 10.0)
    traj = pf.solve_ufd(d, w, r=2, coef=0.5, t_eval=[0, 5, 10, 20], rtol=1e-8)
    err = d.integrate(np.abs(traj.rho - w))
    assert err[-1] < 1e-6 * err[0]
    # linear (exponential) rate: log error roughly halves between t = 10 and 20 as from 5 to 10
    assert np.log(err[3] / err[2]) < 1.5 * np.log(err[2] / err[1]) < 0


def _observed_orders(make_domain, ns, t_end=0.3):
    errors = []
    for n in ns:
        d = make_domain(n)
        traj = pf.solve_ufd(d, 1.0 / d.volume, ufd_uniform_r2(d, 0.0), r=2, coef=0.5,
                            t_eval=[0, t_end], rtol=1e-11, atol=1e-14)
        errors.append(d.integrate(np.abs(traj.rho[-1] - ufd_uniform_r2(d, t_end))))
    errors = np.array(errors)
    return errors, np.log2(errors[:-1] / errors[1:])


@pytest.mark.parametrize("make_domain", [pf.Circle, lambda n: pf.Interval(-1.0, 2.0, n),
                                         lambda n: pf.Torus(n, 3.0)])
def test_second_order_against_closed_form(make_domain):
    errors, orders = _observed_orders(make_domain, [32, 64, 128, 256])
    assert errors[-1] < 1e-4
    assert np.all(np.abs(orders - 2.0) < 0.1), orders


def test_second_order_with_a_non_uniform_weight():
    """Self-convergence with the thesis weight μ_10: differences shrink by ~4 per refinement."""
    sols = {}
    for n in [128, 256, 512, 1024]:
        d = pf.Circle(n)
        sols[n] = pf.solve_ufd(d, pf.teacher_density(d, 10.0), r=2, coef=0.5, t_eval=[0, 1.0],
                               rtol=1e-10).rho[-1]
    diffs = []
    for n in [128, 256, 512]:
        fine = sols[2 * n].reshape(n, 2).mean(axis=1)
        diffs.append(pf.Circle(n).integrate(np.abs(sols[n] - fine)))
    orders = np.log2(np.array(diffs[:-1]) / np.array(diffs[1:]))
    assert np.all(np.abs(orders - 2.0) < 0.15), orders


def test_methods_agree_in_2d():
    d = pf.Torus((24, 20), 4.0)
    w = pf.teacher_density(d, 10.0)
    runs = [pf.solve_ufd(d, w, r=2, coef=0.5, t_eval=[0, 0.5], method=m, rtol=1e-8).rho[-1]
            for m in ["LSODA", "BDF", "Radau"]]
    for other in runs[1:]:
        assert d.integrate(np.abs(other - runs[0])) < 1e-6


def test_failure_names_time_cell_value_and_keeps_saved_outputs(tmp_path, monkeypatch):
    def draining_rhs(self, t, y):
        out = np.zeros_like(y)
        out[self.position[3]] = -1.0  # cell 3 empties at t = ρ₀ = 1/2π
        out[self.position[4]] = 1.0
        return out

    monkeypatch.setattr(pf.UltraFastDiffusion, "rhs", draining_rhs)
    d = pf.Circle(16)
    store = tmp_path / "fail.h5"
    with pytest.raises(pf.IntegrationError) as info:
        pf.solve_ufd(d, 1 / (2 * np.pi), t_eval=[0, 0.05, 0.1, 0.3], method="BDF", store=store)
    err = info.value
    assert err.cell == (3,) and err.value <= 0 and 0.1 < err.t <= 0.3
    assert "cell (3,)" in str(err) and "t = " in str(err)
    saved = pf.load_trajectory(store)
    np.testing.assert_allclose(saved.t, [0, 0.05, 0.1])
    assert saved.status.startswith("failed")
