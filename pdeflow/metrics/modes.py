"""The energy distance on the circle, split over Fourier modes (SPEC §5, §6).

The chordal distance has the Fourier series

    d(ω, ω′) = 2|sin((ω − ω′)/2)| = 4/π − (8/π) Σ_{k≥1} cos(k(ω − ω′))/(4k² − 1),

so for two probability measures, with σ = μ − ν (mass zero, the constant drops out),

    MMD²(μ, ν) = −∫∫ d dσ dσ = Σ_{k≥1} (8/π) |σ̂_k|² / (4k² − 1),    σ̂_k = ∫ e^{−ikω} dσ(ω).

Each mode contributes separately, so the distance can be attributed to modes: for ReLU
features on the circle the odd modes k ≥ 3 are invisible to the features (max(0, cos θ) has
no odd harmonic beyond the first), and the rest is what the features can see.
"""

from __future__ import annotations

import numpy as np


def _normalised(points, weights) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(points, dtype=float).ravel()
    w = np.full(x.size, 1.0) if weights is None else np.asarray(weights, dtype=float).ravel()
    if w.shape != x.shape or x.size == 0 or not np.all(np.isfinite(w)) or w.min() < 0 or w.sum() <= 0:
        raise ValueError("weights must be finite, non-negative, not all zero, one per point")
    return x, w / w.sum()


def fourier_coefficients(points, weights=None, k_max: int = 256) -> np.ndarray:
    """μ̂_k = Σᵢ wᵢ e^{−ikωᵢ} for k = 1..k_max of a weighted point set on the circle (weights normalised).

    Returns shape (k_max,), complex.  Costs O(k_max · points), by the recurrence e^{−ikω} = (e^{−iω})^k.
    """
    x, w = _normalised(points, weights)
    step = np.exp(-1j * x)
    power = w.astype(complex)
    out = np.empty(int(k_max), dtype=complex)
    for k in range(int(k_max)):
        power = power * step
        out[k] = power.sum()
    return out


def mode_weights(k_max: int) -> np.ndarray:
    """(8/π)/(4k² − 1) for k = 1..k_max: MMD² = Σ_k weight_k |σ̂_k|²."""
    k = np.arange(1, int(k_max) + 1, dtype=float)
    return 8.0 / np.pi / (4 * k * k - 1)


def energy_distance_modes(x, y, *, x_weights=None, y_weights=None, k_max: int = 256) -> np.ndarray:
    """Contribution of each Fourier mode k = 1..k_max to MMD²(μ, ν) on the circle, shape (k_max,).

    The sum over all k is MMD² (energy-distance kernel, chordal distance; :func:`pdeflow.metrics.mmd`);
    truncated at k_max it misses at most (2/π)·max_k|σ̂_k|²/k_max (|σ̂_k| ≤ 2), less for smooth
    measures.
    """
    diff = fourier_coefficients(x, x_weights, k_max) - fourier_coefficients(y, y_weights, k_max)
    return mode_weights(k_max) * np.abs(diff) ** 2


def relu_invisible(k_max: int) -> np.ndarray:
    """Mask of the modes k = 1..k_max that ReLU features on the circle cannot see: odd k ≥ 3."""
    k = np.arange(1, int(k_max) + 1)
    return (k % 2 == 1) & (k >= 3)
