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
        images = range(-2, 3) if per else range(0, 1)
        k = sum(np.exp(-0.5 * ((diff + j * length) / sigma) ** 2) for j in images)
        factors.append(k / (np.sqrt(2 * np.pi) * sigma))
    if domain.ndim == 1:
        return w @ factors[0]
    return np.einsum("m,mi,mj->ij", w, factors[0], factors[1])
