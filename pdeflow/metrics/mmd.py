"""MMD with the energy-distance kernel κ = −d (SPEC §5, thesis eq. III.49).

MMD²(μ, ν) = 2E d(X, Y) − E d(X, X′) − E d(Y, Y′), with d the chordal distance on the
circle, the ℓ¹ sum of per-axis periodic distances on the torus and the Euclidean
distance on intervals and boxes.  The double sums run in a numba loop: O(M·G) time
and O(1) extra memory, whatever the sizes.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..domains import Domain

_CHORD, _TORUS, _EUCLID = 0, 1, 2


@nb.njit(cache=True, inline="always")
def _pair_distance(kind, x, i, y, j, period):
    if kind == _CHORD:
        return 2.0 * abs(np.sin(0.5 * (x[i, 0] - y[j, 0])))
    total = 0.0
    if kind == _TORUS:
        for k in range(x.shape[1]):
            diff = abs(x[i, k] - y[j, k]) % period
            total += min(diff, period - diff)
        return total
    for k in range(x.shape[1]):
        total += (x[i, k] - y[j, k]) ** 2
    return np.sqrt(total)


@nb.njit(cache=True)
def _weighted_distance_sum(kind, x, a, y, b, period, symmetric):
    """Σᵢⱼ aᵢ bⱼ d(xᵢ, yⱼ); with ``symmetric`` (x is y) only i < j is visited."""
    total = 0.0
    for i in range(x.shape[0]):
        row = 0.0
        start = i + 1 if symmetric else 0
        for j in range(start, y.shape[0]):
            row += b[j] * _pair_distance(kind, x, i, y, j, period)
        total += a[i] * row
    return 2.0 * total if symmetric else total


def _kind(domain: Domain) -> tuple[int, float]:
    if domain.kind == "circle":
        return _CHORD, 2 * np.pi
    if all(domain.periodic):
        return _TORUS, domain.lengths[0]
    return _EUCLID, 0.0


def grid_points(domain: Domain, density: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A grid density as weighted atoms: cell centres ``(G, d)`` and cell masses ``(G,)``."""
    density = np.asarray(density, dtype=float)
    if density.shape != domain.shape:
        raise ValueError(f"density has shape {density.shape}, the grid has shape {domain.shape}")
    centres = np.stack([c.ravel() for c in domain.mesh()], axis=1)
    return centres, density.ravel() * domain.cell_volume


def _as_points(domain: Domain, points, weights, name):
    pts = np.asarray(points, dtype=float)
    pts = pts.reshape(-1, 1) if pts.ndim == 1 else pts
    if pts.ndim != 2 or pts.shape[1] != domain.ndim or pts.shape[0] == 0:
        raise ValueError(f"{name} must have shape (n,) or (n, {domain.ndim}), got {np.shape(points)}")
    w = np.full(pts.shape[0], 1.0) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (pts.shape[0],):
        raise ValueError(f"{name}_weights must have shape ({pts.shape[0]},), got {w.shape}")
    if not np.all(np.isfinite(w)) or w.min() < 0 or w.sum() <= 0:
        raise ValueError(f"{name}_weights must be non-negative, finite and not all zero")
    return np.ascontiguousarray(pts), w / w.sum()


def energy_distance_sums(x, y, domain: Domain, *, x_weights=None, y_weights=None):
    """(E d(X,Y), E d(X,X′), E d(Y,Y′)) for the normalised weighted point sets."""
    kind, period = _kind(domain)
    x, a = _as_points(domain, x, x_weights, "x")
    y, b = _as_points(domain, y, y_weights, "y")
    return (_weighted_distance_sum(kind, x, a, y, b, period, False),
            _weighted_distance_sum(kind, x, a, x, a, period, True),
            _weighted_distance_sum(kind, y, b, y, b, period, True))


def mmd(x, y, domain: Domain, *, x_weights=None, y_weights=None) -> float:
    """MMD between two weighted point sets on ``domain`` (weights are normalised to mass 1).

    ``x`` and ``y`` have shape ``(n,)`` (1-D) or ``(n, d)``; a grid density enters through
    :func:`grid_points`: ``mmd(particles, *grid_points(domain, rho), domain)`` does not fit,
    so pass ``y, y_weights = grid_points(domain, rho)``.
    """
    cross, xx, yy = energy_distance_sums(x, y, domain, x_weights=x_weights, y_weights=y_weights)
    return float(np.sqrt(max(2.0 * cross - xx - yy, 0.0)))
