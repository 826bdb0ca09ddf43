"""Input checks shared by every metric: point sets, weights, grid densities and orders p.

One place, so that every metric refuses the same bad inputs with the same one-line
``ValueError`` naming the argument: a NaN point or weight would otherwise flow into
sorting and sums and come out as a plausible-looking number.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..domains import Domain, check_domain
from ..scalars import as_real


def _float_array(values: Any, name: str) -> np.ndarray:
    """``values`` as a float array; complex and non-numeric input refused."""
    try:
        array = np.asarray(values)
    except (TypeError, ValueError):
        raise ValueError(f"{name} is not a numeric array") from None
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be real numbers, got {array.dtype} values")
    return array.astype(float)


def check_points(points: Any, ndim: int, name: str) -> np.ndarray:
    """Points as a contiguous ``(n, ndim)`` float array: ``n >= 1`` and every coordinate finite.

    In 1-D, shape ``(n,)`` is accepted as well as ``(n, 1)``.
    """
    pts = _float_array(points, name)
    if ndim == 1 and pts.ndim == 1:
        pts = pts.reshape(-1, 1)
    if pts.ndim != 2 or pts.shape[1] != ndim or pts.shape[0] == 0:
        expected = "(n,) or (n, 1)" if ndim == 1 else f"(n, {ndim})"
        raise ValueError(f"{name} must have shape {expected} with n >= 1, got {pts.shape}")
    bad = ~np.isfinite(pts)
    if bad.any():
        raise ValueError(f"{name} must be finite; point {int(np.argwhere(bad)[0][0])} is "
                         f"{pts[np.argwhere(bad)[0][0]].tolist()}")
    return np.ascontiguousarray(pts)


def check_weights(weights: Any, n: int, name: str) -> np.ndarray:
    """Weights of ``n`` points normalised to sum 1 (uniform if ``None``).

    They must be finite, non-negative and not all zero.  They are divided by their
    maximum before summing, so huge but finite weights (1e308 each) do not overflow
    the sum to infinity and normalise to zeros.
    """
    if weights is None:
        return np.full(n, 1.0 / n)
    w = _float_array(weights, name)
    if w.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one weight per point, got {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{name} must be finite; weight {int(np.argmin(np.isfinite(w)))} is not")
    if w.min() < 0:
        raise ValueError(f"{name} must be non-negative; weight {int(np.argmin(w))} is {w.min():.6g}")
    top = w.max()
    if top == 0:
        raise ValueError(f"{name} are all zero; the weights must have a positive sum")
    w = w / top
    return w / w.sum()


def check_grid_density(domain: Domain, density: Any, name: str, *, positive: bool = False) -> np.ndarray:
    """A grid density (array or callable, see :meth:`Domain.evaluate`): finite and ``>= 0`` (``> 0``)."""
    values = check_domain(domain).evaluate(density, name)
    if not np.all(np.isfinite(values)):
        cell = tuple(int(i) for i in np.argwhere(~np.isfinite(values))[0])
        raise ValueError(f"{name} must be finite; cell {cell} holds {values[cell]!r}")
    low = values.min()
    if low < 0 or (positive and low <= 0):
        cell = tuple(int(i) for i in np.unravel_index(int(np.argmin(values)), values.shape))
        need = "strictly positive" if positive else "non-negative"
        raise ValueError(f"{name} must be {need}; cell {cell} holds {low:.6g}")
    return values


def check_order(p: Any, *, allowed: tuple[float, ...] | None = None) -> float:
    """The order ``p`` of a Wasserstein distance: one of ``allowed``, or else finite and ``>= 1``.

    For ``p < 1`` the monotone (quantile) coupling these functions compute is not optimal,
    so such a "distance" would be wrong rather than merely unusual.
    """
    value = as_real(p, "p")
    if allowed is not None:
        if value not in allowed:
            raise ValueError(f"p must be one of {[int(a) if a.is_integer() else a for a in allowed]}, "
                             f"got {value:g}")
    elif not (np.isfinite(value) and value >= 1):
        raise ValueError(f"p must be a finite number >= 1, got {value:g}")
    return value
