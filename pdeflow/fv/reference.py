"""Plain numpy versions of the kernels in :mod:`pdeflow.fv.kernels` (the test oracle)."""

from __future__ import annotations

import numpy as np


def face_flux_divergence(mobility, psi, left, right):
    flux = mobility * (psi[right] - psi[left])
    out = np.zeros_like(psi)
    np.add.at(out, left, -flux)
    np.add.at(out, right, flux)
    return out


def face_flux_jacobian(mobility, dpsi, left, right):
    d_left = -mobility * dpsi[left]
    d_right = mobility * dpsi[right]
    return np.stack([-d_left, -d_right, d_left, d_right], axis=1)


def ufd_potential(mu, mubar, coef, r):
    psi = coef * r / (r - 1) * (mubar / mu) ** (r - 1)
    return psi, -(r - 1) * psi / mu


def dense_jacobian(n, left, right, vals):
    jac = np.zeros((n, n))
    np.add.at(jac, (left, left), vals[:, 0])
    np.add.at(jac, (left, right), vals[:, 1])
    np.add.at(jac, (right, left), vals[:, 2])
    np.add.at(jac, (right, right), vals[:, 3])
    return jac


def _van_leer(lo, mid, hi):
    a, b = mid - lo, hi - mid
    prod = a * b
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(prod > 0, 2 * prod / np.where(prod > 0, a + b, 1.0), 0.0)


def advection_fluxes(rho, pot, left, right, far_left, far_right, inv_h, order):
    """Twin of :func:`pdeflow.fv.kernels.advection_fluxes`; returns ``(vel, flux, out)``."""
    vel = -(pot[:, right] - pot[:, left]) * inv_h
    ra, rb = rho[:, left], rho[:, right]
    if order == 2:
        has_l, has_r = far_left >= 0, far_right >= 0
        ra = ra + np.where(has_l, 0.5 * _van_leer(rho[:, np.where(has_l, far_left, 0)], ra, rb), 0.0)
        rb = rb - np.where(has_r, 0.5 * _van_leer(rho[:, left], rho[:, right],
                                                  rho[:, np.where(has_r, far_right, 0)]), 0.0)
    flux = np.where(vel > 0, vel * ra, vel * rb)
    out = np.zeros_like(rho)
    for k in range(rho.shape[0]):
        np.add.at(out[k], left, -flux[k] * inv_h)
        np.add.at(out[k], right, flux[k] * inv_h)
    return vel, flux, out
