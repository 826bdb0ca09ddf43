"""Exact Wasserstein distances in one dimension, from cumulative distribution functions.

Interval: W_p^p = ∫₀¹|F⁻¹ − G⁻¹|^p.  Circle (arc length): W₁ = min_c ∫|F − G − c| (c a
weighted median of F − G) and W₂² = min_α ∫₀¹|F⁻¹(t + α) − G⁻¹(t)|² with F lifted to ℝ by
F(x + 1) = F(x) + 1 (Delon–Salomon–Sobolevski): the cost is exact for each α (merged
breakpoints of two step functions) and convex in α, which is minimised numerically.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from ._inputs import check_order, check_points, check_weights


def _normalise(points, weights, name):
    """Checked 1-D points (``(n,)`` or ``(n, 1)``) in increasing order, with their normalised weights."""
    x = check_points(points, 1, name)[:, 0]
    w = check_weights(weights, x.size, f"{name}_weights")
    order = np.argsort(x, kind="stable")
    return x[order], w[order]


def _quantile_cost(x, a, y, b, p, shift_y=0.0):
    """∫₀¹|F⁻¹(t) − G⁻¹(t)|^p for sorted discrete measures (G's support shifted by ``shift_y``)."""
    ca, cb = np.cumsum(a), np.cumsum(b)
    # cumulative sums end at 1 ± round-off: clip, and always close the last interval at 1
    levels = np.unique(np.clip(np.concatenate([[0.0, 1.0], ca, cb]), 0.0, 1.0))
    mids = 0.5 * (levels[1:] + levels[:-1])
    qx = x[np.minimum(np.searchsorted(ca, mids), x.size - 1)]
    qy = y[np.minimum(np.searchsorted(cb, mids), y.size - 1)] + shift_y
    return float(np.sum(np.diff(levels) * np.abs(qx - qy) ** p))


def wasserstein_interval(x, y, *, x_weights=None, y_weights=None, p: float = 2) -> float:
    """Exact Wasserstein distance W_p on the line, W_p^p = ∫₀¹|F⁻¹ − G⁻¹|^p.

    Parameters
    ----------
    x, y : ndarray, shape (n,) or (n, 1)
        Points of the two measures.
    x_weights, y_weights : ndarray, shape (n,), optional
        Non-negative weights, normalised to mass 1; default uniform.
    p : float
        Order, finite and ≥ 1.

    Returns
    -------
    float
        W_p(μ, ν).
    """
    p = check_order(p)
    xs, a = _normalise(x, x_weights, "x")
    ys, b = _normalise(y, y_weights, "y")
    return _quantile_cost(xs, a, ys, b, p) ** (1.0 / p)


def _lifted_quantile(x, cum, s):
    """Quantile of the lifted cumulative F(x + 1) = F(x) + 1 (positions in turns, in [0, 1))."""
    turns = np.floor(s)
    idx = np.minimum(np.searchsorted(cum, s - turns, side="right"), x.size - 1)
    return x[idx] + turns


def _circle_cost_for_shift(x, a, y, b, alpha, p):
    """∫₀¹|F⁻¹(t + α) − G⁻¹(t)|^p: the cost of cutting the circle so that level α of μ meets 0 of ν."""
    ca, cb = np.cumsum(a), np.cumsum(b)
    shifted = np.concatenate([ca - alpha + k for k in range(-2, 3)])
    levels = np.concatenate([[0.0, 1.0], cb, shifted])
    levels = np.unique(levels[(levels >= 0.0) & (levels <= 1.0)])
    mids = 0.5 * (levels[1:] + levels[:-1])
    gap = _lifted_quantile(x, ca, mids + alpha) - _lifted_quantile(y, cb, mids)
    return float(np.sum(np.diff(levels) * np.abs(gap) ** p))


def wasserstein_circle(x, y, *, x_weights=None, y_weights=None, p: int = 2) -> float:
    """Exact Wasserstein distance W_p on the circle ℝ/2πℤ with the arc-length distance.

    W₁ = min_c ∫|F − G − c|; W₂² = min_α ∫₀¹|F⁻¹(t + α) − G⁻¹(t)|² with F lifted by
    F(x + 2π) = F(x) + 1 (Delon–Salomon–Sobolevski), exact for each α and convex in it.

    Parameters
    ----------
    x, y : ndarray, shape (n,) or (n, 1)
        Angles of the two measures (any real values; taken modulo 2π).
    x_weights, y_weights : ndarray, shape (n,), optional
        Non-negative weights, normalised to mass 1; default uniform.
    p : {1, 2}
        Order.

    Returns
    -------
    float
        W_p(μ, ν).
    """
    p = check_order(p, allowed=(1.0, 2.0))
    theta, a = _normalise(np.mod(check_points(x, 1, "x"), 2 * np.pi), x_weights, "x")
    phi, b = _normalise(np.mod(check_points(y, 1, "y"), 2 * np.pi), y_weights, "y")
    if p == 1:
        grid = np.unique(np.concatenate([theta, phi, [0.0, 2 * np.pi]]))
        fa = np.concatenate([[0.0], np.cumsum(a)])[np.searchsorted(theta, grid[:-1], side="right")]
        fb = np.concatenate([[0.0], np.cumsum(b)])[np.searchsorted(phi, grid[:-1], side="right")]
        diff, lengths = fa - fb, np.diff(grid)
        order = np.argsort(diff)
        cum = np.cumsum(lengths[order])
        median = diff[order][np.searchsorted(cum, 0.5 * cum[-1])]
        return float(np.sum(lengths * np.abs(diff - median)))
    xt, yt = theta / (2 * np.pi), phi / (2 * np.pi)
    cost = lambda c: _circle_cost_for_shift(xt, a, yt, b, c, 2)  # noqa: E731
    # the cost is convex in c; bracket with a coarse scan of one full turn either way
    scan = np.linspace(-1.0, 1.0, 81)
    values = [cost(c) for c in scan]
    k = int(np.argmin(values))
    lo, hi = scan[max(k - 1, 0)], scan[min(k + 1, scan.size - 1)]
    best = minimize_scalar(cost, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12})
    return float(2 * np.pi * np.sqrt(min(best.fun, values[k])))
