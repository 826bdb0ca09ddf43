"""Fused numba depth passes for residual families that have one (docs: theory/cot §4.1).

The generic :func:`pdeflow.cot.depth.depth_pass` is numpy on (C, N, d, p) arrays; for the small
data sets of the COT problems its cost is mostly per-call overhead (a few dozen array operations
per layer).  A fused kernel does the forward pass, the exact discrete adjoint and the potentials
(and velocities) of all layers in one compiled loop.  :func:`depth_pass` is its numpy twin: the
tests hold them equal to round-off.

Kernel signature (all arrays float64, C-contiguous)::

    kernel(theta (R, C), weights (S, C), x0 (N,), y (N,), params (q,), want_velocity,
           potential (S, C) out, velocity (S, C) out) -> risk

``theta`` has R = 1 row (one set of atoms for every layer: the grid) or R = S rows (particles).
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def circle_translation_depth(theta, weights, x0, y, params, want_velocity, potential, velocity):
    """ψ(θ, x) = A(e^{κ(cos(x − θ) − 1)} − e^{−κ}I₀(κ)), d = p = 1; params = (A, κ, e^{−κ}I₀(κ)).

    cos(x − θ) and sin(x − θ) come from the angle-addition formulas with cos θ, sin θ computed once
    per atom and cos x, sin x once per datum, so the inner loop has one exp and no trigonometry.
    """
    A, kappa, mean = params[0], params[1], params[2]
    S, C = weights.shape
    N = x0.size
    R = theta.shape[0]
    ct = np.cos(theta)
    st = np.sin(theta)
    xs = np.empty((S + 1, N))
    xs[0] = x0
    dfx = np.empty((S, N))
    ex = np.empty((S, N, C))
    sn = np.empty((S, N, C))
    for k in range(S):
        row = k if R > 1 else 0
        for n in range(N):
            xk = xs[k, n]
            cx = np.cos(xk)
            sx = np.sin(xk)
            F = 0.0
            D = 0.0
            for c in range(C):
                cz = cx * ct[row, c] + sx * st[row, c]
                sz = sx * ct[row, c] - cx * st[row, c]
                e = np.exp(kappa * (cz - 1.0))
                ex[k, n, c] = e
                sn[k, n, c] = sz
                wc = weights[k, c]
                F += wc * (e - mean)
                D -= wc * sz * e
            xs[k + 1, n] = xk + A * F / S
            dfx[k, n] = A * kappa * D
    ps = np.empty((S + 1, N))
    risk = 0.0
    for n in range(N):
        ps[S, n] = xs[S, n] - y[n]
        risk += ps[S, n] ** 2
    for k in range(S - 1, -1, -1):
        for n in range(N):
            ps[k, n] = ps[k + 1, n] + dfx[k, n] * ps[k + 1, n] / S
    for k in range(S):
        psum = 0.0
        for n in range(N):
            psum += ps[k + 1, n]
        for c in range(C):
            potential[k, c] = -psum * mean
        if want_velocity:
            for c in range(C):
                velocity[k, c] = 0.0
        for n in range(N):
            pn = ps[k + 1, n]
            for c in range(C):
                pe = pn * ex[k, n, c]
                potential[k, c] += pe
                if want_velocity:
                    velocity[k, c] += pe * sn[k, n, c]
        for c in range(C):
            potential[k, c] *= A / N
            if want_velocity:
                velocity[k, c] *= A * kappa / N     # D_θψ = −g′(x − θ) = Aκ sin(x − θ) e^{…}
    return 0.5 * risk / N


@nb.njit(cache=True)
def tanh_shl_depth(theta, weights, x0, y, params, want_velocity, potential, velocity):
    """ψ((u, b), x) = A u tanh(w₀x + b), d = 1, p = 2 (θ stored as (R, C, 2)); params = (A, w₀).

    ``velocity`` has shape (S, C, 2) here.  tanh(w₀x + b) = 1 − 2/(1 + e^{2w₀x}e^{2b}) with e^{2b}
    once per atom and e^{2w₀x} once per datum: one division per pair instead of one tanh (absolute
    error ~1e-16; exponents are clipped at ±150, where tanh = ±1 in double precision anyway).
    """
    A, w0 = params[0], params[1]
    S, C = weights.shape
    N = x0.size
    R = theta.shape[0]
    eb = np.empty((R, C))
    for r in range(R):
        for c in range(C):
            eb[r, c] = np.exp(2.0 * min(max(theta[r, c, 1], -150.0), 150.0))
    xs = np.empty((S + 1, N))
    xs[0] = x0
    dfx = np.empty((S, N))
    th = np.empty((S, N, C))
    for k in range(S):
        row = k if R > 1 else 0
        for n in range(N):
            xk = xs[k, n]
            ex = np.exp(2.0 * min(max(w0 * xk, -150.0), 150.0))
            F = 0.0
            D = 0.0
            for c in range(C):
                t = 1.0 - 2.0 / (1.0 + ex * eb[row, c])
                th[k, n, c] = t
                wu = weights[k, c] * theta[row, c, 0]
                F += wu * t
                D += wu * (1.0 - t * t)
            xs[k + 1, n] = xk + A * F / S
            dfx[k, n] = A * w0 * D
    ps = np.empty((S + 1, N))
    risk = 0.0
    for n in range(N):
        ps[S, n] = xs[S, n] - y[n]
        risk += ps[S, n] ** 2
    for k in range(S - 1, -1, -1):
        for n in range(N):
            ps[k, n] = ps[k + 1, n] + dfx[k, n] * ps[k + 1, n] / S
    a = np.empty(C)
    da = np.empty(C)
    for k in range(S):
        row = k if R > 1 else 0
        a[:] = 0.0
        da[:] = 0.0
        for n in range(N):
            pn = ps[k + 1, n]
            for c in range(C):
                t = th[k, n, c]
                a[c] += pn * t
                da[c] += pn * (1.0 - t * t)
        for c in range(C):
            potential[k, c] = A * theta[row, c, 0] * a[c] / N
            if want_velocity:
                velocity[k, c, 0] = A * a[c] / N
                velocity[k, c, 1] = A * theta[row, c, 0] * da[c] / N
    return 0.5 * risk / N


@nb.njit(cache=True)
def linear_trig_depth(theta, weights, x0, y, params, want_velocity, potential, velocity):
    """ψ(θ, x) = A(θ₁cos x + θ₂sin x), d = 1, p = 2 (θ stored as (R, C, 2)); params = (A,).

    ψ is linear in θ, so a layer acts only through its mean m_k = Σ_c w_{k,c}θ_c ([C19]):
    F_k(x) = A(m_{k,1}cos x + m_{k,2}sin x), and Π_k(θ) = θ·a_k with
    a_k = (A/N)Σ_i p^i_{k+1}(cos x^i_k, sin x^i_k) = V_k (θ-independent).  Cost O(S(C + N)).
    """
    A = params[0]
    S, C = weights.shape
    N = x0.size
    R = theta.shape[0]
    mean = np.zeros((S, 2))
    for k in range(S):
        row = k if R > 1 else 0
        for c in range(C):
            mean[k, 0] += weights[k, c] * theta[row, c, 0]
            mean[k, 1] += weights[k, c] * theta[row, c, 1]
    xs = np.empty((S + 1, N))
    xs[0] = x0
    dfx = np.empty((S, N))
    for k in range(S):
        for n in range(N):
            cx = np.cos(xs[k, n])
            sx = np.sin(xs[k, n])
            xs[k + 1, n] = xs[k, n] + A * (mean[k, 0] * cx + mean[k, 1] * sx) / S
            dfx[k, n] = A * (-mean[k, 0] * sx + mean[k, 1] * cx)
    ps = np.empty((S + 1, N))
    risk = 0.0
    for n in range(N):
        ps[S, n] = xs[S, n] - y[n]
        risk += ps[S, n] ** 2
    for k in range(S - 1, -1, -1):
        for n in range(N):
            ps[k, n] = ps[k + 1, n] + dfx[k, n] * ps[k + 1, n] / S
    for k in range(S):
        row = k if R > 1 else 0
        a0 = 0.0
        a1 = 0.0
        for n in range(N):
            a0 += ps[k + 1, n] * np.cos(xs[k, n])
            a1 += ps[k + 1, n] * np.sin(xs[k, n])
        a0 *= A / N
        a1 *= A / N
        for c in range(C):
            potential[k, c] = theta[row, c, 0] * a0 + theta[row, c, 1] * a1
            if want_velocity:
                velocity[k, c, 0] = a0
                velocity[k, c, 1] = a1
    return 0.5 * risk / N
