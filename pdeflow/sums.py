"""Compensated prefix sums, the one numerical primitive behind every sorted-order sum in pdeflow.

Sums over an arc of data (the ReLU feature operator) or over the points below a key (the
sorted MMD) are read off as differences of prefix sums; those differences are only as exact
as a direct sum if the prefix sums carry a Kahan compensation.
"""

from __future__ import annotations

import numba as nb


@nb.njit(cache=True)
def compensated_cumsum(q, out):
    """out[0] = 0, out[k+1] = q[0] + … + q[k] with Kahan compensation (differences of far-apart
    prefix sums then keep the accuracy of a direct sum)."""
    out[0] = 0.0
    total = 0.0
    carry = 0.0
    for k in range(q.size):
        y = q[k] - carry
        t = total + y
        carry = (t - total) - y
        total = t
        out[k + 1] = total
