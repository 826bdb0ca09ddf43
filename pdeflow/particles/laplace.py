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


@nb.njit(cache=True, parallel=True, fastmath=VECTOR_FLAGS)
def laplace_torus_pass(w0, w1, x, period, scale, A, A32, fill, y, z, divisor, resid, part, residual, gradient):
    """One pass over the rows of A: fill them, and/or form the residual terms of weights z.

    ``w0``, ``w1`` (M,) are the coordinates of the particles, ``x`` (N, 2) the data.

    * ``fill``: write A[j, i] = (2/s²) exp(−‖[ωᵢ − xⱼ]‖/s) into ``A`` (N, M) float64 and its
      single-precision copy into ``A32``; otherwise read ``A``.
    * ``residual``: ``resid[j]`` = rⱼ = yⱼ − (Az)ⱼ/divisor, and ``part`` (blocks, 4, M) gets
      per block of rows Σⱼ rⱼAⱼᵢ (row 0), Σⱼ yⱼAⱼᵢ (row 1) and, with ``gradient``,
      Σⱼ rⱼ∂φ/∂ω_k(ωᵢ, xⱼ) for k = 0, 1 (rows 2, 3, untouched otherwise).

    A filled row is still in cache when the residual reads it, so filling and forming the
    residual together cost little more than filling.
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
        for j in range(b * rows, min(n, (b + 1) * rows)):
            x0 = x[j, 0]
            x1 = x[j, 1]
            row = A[j]
            if fill:
                row32 = A32[j]
                for i in range(m):
                    d0 = _periodic(w0[i] - x0, period, half, inv_p)
                    d1 = _periodic(w1[i] - x1, period, half, inv_p)
                    # beyond EXP_MODERATE e^{−t} is below the smallest normal double: clipped there
                    a = amp * vexp_moderate(-min(np.sqrt(d0 * d0 + d1 * d1) * inv_s, EXP_MODERATE))
                    row[i] = a
                    row32[i] = a
            if not residual:
                continue
            s = 0.0
            for i in range(m):
                s += row[i] * z[i]
            yj = y[j]
            c = yj - s / divisor
            resid[j] = c
            if gradient:
                for i in range(m):
                    a = row[i]
                    h[i] += c * a
                    ay[i] += yj * a
                    d0 = _periodic(w0[i] - x0, period, half, inv_p)
                    d1 = _periodic(w1[i] - x1, period, half, inv_p)
                    r2 = d0 * d0 + d1 * d1
                    # ∂φ/∂ω = −φ [ω − x]/(s‖[ω − x]‖), 0 where ω = x (φ's cusp: the kernel's choice)
                    q = -c * a * inv_s / np.sqrt(r2) if r2 > 0.0 else 0.0
                    g0[i] += q * d0
                    g1[i] += q * d1
            else:
                for i in range(m):
                    a = row[i]
                    h[i] += c * a
                    ay[i] += yj * a
