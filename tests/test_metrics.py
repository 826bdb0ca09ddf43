"""Metrics against POT (exact OT), brute force and closed forms."""

import numpy as np
import ot
import pytest

import pdeflow as pf
from pdeflow.metrics import (chi2, grid_points, mmd, smooth_particles, wasserstein_circle,
                             wasserstein_interval)


def _geodesic(x, y):
    d = np.abs(x[:, None] - y[None, :]) % (2 * np.pi)
    return np.minimum(d, 2 * np.pi - d)


@pytest.mark.parametrize("seed", range(4))
def test_circle_wasserstein_matches_pot(seed):
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0, 2 * np.pi, 7), rng.vonmises(1.0, 2.0, 9) % (2 * np.pi)
    a, b = rng.random(7), rng.random(9)
    a, b = a / a.sum(), b / b.sum()
    cost = _geodesic(x, y)
    assert wasserstein_circle(x, y, x_weights=a, y_weights=b, p=1) == pytest.approx(
        ot.emd2(a, b, cost), rel=1e-12)
    assert wasserstein_circle(x, y, x_weights=a, y_weights=b, p=2) == pytest.approx(
        np.sqrt(ot.emd2(a, b, cost**2)), rel=1e-7)


def test_interval_wasserstein_matches_pot():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=11), rng.normal(1, 2, size=6)
    b = rng.random(6)
    b /= b.sum()
    a = np.full(11, 1 / 11)
    for p in (1, 2):
        ref = ot.emd2(a, b, np.abs(x[:, None] - y[None, :]) ** p) ** (1 / p)
        assert wasserstein_interval(x, y, y_weights=b, p=p) == pytest.approx(ref, rel=1e-12)


def _brute_mmd(x, a, y, b, dist):
    a, b = a / a.sum(), b / b.sum()
    return np.sqrt(2 * a @ dist(x, y) @ b - a @ dist(x, x) @ a - b @ dist(y, y) @ b)


def test_mmd_matches_brute_force_on_every_domain():
    rng = np.random.default_rng(1)
    chord = lambda x, y: 2 * np.abs(np.sin((x[:, None, 0] - y[None, :, 0]) / 2))  # noqa: E731

    def torus(x, y):
        # ℝ²/4ℤ² embedded as two circles of circumference 4: a Euclidean distance in ℝ⁴
        angles = lambda z: 2 * np.pi * z / 4.0  # noqa: E731
        emb = lambda z: np.concatenate([np.cos(angles(z)), np.sin(angles(z))], axis=1) * 4.0 / (2 * np.pi)  # noqa: E731
        return np.linalg.norm(emb(x)[:, None, :] - emb(y)[None, :, :], axis=-1)

    euclid = lambda x, y: np.linalg.norm(x[:, None, :] - y[None, :, :], axis=-1)  # noqa: E731
    cases = [(pf.Circle(8), chord, 1), (pf.Torus((8, 8), 4.0), torus, 2),
             (pf.Interval(0, 1, 8), euclid, 1), (pf.Box((0, 1), (0, 2), (4, 4)), euclid, 2)]
    for domain, dist, dim in cases:
        x = domain.wrap(rng.uniform(-3, 3, (30, dim)) if dim == 2 else rng.uniform(-3, 3, 30))
        y = domain.wrap(rng.uniform(-3, 3, (20, dim)) if dim == 2 else rng.uniform(-3, 3, 20))
        b = rng.random(20)
        got = mmd(x, y, domain, y_weights=b)
        ref = _brute_mmd(x.reshape(30, dim), np.ones(30), y.reshape(20, dim), b, dist)
        assert got == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("domain", [pf.Circle(8), pf.Interval(-2, 2, 8)], ids=["circle", "interval"])
