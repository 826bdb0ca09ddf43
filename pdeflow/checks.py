"""Input checks shared by the solvers: clear messages before any work is done."""

from __future__ import annotations

import numpy as np

from .domains import Domain


def check_real(value, name: str) -> float:
    """``value`` as a float: a real number (not a string, bool or complex), else a one-line ValueError."""
    if isinstance(value, (bool, np.bool_, str, bytes)) or np.iscomplexobj(value) or np.ndim(value) != 0:
        raise ValueError(f"{name} must be a real number, got {value!r:.60}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r:.60}") from None


def check_count(value, name: str, minimum: int = 0) -> int:
    """``value`` as an int ≥ ``minimum``: integral numbers only (10.5 and True are refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, float, np.floating)):
        raise ValueError(f"{name} must be an integer, got {value!r:.60}")
    if not float(value).is_integer():
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {int(value)}")
    return int(value)


def check_density(domain: Domain, density, name: str) -> np.ndarray:
    """``density`` (array or callable of the coordinates) as a strictly positive, finite grid array."""
    values = domain.evaluate(density, name)
    bad = ~np.isfinite(values)
    if bad.any():
        cell = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} is not finite at cell {cell}: {values[cell]!r}")
    if values.min() <= 0:
        cell = np.unravel_index(int(np.argmin(values)), values.shape)
        cell = tuple(int(i) for i in cell)
        raise ValueError(f"{name} must be strictly positive; cell {cell} holds {values[cell]:.6g}")
    return values


def check_same_mass(domain: Domain, rho0: np.ndarray, weight: np.ndarray, rtol: float = 1e-8) -> None:
    m0, mw = domain.integrate(rho0), domain.integrate(weight)
    if abs(m0 - mw) > rtol * mw:
        raise ValueError(f"initial density has mass {m0:.12g} but the weight has mass {mw:.12g}; "
                         "normalise them to the same mass (mass is conserved, and the steady state "
                         "is the weight)")


def check_positive_scalar(value, name: str) -> float:
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return value
