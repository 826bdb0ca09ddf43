"""numba kernels of the finite-volume layer: small, pure, allocation-free.

Each has a plain numpy twin in :mod:`pdeflow.fv.reference`; the tests hold them
equal to round-off.  ``cache=True`` keeps start-up short after the first run.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def face_flux_divergence(mobility, psi, left, right, out):
    """out = −div(flux) for face fluxes ``F_f = mobility_f · (ψ_right − ψ_left)``.

    ``F_f`` is the mass per unit time crossing face ``f`` towards ``right``,
    divided by the cell volume; it is taken from one cell and given to the other,
    so Σ out = 0 to round-off.
    """
    out[:] = 0.0
    for f in range(left.size):
        l = left[f]
        r = right[f]
        flux = mobility[f] * (psi[r] - psi[l])
        out[l] -= flux
        out[r] += flux


@nb.njit(cache=True)
def face_flux_jacobian(mobility, dpsi, left, right, vals):
    """Jacobian entries of :func:`face_flux_divergence` for a fixed mobility and a cell-local ψ(μ_c).

    ``dpsi[c] = dψ_c/dμ_c``.  Row ``f`` of ``vals`` holds the entries
    (l,l), (l,r), (r,l), (r,r); each column of a face sums to zero, which is why
    the implicit solvers keep mass to round-off.
    """
    for f in range(left.size):
        l = left[f]
        r = right[f]
        d_left = -mobility[f] * dpsi[l]
        d_right = mobility[f] * dpsi[r]
        vals[f, 0] = -d_left
        vals[f, 1] = -d_right
        vals[f, 2] = d_left
        vals[f, 3] = d_right


@nb.njit(cache=True)
def ufd_potential(mu, mubar, coef, r, psi, dpsi):
    """H_c = coef·r/(r−1)·(μ̄_c/μ_c)^{r−1} and dH_c/dμ_c = −(r−1)·H_c/μ_c (docs: theory/ufd).

    H is the potential of the μ̄-weighted form ∂ₜμ = −div(μ̄ ∇H(μ̄/μ)) of eq. (III.35).
    """
    scale = coef * r / (r - 1.0)
    for c in range(mu.size):
        h = scale * (mubar[c] / mu[c]) ** (r - 1.0)
        psi[c] = h
        dpsi[c] = -(r - 1.0) * h / mu[c]


@nb.njit(cache=True)
def scatter_add(vals, pos, out):
    """out[:] = 0; out[pos[k]] += vals[k] — assembles face entries into a matrix buffer."""
    out[:] = 0.0
    for k in range(vals.size):
        out[pos[k]] += vals[k]


#: Reconstructions of the upwind face density, by name (codes passed to the kernels).
LIMITERS = {"upwind": 0, "minmod": 1, "vanleer": 2}


@nb.njit(cache=True, inline="always")
def _limited_slope(limiter, a, b):
    """Slope of the upwind cell from its two one-sided differences a (outer) and b (inner).

    0 at extrema (a·b ≤ 0), so the face value stays between the neighbouring cell averages
    and a cell that is empty sends nothing.  minmod: the smaller difference; van Leer: their
    harmonic mean 2ab/(a + b).
    """
    if limiter == 0 or a * b <= 0.0:
        return 0.0
    if limiter == 1:
        return a if abs(a) < abs(b) else b
    return 2.0 * a * b / (a + b)


@nb.njit(cache=True)
def face_densities(rho, psi, left, right, far_left, far_right, limiter, out):
    """The density carried through each face by the velocity ∝ ψ_right − ψ_left (upwind).

    ``limiter`` (:data:`LIMITERS`): 0 takes the upwind cell average (first order); 1
    (minmod) and 2 (van Leer) add half the limited slope of the upwind cell, from the cell
    beyond it (``far_left``/``far_right``; −1 past a closed boundary: first order there).
    Every face value lies between two neighbouring cell averages, so it is ≥ 0 when ρ is.
    """
    for f in range(left.size):
        l = left[f]
        r = right[f]
        if psi[r] >= psi[l]:
            up, down, far = l, r, far_left[f]
        else:
            up, down, far = r, l, far_right[f]
        value = rho[up]
        if far >= 0:
            value += 0.5 * _limited_slope(limiter, rho[up] - rho[far], rho[down] - rho[up])
        out[f] = value


@nb.njit(cache=True)
def advection_fluxes(rho, pot, left, right, far_left, far_right, inv_h, order, vel, flux, out):
    """Upwind (order 1) or MUSCL–van Leer (order 2) fluxes of ∂ₜρ + div(ρv) = 0, layer by layer,
    for the potential velocity v = −∇Π discretised at the faces.

    ``rho`` (L, C) holds L independent densities on one grid and ``pot`` (L, C) their potentials
    Π; the face velocity (towards ``right``) is ``vel[l, f] = −(Π_right − Π_left)·inv_h[f]``.  The
    carried density is that of :func:`face_densities` (the upwind average, plus half its van Leer
    slope at order 2), the flux ``flux[l, f]`` = velocity × carried density (mass per unit face
    area and time), and ``out = −div`` of it as a rate of change of cell averages.  Each flux is
    taken from one cell and given to the other, so every layer keeps its mass to round-off, and
    the carried density of nonnegative data is nonnegative.
    """
    limiter = 2 if order == 2 else 0
    carried = np.empty(left.size)
    for k in range(rho.shape[0]):
        o = out[k]
        p = pot[k]
        o[:] = 0.0
        # face_densities takes the potential the velocity climbs: −Π here
        face_densities(rho[k], -p, left, right, far_left, far_right, limiter, carried)
        for f in range(left.size):
            a = left[f]
            b = right[f]
            v = -(p[b] - p[a]) * inv_h[f]
            vel[k, f] = v
            F = v * carried[f]
            flux[k, f] = F
            o[a] -= F * inv_h[f]
            o[b] += F * inv_h[f]
