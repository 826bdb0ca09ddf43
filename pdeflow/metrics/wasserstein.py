"""Exact Wasserstein distances in one dimension, from cumulative distribution functions.

Interval: W_p^p = ∫₀¹|F⁻¹ − G⁻¹|^p.  Circle (arc length): W₁ = min_c ∫|F − G − c| (c a
weighted median of F − G) and W_p^p = min_α ∫₀¹|F⁻¹(t + α) − G⁻¹(t)|^p with F lifted to ℝ by
F(x + 1) = F(x) + 1 (Delon–Salomon–Sobolevski): the cost is exact for each α (merged
breakpoints of the two quantile functions) and convex in α, which is minimised numerically.

A point may carry a *width* w: it then stands for its mass spread uniformly over
[x − w/2, x + w/2] — the cell-uniform reconstruction of a grid density (docs: theory/cot §5), whose
quantile function is piecewise linear.  Between piecewise-linear quantiles the cost is still
exact: on every merged level interval both quantiles are affine, and |affine|^p integrates in
closed form (p = 1, 2).
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


def _pieces(points, weights, widths, name, period=None):
    """Sorted (left end, right end, mass) of each positive-mass piece; a width of 0 is an atom."""
    x = check_points(points, 1, name)[:, 0]
    w = check_weights(weights, x.size, f"{name}_weights")
    h = np.zeros(x.size) if widths is None else np.asarray(widths, dtype=float)
    if h.ndim not in (0, 1) or (h.ndim == 1 and h.shape != x.shape):
        raise ValueError(f"{name}_widths must be a number or have shape ({x.size},), got {h.shape}")
    h = np.broadcast_to(h, x.shape)
    if not np.all(np.isfinite(h)) or h.min() < 0:
        raise ValueError(f"{name}_widths must be finite and non-negative")
    keep = w > 0
    x, w, h = x[keep], w[keep], h[keep]
    order = np.argsort(x, kind="stable")
    x, w, h = x[order], w[order] / w.sum(), h[order]
    lo, hi = x - h / 2, x + h / 2
    # the quantile is built piece after piece: pieces that overlap would give a wrong W_p, not
    # an error, so they are refused (grid cells abut, up to rounding)
    slack = 1e-9 * max(1.0, float(np.abs(x).max()) if x.size else 1.0)
    clash = np.flatnonzero(lo[1:] < hi[:-1] - slack)
    if clash.size:
        i = int(clash[0])
        raise ValueError(f"{name}_widths: the pieces at {x[i]:.6g} and {x[i + 1]:.6g} overlap (widths "
                         f"{h[i]:.6g} and {h[i + 1]:.6g}); cell-uniform pieces must be disjoint, like grid cells")
    if period is not None and x.size and (lo[0] < -slack or hi[-1] > period + slack):
        raise ValueError(f"{name}_widths: a piece straddles 0 ≡ 2π (from {lo[0]:.6g} to {hi[-1]:.6g}); "
                         "pieces must lie within [0, 2π), like the cells of a circle grid")
    return lo, hi, w


def _affine_power_integral(a0, a1, length, p):
    """∫ over an interval of length ``length`` of |α|^p, α affine from a0 to a1 (p = 1 or 2)."""
    if p == 2:
        return length * (a0 * a0 + a0 * a1 + a1 * a1) / 3.0
    if p == 1:
        same = a0 * a1 >= 0
        absum = np.abs(a0) + np.abs(a1)
        cross = np.divide(a0 * a0 + a1 * a1, 2 * absum, out=np.zeros_like(absum), where=absum > 0)
        return length * np.where(same, absum / 2, cross)
    raise ValueError("cell-uniform (width > 0) measures support p = 1 and p = 2")


def _pl_quantile(lo, hi, cum, levels, mids, period=None):
    """Piecewise-linear quantile at ``levels``, on the piece that holds ``mids`` (lifted if periodic)."""
    turns = np.floor(mids) if period is not None else 0.0
    idx = np.minimum(np.searchsorted(cum, mids - turns, side="right"), lo.size - 1)
    start = np.concatenate([[0.0], cum[:-1]])[idx]
    mass = cum[idx] - start
    frac = (levels - turns - start) / mass
    q = lo[idx] + (hi[idx] - lo[idx]) * frac
    return q + turns * period if period is not None else q


def _pl_cost(A, B, p, alpha=0.0, period=None):
    """∫₀¹|Q_A(t + α) − Q_B(t)|^p for piecewise-linear quantiles A, B = (lo, hi, masses)."""
    ca, cb = np.cumsum(A[2]), np.cumsum(B[2])
    ca[-1] = cb[-1] = 1.0
    if period is None:
        shifted = ca
    else:
        shifted = np.concatenate([ca - alpha + k for k in range(-2, 3)])
    levels = np.concatenate([[0.0, 1.0], cb, shifted])
    levels = np.unique(levels[(levels >= 0.0) & (levels <= 1.0)])
    t0, t1 = levels[:-1], levels[1:]
    mids = 0.5 * (t0 + t1)
    qa0 = _pl_quantile(*A[:2], ca, t0 + alpha, mids + alpha, period)
    qa1 = _pl_quantile(*A[:2], ca, t1 + alpha, mids + alpha, period)
    qb0 = _pl_quantile(*B[:2], cb, t0, mids, period)
    qb1 = _pl_quantile(*B[:2], cb, t1, mids, period)
    return float(np.sum(_affine_power_integral(qa0 - qb0, qa1 - qb1, t1 - t0, p)))


def wasserstein_interval(x, y, *, x_weights=None, y_weights=None, p: int = 2, x_widths=None,
                         y_widths=None) -> float:
    r"""Exact W_p between weighted point sets (or cell-uniform pieces) on the line.

    .. math:: W_p(\mu, \nu)^p = \int_0^1 |F_\mu^{-1}(t) - F_\nu^{-1}(t)|^p \, dt

    Parameters
    ----------
    x, y : ndarray, shape (n,) or (n, 1)
        Points (or cell centres) of the two measures, finite.
    x_weights, y_weights : ndarray, shape (n,), optional
        Non-negative masses, normalised to 1 here; default uniform.
    p : int
        Order, p ≥ 1 for atoms; p ∈ {1, 2} when widths are given.
    x_widths, y_widths : float or ndarray, optional
        Spread each mass uniformly over [x − w/2, x + w/2] (cell-uniform reconstruction of a grid
        density); default 0 (atoms).

    Returns
    -------
    float
        W_p(μ, ν).
    """
    p = check_order(p)
    xs, a = _normalise(x, x_weights, "x")
    ys, b = _normalise(y, y_weights, "y")
    if x_widths is None and y_widths is None:
        return _quantile_cost(xs, a, ys, b, p) ** (1.0 / p)
    p = check_order(p, allowed=(1.0, 2.0))
    return _pl_cost(_pieces(x, x_weights, x_widths, "x"), _pieces(y, y_weights, y_widths, "y"),
                    p) ** (1.0 / p)


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


def _circle_pieces_cost(x, y, x_weights, y_weights, x_widths, y_widths, p) -> float:
    """min_α ∫₀¹|Q_μ(t + α) − Q_ν(t)|^p with lifted piecewise-linear quantiles (period 2π)."""
    def pieces(pts, w, h, name):
        return _pieces(np.mod(check_points(pts, 1, name), 2 * np.pi), w, h, name, period=2 * np.pi)

    A, B = pieces(x, x_weights, x_widths, "x"), pieces(y, y_weights, y_widths, "y")
    cost = lambda c: _pl_cost(A, B, p, c, 2 * np.pi)  # noqa: E731
    # convex in c (Delon–Salomon–Sobolevski): a coarse scan only brackets the minimum for Brent
    scan = np.linspace(-1.0, 1.0, 21)
    values = [cost(c) for c in scan]
    k = int(np.argmin(values))
    lo, hi = scan[max(k - 1, 0)], scan[min(k + 1, scan.size - 1)]
    best = minimize_scalar(cost, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12})
    return min(best.fun, values[k]) ** (1.0 / p)


def wasserstein_circle(x, y, *, x_weights=None, y_weights=None, p: int = 2, x_widths=None,
                       y_widths=None) -> float:
    r"""Exact W_p (p = 1 or 2) for the arc-length distance on ℝ/2πℤ.

    .. math:: W_p(\mu, \nu)^p = \min_{\vartheta \in \mathbb{R}} \int_0^1
              |Q_\mu(t + \vartheta) - Q_\nu(t)|^p \, dt,

    Q the quantile lifted by Q(t + 1) = Q(t) + 2π (Delon–Salomon–Sobolevski 2010).

    Parameters
    ----------
    x, y : ndarray, shape (n,) or (n, 1)
        Angles in radians (any real values; taken modulo 2π), or cell centres.
    x_weights, y_weights : ndarray, shape (n,), optional
        Non-negative masses, normalised to 1 here; default uniform.
    p : {1, 2}
        Order.
    x_widths, y_widths : float or ndarray, optional
        Spread each mass uniformly over an arc of that width (cell-uniform pieces, which must
        not straddle 0 ≡ 2π — grid cells of [0, 2π) do not); default 0 (atoms).

    Returns
    -------
    float
        W_p(μ, ν) for the arc-length distance.
    """
    p = check_order(p, allowed=(1.0, 2.0))
    if x_widths is not None or y_widths is not None:
        return _circle_pieces_cost(x, y, x_weights, y_weights, x_widths, y_widths, p)
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
