"""Cell-centred uniform grids on the feature spaces of SPEC.md §1.

Every domain is a product of 1-D axes, each either periodic (circle, torus) or
closed with a no-flux boundary (interval, box).  A density lives on the grid as
an array of *cell averages* of shape ``domain.shape``; its mass is
``density.sum() * cell_volume``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

__all__ = ["Domain", "Circle", "Torus", "Interval", "Box"]


@dataclass(frozen=True)
class Domain:
    """A product grid ``[lo_0, hi_0) x ... `` with ``shape[d]`` cells on axis ``d``.

    Prefer the named constructors :class:`Circle`, :class:`Torus`,
    :class:`Interval` and :class:`Box`.
    """

    lower: tuple[float, ...]
    upper: tuple[float, ...]
    shape: tuple[int, ...]
    periodic: tuple[bool, ...]
    kind: str = "box"

    def __post_init__(self) -> None:
        dims = {len(self.lower), len(self.upper), len(self.shape), len(self.periodic)}
        if len(dims) != 1:
            raise ValueError("lower, upper, shape and periodic must have one entry per axis")
        if self.ndim not in (1, 2):
            raise ValueError(f"only 1-D and 2-D domains are supported, got {self.ndim}-D")
        for n in self.shape:
            if int(n) != n or n < 3:
                raise ValueError(f"each axis needs an integer number of cells >= 3, got {n}")
        for lo, hi in zip(self.lower, self.upper):
            if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
                raise ValueError(f"axis bounds must be finite with upper > lower, got [{lo}, {hi}]")

    # ---- geometry -------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def lengths(self) -> tuple[float, ...]:
        return tuple(hi - lo for lo, hi in zip(self.lower, self.upper))

    @property
    def spacing(self) -> tuple[float, ...]:
        """Cell widths ``h_d`` per axis."""
        return tuple(L / n for L, n in zip(self.lengths, self.shape))

    @property
    def cell_volume(self) -> float:
        return float(np.prod(self.spacing))

    @property
    def volume(self) -> float:
        return float(np.prod(self.lengths))

    @property
    def axes(self) -> tuple[np.ndarray, ...]:
        """Cell-centre coordinates, one 1-D array per axis."""
        return tuple(lo + (np.arange(n) + 0.5) * h
                     for lo, n, h in zip(self.lower, self.shape, self.spacing))

    @property
    def edges(self) -> tuple[np.ndarray, ...]:
        """Cell-face coordinates (``n + 1`` per axis)."""
        return tuple(np.linspace(lo, hi, n + 1)
                     for lo, hi, n in zip(self.lower, self.upper, self.shape))

    def mesh(self) -> tuple[np.ndarray, ...]:
        """Cell-centre coordinates broadcast to ``shape`` (``indexing='ij'``)."""
        return tuple(np.meshgrid(*self.axes, indexing="ij"))

    def integrate(self, density: np.ndarray) -> float | np.ndarray:
        """Midpoint-rule integral ``sum(density) * cell_volume`` over the trailing grid axes.

        Exact for cell averages; leading axes (e.g. time) are kept.
        """
        density = np.asarray(density, dtype=float)
        if density.shape[density.ndim - self.ndim:] != self.shape:
            raise ValueError(f"density of shape {density.shape} does not end with the grid "
                             f"shape {self.shape}")
        axes = tuple(range(density.ndim - self.ndim, density.ndim))
        return density.sum(axis=axes) * self.cell_volume

    def evaluate(self, field: np.ndarray | Callable[..., np.ndarray] | float,
                 name: str = "field") -> np.ndarray:
        """Return ``field`` as an array of shape ``self.shape``.

        A callable is evaluated at the cell centres, ``field(*coordinates)``; a scalar
        is broadcast.  Shapes are checked, never silently broadcast.
        """
        if callable(field):
            values = np.asarray(field(*self.mesh()), dtype=float)
            if values.shape != self.shape:
                values = np.broadcast_to(values, self.shape).copy()
        else:
            values = np.asarray(field, dtype=float)
            if values.ndim == 0:
                values = np.full(self.shape, float(values))
            elif values.shape != self.shape:
                raise ValueError(f"{name} has shape {values.shape}, the grid has shape {self.shape}")
        return values

    def wrap(self, points: np.ndarray) -> np.ndarray:
        """Map points back into the domain: periodic axes wrap, closed axes clip."""
        points = np.array(points, dtype=float, copy=True)
        single = points.ndim == 1 and self.ndim > 1
        pts = points.reshape(-1, self.ndim) if self.ndim > 1 else points
        for d, (lo, hi, per) in enumerate(zip(self.lower, self.upper, self.periodic)):
            col = pts[:, d] if self.ndim > 1 else pts
            if per:
                col[...] = lo + np.mod(col - lo, hi - lo)
            else:
                np.clip(col, lo, hi, out=col)
        return pts.reshape(points.shape) if not single else pts[0]

    def describe(self) -> dict:
        """JSON-friendly description, enough to rebuild the domain with :func:`domain_from_dict`."""
        return {"kind": self.kind, "lower": list(self.lower), "upper": list(self.upper),
                "shape": list(self.shape), "periodic": list(self.periodic)}


def Circle(n: int) -> Domain:
    """The circle ℝ/2πℤ, angles in [0, 2π), ``n`` cells, periodic (SPEC §1)."""
    return Domain((0.0,), (2 * np.pi,), (int(n),), (True,), kind="circle")


def Torus(shape: int | Sequence[int], length: float = 4.0,
          origin: float | None = None) -> Domain:
    """The flat torus ℝⁿ/Lℤⁿ, n = 1 or 2, cells of ``[origin, origin + L)`` per axis.

    ``origin`` defaults to ``-L/2``, i.e. coordinates in [−L/2, L/2) as in the
    thesis' torus ℝ²/4ℤ² (SPEC §2).
    """
    shape = (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)
    length = float(length)
    lo = -length / 2 if origin is None else float(origin)
    k = len(shape)
    return Domain((lo,) * k, (lo + length,) * k, shape, (True,) * k, kind="torus")


def Interval(a: float, b: float, n: int) -> Domain:
    """The interval [a, b] with ``n`` cells and a no-flux boundary (SPEC §1)."""
    return Domain((float(a),), (float(b),), (int(n),), (False,), kind="interval")


def Box(x_range: tuple[float, float], y_range: tuple[float, float],
        shape: Sequence[int]) -> Domain:
    """The rectangle [a₁,b₁]×[a₂,b₂] with ``shape`` cells and a no-flux boundary."""
    shape = tuple(int(s) for s in shape)
    if len(shape) != 2:
        raise ValueError(f"Box needs a 2-D shape, got {shape}")
    return Domain((float(x_range[0]), float(y_range[0])), (float(x_range[1]), float(y_range[1])),
                  shape, (False, False), kind="box")


def domain_from_dict(spec: dict) -> Domain:
    """Inverse of :meth:`Domain.describe`."""
    return Domain(tuple(spec["lower"]), tuple(spec["upper"]), tuple(int(s) for s in spec["shape"]),
                  tuple(bool(p) for p in spec["periodic"]), kind=str(spec.get("kind", "box")))
