"""Scalar arguments checked at the door: counts and real numbers, with one-line errors naming them.

numpy and Python quietly turn ``True`` into 1, ``64.7`` into 64 cells and ``"1e-3"`` into a
number in some paths and a TypeError deep inside in others; every public entry point goes
through these instead.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np


def as_count(value: Any, name: str, minimum: int = 0, maximum: int | None = None) -> int:
    """``value`` as an ``int`` count of at least ``minimum``, or a one-line ``ValueError`` naming ``name``.

    Integers (Python or numpy) and integral floats such as ``1024.0`` are counts; a
    non-integral float is refused rather than rounded, and so is a bool, which numpy and
    Python would otherwise quietly treat as 0 or 1.  A float beyond 2**53 is refused too:
    it is not an exact integer (``1e300`` steps would run for ever).
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer, got the boolean {value!r}")
    if isinstance(value, numbers.Integral):
        count = int(value)
    elif isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
        if abs(float(value)) > 2.0**53:
            raise ValueError(f"{name} must be an exact integer, got the float {value!r} (beyond 2**53 "
                             "a float is not an exact count; pass an int if this is meant)")
        count = int(value)
    else:
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if count < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {count}")
    if maximum is not None and count > maximum:
        raise ValueError(f"{name} = {count} is more than {maximum}: its arrays would not fit in memory")
    return count


def as_rng(rng: Any, name: str = "rng") -> np.random.Generator:
    """A numpy ``Generator`` from ``rng``: ``None``, a non-negative integer seed, a ``Generator``
    or a ``SeedSequence``; anything else (strings, floats, bools, negative seeds) is a one-line
    ``ValueError`` naming ``name``."""
    if rng is None or isinstance(rng, (np.random.Generator, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    if isinstance(rng, np.ndarray) and rng.ndim == 0:
        rng = rng.item()
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)):
        if rng < 0:
            raise ValueError(f"{name} must be a seed >= 0, got {rng}")
        return np.random.default_rng(int(rng))
    raise ValueError(f"{name} must be None, a non-negative integer seed or a numpy Generator, "
                     f"got {type(rng).__name__} {rng!r:.60}")


def as_flag(value: Any, name: str) -> bool:
    """``value`` as a ``bool`` if it is one (Python or numpy), else a one-line ``ValueError`` naming
    ``name``: the string ``"no"`` is true to Python, and ``overwrite="no"`` must not replace a file."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r:.60}")
    return bool(value)


def as_real(value: Any, name: str) -> float:
    """``value`` as a ``float``, or a one-line ``ValueError`` naming ``name`` (bools and complex refused).

    Finiteness is left to the caller: some quantities (γ = ∞) may be infinite.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    return float(value)
