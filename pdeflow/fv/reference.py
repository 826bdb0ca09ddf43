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
