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

from .residuals import FusedDepth, ResidualMap

__all__ = ["DepthPass", "depth_pass", "potentials", "kernel_matrices", "gradient_norm", "pl_lower_bound",
           "FusedDepth", "DepthWorkspace"]


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


class DepthWorkspace:
    """Repeated depth passes of one residual, S layers, C atoms per layer and N data, allocation-free.

    The buffers are allocated once and refilled by every :meth:`run`: a right-hand side
    evaluation of the grid or of the particles is one compiled call.  Residuals without a fused
    kernel run :func:`depth_pass` and copy its results into the same buffers.

    Parameters
    ----------
    residual : ResidualMap
    S, C : int
        Layers and atoms per layer.
    x0, y : ndarray, shape (N, d)
        Data and targets.
    shared : bool
        One set of atoms for all layers (the grid) rather than one per layer (particles).

    Attributes
    ----------
    xs, ps : ndarray, shape (S + 1, N) if d = 1 else (S + 1, N, d)
        Forward states and adjoints of the last run.
    potential : ndarray, shape (S, C)
    velocity : ndarray, shape (S, C) if p = 1 else (S, C, p)
        Filled when the run asked for velocities.
    kernels : ndarray, shape (S, N·d, N·d)
        Tangent kernels 𝕂_k, filled when the run asked for them.
    risk : float
    """

    def __init__(self, residual: ResidualMap, S: int, C: int, x0: np.ndarray, y: np.ndarray, *, shared: bool):
        self.residual, self.S, self.C, self.shared = residual, S, C, shared
        d, p = residual.d, residual.p
        N = x0.shape[0]
        self.x0, self.y = np.asarray(x0, dtype=float), np.asarray(y, dtype=float)
        # kernels of 1-D data take x0, y as (N,), of d-dimensional data as (N, d)
        self._x0 = np.ascontiguousarray(self.x0[:, 0] if d == 1 else self.x0)
        self._y = np.ascontiguousarray(self.y[:, 0] if d == 1 else self.y)
        tail = () if d == 1 else (d,)
        self.xs = np.zeros((S + 1, N) + tail)
        self.ps = np.zeros((S + 1, N) + tail)
        self.potential = np.zeros((S, C))
        self.velocity = np.zeros((S, C) + (() if p == 1 else (p,)))
        self.kernels = np.zeros((S, N * d, N * d))
        self.risk = float("nan")
        self.fused = residual.fused()
        R = 1 if shared else S
        self.work = None if self.fused is None else np.empty(self.fused.work_size(S, R, N, C, d))

    def kernel_theta(self, theta: np.ndarray) -> np.ndarray:
        """θ of shape (C, p) (shared) or (S, C, p) in the kernel's layout: (R, C) for p = 1, else (R, C, p)."""
        th = np.asarray(theta, dtype=float)
        th = th[None] if th.ndim == 2 else th
        return np.ascontiguousarray(th[..., 0] if self.residual.p == 1 else th)

    def run(self, theta: np.ndarray, weights: np.ndarray, wscale: float = 1.0, *, velocities: bool = False,
            kernels: bool = False) -> float:
        """One depth pass with layer weights ``wscale * weights`` (S, C); θ as :meth:`kernel_theta` gives.

        Returns R_S and leaves x, p, Π (and V, 𝕂 when asked) in the buffers.
        """
        if self.fused is not None:
            f = self.fused
            self.risk = f.kernel(theta, weights, float(wscale), self._x0, self._y, f.params, velocities, kernels,
                                 self.xs, self.ps, self.potential, self.velocity, self.kernels, self.work)
            return self.risk
        p = self.residual.p
        th = theta[..., None] if p == 1 else theta
        th = th[0] if self.shared else th
        w = wscale * np.asarray(weights)
        dp = depth_pass(self.residual, th, w, self.x0, self.y, velocities=velocities or kernels)
        self.xs[...] = dp.x.reshape(self.xs.shape)
        self.ps[...] = dp.p.reshape(self.ps.shape)
        self.potential[...] = dp.potential
        if velocities:
            self.velocity[...] = dp.velocity.reshape(self.velocity.shape)
        if kernels:
            self.kernels[...] = kernel_matrices(dp, w)
        self.risk = dp.risk
        return self.risk

    def depth_pass(self) -> DepthPass:
        """The last run as a :class:`DepthPass` (copies; ``velocity`` as (S, C, p), no ``dth``)."""
        d, p = self.residual.d, self.residual.p
        S, C = self.potential.shape
        N = self.xs.shape[1]
        return DepthPass(self.xs.reshape(S + 1, N, d).copy(), self.ps.reshape(S + 1, N, d).copy(), self.risk,
                         self.potential.copy(), self.velocity.reshape(S, C, p).copy())


def potentials(residual: ResidualMap, theta: np.ndarray, weights: np.ndarray, x0: np.ndarray,
               y: np.ndarray, *, velocities: bool = False) -> tuple[float, np.ndarray, np.ndarray | None]:
    """``(R_S, Π (S, C), V (S, C, p) or None)``: what a right-hand side needs of a depth pass.

    Uses the residual's fused numba kernel when it has one (:meth:`ResidualMap.fused`), else
    :func:`depth_pass`; the two agree to round-off (tested).  Repeated passes should keep a
    :class:`DepthWorkspace` instead (this allocates one per call).
    """
    S, C = weights.shape
    ws = DepthWorkspace(residual, S, C, x0, y, shared=theta.ndim == 2)
    risk = ws.run(ws.kernel_theta(theta), np.ascontiguousarray(weights, dtype=float), velocities=velocities)
    if not velocities:
        return risk, ws.potential, None
    return risk, ws.potential, ws.velocity.reshape(S, C, residual.p)


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
