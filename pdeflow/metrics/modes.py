"""The energy distance on the circle, split over Fourier modes (docs: theory/metrics, validation).

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

from ..scalars import as_count
from ._inputs import check_points, check_weights

#: more Fourier modes than any grid or sample here can resolve (a k_max of 10¹² is a typo, not a request)
MAX_MODES = 1 << 24


def _normalised(points, weights, name: str, weights_name: str) -> tuple[np.ndarray, np.ndarray]:
    x = check_points(points, 1, name)[:, 0]
    return x, check_weights(weights, x.size, weights_name)


def _mode_count(k_max) -> int:
    return as_count(k_max, "k_max", minimum=1, maximum=MAX_MODES)


def _coefficients(x: np.ndarray, w: np.ndarray, k_max: int) -> np.ndarray:
    """μ̂_1 … μ̂_{k_max} of checked angles ``x`` and normalised weights ``w``."""
    step = np.exp(-1j * x)
    power = w.astype(complex)
    out = np.empty(k_max, dtype=complex)
    for k in range(k_max):
        power = power * step
        out[k] = power.sum()
    return out


def fourier_coefficients(points, weights=None, k_max: int = 256) -> np.ndarray:
    """Fourier coefficients μ̂_k = Σᵢ wᵢ e^{−ikωᵢ}, k = 1..k_max, of weighted points on the circle.

    Costs O(k_max · points), by the recurrence e^{−ikω} = (e^{−iω})^k.

    Parameters
    ----------
    points : ndarray, shape (n,) or (n, 1)
        Angles ωᵢ.
    weights : ndarray, shape (n,), optional
        Non-negative weights, normalised to 1; default uniform.
    k_max : int
        Highest mode.

    Returns
    -------
    ndarray, shape (k_max,), complex
        μ̂_1 … μ̂_{k_max}.
    """
    x, w = _normalised(points, weights, "points", "weights")
    return _coefficients(x, w, _mode_count(k_max))


def mode_weights(k_max: int) -> np.ndarray:
    """(8/π)/(4k² − 1) for k = 1..k_max: MMD² = Σ_k weight_k |σ̂_k|²."""
    k = np.arange(1, _mode_count(k_max) + 1, dtype=float)
    return 8.0 / np.pi / (4 * k * k - 1)


def energy_distance_modes(x, y, *, x_weights=None, y_weights=None, k_max: int = 256) -> np.ndarray:
    """Contribution of each Fourier mode k = 1..k_max to MMD²(μ, ν) on the circle.

    The sum over all k is MMD² (energy-distance kernel, chordal distance; :func:`pdeflow.metrics.mmd`);
    truncated at k_max it misses at most (2/π)·max_k abs(σ̂_k)²/k_max (abs(σ̂_k) ≤ 2), less for smooth
    measures.

    Parameters
    ----------
    x, y : ndarray, shape (n,) or (n, 1)
        Angles of the two measures.
    x_weights, y_weights : ndarray, shape (n,), optional
        Non-negative weights, normalised to 1; default uniform.
    k_max : int
        Highest mode.

    Returns
    -------
    ndarray, shape (k_max,)
        (8/π)·abs(μ̂_k − ν̂_k)²/(4k² − 1), k = 1..k_max.
    """
    x, a = _normalised(x, x_weights, "x", "x_weights")
    y, b = _normalised(y, y_weights, "y", "y_weights")
    k_max = _mode_count(k_max)
    diff = _coefficients(x, a, k_max) - _coefficients(y, b, k_max)
    return mode_weights(k_max) * np.abs(diff) ** 2


def relu_invisible(k_max: int) -> np.ndarray:
    """Mask of the modes k = 1..k_max that ReLU features on the circle cannot see: odd k ≥ 3.

    max(0, cos θ) has no odd harmonic beyond the first, so neither has any ReLU feature.

    Parameters
    ----------
    k_max : int
        Highest mode.

    Returns
    -------
    ndarray of bool, shape (k_max,)
        True at the invisible modes.
    """
    k = np.arange(1, _mode_count(k_max) + 1)
    return (k % 2 == 1) & (k >= 3)
