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


@nb.njit(cache=True, inline="always")
def _scalar_adjoint(xs, y, dfx, S, N):
    """The exact discrete adjoint of S Euler layers in one dimension (docs: theory/cot §4.1).

    p_S = x_S − y, p_k = p_{k+1} + (∂F_k/∂x) p_{k+1}/S with ``dfx[k, n]`` = ∂F_k/∂x at datum n;
    returns ``ps`` (S + 1, N) and Σₙ p_{S,n}² (twice N times the risk).
    """
    ps = np.empty((S + 1, N))
    risk = 0.0
    for n in range(N):
        ps[S, n] = xs[S, n] - y[n]
        risk += ps[S, n] ** 2
    for k in range(S - 1, -1, -1):
        for n in range(N):
            ps[k, n] = ps[k + 1, n] + dfx[k, n] * ps[k + 1, n] / S
    return ps, risk


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
    ps, risk = _scalar_adjoint(xs, y, dfx, S, N)
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
    ps, risk = _scalar_adjoint(xs, y, dfx, S, N)
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
    ps, risk = _scalar_adjoint(xs, y, dfx, S, N)
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


@nb.njit(cache=True)
def torus_translation_depth(theta, weights, x0, y, params, want_velocity, potential, velocity):
    """ψ(θ, x) = A R_α ∇G(x − θ), G(z) = e^{κ(cos z₁ + cos z₂ − 2)}, d = p = 2; θ (R, C, 2), x0, y (N, 2);
    params = (A, κ, α).  ``velocity`` has shape (S, C, 2).

    With H = D²G (symmetric) and q_i = A R_αᵀ p^i_{k+1}: Π_k(θ) = (1/N)Σ_i q_i·∇G(x^i_k − θ) and
    V_k(θ) = −(1/N)Σ_i H(x^i_k − θ) q_i.  One exp per pair; cos/sin of x − θ by angle addition.
    """
    A, kappa, alpha = params[0], params[1], params[2]
    ca, sa = np.cos(alpha), np.sin(alpha)
    S, C = weights.shape
    N = x0.shape[0]
    R = theta.shape[0]
    ct = np.cos(theta)
    st = np.sin(theta)
    xs = np.empty((S + 1, N, 2))
    xs[0] = x0
    dfx = np.empty((S, N, 2, 2))
    store = np.empty((S, N, C, 5))       # g, sin z₁, sin z₂, cos z₁, cos z₂
    for k in range(S):
        row = k if R > 1 else 0
        for n in range(N):
            c1x, s1x = np.cos(xs[k, n, 0]), np.sin(xs[k, n, 0])
            c2x, s2x = np.cos(xs[k, n, 1]), np.sin(xs[k, n, 1])
            g0 = 0.0
            g1 = 0.0
            h00 = 0.0
            h01 = 0.0
            h11 = 0.0
            for c in range(C):
                cz1 = c1x * ct[row, c, 0] + s1x * st[row, c, 0]
                sz1 = s1x * ct[row, c, 0] - c1x * st[row, c, 0]
                cz2 = c2x * ct[row, c, 1] + s2x * st[row, c, 1]
                sz2 = s2x * ct[row, c, 1] - c2x * st[row, c, 1]
                g = np.exp(kappa * (cz1 + cz2 - 2.0))
                store[k, n, c, 0] = g
                store[k, n, c, 1] = sz1
                store[k, n, c, 2] = sz2
                store[k, n, c, 3] = cz1
                store[k, n, c, 4] = cz2
                wg = weights[k, c] * g
                g0 -= wg * kappa * sz1
                g1 -= wg * kappa * sz2
                h00 += wg * (kappa * kappa * sz1 * sz1 - kappa * cz1)
                h11 += wg * (kappa * kappa * sz2 * sz2 - kappa * cz2)
                h01 += wg * kappa * kappa * sz1 * sz2
            xs[k + 1, n, 0] = xs[k, n, 0] + A * (ca * g0 - sa * g1) / S
            xs[k + 1, n, 1] = xs[k, n, 1] + A * (sa * g0 + ca * g1) / S
            # D_xF = A R H
            dfx[k, n, 0, 0] = A * (ca * h00 - sa * h01)
            dfx[k, n, 0, 1] = A * (ca * h01 - sa * h11)
            dfx[k, n, 1, 0] = A * (sa * h00 + ca * h01)
            dfx[k, n, 1, 1] = A * (sa * h01 + ca * h11)
    ps = np.empty((S + 1, N, 2))
    risk = 0.0
    for n in range(N):
        for a in range(2):
            ps[S, n, a] = xs[S, n, a] - y[n, a]
            risk += ps[S, n, a] ** 2
    for k in range(S - 1, -1, -1):
        for n in range(N):
            p0, p1 = ps[k + 1, n, 0], ps[k + 1, n, 1]
            ps[k, n, 0] = p0 + (dfx[k, n, 0, 0] * p0 + dfx[k, n, 1, 0] * p1) / S
            ps[k, n, 1] = p1 + (dfx[k, n, 0, 1] * p0 + dfx[k, n, 1, 1] * p1) / S
    for k in range(S):
        potential[k, :] = 0.0
        if want_velocity:
            velocity[k, :, :] = 0.0
        for n in range(N):
            p0, p1 = ps[k + 1, n, 0], ps[k + 1, n, 1]
            q0 = A * (ca * p0 + sa * p1)          # q = A Rᵀ p
            q1 = A * (-sa * p0 + ca * p1)
            for c in range(C):
                g = store[k, n, c, 0]
                sz1 = store[k, n, c, 1]
                sz2 = store[k, n, c, 2]
                potential[k, c] -= kappa * g * (q0 * sz1 + q1 * sz2)
                if want_velocity:
                    cz1 = store[k, n, c, 3]
                    cz2 = store[k, n, c, 4]
                    h00 = (kappa * kappa * sz1 * sz1 - kappa * cz1) * g
                    h11 = (kappa * kappa * sz2 * sz2 - kappa * cz2) * g
                    h01 = kappa * kappa * sz1 * sz2 * g
                    velocity[k, c, 0] -= h00 * q0 + h01 * q1
                    velocity[k, c, 1] -= h01 * q0 + h11 * q1
        for c in range(C):
            potential[k, c] /= N
            if want_velocity:
                velocity[k, c, 0] /= N
                velocity[k, c, 1] /= N
    return 0.5 * risk / N
