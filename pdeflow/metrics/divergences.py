"""χ² divergence of grid densities, and a wrapped Gaussian smoothing of particles for plots."""

from __future__ import annotations

import numpy as np

from ..domains import Domain
from ..scalars import as_real
from ._inputs import check_grid_density, check_points, check_weights


def chi2(target: np.ndarray, density: np.ndarray, domain: Domain) -> float:
    """χ²(μ̄ | μ) = ∫ (μ̄/μ − 1)² dμ of two grid densities (= ∫ μ̄²/μ − 1 for probabilities).

    Parameters
    ----------
    target : ndarray, shape ``domain.shape``
        μ̄, finite and non-negative.
    density : ndarray, shape ``domain.shape``
        μ, finite and strictly positive.
    domain : Domain
        The grid.

    Returns
    -------
    float
        The divergence, ≥ 0.
    """
    target = check_grid_density(domain, target, "target")
    density = check_grid_density(domain, density, "density", positive=True)
    return float(domain.integrate((target - density) ** 2 / density))


def _wrapped_gaussian(diff: np.ndarray, sigma: float, length: float) -> np.ndarray:
    """The Gaussian of width ``sigma`` wrapped on a period ``length``, at ``diff``, to round-off.

    Σ_j g(x + jL) by its images while σ is small against L (the images within 7σ of x), else by
    its Fourier series (1/L) Σ_m exp(−2π²m²σ²/L²) cos(2πmx/L), which then needs few modes: a
    fixed ±2 images lost mass once σ reached a sizeable fraction of L (0.876 at σ = 10 on 2π).
    """
    if sigma <= length / 4:
        reach = int(np.ceil(7 * sigma / length)) + 1
        return sum(np.exp(-0.5 * ((diff + j * length) / sigma) ** 2)
                   for j in range(-reach, reach + 1)) / (np.sqrt(2 * np.pi) * sigma)
    rate = 2 * (np.pi * sigma / length) ** 2          # exp(−rate·m²) < 1e-17 beyond m_max
    m_max = max(1, int(np.ceil(np.sqrt(40.0 / rate))))
    total = np.full(diff.shape, 1.0)
    for m in range(1, m_max + 1):
        total += 2 * np.exp(-rate * m * m) * np.cos(2 * np.pi * m * diff / length)
    return total / length


def smooth_particles(points, domain: Domain, sigma: float = 0.04, weights=None) -> np.ndarray:
    """Particles convolved with a Gaussian (wrapped on periodic axes), as a density on the grid.

    For plots only (the thesis figures use σ = 0.04); the metrics never smooth.

    Parameters
    ----------
    points : ndarray, shape (M,) or (M, d)
        Particle positions.
    domain : Domain
        The grid to evaluate the density on.
    sigma : float
        Standard deviation of the Gaussian, > 0.
    weights : ndarray, shape (M,), optional
        Non-negative particle weights, normalised to mass 1; default uniform.

    Returns
    -------
    ndarray, shape ``domain.shape``
        The smoothed density (point values at the cell centres).
    """
    pts = check_points(points, domain.ndim, "points")
    w = check_weights(weights, pts.shape[0], "weights")
    sigma = as_real(sigma, "sigma")
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive finite number, got {sigma}")
    factors = []
    for d, (axis, length, per) in enumerate(zip(domain.axes, domain.lengths, domain.periodic)):
        diff = axis[None, :] - pts[:, d:d + 1]
        factors.append(_wrapped_gaussian(diff, sigma, length) if per else
                       np.exp(-0.5 * (diff / sigma) ** 2) / (np.sqrt(2 * np.pi) * sigma))
    if domain.ndim == 1:
        return w @ factors[0]
    return np.einsum("m,mi,mj->ij", w, factors[0], factors[1])