def test_sorted_mmd_sums_match_the_pair_loop(domain):
    """The O((M+G) log G) sorted sums of 1-D domains against the O(M·G) pair loop, to round-off:
    with ties between and within the sets, and angles outside [0, 2π) (−1e-20 wraps to 2π in np.mod)."""
    from pdeflow.metrics.mmd import _kind, _sorted_split, _sorted_sum, _weighted_distance_sum

    rng = np.random.default_rng(7)
    kind, period = _kind(domain)
    x = rng.uniform(-7, 7, 700)
    x[:50] = x[50:100]
    x[100:103] = (-1e-20, 0.0, 2 * np.pi)
    y = np.concatenate([rng.uniform(-7, 7, 400), x[:100]])
    a, b = rng.random(700), rng.random(500)
    a, b = a / a.sum(), b / b.sum()
    x, y = x[:, None], y[:, None]
    for p, wp, q, wq, same in ((x, a, y, b, False), (x, a, x, a, True), (y, b, y, b, True)):
        pairs = _weighted_distance_sum(kind, p, wp, q, wq, period, same)
        sorted_sum = _sorted_sum(_sorted_split(kind, p, wp), _sorted_split(kind, q, wq))
        assert sorted_sum == pytest.approx(pairs, rel=4e-15)


def test_mmd_particles_against_a_grid_density():
    """Uniform particles vs the uniform density: E MMD² = E d(X, X′)/M = 4/(πM) (docs: theory/metrics)."""
    d = pf.Circle(512)
    centres, masses = grid_points(d, np.full(512, 1 / (2 * np.pi)))
    rng = np.random.default_rng(0)
    m = 512
    sq = [mmd(rng.uniform(0, 2 * np.pi, m), centres, d, y_weights=masses) ** 2 for _ in range(40)]
    assert np.mean(sq) == pytest.approx(4 / (np.pi * m), rel=0.25)
    # MMD² is a difference of O(1) sums, exact to round-off, so MMD itself to about √eps
    assert mmd(centres, centres, d, x_weights=masses, y_weights=masses) < 1e-6


def test_metric_input_checks():
    d = pf.Circle(8)
    with pytest.raises(ValueError, match="weights"):
        mmd(np.zeros(3), np.zeros(2), d, x_weights=[1, -1, 1])
    with pytest.raises(ValueError, match="shape"):
        mmd(np.zeros((3, 2)), np.zeros(2), d)
    with pytest.raises(ValueError, match="positive"):
        chi2(np.ones(8), np.zeros(8), d)


def test_chi2_and_smoothing():
    d = pf.Circle(512)
    w = pf.teacher_density(d, 10.0)
    assert chi2(w, w, d) == 0.0
    u = np.full(512, 1 / (2 * np.pi))
    assert chi2(w, u, d) == pytest.approx(d.integrate(w**2 / u) - 1, rel=1e-10)
    pts = pf.sample_teacher(d, 10.0, 20000, rng=0)
    smooth = smooth_particles(pts, d, sigma=0.04)
    assert d.integrate(smooth) == pytest.approx(1.0, abs=1e-6)
    assert d.integrate(np.abs(smooth - w)) < 0.05
    # σ < h here: the midpoint rule of one Gaussian bump is exact only to O(e^{-2π²σ²/h²})
    t = pf.Torus((32, 32), 4.0)
    assert t.integrate(smooth_particles(np.array([[1.9, -1.9]]), t, sigma=0.1)) == pytest.approx(1.0, rel=1e-4)


def test_torus_mmd_sees_how_the_axes_are_coupled_and_even_modes():
    """Equal marginals, different joints (the two diagonals) and a cos 2θ bump are told apart;
    the per-axis ℓ¹ distance gave MMD 0 to both (only marginals, only odd modes)."""
    torus = pf.Torus((8, 8), 4.0)
    s = np.linspace(-2, 2, 64, endpoint=False)
    diagonal = np.stack([s, s], axis=1)
    antidiagonal = torus.wrap(np.stack([s, -s], axis=1))
    assert mmd(diagonal, antidiagonal, torus) > 0.1
    fine = pf.Torus((64, 64), 4.0)
    centres, masses = grid_points(fine, np.ones(fine.shape))
    bump = 1 + 0.5 * np.cos(2 * 2 * np.pi * centres[:, 0] / 4.0)
    assert mmd(centres, centres, fine, x_weights=masses, y_weights=masses * bump) > 1e-3



