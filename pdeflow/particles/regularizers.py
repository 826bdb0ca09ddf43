"""The regularisations f of the outer weights (docs: theory/particles).

f_b(t) = t²/2, f_u(t) = (t−1)²/2, f_r(t) = |t|^r/(r−1), and their Legendre transforms
f*(s) = sup_t (ts − f(t)):

    f_b*(s) = s²/2,   f_u*(s) = s + s²/2,   f_r*(s) = |s/q|^q,  q = r/(r−1)

(for f_r the supremum is at |t|^{r−1} = |s|/q, where ts − f(t) = |t||s|(1 − 1/r) = |s/q|^q;
docs: theory/particles states the same).  Particles need f, f′ and (f′)⁻¹ = (f*)′; the grid flow of
λ > 0 (docs: theory/wasserstein, eq. III.31) moves mass along ∇f*(h).  For the quadratic ones the
projection is a linear solve: (AᵀA/(MN) + λI) u = AᵀY/N + λ·shift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..scalars import as_real


@dataclass(frozen=True)
class Regularizer:
    """A regularisation f of the outer weights (docs: theory/particles), with f′, f″ and the transform f*."""

    name: str
    r: float = 2.0
    shift: float = 0.0  # the minimiser of f: 0 for f_b and f_r, 1 for f_u

    @property
    def quadratic(self) -> bool:
        return self.name in ("f_b", "f_u")

    def f(self, u: np.ndarray) -> np.ndarray:
        if self.quadratic:
            return 0.5 * (u - self.shift) ** 2
        return np.abs(u) ** self.r / (self.r - 1)

    def df(self, u: np.ndarray) -> np.ndarray:
        if self.quadratic:
            return u - self.shift
        return self.r / (self.r - 1) * np.sign(u) * np.abs(u) ** (self.r - 1)

    def d2f(self, u: np.ndarray) -> np.ndarray:
        if self.quadratic:
            return np.ones_like(u)
        return self.r * np.abs(u) ** (self.r - 2)

    def df_inverse(self, h: np.ndarray) -> np.ndarray:
        """(f′)⁻¹(h) = (f*)′(h): the outer weight whose marginal cost is h."""
        if self.quadratic:
            return h + self.shift
        q = 1.0 / (self.r - 1)
        return np.sign(h) * (np.abs(h) * (self.r - 1) / self.r) ** q

    df_star = df_inverse

    @property
    def conjugate_exponent(self) -> float:
        """q = r/(r−1), the exponent of f_r* (2 for the quadratic ones)."""
        return self.r / (self.r - 1)

    def f_star(self, s: np.ndarray) -> np.ndarray:
        """f*(s) = sup_t (ts − f(t)): s²/2 + shift·s (f_b, f_u) or |s/q|^q (f_r, q = r/(r−1))."""
        s = np.asarray(s, dtype=float)
        if self.quadratic:
            return s * (0.5 * s + self.shift)
        q = self.conjugate_exponent
        return np.abs(s / q) ** q


biased = Regularizer("f_b")
unbiased = Regularizer("f_u", shift=1.0)


def power(r: float) -> Regularizer:
    """f_r(t) = |t|^r/(r−1), r > 1."""
    r = as_real(r, "r")
    if not np.isfinite(r) or r <= 1:
        raise ValueError(f"f_r needs r > 1, got {r}")
    return Regularizer("f_r", r=float(r))


def regularizer(name: str, r: float = 2.0) -> Regularizer:
    """The regularisation named ``name``; ``r`` is checked (a real number > 1) whichever it is,
    so a wrong exponent given with f_b or f_u is refused rather than silently ignored."""
    r = as_real(r, "r")
    if not np.isfinite(r) or r <= 1:
        raise ValueError(f"r (the exponent of f_r) must be a finite number > 1, got {r}"
                         + ("" if name in ("f_r", "r") else f"; {name} does not use it: leave r at its default"))
    table = {"f_b": biased, "b": biased, "f_u": unbiased, "u": unbiased}
    if name in table:
        return table[name]
    if name in ("f_r", "r"):
        return power(r)
    raise ValueError(f"unknown regularisation {name!r}; use 'f_b', 'f_u' or 'f_r'")
