"""Closed-form solutions used to measure the order of the UFD scheme.

Uniform weight a = m/L and r = 2: eq. (III.35) becomes the fast diffusion
∂ₜμ = 2·coef·a² ∂ₓ(μ⁻² ∂ₓμ).  In the mass coordinate z = ∫₀ˣ μ, the specific
volume v = 1/μ solves the heat equation v_t = 2·coef·a² v_zz, and the particle
at mass z sits at x = v̄z + ∫₀ᶻ(v − v̄).  So

    v(z, t) = v̄ + A e^{−2·coef·a²k²t} cos(kz),   x(z, t) = x₀ + v̄z + (A(t)/k) sin(kz),

with k = 2πj/m (periodic) or πj/m (no-flux), is an exact solution; its cell
averages are differences of z at the cell faces, found by Newton's method.
"""

from __future__ import annotations

import numpy as np

from ..domains import Domain


def ufd_uniform_r2(domain: Domain, t: float, *, amplitude: float = 0.5, coef: float = 0.5,
                   mass: float = 1.0, mode: int = 1) -> np.ndarray:
    """Exact cell averages at time ``t`` of the solution above (1-D domains).

    ``amplitude`` is A/v̄ at t = 0 and must lie in (−1, 1) for μ to stay positive.
    """
    if domain.ndim != 1:
        raise ValueError("the closed-form UFD solution is one-dimensional")
    if not -1 < amplitude < 1:
        raise ValueError("amplitude must lie in (-1, 1)")
    length = domain.lengths[0]
    vbar = length / mass
    a = mass / length
    k = (2 if domain.periodic[0] else 1) * np.pi * mode / mass
    amp = amplitude * vbar * np.exp(-2 * coef * a**2 * k**2 * t)
    x = domain.edges[0] - domain.lower[0]
    z = x / vbar
    for _ in range(100):
        step = (vbar * z + amp / k * np.sin(k * z) - x) / (vbar + amp * np.cos(k * z))
        z -= step
        if np.max(np.abs(step)) < 1e-16 * mass:
            break
    return np.diff(z) / domain.spacing[0]