def test_grid_mean_distance_is_the_pair_sum(any_domain):
    """The FFT convolution (circular on periodic grids, zero-padded otherwise) against the O(G²)
    pair loop, to round-off, on every kind of grid; and a known self term gives the same MMD."""
    from tests.conftest import smooth_positive
    from pdeflow.metrics import energy_distance_sums, grid_mean_distance, mean_distance

    density = smooth_positive(any_domain, seed=3)
    centres, masses = grid_points(any_domain, density)
    pairs = energy_distance_sums(centres, centres, any_domain, x_weights=masses, y_weights=masses)[2]
    assert grid_mean_distance(any_domain, density) == pytest.approx(pairs, rel=1e-13)
    assert mean_distance(centres, any_domain, weights=masses) == pytest.approx(pairs, rel=1e-13)
    rng = np.random.default_rng(4)
    x = any_domain.wrap(rng.uniform(-3, 3, (25, any_domain.ndim)) if any_domain.ndim > 1 else rng.uniform(-3, 3, 25))
    plain = mmd(x, centres, any_domain, y_weights=masses)
    assert plain > 0.05
    assert mmd(x, centres, any_domain, y_weights=masses, y_self=grid_mean_distance(any_domain, density)) == \
        pytest.approx(plain, rel=1e-10)
    for bad in (-1.0, np.nan, "a"):
        with pytest.raises(ValueError, match="y_self"):
            mmd(x, centres, any_domain, y_weights=masses, y_self=bad)


@pytest.mark.parametrize("metric, x, widths, match", [
    ("circle", [2.0, 2.1], 0.5, "overlap"),          # gave 0.9557 instead of the atoms' 0.9501
    ("interval", [0.0, 0.1], 0.5, "overlap"),
    ("circle", [0.1], 0.5, "straddles 0"),
])
def test_overlapping_cell_uniform_pieces_are_refused(metric, x, widths, match):
    from pdeflow.metrics import wasserstein_circle, wasserstein_interval

    distance = wasserstein_circle if metric == "circle" else wasserstein_interval
    with pytest.raises(ValueError, match=f"x_widths: .*{match}"):
        distance(np.array(x), np.array([3.0]), x_widths=widths, y_widths=widths)


def test_abutting_grid_cells_are_accepted_as_pieces():
    """Cells of a grid touch (up to rounding): W between a density and itself is 0."""
    from pdeflow.metrics import wasserstein_circle

    d = pf.Circle(64)
    w = pf.teacher_density(d, 10.0)
    h = d.spacing[0]
    assert wasserstein_circle(d.axes[0], d.axes[0], x_weights=w, y_weights=w, x_widths=h, y_widths=h) < 1e-9


@pytest.mark.parametrize("sigma", [0.3, 1.5, 10.0, 1000.0])
def test_smoothing_on_the_circle_keeps_the_mass_for_any_width(sigma):
    """The wrapped Gaussian integrates to 1 on the circle whatever its width (±2 images gave 0.876
    at σ = 10 and 0.0125 at σ = 1000); a very wide one is the uniform density."""
    from pdeflow.metrics import smooth_particles

    d = pf.Circle(512)
    rho = smooth_particles(np.array([0.3, 2.0, 5.0]), d, sigma=sigma)
    assert abs(d.integrate(rho) - 1.0) < 1e-12
    if sigma >= 10:
        np.testing.assert_allclose(rho, 1 / (2 * np.pi), rtol=1e-12)


def test_wrapped_gaussian_images_and_fourier_series_agree():
    """Both evaluations of the wrapped Gaussian, on either side of the width where they switch."""
    from pdeflow.metrics.divergences import _wrapped_gaussian

    x = np.linspace(-3.0, 3.0, 101)
    for sigma in (0.5, 1.0, 1.5):
        images = sum(np.exp(-0.5 * ((x + j * 2 * np.pi) / sigma) ** 2) for j in range(-30, 31)) \
            / (np.sqrt(2 * np.pi) * sigma)
        np.testing.assert_allclose(_wrapped_gaussian(x, sigma, 2 * np.pi), images, rtol=1e-13, atol=1e-16)


def test_mode_counts_are_checked():
    from pdeflow.metrics import fourier_coefficients, relu_invisible

    with pytest.raises(ValueError, match="k_max must be an integer, got 8.5"):
        relu_invisible(8.5)                       # gave 8 modes
    with pytest.raises(ValueError, match="would not fit in memory"):
        fourier_coefficients(np.zeros(3), k_max=10**12)
    assert relu_invisible(5).tolist() == [False, False, True, False, True]
