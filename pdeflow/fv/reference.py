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


def limited_slope(limiter, a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    same = a * b > 0
    if limiter == 0:
        return np.zeros_like(a)
    if limiter == 1:
        slope = np.where(np.abs(a) < np.abs(b), a, b)
    else:
        slope = 2 * a * b / np.where(same, a + b, 1.0)
    return np.where(same, slope, 0.0)


def face_densities(rho, psi, left, right, far_left, far_right, limiter):
    forward = psi[right] >= psi[left]
    up = np.where(forward, left, right)
    down = np.where(forward, right, left)
    far = np.where(forward, far_left, far_right)
    has_far = far >= 0
    slope = limited_slope(limiter, rho[up] - rho[np.where(has_far, far, up)], rho[down] - rho[up])
    return rho[up] + 0.5 * np.where(has_far, slope, 0.0)


def advection_fluxes(rho, pot, left, right, far_left, far_right, inv_h, order):
    """Twin of :func:`pdeflow.fv.kernels.advection_fluxes`; returns ``(vel, flux, out)``."""
    vel = -(pot[:, right] - pot[:, left]) * inv_h
    limiter = 2 if order == 2 else 0
    carried = np.stack([face_densities(r, -p, left, right, far_left, far_right, limiter)
                        for r, p in zip(rho, pot)])
    flux = vel * carried
    out = np.zeros_like(rho)
    for k in range(rho.shape[0]):
        np.add.at(out[k], left, -flux[k] * inv_h)
        np.add.at(out[k], right, flux[k] * inv_h)
    return vel, flux, out
