"""Fused numba depth passes for residual families that have one (docs: theory/cot §4.1).

The generic :func:`pdeflow.cot.depth.depth_pass` is numpy on (C, N, d, p) arrays; for the small
data sets of the COT problems its cost is mostly per-call overhead (a few dozen array operations
per layer).  A fused kernel does the forward pass, the exact discrete adjoint, the potentials
(and velocities, and the tangent kernels) of all layers in one compiled call, with no
allocation: every array it fills or uses as scratch is handed in (see
:class:`pdeflow.cot.depth.DepthWorkspace`).  :func:`~pdeflow.cot.depth.depth_pass` is its numpy
twin: the tests hold them equal to round-off.

Kernel signature (all arrays float64, C-contiguous unless said)::

    kernel(theta, weights (S, C), wscale, x0, y, params (q,), want_velocity, want_kernels,
           xs out, ps out, potential (S, C) out, velocity out, kernels out, work) -> risk

* ``theta`` has R = 1 row (one set of atoms for every layer: the grid) or R = S rows
  (particles): shape (R, C) when p = 1, (R, C, p) otherwise.
* The layer weights are ``wscale * weights`` (the grid passes its densities and the cell
  volume, the particles ones and 1/M), so no weight array is formed per call.
* ``x0``, ``y``, ``xs``, ``ps`` are (N,), (N,), (S + 1, N), (S + 1, N) for d = 1 and carry a
  trailing axis d otherwise; ``velocity`` is (S, C) for p = 1, (S, C, p) otherwise;
  ``kernels`` is (S, N·d, N·d), filled only when ``want_kernels`` ([C14]).
* ``work`` is 1-D scratch of at least :meth:`pdeflow.cot.residuals.FusedDepth.work_size` entries:
  per (layer, datum) ``pair_values`` rows of C values kept from the forward pass for the
  backward one, ``atom_values`` rows of R·C values that depend on θ only, then S·N·d² for
  D_xF.

The inner loops run over atoms with the data fixed, so they are contiguous and
branch-free; exp, sin and cos come from :mod:`pdeflow.vecmath`, which LLVM vectorises, and
the sums over atoms may be reassociated (``fastmath={"reassoc", "contract"}``) so that they
vectorise too: results differ from the twin by round-off only.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..vecmath import VECTOR_FLAGS, sincos, sincos_into, vexp_moderate

#: Floating-point licences of the kernels: sums may be reordered (vectorised reductions) and
#: a·b + c fused; nothing that assumes finite values, so NaN/inf still reach the checks.
_FAST = VECTOR_FLAGS


@nb.njit(cache=True, inline="always")
def _scalar_adjoint(xs, y, dfx, ps):
    """The exact discrete adjoint of S Euler layers in one dimension (docs: theory/cot §4.1).

    p_S = x_S − y, p_k = p_{k+1} + (∂F_k/∂x) p_{k+1}/S with ``dfx[k, n]`` = ∂F_k/∂x at datum n;
    fills ``ps`` (S + 1, N) and returns Σₙ p_{S,n}² (twice N times the risk).
    """
    S, N = dfx.shape
    risk = 0.0
    for n in range(N):
        ps[S, n] = xs[S, n] - y[n]
        risk += ps[S, n] ** 2
    for k in range(S - 1, -1, -1):
        for n in range(N):
            ps[k, n] = ps[k + 1, n] + dfx[k, n] * ps[k + 1, n] / S
    return risk


@nb.njit(cache=True, fastmath=_FAST)
def _weighted_dot(a, b, w):
    """Σ_c w_c a_c b_c over contiguous rows (a vectorised reduction)."""
    s = 0.0
    for c in range(a.size):
        s += w[c] * a[c] * b[c]
    return s


@nb.njit(cache=True, fastmath=_FAST)
def circle_translation_depth(theta, weights, wscale, x0, y, params, want_velocity, want_kernels,
                             xs, ps, potential, velocity, kernels, work):
    """ψ(θ, x) = A(e^{κ(cos(x − θ) − 1)} − e^{−κ}I₀(κ)), d = p = 1; params = (A, κ, e^{−κ}I₀(κ)).

    cos(x − θ) and sin(x − θ) come from the angle-addition formulas with cos θ, sin θ computed once
    per atom and cos x, sin x once per datum, so the inner loop has one exp and no trigonometry.
    Pair values kept: e = e^{κ(cos z − 1)} and q = sin z · e (z = x − θ); D_θψ = Aκq.
    """
    A, kappa, mean = params[0], params[1], params[2]
    S, C = weights.shape
    N = x0.size
    R = theta.shape[0]
    nb_pairs = S * N * 2 * C
    pairs = work[:nb_pairs].reshape((S, N, 2, C))
    trig = work[nb_pairs:nb_pairs + 2 * R * C].reshape((2, R, C))
    dfx = work[nb_pairs + 2 * R * C:nb_pairs + 2 * R * C + S * N].reshape((S, N))
    for r in range(R):
        sincos_into(theta[r], trig[1, r], trig[0, r])
    for n in range(N):
        xs[0, n] = x0[n]
    for k in range(S):
        row = k if R > 1 else 0
        ct = trig[0, row]
        st = trig[1, row]
        w = weights[k]
        for n in range(N):
            xk = xs[k, n]
            sx, cx = sincos(xk)
            e = pairs[k, n, 0]
            q = pairs[k, n, 1]
            F = 0.0
            D = 0.0
            for c in range(C):
                ev = vexp_moderate(kappa * (cx * ct[c] + sx * st[c] - 1.0))     # |arg| ≤ 2|κ| ≤ 708
                qv = (sx * ct[c] - cx * st[c]) * ev
                e[c] = ev
                q[c] = qv
                F += w[c] * (ev - mean)
                D += w[c] * qv
            xs[k + 1, n] = xk + A * wscale * F / S
            dfx[k, n] = -A * kappa * wscale * D
    risk = _scalar_adjoint(xs, y, dfx, ps)
    for k in range(S):
        psum = 0.0
        for n in range(N):
            psum += ps[k + 1, n]
        pot = potential[k]
        for c in range(C):
            pot[c] = -psum * mean
        for n in range(N):
            pn = ps[k + 1, n]
            e = pairs[k, n, 0]
            for c in range(C):
                pot[c] += pn * e[c]
        for c in range(C):
            pot[c] *= A / N
        if want_velocity:
            vel = velocity[k]
            vel[:] = 0.0
            for n in range(N):
                pn = ps[k + 1, n]
                q = pairs[k, n, 1]
                for c in range(C):
                    vel[c] += pn * q[c]
            for c in range(C):
                vel[c] *= A * kappa / N             # D_θψ = −g′(x − θ) = Aκ sin(x − θ) e^{…}
        if want_kernels:
            f = wscale * (A * kappa) ** 2
            for i in range(N):
                for j in range(i + 1):
                    kernels[k, i, j] = kernels[k, j, i] = f * _weighted_dot(pairs[k, i, 1], pairs[k, j, 1], weights[k])
    return 0.5 * risk / N


@nb.njit(cache=True, fastmath=_FAST)
def tanh_shl_depth(theta, weights, wscale, x0, y, params, want_velocity, want_kernels,
                   xs, ps, potential, velocity, kernels, work):
    """ψ((u, b), x) = A u tanh(w₀x + b), d = 1, p = 2 (θ stored as (R, C, 2)); params = (A, w₀).

    ``velocity`` has shape (S, C, 2) here.  tanh(w₀x + b) = 1 − 2/(1 + e^{2w₀x}e^{2b}) with e^{2b}
    once per atom and e^{2w₀x} once per datum: one division per pair instead of one tanh (absolute
    error ~1e-16; exponents are clipped at ±150, where tanh = ±1 in double precision anyway).
    Pair value kept: t = tanh(w₀x + b); D_θψ = A(t, u(1 − t²)).
    """
    A, w0 = params[0], params[1]
    S, C = weights.shape
    N = x0.size
    R = theta.shape[0]
    nb_pairs = S * N * C
    th = work[:nb_pairs].reshape((S, N, C))
    eb = work[nb_pairs:nb_pairs + R * C].reshape((R, C))
    dfx = work[nb_pairs + R * C:nb_pairs + R * C + S * N].reshape((S, N))
    for r in range(R):
        for c in range(C):
            eb[r, c] = vexp_moderate(2.0 * min(max(theta[r, c, 1], -150.0), 150.0))
    for n in range(N):
        xs[0, n] = x0[n]
    for k in range(S):
        row = k if R > 1 else 0
        w = weights[k]
        for n in range(N):
            xk = xs[k, n]
            ex = np.exp(2.0 * min(max(w0 * xk, -150.0), 150.0))
            t_row = th[k, n]
            F = 0.0
            D = 0.0
            for c in range(C):
                t = 1.0 - 2.0 / (1.0 + ex * eb[row, c])
                t_row[c] = t
                wu = w[c] * theta[row, c, 0]
                F += wu * t
                D += wu * (1.0 - t * t)
            xs[k + 1, n] = xk + A * wscale * F / S
            dfx[k, n] = A * w0 * wscale * D
    risk = _scalar_adjoint(xs, y, dfx, ps)
    for k in range(S):
        row = k if R > 1 else 0
        # a_k(b) = (A/N) Σ_n p_n t_n(b) into potential, ∂_b a_k into velocity[..., 1], then scaled by u
        pot = potential[k]
        pot[:] = 0.0
        if want_velocity:
            velocity[k, :, 1] = 0.0
        for n in range(N):
            pn = ps[k + 1, n]
            t_row = th[k, n]
            for c in range(C):
                pot[c] += pn * t_row[c]
            if want_velocity:
                for c in range(C):
                    t = t_row[c]
                    velocity[k, c, 1] += pn * (1.0 - t * t)
        for c in range(C):
            u = theta[row, c, 0]
            a = A * pot[c] / N
            pot[c] = u * a
            if want_velocity:
                velocity[k, c, 0] = a
                velocity[k, c, 1] *= A * u / N
        if want_kernels:
            Kk = kernels[k]
            w = weights[k]
            for i in range(N):
                for j in range(i + 1):
                    s = 0.0
                    for c in range(C):
                        ti = th[k, i, c]
                        tj = th[k, j, c]
                        u = theta[row, c, 0]
                        s += w[c] * (ti * tj + u * u * (1.0 - ti * ti) * (1.0 - tj * tj))
                    Kk[i, j] = wscale * A * A * s
                    Kk[j, i] = wscale * A * A * s
    return 0.5 * risk / N


@nb.njit(cache=True, fastmath=_FAST)
def linear_trig_depth(theta, weights, wscale, x0, y, params, want_velocity, want_kernels,
                      xs, ps, potential, velocity, kernels, work):
    """ψ(θ, x) = A(θ₁cos x + θ₂sin x), d = 1, p = 2 (θ stored as (R, C, 2)); params = (A,).

    ψ is linear in θ, so a layer acts only through its mean m_k = Σ_c w_{k,c}θ_c ([C19]):
    F_k(x) = A(m_{k,1}cos x + m_{k,2}sin x), and Π_k(θ) = θ·a_k with
    a_k = (A/N)Σ_i p^i_{k+1}(cos x^i_k, sin x^i_k) = V_k (θ-independent).  Cost O(S(C + N)).
    The tangent kernel is A²·(layer mass)·cos(x^i_k − x^j_k).
    """
    A = params[0]
    S, C = weights.shape
    N = x0.size
    R = theta.shape[0]
    mean = work[:2 * S].reshape((S, 2))
    mass = work[2 * S:3 * S]
    dfx = work[3 * S:3 * S + S * N].reshape((S, N))
    for k in range(S):
        row = k if R > 1 else 0
        m0 = 0.0
        m1 = 0.0
        ms = 0.0
        for c in range(C):
            m0 += weights[k, c] * theta[row, c, 0]
            m1 += weights[k, c] * theta[row, c, 1]
            ms += weights[k, c]
        mean[k, 0] = wscale * m0
        mean[k, 1] = wscale * m1
        mass[k] = wscale * ms
    for n in range(N):
        xs[0, n] = x0[n]
    for k in range(S):
        for n in range(N):
            cx = np.cos(xs[k, n])
            sx = np.sin(xs[k, n])
            xs[k + 1, n] = xs[k, n] + A * (mean[k, 0] * cx + mean[k, 1] * sx) / S
            dfx[k, n] = A * (-mean[k, 0] * sx + mean[k, 1] * cx)
    risk = _scalar_adjoint(xs, y, dfx, ps)
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
        if want_kernels:
            for i in range(N):
                for j in range(N):
                    kernels[k, i, j] = A * A * mass[k] * np.cos(xs[k, i] - xs[k, j])
    return 0.5 * risk / N


@nb.njit(cache=True, fastmath=_FAST)
def torus_translation_depth(theta, weights, wscale, x0, y, params, want_velocity, want_kernels,
                            xs, ps, potential, velocity, kernels, work):
    """ψ(θ, x) = A R_α ∇G(x − θ), G(z) = e^{κ(cos z₁ + cos z₂ − 2)}, d = p = 2; θ (R, C, 2), x0, y (N, 2);
    params = (A, κ, α).  ``velocity`` has shape (S, C, 2).

    With H = D²G (symmetric) and q_i = A R_αᵀ p^i_{k+1}: Π_k(θ) = (1/N)Σ_i q_i·∇G(x^i_k − θ) and
    V_k(θ) = −(1/N)Σ_i H(x^i_k − θ) q_i.  One exp per pair; cos/sin of x − θ by angle addition.
    D_θψ = −A R_α H, so the kernel block (i, j) is A² R_α (Σ_c w_c H_i H_j) R_αᵀ.
    Pair values kept: g, sin z₁, sin z₂, cos z₁, cos z₂.
    """
    A, kappa, alpha = params[0], params[1], params[2]
    ca, sa = np.cos(alpha), np.sin(alpha)
    S, C = weights.shape
    N = x0.shape[0]
    R = theta.shape[0]
    nb_pairs = S * N * 5 * C
    store = work[:nb_pairs].reshape((S, N, 5, C))
    trig = work[nb_pairs:nb_pairs + 4 * R * C].reshape((4, R, C))   # cos θ₁, sin θ₁, cos θ₂, sin θ₂
    dfx = work[nb_pairs + 4 * R * C:nb_pairs + 4 * R * C + 4 * S * N].reshape((S, N, 2, 2))
    for r in range(R):
        sincos_into(theta[r, :, 0], trig[1, r], trig[0, r])
        sincos_into(theta[r, :, 1], trig[3, r], trig[2, r])
    for n in range(N):
        xs[0, n, 0] = x0[n, 0]
        xs[0, n, 1] = x0[n, 1]
    for k in range(S):
        row = k if R > 1 else 0
        ct1, st1, ct2, st2 = trig[0, row], trig[1, row], trig[2, row], trig[3, row]
        w = weights[k]
        for n in range(N):
            s1x, c1x = sincos(xs[k, n, 0])
            s2x, c2x = sincos(xs[k, n, 1])
            st = store[k, n]
            g0 = 0.0
            g1 = 0.0
            h00 = 0.0
            h01 = 0.0
            h11 = 0.0
            for c in range(C):
                cz1 = c1x * ct1[c] + s1x * st1[c]
                sz1 = s1x * ct1[c] - c1x * st1[c]
                cz2 = c2x * ct2[c] + s2x * st2[c]
                sz2 = s2x * ct2[c] - c2x * st2[c]
                g = vexp_moderate(kappa * (cz1 + cz2 - 2.0))     # |arg| ≤ 4|κ| ≤ 708
                st[0, c] = g
                st[1, c] = sz1
                st[2, c] = sz2
                st[3, c] = cz1
                st[4, c] = cz2
                wg = w[c] * g
                g0 -= wg * kappa * sz1
                g1 -= wg * kappa * sz2
                h00 += wg * (kappa * kappa * sz1 * sz1 - kappa * cz1)
                h11 += wg * (kappa * kappa * sz2 * sz2 - kappa * cz2)
                h01 += wg * kappa * kappa * sz1 * sz2
            g0 *= wscale
            g1 *= wscale
            h00 *= wscale
            h01 *= wscale
            h11 *= wscale
            xs[k + 1, n, 0] = xs[k, n, 0] + A * (ca * g0 - sa * g1) / S
            xs[k + 1, n, 1] = xs[k, n, 1] + A * (sa * g0 + ca * g1) / S
            # D_xF = A R H
            dfx[k, n, 0, 0] = A * (ca * h00 - sa * h01)
            dfx[k, n, 0, 1] = A * (ca * h01 - sa * h11)
            dfx[k, n, 1, 0] = A * (sa * h00 + ca * h01)
            dfx[k, n, 1, 1] = A * (sa * h01 + ca * h11)
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
            st = store[k, n]
            for c in range(C):
                g = st[0, c]
                sz1 = st[1, c]
                sz2 = st[2, c]
                potential[k, c] -= kappa * g * (q0 * sz1 + q1 * sz2)
                if want_velocity:
                    cz1 = st[3, c]
                    cz2 = st[4, c]
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
        if want_kernels:
            w = weights[k]
            for i in range(N):
                si = store[k, i]
                for j in range(i + 1):
                    sj = store[k, j]
                    m00 = 0.0
                    m01 = 0.0
                    m10 = 0.0
                    m11 = 0.0
                    for c in range(C):
                        gi = si[0, c]
                        a00 = (kappa * kappa * si[1, c] * si[1, c] - kappa * si[3, c]) * gi
                        a11 = (kappa * kappa * si[2, c] * si[2, c] - kappa * si[4, c]) * gi
                        a01 = kappa * kappa * si[1, c] * si[2, c] * gi
                        gj = sj[0, c]
                        b00 = (kappa * kappa * sj[1, c] * sj[1, c] - kappa * sj[3, c]) * gj
                        b11 = (kappa * kappa * sj[2, c] * sj[2, c] - kappa * sj[4, c]) * gj
                        b01 = kappa * kappa * sj[1, c] * sj[2, c] * gj
                        m00 += w[c] * (a00 * b00 + a01 * b01)      # (H_i H_j)
                        m01 += w[c] * (a00 * b01 + a01 * b11)
                        m10 += w[c] * (a01 * b00 + a11 * b01)
                        m11 += w[c] * (a01 * b01 + a11 * b11)
                    # R M Rᵀ, R = [[ca, −sa], [sa, ca]]
                    r00 = ca * m00 - sa * m10
                    r01 = ca * m01 - sa * m11
                    r10 = sa * m00 + ca * m10
                    r11 = sa * m01 + ca * m11
                    blk00 = r00 * ca - r01 * sa
                    blk01 = r00 * sa + r01 * ca
                    blk10 = r10 * ca - r11 * sa
                    blk11 = r10 * sa + r11 * ca
                    f = wscale * A * A
                    kernels[k, 2 * i, 2 * j] = f * blk00
                    kernels[k, 2 * i, 2 * j + 1] = f * blk01
                    kernels[k, 2 * i + 1, 2 * j] = f * blk10
                    kernels[k, 2 * i + 1, 2 * j + 1] = f * blk11
                    kernels[k, 2 * j, 2 * i] = f * blk00
                    kernels[k, 2 * j + 1, 2 * i] = f * blk01
                    kernels[k, 2 * j, 2 * i + 1] = f * blk10
                    kernels[k, 2 * j + 1, 2 * i + 1] = f * blk11
    return 0.5 * risk / N


@nb.njit(cache=True, fastmath=_FAST)
def layer_summary(layers, rim, sums, rim_sums):
    """One pass over the S layers (S, C) of a grid state for the per-step checks.

    Fills ``sums[k]`` = Σ_c ρ_{k,c} and ``rim_sums[k]`` = Σ_c rim_c ρ_{k,c} (``rim`` a 0/1 mask of
    the outermost cells of closed axes) and returns ``(min, max |ρ|, finite)``.  ``finite`` is
    read off Σ (ρ − ρ), which is NaN as soon as one entry is NaN or ±inf.
    """
    S, C = layers.shape
    lo = np.inf
    hi = 0.0
    bad = 0.0
    for k in range(S):
        row = layers[k]
        s = 0.0
        r = 0.0
        for c in range(C):
            v = row[c]
            s += v
            r += rim[c] * v
            bad += v - v
            lo = min(lo, v)
            hi = max(hi, abs(v))
        sums[k] = s
        rim_sums[k] = r
    return lo, hi, bad == 0.0
