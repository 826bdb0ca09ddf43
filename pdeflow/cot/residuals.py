"""Residual maps ψ(θ, x): Θ × ℝ^d → ℝ^d with their derivatives D_xψ and D_θψ (docs: theory/cot §0, §6).

A residual map is the basis function of a mean-field ResNet layer: the layer with
parameter distribution ν moves the data by F_ν(x) = ∫ψ(θ, x) dν(θ) ([C2]).  Everything the
depth discretisation needs is one call, :meth:`ResidualMap.evaluate`, on a set of
parameters θ (C, p) and data x (N, d); it returns

* ``psi``  (C, N, d)      ψ(θ_c, x_i),
* ``dx``   (C, N, d, d)   D_xψ(θ_c, x_i)   (row = output component),
* ``dth``  (C, N, d, p)   D_θψ(θ_c, x_i)   (only when asked: the grid never needs it in its
  right-hand side, because its velocities are differences of the potential Π).

The families of docs: theory/cot §6 live in the open registry :data:`RESIDUALS`; a new family
subclasses :class:`ResidualMap` and registers itself with :func:`register_residual`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable, ClassVar, NamedTuple

import numpy as np
from scipy.special import i0e

__all__ = ["ResidualMap", "ResidualValues", "FusedDepth", "LinearTrig", "CircleTranslation", "TanhSHL",
           "TorusTranslation", "RESIDUALS", "register_residual"]


class ResidualValues(NamedTuple):
    """ψ, D_xψ and (optionally) D_θψ at every (θ_c, x_i); shapes in the module docstring."""

    psi: np.ndarray
    dx: np.ndarray
    dth: np.ndarray | None


class FusedDepth(NamedTuple):
    """A residual family's fused numba depth pass (:mod:`pdeflow.cot.kernels`) and its scratch needs.

    Attributes
    ----------
    kernel : callable
        The compiled pass (signature in :mod:`pdeflow.cot.kernels`).
    params : ndarray
        The family's parameters as the kernel reads them.
    pair_values : int
        Values kept per (layer, datum, atom) from the forward pass for the backward one.
    atom_values : int
        Values per atom that depend on θ only (e.g. cos θ, sin θ).
    """

    kernel: Callable
    params: np.ndarray
    pair_values: int
    atom_values: int

    def work_size(self, S: int, R: int, N: int, C: int, d: int) -> int:
        """Entries of the kernel's 1-D scratch for S layers, R atom rows of C atoms, N data in ℝ^d."""
        return S * N * C * self.pair_values + R * C * self.atom_values + S * N * d * d + 3 * S


class ResidualMap(ABC):
    """Basis function ψ(θ, x) of a residual layer, Θ ⊂ ℝ^p, x ∈ ℝ^d ([C2], docs: theory/cot §0).

    Attributes
    ----------
    d : int
        Dimension of the data x (and of ψ).
    p : int
        Dimension of the parameter θ.
    periodic : tuple of bool, length p
        Axes in which ψ is 2π-periodic (θ an angle: circle or torus parameter spaces).
    """

    name: ClassVar[str] = "residual"
    d: int = 1
    p: int = 1
    periodic: tuple[bool, ...] = (False,)

    @abstractmethod
    def evaluate(self, theta: np.ndarray, x: np.ndarray, want_theta: bool = False) -> ResidualValues:
        """ψ, D_xψ and, if ``want_theta``, D_θψ at all pairs (θ_c, x_i).

        Parameters
        ----------
        theta : ndarray, shape (C, p)
        x : ndarray, shape (N, d)
        want_theta : bool
            Also return D_θψ (shape (C, N, d, p)); else ``dth`` is ``None``.
        """

    def fused(self) -> FusedDepth | None:
        """The family's fused numba depth pass (:mod:`pdeflow.cot.kernels`), or None.

        Families with one are run by it in the grid and particle right-hand sides and
        diagnostics (:class:`~pdeflow.cot.depth.DepthWorkspace`); the generic numpy
        :func:`~pdeflow.cot.depth.depth_pass` is its twin.
        """
        return None

    def describe(self) -> dict:
        """JSON-friendly parameters (stored with runs)."""
        from dataclasses import asdict
        return {"family": self.name, **asdict(self)}


