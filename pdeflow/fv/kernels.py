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
    e = r - 1.0
    if e == 1.0:
        # the thesis' r = 2: w¹ = w exactly, and without pow the loop is five times faster
        # (pow was a tenth of a 2-D UFD run)
        for c in range(mu.size):
            h = scale * (mubar[c] / mu[c])
            psi[c] = h
            dpsi[c] = -h / mu[c]
    else:
        for c in range(mu.size):
            h = scale * (mubar[c] / mu[c]) ** e
            psi[c] = h
            dpsi[c] = -e * h / mu[c]


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
    nf = left.size
    for k in range(rho.shape[0]):
        o = out[k]
        p = pot[k]
        r = rho[k]
        vk = vel[k]
        fk = flux[k]
        # faces first: the carried density is that of face_densities with the potential −Π
        # that v climbs, inlined so that no array is formed per call
        for f in range(nf):
            a = left[f]
            b = right[f]
            v = -(p[b] - p[a]) * inv_h[f]
            forward = v >= 0.0
            up = a if forward else b
            down = b if forward else a
            far = far_left[f] if forward else far_right[f]
            ru = r[up]
            outer = ru - r[far if far >= 0 else up]        # 0 past a closed boundary: first order
            inner = r[down] - ru
            value = ru + 0.5 * _limited_slope(limiter, outer, inner)
            vk[f] = v
            fk[f] = v * value
        # then the divergence: each flux leaves one cell and enters the other
        o[:] = 0.0
        for f in range(nf):
            F = fk[f] * inv_h[f]
            o[left[f]] -= F
            o[right[f]] += F


@nb.njit(cache=True, inline="always")
def _line_fluxes(r, p, periodic, inv_h, limiter, sig, vel, flux, out):
    """Fluxes of ∂ₜρ + div(ρv) = 0, v = −∇Π, through the faces of one grid line (cells r, potentials p).

    Same face values as :func:`advection_fluxes`, organised per line: the limited slope σ of a
    cell does not depend on the face it is used at (the limiters are odd and symmetric), so it
    is computed once per cell, and the face takes ρ_c + σ_c/2 downwind of c or ρ_{c+1} − σ_{c+1}/2
    upwind; σ = 0 where the outer neighbour is missing (closed ends) and at first order.  Face i
    lies between cells i and i + 1 (and n − 1 and 0 on a periodic line); ``vel``/``flux`` get
    one entry per face, ``out`` (added to) the divergence of each cell.  (A van Leer quotient
    is only formed for a·b > 0, so a+b ≠ 0: the kernel can use numpy's error model, whose
    divisions carry no zero test and vectorise.)
    """
    n = r.size
    if limiter == 0 or n < 3:
        for i in range(n):
            sig[i] = 0.0
    else:
        for i in range(1, n - 1):
            sig[i] = _limited_slope(limiter, r[i] - r[i - 1], r[i + 1] - r[i])
        if periodic:
            sig[0] = _limited_slope(limiter, r[0] - r[n - 1], r[1] - r[0])
            sig[n - 1] = _limited_slope(limiter, r[n - 1] - r[n - 2], r[0] - r[n - 1])
        else:
            sig[0] = 0.0
            sig[n - 1] = 0.0
    for f in range(n - 1):
        v = -(p[f + 1] - p[f]) * inv_h
        value = r[f] + 0.5 * sig[f] if v >= 0.0 else r[f + 1] - 0.5 * sig[f + 1]
        vel[f] = v
        flux[f] = v * value
    if periodic:
        v = -(p[0] - p[n - 1]) * inv_h
        value = r[n - 1] + 0.5 * sig[n - 1] if v >= 0.0 else r[0] - 0.5 * sig[0]
        vel[n - 1] = v
        flux[n - 1] = v * value
        out[0] += (flux[n - 1] - flux[0]) * inv_h
    else:
        out[0] -= flux[0] * inv_h
        out[n - 1] += flux[n - 2] * inv_h
    for i in range(1, n - 1):
        out[i] += (flux[i - 1] - flux[i]) * inv_h
    if periodic and n > 1:
        out[n - 1] += (flux[n - 2] - flux[n - 1]) * inv_h


@nb.njit(cache=True, error_model="numpy")
def tensor_advection_fluxes(rho, pot, shape, periodic, inv_h, order, vel, flux, out, sig):
    """:func:`advection_fluxes` on a tensor grid, line by line along each axis (no index arrays).

    ``shape`` (ndim,) and ``periodic`` (ndim,) describe the grid (C-order cells), ``inv_h``
    (ndim,) holds 1/h per axis, ``sig`` is scratch of at least max(shape) entries.  Faces are
    numbered as in :func:`pdeflow.fv.face_graph` (axis by axis, C order over the cells they
    start from), so ``vel`` and ``flux`` (L, F) equal those of :func:`advection_fluxes` exactly
    and ``out`` to round-off (the divergence is summed in another order).  Lines along the last
    axis are contiguous, so their loops vectorise.
    """
    limiter = 2 if order == 2 else 0
    ndim = shape.size
    for k in range(rho.shape[0]):
        r = rho[k]
        p = pot[k]
        o = out[k]
        o[:] = 0.0
        base = 0
        for d in range(ndim):
            n = shape[d]
            outer = 1
            for a in range(d):
                outer *= shape[a]
            inner = 1
            for a in range(d + 1, ndim):
                inner *= shape[a]
            per = periodic[d]
            m = n if per else n - 1
            if inner == 1:
                # contiguous lines (the last axis): unit-stride slices, so the loops vectorise
                for a in range(outer):
                    start = a * n
                    fstart = base + a * m
                    _line_fluxes(r[start:start + n], p[start:start + n], per, inv_h[d], limiter, sig,
                                 vel[k, fstart:fstart + m], flux[k, fstart:fstart + m], o[start:start + n])
            else:
                for a in range(outer):
                    for j in range(inner):
                        start = a * n * inner + j
                        fstart = base + a * m * inner + j
                        _line_fluxes(r[start:start + n * inner:inner], p[start:start + n * inner:inner], per,
                                     inv_h[d], limiter, sig, vel[k, fstart:fstart + m * inner:inner],
                                     flux[k, fstart:fstart + m * inner:inner], o[start:start + n * inner:inner])
            base += outer * m * inner
