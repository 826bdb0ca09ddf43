"""Depth discretisation shared by the grid and the particles (docs: theory/cot §4.1, [C3]–[C6], [C14]–[C16]).

A COT parameter measure is discretised in depth into S layers s ∈ [k/S, (k+1)/S); layer k
carries weighted atoms {(w_{k,c}, θ_{k,c})} — the cell masses at the cell centres (grid) or
1/M at the particle positions.  With F_k(x) = Σ_c w_{k,c} ψ(θ_{k,c}, x):

    x_{k+1} = x_k + F_k(x_k)/S                                  (explicit Euler of [C3])
    p_S = x_S − y,   p_k = p_{k+1} + (1/S) D_xF_k(x_k)ᵀ p_{k+1}  (exact discrete adjoint of [C4])
    Π_k(θ) = (1/N) Σ_i ⟨p^i_{k+1}, ψ(θ, x^i_k)⟩                 (layer potential, [C5])
    V_k(θ) = ∇_θΠ_k(θ) = (1/N) Σ_i D_θψ(θ, x^i_k)ᵀ p^i_{k+1}     (velocity, [C6])
    R_S   = (1/N) Σ_i ½‖x^i_S − y^i‖²

and the discrete risk has the exact derivatives ∂R_S/∂w_{k,c} = Π_k(θ_{k,c})/S and
∂R_S/∂θ_{k,c} = w_{k,c} V_k(θ_{k,c})/S (tested by finite differences).  The semi-discrete
COT flow moves layer k with velocity −V_k in the metric (1/S)Σ_k W₂².
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .residuals import ResidualMap

__all__ = ["DepthPass", "depth_pass", "potentials", "kernel_matrices", "gradient_norm", "pl_lower_bound"]


@dataclass
class DepthPass:
    """Forward states, adjoints, potentials and velocities of one depth pass.

    Attributes
    ----------
    x : ndarray, shape (S + 1, N, d)
        x_k, k = 0..S.
    p : ndarray, shape (S + 1, N, d)
        Adjoints p_k, p_S = x_S − y.
    risk : float
        R_S.
    potential : ndarray, shape (S, C)
        Π_k(θ_{k,c}).
    velocity : ndarray, shape (S, C, p) or None
        V_k(θ_{k,c}) (when asked for).
    dth : ndarray, shape (S, C, N, d, p) or None
        D_θψ(θ_{k,c}, x^i_k) (when asked for; the tangent kernels are built from it).
    """

    x: np.ndarray
    p: np.ndarray
    risk: float
    potential: np.ndarray
    velocity: np.ndarray | None = None
    dth: np.ndarray | None = None

    @property
    def depth(self) -> int:
        return self.x.shape[0] - 1


def _layer(theta: np.ndarray, k: int) -> np.ndarray:
    return theta if theta.ndim == 2 else theta[k]


def depth_pass(residual: ResidualMap, theta: np.ndarray, weights: np.ndarray, x0: np.ndarray,
               y: np.ndarray, *, velocities: bool = False) -> DepthPass:
    """Forward and backward pass of the S-layer explicit-Euler ResNet (docs: theory/cot §4.1).

    Parameters
    ----------
    residual : ResidualMap
    theta : ndarray, shape (C, p) (one set of atoms for all layers: the grid's cell centres)
        or (S, C, p) (one per layer: particles)
    weights : ndarray, shape (S, C)
        w_{k,c} ≥ 0, each row summing to 1.
    x0, y : ndarray, shape (N, d)
        Data and targets.
    velocities : bool
        Also compute V_k at the atoms and keep D_θψ (particles, G, kernels).

    Returns
    -------
    DepthPass
    """
    S = weights.shape[0]
    n = x0.shape[0]
    xs = np.empty((S + 1,) + x0.shape)
    xs[0] = x0
    values = []
    dfx = np.empty((S, n, x0.shape[1], x0.shape[1]))
    for k in range(S):
        w = weights[k]
        val = residual.evaluate(_layer(theta, k), xs[k], velocities)
        values.append(val)
        xs[k + 1] = xs[k] + np.einsum("c,cnd->nd", w, val.psi) / S
        dfx[k] = np.einsum("c,cnde->nde", w, val.dx)
    ps = np.empty_like(xs)
    ps[S] = xs[S] - y
    for k in range(S - 1, -1, -1):
        ps[k] = ps[k + 1] + np.einsum("nde,nd->ne", dfx[k], ps[k + 1]) / S
    risk = 0.5 * float(np.sum(ps[S] ** 2)) / n
    C = weights.shape[1]
    potential = np.empty((S, C))
    for k in range(S):
        potential[k] = np.einsum("nd,cnd->c", ps[k + 1], values[k].psi) / n
    velocity = dth = None
    if velocities:
        dth = np.stack([v.dth for v in values])                    # (S, C, N, d, p)
        velocity = np.einsum("knd,kcndp->kcp", ps[1:], dth) / n
    return DepthPass(xs, ps, risk, potential, velocity, dth)


def potentials(residual: ResidualMap, theta: np.ndarray, weights: np.ndarray, x0: np.ndarray,
               y: np.ndarray, *, velocities: bool = False) -> tuple[float, np.ndarray, np.ndarray | None]:
    """``(R_S, Π (S, C), V (S, C, p) or None)``: what a right-hand side needs of a depth pass.

    Uses the residual's fused numba kernel when it has one (:meth:`ResidualMap.fused`), else
    :func:`depth_pass`; the two agree to round-off (tested).
    """
    fused = residual.fused()
    if fused is None:
        dp = depth_pass(residual, theta, weights, x0, y, velocities=velocities)
        return dp.risk, dp.potential, dp.velocity
    kernel, params = fused
    S, C = weights.shape
    p = residual.p
    th = np.ascontiguousarray(theta if theta.ndim == 3 else theta[None], dtype=float)
    th = th[..., 0] if p == 1 else th
    pot = np.empty((S, C))
    vel = np.empty((S, C) if p == 1 else (S, C, p))
    # kernels of 1-D data take x0, y as (N,), of d-dimensional data as (N, d)
    xa, ya = (x0[:, 0], y[:, 0]) if residual.d == 1 else (x0, y)
    risk = kernel(th, np.ascontiguousarray(weights, dtype=float), np.ascontiguousarray(xa, dtype=float),
                  np.ascontiguousarray(ya, dtype=float), params, velocities, pot, vel)
    if not velocities:
        return risk, pot, None
    return risk, pot, vel.reshape(S, C, p)


def kernel_matrices(dp: DepthPass, weights: np.ndarray) -> np.ndarray:
    """Tangent kernels 𝕂_k = (Σ_c w_{k,c} D_θψ(θ_c, x^i_k) D_θψ(θ_c, x^j_k)ᵀ)_{ij} ([C14], (II.13)).

    Returns
    -------
    ndarray, shape (S, N·d, N·d)
        Block (i, j) of 𝕂_k is the d×d matrix K_k(x^i_k, x^j_k).
    """
    S, C, n, d, _ = dp.dth.shape
    K = np.einsum("kc,kciap,kcjbp->kiajb", weights, dp.dth, dp.dth)
    return K.reshape(S, n * d, n * d)


def gradient_norm(dp: DepthPass, weights: np.ndarray) -> float:
    """G = ‖∇R‖²_{L²(μ)} = (1/S) Σ_k Σ_c w_{k,c} ‖V_k(θ_{k,c})‖² ([C12], (I.28); docs: theory/cot §5).

    Equals (1/S) Σ_k N⁻² 𝐩_{k+1}ᵀ 𝕂_k 𝐩_{k+1} exactly ([C15], (II.14)).
    """
    return float(np.einsum("kc,kcp,kcp->", weights, dp.velocity, dp.velocity)) / weights.shape[0]


def pl_lower_bound(dp: DepthPass, kernels: np.ndarray) -> float:
    """Computable P-Ł bound q_low = (2/N)·[(1/S)Σ_k λ_min(𝕂_k)]·min_k ‖𝐩_{k+1}‖²/‖𝐩_S‖² ([C16], (II.15)).

    q = G/R ≥ q_low holds exactly for the weighted-atom model (docs: theory/cot §5): G ≥ N⁻²(1/S)Σ_k
    λ_min(𝕂_k)‖𝐩_{k+1}‖² and ‖𝐩_S‖² = 2NR.
    """
    n = dp.x.shape[1]
    lam = np.linalg.eigvalsh(kernels)[:, 0]
    norms = np.sum(dp.p[1:] ** 2, axis=(1, 2))
    if norms[-1] == 0:
        return np.inf
    return float(2.0 / n * np.mean(lam) * norms.min() / norms[-1])
