"""The teacher feature distributions μ_γ of docs: theory/particles, exact densities, cell averages and samples.

Circle: μ_γ = (⅔ δ₀ + ⅓ δ_{0.4π}) ⋆ π_γ, π_γ(ω) ∝ 1/(1 + γ sin²(ω/2)).
Torus ℝ²/Lℤ²: μ_γ = (½ δ_{(−1,0)} + ½ δ_{(1,1)}) ⋆ π_γ, π_γ(z) ∝ Πₖ 1/(1 + γ sin²(π zₖ/L)).
The one-dimensional CDF is explicit, ½ + arctan(√(1+γ) tan(θ/2))/π on (−π, π], so
cell averages and inverse-CDF sampling are exact.
"""

from __future__ import annotations

import numpy as np

from .domains import MAX_CELLS, Domain, check_domain
from .scalars import as_count, as_flag, as_real, as_rng

CIRCLE_ATOMS = (np.array([0.0, 0.4 * np.pi]), np.array([2 / 3, 1 / 3]))
TORUS_ATOMS = (np.array([[-1.0, 0.0], [1.0, 1.0]]), np.array([0.5, 0.5]))


def _kernel_density(theta, gamma):
    """π_γ on the angle θ ∈ ℝ/2πℤ, a probability density."""
    return np.sqrt(1 + gamma) / (2 * np.pi) / (1 + gamma * np.sin(theta / 2) ** 2)


def _kernel_cumulative(theta, gamma):
    """Lifted CDF of π_γ centred at 0: continuous, increasing, Φ(θ + 2π) = Φ(θ) + 1, Φ(−π) = 0."""
    k = np.floor((theta + np.pi) / (2 * np.pi))
    phase = theta - 2 * np.pi * k  # in [−π, π)
    return k + 0.5 + np.arctan(np.sqrt(1 + gamma) * np.tan(phase / 2)) / np.pi


def _kernel_quantile(u, gamma):
    return 2 * np.arctan(np.tan(np.pi * (u - 0.5)) / np.sqrt(1 + gamma))


def check_gamma(gamma, allow_inf: bool = False) -> float:
    """γ as a float ≥ 0; ``allow_inf`` admits γ = ∞ (the atoms themselves, which can be sampled
    but have no density)."""
    gamma = as_real(gamma, "gamma")
    if np.isnan(gamma) or gamma < 0 or (np.isinf(gamma) and not allow_inf):
        need = "a number >= 0 (inf: the atoms)" if allow_inf else "a finite number >= 0 here"
        raise ValueError(f"gamma must be {need}, got {gamma}")
    return gamma


def _axis_scale(domain: Domain) -> float:
    """Radians per unit of coordinate on the periodic axes of ``domain``."""
    if not all(domain.periodic):
        raise ValueError("the teacher μ_γ is defined on the circle and on the torus only")
    if domain.kind == "circle":
        return 1.0
    lengths = set(domain.lengths)
    if len(lengths) != 1:
        raise ValueError("the torus teacher needs the same period on every axis")
    return 2 * np.pi / lengths.pop()


def _atoms(domain: Domain):
    if domain.kind == "circle":
        return CIRCLE_ATOMS
    if domain.kind == "torus" and domain.ndim == 2:
        return TORUS_ATOMS
    raise ValueError(f"no teacher μ_γ is defined on a {domain.ndim}-D {domain.kind}")


def teacher_density(domain: Domain, gamma: float, *, cell_average: bool = True) -> np.ndarray:
    """Density of the teacher distribution μ_γ on the grid of ``domain`` (docs: theory/particles), mass 1.

    Circle: (⅔δ₀ + ⅓δ_{0.4π}) ⋆ π_γ; torus ℝ²/Lℤ²: (½δ_{(−1,0)} + ½δ_{(1,1)}) ⋆ π_γ, with
    π_γ ∝ 1/(1 + γ sin²(·/2)) per axis (scaled to the period).

    Parameters
    ----------
    domain : Domain
        A circle or a 2-D torus.
    gamma : float
        Concentration γ ≥ 0, finite (0 is uniform; the atoms of γ = ∞ have no density).
    cell_average : bool
        Exact cell averages from the closed-form CDF (what a finite-volume solution is
        compared with), or point values at the cell centres.

    Returns
    -------
    ndarray, shape ``domain.shape``
        The density; its integral over the domain is 1.
    """
    domain = check_domain(domain)
    gamma = check_gamma(gamma)
    cell_average = as_flag(cell_average, "cell_average")
    centres, weights = _atoms(domain)
    scale = _axis_scale(domain)
    total = np.zeros(domain.shape)
    for centre, weight in zip(centres.reshape(len(weights), -1), weights):
        factors = []
        for d in range(domain.ndim):
            if cell_average:
                cdf = _kernel_cumulative(scale * (domain.edges[d] - centre[d]), gamma)
                factors.append(np.diff(cdf) / domain.spacing[d])
            else:
                factors.append(scale * _kernel_density(scale * (domain.axes[d] - centre[d]), gamma))
        term = factors[0]
        for f in factors[1:]:
            term = np.multiply.outer(term, f)
        total += weight * term
    return total


def sample_teacher(domain: Domain, gamma: float, size: int,
                   rng: np.random.Generator | int | None = None, *, modes: str = "iid") -> np.ndarray:
    """I.i.d. samples of the teacher distribution μ_γ by exact inverse-CDF sampling (docs: theory/particles).

    Parameters
    ----------
    domain : Domain
        A circle or a 2-D torus.
    gamma : float
        Concentration γ ≥ 0; ``inf`` gives the atoms themselves.
    size : int
        Number of samples.
    rng : numpy Generator, int or None
        Random generator or seed.
    modes : {"iid", "stratified"}
        How atoms are assigned to the modes of μ_γ: drawn i.i.d. with the mode weights, or
        deterministically in the repeating pattern of the weights (as the thesis code does:
        every third atom to the 0.4π mode on the circle, alternate atoms on the torus), which
        removes the multinomial noise of the mode masses.

    Returns
    -------
    ndarray, shape (size,) on the circle (angles in [0, 2π)) or (size, 2) on the torus
        The samples, inside the domain.
    """
    domain = check_domain(domain)
    gamma = check_gamma(gamma, allow_inf=True)
    size = as_count(size, "size", maximum=MAX_CELLS)
    rng = as_rng(rng)
    centres, weights = _atoms(domain)
    scale = _axis_scale(domain)
    if modes == "iid":
        which = rng.choice(len(weights), size=size, p=weights)
    elif modes == "stratified":
        # one period holds each mode in proportion to its weight: (0, 0, 1) for (⅔, ⅓)
        period = int(round(1.0 / weights.min()))
        which = np.searchsorted(np.cumsum(weights), (np.arange(size) % period + 0.5) / period)
    else:
        raise ValueError(f"modes must be 'iid' or 'stratified', got {modes!r}")
    shape = (size,) if domain.ndim == 1 else (size, domain.ndim)
    offset = np.zeros(shape) if np.isinf(gamma) else _kernel_quantile(rng.random(shape), gamma) / scale
    return domain.wrap(centres[which] + offset)