def _check_kappa(kappa: float, span: int) -> None:
    """κ finite with span·|κ| ≤ 708: the exponent κ(Σcos − span) of the fused kernels stays where
    their exp is exact (:data:`pdeflow.vecmath.EXP_MODERATE`; beyond, e^{−span·κ} underflows anyway)."""
    from ..vecmath import EXP_MODERATE

    if not (np.isfinite(kappa) and span * abs(kappa) <= EXP_MODERATE):
        raise ValueError(f"kappa must be finite with |kappa| <= {EXP_MODERATE / span:g}, got {kappa!r}")


#: Residual families by name (open: :func:`register_residual` adds one).
RESIDUALS: dict[str, type[ResidualMap]] = {}


def register_residual(cls: type[ResidualMap]) -> type[ResidualMap]:
    """Class decorator: make ``cls`` available as ``RESIDUALS[cls.name]``."""
    if not (isinstance(cls, type) and issubclass(cls, ResidualMap)):
        raise ValueError(f"register_residual needs a ResidualMap subclass, got {cls!r:.60}")
    if not isinstance(getattr(cls, "name", None), str) or not cls.name:
        raise ValueError(f"a registered residual needs a non-empty string attribute name, got {getattr(cls, 'name', None)!r}")
    RESIDUALS[cls.name] = cls
    return cls


@register_residual
@dataclass(frozen=True)
class LinearTrig(ResidualMap):
    """Linear (RKHS) residual ψ(θ, x) = A(θ₁ cos x + θ₂ sin x), d = 1, p = 2 (P1; [C19], (II.18)).

    H = ℝ², φ(x) = (cos x, sin x): F_ν depends on ν only through its mean, the tangent kernel
    K(x, x') = A² cos(x − x') does not depend on ν, and V_k is θ-independent (every layer is
    translated rigidly, docs: theory/cot §6 P1).
    """

    name: ClassVar[str] = "linear"
    A: float = 1.0
    d: int = 1
    p: int = 2
    periodic: tuple[bool, ...] = (False, False)

    def evaluate(self, theta, x, want_theta=False):
        c, s = np.cos(x[:, 0]), np.sin(x[:, 0])                    # (N,)
        t1, t2 = theta[:, 0:1], theta[:, 1:2]                      # (C, 1)
        psi = self.A * (t1 * c + t2 * s)                           # (C, N)
        dx = self.A * (-t1 * s + t2 * c)
        dth = None
        if want_theta:
            feats = self.A * np.stack([c, s], axis=-1)             # (N, 2)
            dth = np.broadcast_to(feats, (theta.shape[0],) + feats.shape)[:, :, None, :].copy()
        return ResidualValues(psi[..., None], dx[..., None, None], dth)

    def fused(self):
        from .kernels import linear_trig_depth
        return FusedDepth(linear_trig_depth, np.array([self.A]), 0, 0)


@register_residual
@dataclass(frozen=True)
class CircleTranslation(ResidualMap):
    """Translation residual on the circle, ψ(θ, x) = g(x − θ) (P2, docs: theory/cot §6).

    g(z) = A(e^{κ(cos z − 1)} − e^{−κ}I₀(κ)): even, zero mean, so the uniform layer has
    F ≡ 0; D_xψ = g′(x − θ), D_θψ = −g′(x − θ), g′(z) = −Aκ sin z e^{κ(cos z − 1)}.
    """

    name: ClassVar[str] = "circle_translation"
    A: float = 3.0
    kappa: float = 4.0
    d: int = 1
    p: int = 1
    periodic: tuple[bool, ...] = (True,)

    def __post_init__(self) -> None:
        _check_kappa(self.kappa, 2)

    def evaluate(self, theta, x, want_theta=False):
        z = x[None, :, 0] - theta[:, 0:1]                          # (C, N)
        e = np.exp(self.kappa * (np.cos(z) - 1.0))
        psi = self.A * (e - i0e(self.kappa))                       # e^{−κ}I₀(κ) = i0e(κ)
        dg = -self.A * self.kappa * np.sin(z) * e
        dth = (-dg)[..., None, None] if want_theta else None
        return ResidualValues(psi[..., None], dg[..., None, None], dth)

    def fused(self):
        from .kernels import circle_translation_depth
        return FusedDepth(circle_translation_depth, np.array([self.A, self.kappa, i0e(self.kappa)]), 2, 2)

    def fourier(self, k: int) -> float:
        """a_k = 2A e^{−κ} I_k(κ): g(z) = Σ_{k≥1} a_k cos(kz)."""
        from scipy.special import ive
        return float(2 * self.A * ive(k, self.kappa))


