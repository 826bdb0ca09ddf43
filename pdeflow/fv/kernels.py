"""numba kernels of the finite-volume layer: small, pure, allocation-free.

Each has a plain numpy twin in :mod:`pdeflow.fv.reference`; the tests hold them
equal to round-off.  ``cache=True`` keeps start-up short after the first run.
"""

from __future__ import annotations

import numba as nb


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
    """H_c = coef·r/(r−1)·(μ̄_c/μ_c)^{r−1} and dH_c/dμ_c = −(r−1)·H_c/μ_c (SPEC §4b).

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


@nb.njit(cache=True, inline="always")
def _van_leer(lo, mid, hi):
    """Van Leer slope σ = 2ab/(a + b) if ab > 0 else 0, a = mid − lo, b = hi − mid."""
    a = mid - lo
    b = hi - mid
    if a * b > 0.0:
        return 2.0 * a * b / (a + b)
    return 0.0


@nb.njit(cache=True)
def advection_fluxes(rho, pot, left, right, far_left, far_right, inv_h, order, vel, flux, out):
    """Upwind (order 1) or MUSCL–van Leer (order 2) fluxes of ∂ₜρ + div(ρv) = 0, layer by layer,
    for the potential velocity v = −∇Π discretised at the faces.

    ``rho`` (L, C) holds L independent densities on one grid and ``pot`` (L, C) their potentials
    Π; the face velocity (towards ``right``) is ``vel[l, f] = −(Π_right − Π_left)·inv_h[f]``.  The
    face values are ρ_L⁺ = ρ_l + σ_l/2 and ρ_R⁻ = ρ_r − σ_r/2 (σ the van Leer slope; σ = 0 at order 1
    or next to a closed boundary), the flux ``flux[l, f] = v⁺ρ_L⁺ − v⁻ρ_R⁻`` (mass per unit face
    area and time), and ``out = −div`` of it as a rate of change of cell averages.  Each flux is
    taken from one cell and given to the other, so every layer keeps its mass to round-off; the
    face values of nonnegative data are nonnegative (the limited slope is at most twice either
    difference).
    """
    n_layers = rho.shape[0]
    for k in range(n_layers):
        r = rho[k]
        o = out[k]
        p = pot[k]
        o[:] = 0.0
        for f in range(left.size):
            a = left[f]
            b = right[f]
            ra = r[a]
            rb = r[b]
            if order == 2:
                if far_left[f] >= 0:
                    ra = ra + 0.5 * _van_leer(r[far_left[f]], r[a], r[b])
                if far_right[f] >= 0:
                    rb = rb - 0.5 * _van_leer(r[a], r[b], r[far_right[f]])
            v = -(p[b] - p[a]) * inv_h[f]
            vel[k, f] = v
            F = v * ra if v > 0.0 else v * rb
            flux[k, f] = F
            o[a] -= F * inv_h[f]
            o[b] += F * inv_h[f]
