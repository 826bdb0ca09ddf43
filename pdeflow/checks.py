"""Input checks shared by the solvers: clear messages before any work is done."""

from __future__ import annotations

import numpy as np

from .domains import Domain
from .scalars import as_real


def check_density(domain: Domain, density, name: str, *, allow_zero: bool = False) -> np.ndarray:
    """``density`` (array or callable of the coordinates) as a finite grid array, strictly positive
    (or, with ``allow_zero``, non-negative)."""
    values = domain.evaluate(density, name)
    bad = ~np.isfinite(values)
    if bad.any():
        cell = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} is not finite at cell {cell}: {values[cell]!r}")
    if values.min() < 0 or (values.min() == 0 and not allow_zero):
        cell = np.unravel_index(int(np.argmin(values)), values.shape)
        cell = tuple(int(i) for i in cell)
        sign = "non-negative" if allow_zero else "strictly positive"
        raise ValueError(f"{name} must be {sign}; cell {cell} holds {values[cell]:.6g}")
    return values


def check_same_mass(domain: Domain, rho0: np.ndarray, weight: np.ndarray, rtol: float = 1e-8,
                    name: str = "initial density") -> None:
    m0, mw = domain.integrate(rho0), domain.integrate(weight)
    if abs(m0 - mw) > rtol * mw:
        raise ValueError(f"{name} has mass {m0:.12g} but the weight has mass {mw:.12g}; "
                         "normalise them to the same mass (mass is conserved, and the steady state "
                         "is the weight)")


def check_positive_scalar(value, name: str) -> float:
    """``value`` as a finite float > 0 (through :func:`pdeflow.scalars.as_real`), else a ValueError naming ``name``."""
    value = as_real(value, name)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return value