@register_residual
@dataclass(frozen=True)
class TanhSHL(ResidualMap):
    """Single-hidden-layer residual ψ((u, b), x) = A u tanh(w₀x + b), w₀ fixed (P3; [C21], (II.35)).

    d = 1, θ = (u, b), p = 2.  D_θψ = A(tanh(w₀x + b), u sech²(w₀x + b)),
    D_xψ = A u w₀ sech²(w₀x + b).
    """

    name: ClassVar[str] = "tanh_shl"
    A: float = 2.0
    w0: float = 4.0
    d: int = 1
    p: int = 2
    periodic: tuple[bool, ...] = (False, False)

    def evaluate(self, theta, x, want_theta=False):
        u, b = theta[:, 0:1], theta[:, 1:2]                        # (C, 1)
        th = np.tanh(self.w0 * x[None, :, 0] + b)                  # (C, N)
        sech2 = 1.0 - th * th
        psi = self.A * u * th
        dx = self.A * self.w0 * u * sech2
        dth = None
        if want_theta:
            dth = np.stack([self.A * th, self.A * u * sech2], axis=-1)[:, :, None, :]
        return ResidualValues(psi[..., None], dx[..., None, None], dth)

    def fused(self):
        from .kernels import tanh_shl_depth
        return FusedDepth(tanh_shl_depth, np.array([self.A, self.w0]), 1, 1)


@register_residual
@dataclass(frozen=True)
class TorusTranslation(ResidualMap):
    """Translation residual on the 2-D torus, ψ(θ, x) = A R_α ∇G(x − θ) (P2b, docs: theory/cot §6).

    G(z) = exp(κ(cos z₁ + cos z₂ − 2)), R_α the rotation by α (α = π/4 mixes gradient and
    rotated-gradient parts).  With H = D²G: D_xψ = A R_α H(x − θ), D_θψ = −A R_α H(x − θ).
    ∇G has zero mean, so the uniform layer has F ≡ 0.
    """

    name: ClassVar[str] = "torus_translation"
    A: float = 1.0
    kappa: float = 2.0
    alpha: float = np.pi / 4
    d: int = 2
    p: int = 2
    periodic: tuple[bool, ...] = (True, True)

    def __post_init__(self) -> None:
        _check_kappa(self.kappa, 4)

    @property
    def rotation(self) -> np.ndarray:
        c, s = np.cos(self.alpha), np.sin(self.alpha)
        return np.array([[c, -s], [s, c]])

    def evaluate(self, theta, x, want_theta=False):
        k = self.kappa
        z1 = x[None, :, 0] - theta[:, 0:1]                          # (C, N)
        z2 = x[None, :, 1] - theta[:, 1:2]
        s1, s2, c1, c2 = np.sin(z1), np.sin(z2), np.cos(z1), np.cos(z2)
        g = np.exp(k * (c1 + c2 - 2.0))
        grad = np.stack([-k * s1 * g, -k * s2 * g], axis=-1)       # (C, N, 2)
        hess = np.empty(z1.shape + (2, 2))
        hess[..., 0, 0] = (k * k * s1 * s1 - k * c1) * g
        hess[..., 1, 1] = (k * k * s2 * s2 - k * c2) * g
        hess[..., 0, 1] = hess[..., 1, 0] = k * k * s1 * s2 * g
        rot = self.A * self.rotation
        psi = grad @ rot.T
        dx = rot @ hess                                             # (C, N, 2, 2)
        return ResidualValues(psi, dx, -dx if want_theta else None)

    def fused(self):
        from .kernels import torus_translation_depth
        return FusedDepth(torus_translation_depth, np.array([self.A, self.kappa, self.alpha]), 5, 4)
