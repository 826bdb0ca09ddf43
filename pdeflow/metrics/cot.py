"""Distances and path lengths of COT states: S layers of measures on one Θ (docs: theory/cot §5, [C10]–[C12], [C18]).

A COT state is given layer by layer, either as particles ``theta`` (S, M[, 1]) with weights 1/M,
or as a grid density ``rho`` (S, n) on a 1-D :class:`~pdeflow.Domain`, read as *cell-uniform*
(mass spread evenly over each cell: piecewise-linear CDF) — not as cell-centre atoms, which
carry a floor W₂ = h/√12 (docs: theory/cot §5).  :func:`layer_measures` turns either into weighted
pieces; the layer distances are the exact 1-D ones of :mod:`pdeflow.metrics.wasserstein`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..domains import Domain, check_domain
from ._inputs import check_points
from .wasserstein import wasserstein_circle, wasserstein_interval

__all__ = ["LayerMeasures", "layer_measures", "layer_wasserstein", "wasserstein_cot", "path_length"]


@dataclass(frozen=True)
class LayerMeasures:
    """S one-dimensional measures as weighted pieces, one row per layer.

    Parameters
    ----------
    points : ndarray, shape (S, K)
        Atom positions or cell centres of each layer.
    weights : ndarray, shape (S, K)
        Their masses.
    widths : ndarray of shape (K,) or float
        Width over which each mass is spread uniformly (0: atoms; the cell width for a grid).
    """

    points: np.ndarray
    weights: np.ndarray
    widths: np.ndarray | float


def layer_measures(state: np.ndarray, domain: Domain, kind: str) -> LayerMeasures:
    """A COT state as :class:`LayerMeasures`.

    Parameters
    ----------
    state : ndarray
        ``kind="grid"``: densities (S, n) on ``domain``; ``kind="particles"``: positions (S, M) or (S, M, 1).
    domain : Domain
        1-D circle or interval (the Θ of the state).
    kind : {"grid", "particles"}
        How ``state`` is to be read.

    Returns
    -------
    LayerMeasures
        Grid densities as cell-uniform pieces of the cell width; particles as atoms of mass 1/M.
    """
    domain = check_domain(domain)
    if domain.ndim != 1:
        raise ValueError("exact layer distances are one-dimensional; use pdeflow.metrics.mmd on 2-D Θ")
    try:
        state = np.asarray(state, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"state must be an array of real numbers, got {type(state).__name__}") from None
    if state.size == 0 or not np.all(np.isfinite(state)):
        raise ValueError(f"state must be a non-empty array of finite numbers, got shape {state.shape}")
    if kind == "grid":
        if state.ndim != 2 or state.shape[1] != domain.size:
            raise ValueError(f"grid state must have shape (S, {domain.size}), got {state.shape}")
        centres = np.broadcast_to(domain.axes[0], state.shape)
        return LayerMeasures(centres, state * domain.cell_volume, domain.spacing[0])
    if kind == "particles":
        if state.ndim == 3 and state.shape[2] == 1:
            state = state[..., 0]
        if state.ndim != 2:
            raise ValueError(f"particle state must have shape (S, M) or (S, M, 1), got {state.shape}")
        return LayerMeasures(state, np.full(state.shape, 1.0 / state.shape[1]), 0.0)
    raise ValueError(f"kind must be 'grid' or 'particles', got {kind!r}")


def layer_wasserstein(mu: LayerMeasures, nu: LayerMeasures, domain: Domain, p: int = 2) -> np.ndarray:
    r"""Per-layer Wasserstein distances W_p(μ_k, ν_k), k = 0..S−1.

    .. math:: W_p(\mu_k, \nu_k)^p = \min_{\gamma \in \Gamma(\mu_k, \nu_k)} \int d(\theta, \theta')^p \, d\gamma

    with d the arc length on a circle (periodic domain) or the distance θ′ − θ in absolute value on an interval; computed
    exactly from (lifted) quantile functions.

    Parameters
    ----------
    mu, nu : LayerMeasures
        The two states (same number of layers), from :func:`layer_measures`.
    domain : Domain
        The 1-D Θ: the circle ℝ/2πℤ or an interval.
    p : {1, 2}
        Order.

    Returns
    -------
    ndarray, shape (S,)
        W_p of each layer.
    """
    if mu.points.shape[0] != nu.points.shape[0]:
        raise ValueError(f"the states have {mu.points.shape[0]} and {nu.points.shape[0]} layers")
    dist = wasserstein_circle if domain.periodic[0] else wasserstein_interval
    if domain.periodic[0] and domain.lengths[0] != 2 * np.pi:
        raise ValueError("periodic layer distances are for the circle ℝ/2πℤ")
    return np.array([dist(mu.points[k], nu.points[k], x_weights=mu.weights[k], y_weights=nu.weights[k],
                          x_widths=mu.widths, y_widths=nu.widths, p=p)
                     for k in range(mu.points.shape[0])])


def wasserstein_cot(mu: LayerMeasures, nu: LayerMeasures, domain: Domain) -> float:
    r"""COT distance between two S-layer states (Prop. I.2.1, [C10]):

    .. math:: W_2^{COT}(\mu, \nu)^2 = \int_0^1 W_2(\mu(\cdot|s), \nu(\cdot|s))^2 \, ds
              = \frac{1}{S} \sum_{k=0}^{S-1} W_2(\mu_k, \nu_k)^2

    for piecewise-constant layers.  It bounds the joint W₂ on [0, 1]×Θ from above (Remark I.2.1).

    Parameters
    ----------
    mu, nu : LayerMeasures
        The two states (same number of layers), from :func:`layer_measures`.
    domain : Domain
        The 1-D Θ: the circle ℝ/2πℤ or an interval.

    Returns
    -------
    float
        W₂^COT(μ, ν).
    """
    for name, m in (("mu", mu), ("nu", nu)):
        if not isinstance(m, LayerMeasures):
            raise ValueError(f"{name} must be LayerMeasures (pdeflow.metrics.layer_measures), got {type(m).__name__}")
    if mu.points.shape[0] != nu.points.shape[0]:
        raise ValueError(f"mu and nu must have the same number of layers, got {mu.points.shape[0]} and "
                         f"{nu.points.shape[0]}")
    w = layer_wasserstein(mu, nu, check_domain(domain), p=2)
    return float(np.sqrt(np.mean(w**2)))


def path_length(t: np.ndarray, grad_norm: np.ndarray) -> np.ndarray:
    r"""Path length λ(t) = ∫₀ᵗ √G dt of a gradient flow, by the trapezoid rule on the output times.

    .. math:: \lambda(t) = \int_0^t |\mu'_r| \, dr = \int_0^t \|\nabla R[\mu_r]\|_{L^2(\mu_r)} \, dr
              \;\ge\; W_2^{COT}(\mu_t, \mu_0)

    ([C11], [C12]); under a P-Ł inequality λ(∞) ≤ 2√(R(0)/inf q) ([C18]).

    Parameters
    ----------
    t : ndarray, shape (T,)
        Output times, increasing.
    grad_norm : ndarray, shape (T,)
        G(t) = ‖∇R[μ_t]‖² at those times.

    Returns
    -------
    ndarray, shape (T,)
        λ at each output time (λ(t₀) = 0).
    """
    t = check_points(t, 1, "t")[:, 0]
    g = check_points(grad_norm, 1, "grad_norm")[:, 0]
    if g.size != t.size:
        raise ValueError(f"grad_norm must have one value per output time, got {g.size} for {t.size} times")
    if np.any(np.diff(t) <= 0):
        raise ValueError("t must be strictly increasing")
    if g.min() < -1e-12 * np.abs(g).max():   # round-off below 0 is clipped, a negative value refused
        raise ValueError(f"grad_norm is a squared norm, >= 0; got {g.min():.6g}")
    speed = np.sqrt(np.maximum(g, 0.0))
    steps = 0.5 * (speed[1:] + speed[:-1]) * np.diff(t)
    return np.concatenate([[0.0], np.cumsum(steps)])
