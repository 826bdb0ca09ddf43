"""Feature maps φ(ω, x) and their ω-gradients (docs: theory/particles).

A feature map fills, for particles ω (shape ``(M,)`` or ``(M, d)``) and data x
(shape ``(N, 2)``), the matrix ``A[j, i] = φ(ωᵢ, xⱼ)`` and the gradients
``dA[k, j, i] = ∂φ/∂ω_k (ωᵢ, xⱼ)``.  To add one, subclass :class:`FeatureMap`
and implement :meth:`FeatureMap.fill` (a numba kernel makes it fast).  VarPro sees A
through :meth:`FeatureMap.bind`, which a feature map with structure may override
(see :mod:`pdeflow.particles.operators`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from ..domains import Domain
from ..scalars import as_count, as_real
from .dense import FusedDenseFeatures
from .laplace import ROWS_PER_BLOCK, laplace_torus_pass
from .operators import DenseFeatures, ResidualTerms, SortedReLUCircle


class FeatureMap:
    """φ(ω, x) with ∇_ωφ; ``dim`` is the dimension of ω."""

    dim: int = 1

    def fill(self, omega: np.ndarray, x: np.ndarray, A: np.ndarray, dA: np.ndarray) -> None:
        """Write φ(ωᵢ, xⱼ) into ``A[j, i]`` and ∂φ/∂ω_k into ``dA[k, j, i]``."""
        raise NotImplementedError

    def evaluate(self, omega: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(A, dA)`` of shapes ``(N, M)`` and ``(dim, N, M)``."""
        omega = np.ascontiguousarray(omega, dtype=float)
        x = np.ascontiguousarray(x, dtype=float)
        n, m = x.shape[0], omega.shape[0]
        A = np.empty((n, m))
        dA = np.empty((self.dim, n, m))
        self.fill(omega, x, A, dA)
        return A, dA

    def __call__(self, omega: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.evaluate(omega, x)[0]

    def bind(self, x: np.ndarray):
        """ω ↦ the operator A(ω) on the data x (dense arrays unless the map knows better)."""
        return DenseFeatures(self, x)

    def check_domain(self, domain: Domain) -> None:
        """A ValueError unless ω may live in ``domain`` (base: its dimension is ``dim``)."""
        if domain.ndim != self.dim:
            raise ValueError(f"feature {type(self).__name__} has {self.dim}-D ω, but the domain is "
                             f"{domain.ndim}-D")


@nb.njit(cache=True, parallel=True)
def _relu_circle(omega, x, A, dA):
    c = np.cos(omega)
    s = np.sin(omega)
    for j in nb.prange(x.shape[0]):
        x1 = x[j, 0]
        x2 = x[j, 1]
        for i in range(omega.size):
            z = x1 * c[i] + x2 * s[i]
            if z > 0.0:
                A[j, i] = z
                dA[0, j, i] = x2 * c[i] - x1 * s[i]
            else:
                A[j, i] = 0.0
                dA[0, j, i] = 0.0


@nb.njit(cache=True, parallel=True)
def _laplace_torus(omega, x, period, scale, A, dA):
    amp = 2.0 / scale**2
    half = 0.5 * period
    for j in nb.prange(x.shape[0]):
        for i in range(omega.shape[0]):
            # periodic representative of ω − x in [−L/2, L/2)
            d0 = omega[i, 0] - x[j, 0]
            d1 = omega[i, 1] - x[j, 1]
            d0 -= period * np.floor((d0 + half) / period)
            d1 -= period * np.floor((d1 + half) / period)
            r = np.sqrt(d0 * d0 + d1 * d1)
            phi = amp * np.exp(-r / scale)
            A[j, i] = phi
            if r > 0.0:
                g = -phi / (scale * r)
                dA[0, j, i] = g * d0
                dA[1, j, i] = g * d1
            else:
                dA[0, j, i] = 0.0
                dA[1, j, i] = 0.0


@dataclass(frozen=True)
class ReLUCircle(FeatureMap):
    """ReLU features on the circle, φ(ω, x) = max(0, x₁cos ω + x₂sin ω) (docs: theory/particles).

    Its operator (:meth:`bind`) reads every product off prefix sums over sorted angles,
    O((M + N) log) per product instead of O(MN).

    Parameters
    ----------
    dim : int
        Dimension of ω (1: the angle).
    """

    dim: int = 1

    def __post_init__(self):
        if as_count(self.dim, "dim") != 1:
            raise ValueError(f"ReLUCircle: dim must be 1 (ω is an angle), got {self.dim!r}")

    def fill(self, omega, x, A, dA):
        """Fill ``A[j, i] = φ(ωᵢ, xⱼ)`` and ``dA[0, j, i] = ∂φ/∂ω`` (numba, in place)."""
        _relu_circle(omega, x, A, dA)

    def bind(self, x):
        """ω ↦ the sorted-angle operator A(ω) on the data ``x`` (:mod:`pdeflow.particles.operators`)."""
        return SortedReLUCircle(x)


@dataclass(frozen=True)
class LaplaceRBF(FeatureMap):
    """Laplace features on the torus ℝ²/Lℤ², φ(ω, x) = (2/s²) exp(−‖[ω − x]‖/s) (docs: theory/particles).

    [z] is the periodic representative of z with coordinates in [−L/2, L/2); the data are
    not wrapped, their difference with ω is.

    Parameters
    ----------
    period : float
        Period L of the torus (thesis: 4).
    scale : float
        Length scale s (thesis: ½, so φ = 8 exp(−2‖[ω − x]‖)).
    dim : int
        Dimension of ω (2).
    """

    period: float = 4.0
    scale: float = 0.5
    dim: int = 2

    def __post_init__(self):
        for name in ("period", "scale"):
            value = as_real(getattr(self, name), f"LaplaceRBF {name}")
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"LaplaceRBF {name} must be a positive finite number, got {value!r}")
            object.__setattr__(self, name, value)   # a float for the numba kernels, whatever was given
        if as_count(self.dim, "dim") != 2:
            raise ValueError(f"LaplaceRBF: dim must be 2 (ω is a point of the 2-D torus), got {self.dim!r}")

    def check_domain(self, domain: Domain) -> None:
        """The base check, and: ``domain`` is a torus of period :attr:`period` on every axis."""
        super().check_domain(domain)
        if not (all(domain.periodic) and np.allclose(domain.lengths, self.period)):
            raise ValueError(f"LaplaceRBF(period={self.period:g}) needs a torus of that period, got "
                             f"a {getattr(domain, 'kind', None) or type(domain).__name__} with lengths "
                             f"{tuple(float(v) for v in domain.lengths)}")

    def fill(self, omega, x, A, dA):
        """Fill ``A[j, i] = φ(ωᵢ, xⱼ)`` and ``dA[k, j, i] = ∂φ/∂ω_k`` (numba, in place)."""
        _laplace_torus(omega, x, self.period, self.scale, A, dA)

    def bind(self, x):
        """ω ↦ A(ω) on the data ``x``, filled and applied by fused kernels (:mod:`pdeflow.particles.dense`)."""
        return FusedDenseFeatures(self, x)

    def fused_pass(self, omega, x, A, A32, fill, y=None, z=None, divisor=1.0,
                   gradient=False) -> ResidualTerms | None:
        """One pass over A (:func:`~pdeflow.particles.laplace.laplace_torus_pass`).

        With ``fill``, write ``A[j, i] = φ(ωᵢ, xⱼ)`` (float64) and ``A32`` = A in float32
        (``omega`` (M, 2)); with labels ``y`` and weights ``z``, return r = y − Az/divisor,
        Aᵀr/N, Aᵀy/N and, if ``gradient``, (∇_ωA)ᵀr/N as
        :class:`~pdeflow.particles.operators.ResidualTerms` (else None).
        """
        n, m = A.shape
        residual = y is not None
        part = np.empty((max(1, -(-n // ROWS_PER_BLOCK)), 4, m if residual else 0))
        resid = np.empty(n if residual else 0)
        y = np.empty(0) if y is None else y
        z = np.empty(0) if z is None else z
        laplace_torus_pass(np.ascontiguousarray(omega[:, 0]), np.ascontiguousarray(omega[:, 1]), x,
                           self.period, self.scale, A, A32, bool(fill), y, z, float(divisor), resid, part,
                           residual, bool(gradient))
        if not residual:
            return None
        total = part.sum(axis=0) if gradient else part[:, :2].sum(axis=0)
        total /= n
        return ResidualTerms(resid, total[0], np.ascontiguousarray(total[2:].T) if gradient else None, total[1])


def feature_map_for(domain: Domain) -> FeatureMap:
    """The thesis' feature map on ``domain``: ReLU on the circle, Laplace RBF on the 2-D torus."""
    if domain.kind == "circle":
        return ReLUCircle()
    if domain.kind == "torus" and domain.ndim == 2:
        return LaplaceRBF(period=domain.lengths[0])
    raise ValueError(f"no default feature map on a {domain.ndim}-D {domain.kind}; pass one")
