"""Fused passes of the Laplace feature φ(ω, x) = (2/s²) exp(−‖[ω − x]‖/s) on the torus (docs: theory/particles).

One numba kernel, :func:`laplace_torus_pass`, replaces the fill of A and of the 2 × N × M
gradient array; in one pass over the rows

* it writes A[j, i] = φ(ωᵢ, xⱼ) in double and its single-precision copy (the exponential
  vectorised: :func:`pdeflow.vecmath.vexp_moderate`);
* for weights z and labels y it forms r = y − Az/divisor, Aᵀr, Aᵀy and, without any stored
  gradient, the potential's gradient Σⱼ rⱼ ∂φ/∂ω(ωᵢ, xⱼ) = −Σⱼ rⱼ Aⱼᵢ [ωᵢ − xⱼ]/(s‖[ωᵢ − xⱼ]‖),
  the difference recomputed from the positions (cheaper than storing and streaming it).

Rows are split into a fixed number of blocks whose partial sums are added in block order,
so the result does not depend on how many threads ran them.  Numpy twins live in
tests/test_fused_features.py.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..vecmath import EXP_MODERATE, VECTOR_FLAGS, vexp_moderate

#: Rows of A per block of the residual pass (one partial sum per block).
ROWS_PER_BLOCK = 64


@nb.njit(cache=True, fastmath=VECTOR_FLAGS, inline="always")
def _periodic(d, period, half, inv_period):
    """The representative of d in [−L/2, L/2) (up to round-off at the ends)."""
    return d - period * np.floor((d + half) * inv_period)


@nb.njit(cache=True, fastmath=VECTOR_FLAGS, inline="always")
def _fill_row(w0, w1, x0, x1, period, half, inv_p, amp, inv_s, row, row32):
    """Write one row of A and its single-precision copy."""
    for i in range(row.size):
        d0 = _periodic(w0[i] - x0, period, half, inv_p)
        d1 = _periodic(w1[i] - x1, period, half, inv_p)
        # beyond EXP_MODERATE e^{−t} is below the smallest normal double: clipped there
        a = amp * vexp_moderate(-min(np.sqrt(d0 * d0 + d1 * d1) * inv_s, EXP_MODERATE))
        row[i] = a
        row32[i] = a


@nb.njit(cache=True, fastmath=VECTOR_FLAGS, inline="always")
def _row_dot(row, z):
    """Σᵢ row[i] z[i], summed the same way whether the row was just filled or read back."""
    s = 0.0
    for i in range(row.size):
        s += row[i] * z[i]
    return s


@nb.njit(cache=True, parallel=True, fastmath=VECTOR_FLAGS)
def laplace_torus_pass(w0, w1, x, period, scale, A, A32, fill, y, z, divisor, resid, part, residual, gradient):
    """One pass over the rows of A: fill them, and/or form the residual terms of weights z.

    ``w0``, ``w1`` (M,) are the coordinates of the particles, ``x`` (N, 2) the data.

    * ``fill``: write A[j, i] = (2/s²) exp(−‖[ωᵢ − xⱼ]‖/s) into ``A`` (N, M) float64 and its
      single-precision copy into ``A32``; otherwise read ``A``.
    * ``residual``: ``resid[j]`` = rⱼ = yⱼ − (Az)ⱼ/divisor, and ``part`` (blocks, 4, M) gets
      per block of rows Σⱼ rⱼAⱼᵢ (row 0), Σⱼ yⱼAⱼᵢ (row 1) and, with ``gradient``,
      Σⱼ rⱼ∂φ/∂ω_k(ωᵢ, xⱼ) for k = 0, 1 (rows 2, 3, untouched otherwise).

    Rows go two at a time: both are filled, then one sweep over the particles adds both rows' terms, so that each load and
    store of the four sums serves two rows (those, not the arithmetic, bounded the sweep).  A
    filled row is still in cache when the sweep reads it, so filling and forming the residual
    together cost little more than filling.
    """
    n, m = A.shape
    blocks = part.shape[0]
    rows = (n + blocks - 1) // blocks
    amp = 2.0 / scale**2
    inv_s = 1.0 / scale
    half = 0.5 * period
    inv_p = 1.0 / period
    for b in nb.prange(blocks):
        h = part[b, 0]
        ay = part[b, 1]
        g0 = part[b, 2]
        g1 = part[b, 3]
        if residual:
            for i in range(m):
                h[i] = 0.0
                ay[i] = 0.0
                if gradient:
                    g0[i] = 0.0
                    g1[i] = 0.0
        stop = min(n, (b + 1) * rows)
        for j in range(min(n, b * rows), stop, 2):
            # a block's last row, if alone, is paired with itself at weight 0
            two = j + 1 < stop
            k = j + 1 if two else j
            xa0, xa1, xb0, xb1 = x[j, 0], x[j, 1], x[k, 0], x[k, 1]
            ra, rb = A[j], A[k]
            if fill:
                _fill_row(w0, w1, xa0, xa1, period, half, inv_p, amp, inv_s, ra, A32[j])
                if two:
                    _fill_row(w0, w1, xb0, xb1, period, half, inv_p, amp, inv_s, rb, A32[k])
            if not residual:
                continue
            sa = _row_dot(ra, z)
            sb = _row_dot(rb, z) if two else 0.0
            ya = y[j]
            yb = y[k] if two else 0.0
            ca = ya - sa / divisor
            cb = yb - sb / divisor if two else 0.0
            resid[j] = ca
            resid[k] = cb if two else ca
            if gradient:
                for i in range(m):
                    a = ra[i]
                    e = rb[i]
                    h[i] += ca * a + cb * e
                    ay[i] += ya * a + yb * e
                    da0 = _periodic(w0[i] - xa0, period, half, inv_p)
                    da1 = _periodic(w1[i] - xa1, period, half, inv_p)
                    db0 = _periodic(w0[i] - xb0, period, half, inv_p)
                    db1 = _periodic(w1[i] - xb1, period, half, inv_p)
                    ra2 = da0 * da0 + da1 * da1
                    rb2 = db0 * db0 + db1 * db1
                    # ∂φ/∂ω = −φ [ω − x]/(s‖[ω − x]‖), 0 where ω = x (φ's cusp: the kernel's choice)
                    qa = -ca * a * inv_s / np.sqrt(ra2) if ra2 > 0.0 else 0.0
                    qb = -cb * e * inv_s / np.sqrt(rb2) if rb2 > 0.0 else 0.0
                    g0[i] += qa * da0 + qb * db0
                    g1[i] += qa * da1 + qb * db1
            else:
                for i in range(m):
                    a = ra[i]
                    e = rb[i]
                    h[i] += ca * a + cb * e
                    ay[i] += ya * a + yb * e
