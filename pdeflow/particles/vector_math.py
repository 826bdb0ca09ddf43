"""exp(−t) that LLVM vectorises inside numba loops.

numba calls libm's scalar ``exp``, which no loop vectoriser can widen (numba's own SIMD
maths needs Intel's SVML, rarely installed), so a loop that evaluates a Laplace feature
spends most of its time there.  :func:`exp_neg` is plain arithmetic instead: with
t = k·ln 2 − f, |f| ≤ ln 2/2, exp(−t) = 2^{−k}·e^{f}, e^{f} by its Taylor polynomial of
degree 13 (remainder (ln 2/2)¹⁴/14! < 5·10⁻¹⁸) and 2^{−k} built from its exponent bits.
The result is within a few units in the last place of ``np.exp(−t)`` (tests/test_fused_features.py).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numba import types
from numba.extending import intrinsic

#: Flags of the vectorised kernels: FMA contraction, and reassociation so that sums over a
#: row may be split across SIMD lanes.  No flag that assumes finite values or drops
#: accuracy in a library call.
VECTOR_FLAGS = {"contract", "reassoc"}

# ln 2 split so that k·LN2_HI is exact for the k used here (Cody–Waite reduction)
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.0 / math.log(2.0)
#: Beyond this exp(−t) is below the smallest normal double: 0 is returned.
_T_MAX = 708.0
_C = tuple(1.0 / math.factorial(n) for n in range(14))


@intrinsic
def _float_from_bits(typingctx, bits):
    """The float64 whose IEEE bits are the int64 ``bits`` (an LLVM bitcast, free in SIMD)."""
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return types.float64(types.int64), codegen


@nb.njit(cache=True, fastmath=VECTOR_FLAGS, inline="always")
def exp_neg(t):
    """exp(−t) for t ≥ 0 (NaN-free input), to a few ulp (0 beyond t = 708); inlined and vectorisable."""
    clipped = min(t, _T_MAX)
    k = np.int64(clipped * _INV_LN2 + 0.5)
    f = (k * _LN2_HI - clipped) + k * _LN2_LO       # −(t − k ln 2), |f| ≤ ln 2/2
    p = _C[13]
    p = p * f + _C[12]
    p = p * f + _C[11]
    p = p * f + _C[10]
    p = p * f + _C[9]
    p = p * f + _C[8]
    p = p * f + _C[7]
    p = p * f + _C[6]
    p = p * f + _C[5]
    p = p * f + _C[4]
    p = p * f + _C[3]
    p = p * f + _C[2]
    p = p * f + _C[1]
    p = p * f + _C[0]
    value = p * _float_from_bits((np.int64(1023) - k) << 52)
    return value if t < _T_MAX else 0.0


@nb.njit(cache=True, fastmath=VECTOR_FLAGS)
def exp_neg_array(t, out):
    """``out[i] = exp(−t[i])`` through :func:`exp_neg` (the kernel a test checks against ``np.exp``)."""
    for i in range(t.size):
        out[i] = exp_neg(t[i])
