"""χ² divergence of grid densities, and a wrapped Gaussian smoothing of particles for plots."""

from __future__ import annotations

import numpy as np

from ..domains import Domain


def chi2(target: np.ndarray, density: np.ndarray, domain: Domain) -> float:
    """χ²(μ̄ | μ) = ∫ (μ̄/μ − 1)² dμ = ∫ μ̄²/μ − 1 for probability densities on the grid."""
    target = domain.evaluate(target, "target")
    density = domain.evaluate(density, "density")
    if density.min() <= 0:
        raise ValueError("chi2 needs a strictly positive density μ")
    return float(domain.integrate((target - density) ** 2 / density))


def smooth_particles(points, domain: Domain, sigma: float = 0.04, weights=None) -> np.ndarray:
    """Particles convolved with a (wrapped, on periodic axes) Gaussian of std ``sigma``, on the grid.

    For plots only (the thesis figures use σ = 0.04); metrics never smooth.
    """
    pts = np.asarray(points, dtype=float).reshape(-1, domain.ndim)
    w = np.full(pts.shape[0], 1.0 / pts.shape[0]) if weights is None else np.asarray(weights) / np.sum(weights)
    factors = []
    for d, (axis, length, per) in enumerate(zip(domain.axes, domain.lengths, domain.periodic)):
        diff = axis[None, :] - pts[:, d:d + 1]
        images = range(-2, 3) if per else range(0, 1)
        k = sum(np.exp(-0.5 * ((diff + j * length) / sigma) ** 2) for j in images)
        factors.append(k / (np.sqrt(2 * np.pi) * sigma))
    if domain.ndim == 1:
        return w @ factors[0]
    return np.einsum("m,mi,mj->ij", w, factors[0], factors[1])
