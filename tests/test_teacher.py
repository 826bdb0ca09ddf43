import numpy as np
import pytest
from scipy import stats

import pdeflow as pf
from pdeflow.teacher import _kernel_cumulative


@pytest.mark.parametrize("gamma", [0.0, 10.0, 100.0, 1000.0])
def test_circle_teacher_is_a_probability_density(gamma):
    d = pf.Circle(4096)
    avg = pf.teacher_density(d, gamma)
    point = pf.teacher_density(d, gamma, cell_average=False)
    assert d.integrate(avg) == pytest.approx(1.0, abs=1e-13)
    assert d.integrate(point) == pytest.approx(1.0, rel=1e-6)
    # midpoint values and cell averages differ by O(h²)
    assert d.integrate(np.abs(avg - point)) < 5e-4


def test_uniform_when_gamma_is_zero():
    d = pf.Circle(32)
    np.testing.assert_allclose(pf.teacher_density(d, 0.0), 1 / (2 * np.pi), rtol=1e-13)


def test_torus_teacher_mass_and_modes():
    d = pf.Torus((64, 64), 4.0)
    rho = pf.teacher_density(d, 100.0)
    assert d.integrate(rho) == pytest.approx(1.0, abs=1e-12)
    i, j = np.unravel_index(np.argmax(rho), rho.shape)
    assert {(round(d.axes[0][i]), round(d.axes[1][j]))} <= {(-1, 0), (1, 1)}


def test_circle_samples_follow_the_cdf():
    d = pf.Circle(8)
    x = pf.sample_teacher(d, 100.0, 20000, rng=0)
    assert x.shape == (20000,) and x.min() >= 0 and x.max() < 2 * np.pi

    def cdf(w):  # mixture CDF on [0, 2π)
        return sum(a * (_kernel_cumulative(w - c, 100.0) - _kernel_cumulative(-c, 100.0))
                   for c, a in zip([0.0, 0.4 * np.pi], [2 / 3, 1 / 3]))

    assert stats.kstest(x, cdf).pvalue > 0.01


def test_circle_first_moment():
    """The first trigonometric moment of the samples against quadrature of the density."""
    d = pf.Circle(20000)
    rho = pf.teacher_density(d, 100.0, cell_average=False)
    x = pf.sample_teacher(d, 100.0, 200000, rng=1)
    for f in (np.cos, np.sin):
        assert abs(np.mean(f(x)) - d.integrate(rho * f(d.axes[0]))) < 5e-3


def test_torus_samples_and_atoms():
    d = pf.Torus((8, 8), 4.0)
    x = pf.sample_teacher(d, 100.0, 4000, rng=2)
    assert x.shape == (4000, 2) and x.min() >= -2 and x.max() < 2
    atoms = pf.sample_teacher(d, np.inf, 10, rng=3)
    assert {tuple(a) for a in atoms} <= {(-1.0, 0.0), (1.0, 1.0)}
    with pytest.raises(ValueError):
        pf.teacher_density(d, np.inf)


def test_stratified_modes_follow_the_weights_exactly_and_lower_the_floor():
    """Stratified teachers hold each mode in exact proportion; their MMD to μ_γ is smaller on average."""
    from pdeflow.metrics import grid_points, mmd

    for domain, period, counts in [(pf.Circle(8), 3, (2, 1)), (pf.Torus((8, 8)), 2, (1, 1))]:
        atoms = pf.sample_teacher(domain, np.inf, 30, rng=0, modes="stratified")
        centres = np.array([[0.0], [0.4 * np.pi]]) if domain.ndim == 1 else np.array([[-1.0, 0.0], [1.0, 1.0]])
        pts = atoms.reshape(30, -1)
        first = np.all(np.isclose(pts, centres[0]), axis=1)
        assert first.sum() == 30 * counts[0] // period
    fine = pf.Circle(4096)
    centres, masses = grid_points(fine, pf.teacher_density(fine, 100))
    floors = {modes: [mmd(pf.sample_teacher(fine, 100, 1024, rng=seed, modes=modes), centres, fine,
                          y_weights=masses) for seed in range(8)] for modes in ("iid", "stratified")}
    assert np.mean(floors["stratified"]) < np.mean(floors["iid"])
    with pytest.raises(ValueError, match="modes must be"):
        pf.sample_teacher(fine, 100, 4, modes="random")
