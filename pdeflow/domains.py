"""Cell-centred uniform grids on the feature spaces of docs: theory/driver.

Every domain is a product of 1-D axes, each either periodic (circle, torus) or
closed with a no-flux boundary (interval, box).  A density lives on the grid as
an array of *cell averages* of shape ``domain.shape``; its mass is
``density.sum() * cell_volume``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .scalars import as_count, as_real

__all__ = ["Domain", "Circle", "Torus", "Interval", "Box"]

#: Most cells a grid may have: its state, Jacobian and outputs are several arrays of this
#: size (2**27 cells are 1 GiB per float64 array); beyond, they would not fit in memory.
MAX_CELLS = 2**27


def _infer_kind(periodic: tuple[bool, ...]) -> str | None:
    """The kind of a domain built without one: all periodic is a torus, all closed an interval or box."""
    if all(periodic):
        return "torus"
    if not any(periodic):
        return "interval" if len(periodic) == 1 else "box"
    return None


def _check_circle(d: "Domain") -> str | None:
    if d.ndim != 1 or not d.periodic[0]:
        return "one periodic axis"
    if d.lower[0] != 0.0 or not math.isclose(d.upper[0], 2 * np.pi, rel_tol=1e-12):
        return "the axis [0, 2π)"
    return None


def _check_torus(d: "Domain") -> str | None:
    if not all(d.periodic):
        return "every axis periodic"
    if not all(math.isclose(L, d.lengths[0], rel_tol=1e-12) for L in d.lengths):
        # the torus metrics and the teacher use one period for every axis
        return "the same period on every axis"
    return None


def _check_interval(d: "Domain") -> str | None:
    return "one closed (non-periodic) axis" if d.ndim != 1 or d.periodic[0] else None


def _check_box(d: "Domain") -> str | None:
    return "two closed (non-periodic) axes" if d.ndim != 2 or any(d.periodic) else None


# What each kind of domain is; metrics, teachers and plots rely on the kind, so it must
# match the geometry (a "circle" on [0, 1] would get the circle's teacher and distances).
KIND_CHECKS: dict[str, Callable[["Domain"], str | None]] = {
    "circle": _check_circle, "torus": _check_torus, "interval": _check_interval, "box": _check_box,
}


@dataclass(frozen=True)
class Domain:
    """A uniform cell-centred grid on a product of intervals, each periodic or closed.

    The set is ``[lower[0], upper[0]) × …`` with ``shape[d]`` cells on axis ``d``; a
    density on it is an array of cell averages of shape ``shape``.  Prefer the named
    constructors :func:`Circle`, :func:`Torus`, :func:`Interval` and :func:`Box`.

    Parameters
    ----------
    lower, upper : tuple of float, one per axis
        Bounds of each axis, ``upper > lower``, finite.
    shape : tuple of int, one per axis
        Cells per axis, each at least 3 (1-D and 2-D grids).
    periodic : tuple of bool, one per axis
        Periodic (circle, torus) or closed with a no-flux boundary (interval, box).
    kind : {"circle", "torus", "interval", "box"} or None
        Name of the feature space; ``None`` infers it from ``periodic``.  A kind must match
        the geometry (a circle is one periodic axis [0, 2π)).

    Raises
    ------
    ValueError
        Inconsistent or non-integral sizes, bad bounds, or a kind that contradicts them.
    """

    lower: tuple[float, ...]
    upper: tuple[float, ...]
    shape: tuple[int, ...]
    periodic: tuple[bool, ...]
    kind: str | None = None

    def __post_init__(self) -> None:
        fields = {}
        for name in ("lower", "upper", "shape", "periodic"):
            value = getattr(self, name)
            if isinstance(value, (str, bytes)) or np.ndim(value) != 1:
                raise ValueError(f"Domain {name} must be a sequence with one entry per axis, got {value!r}")
            fields[name] = tuple(value)
        if len({len(v) for v in fields.values()}) != 1:
            raise ValueError("lower, upper, shape and periodic must have one entry per axis")
        if len(fields["shape"]) not in (1, 2):
            raise ValueError(f"only 1-D and 2-D domains are supported, got {len(fields['shape'])}-D")
        # normalise once, so equal domains compare equal whatever number types built them
        set_ = object.__setattr__
        set_(self, "shape", tuple(as_count(n, f"shape[{d}] (cells on axis {d})", minimum=3)
                                  for d, n in enumerate(fields["shape"])))
        set_(self, "lower", tuple(as_real(v, f"lower[{d}]") for d, v in enumerate(fields["lower"])))
        set_(self, "upper", tuple(as_real(v, f"upper[{d}]") for d, v in enumerate(fields["upper"])))
        for d, p in enumerate(fields["periodic"]):
            if not isinstance(p, (bool, np.bool_)):
                raise ValueError(f"periodic[{d}] must be True or False, got {p!r}")
        set_(self, "periodic", tuple(bool(p) for p in fields["periodic"]))
        for lo, hi in zip(self.lower, self.upper):
            if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
                raise ValueError(f"axis bounds must be finite with upper > lower, got [{lo}, {hi}]")
        size = math.prod(self.shape)
        if size > MAX_CELLS:
            raise ValueError(f"a grid of shape {self.shape} has {size} cells, more than {MAX_CELLS}: "
                             "its arrays would not fit in memory")
        with np.errstate(over="ignore", under="ignore"):
            spacing, volume = self.spacing, math.prod(self.lengths)
            cell_volume = math.prod(spacing)
        if not all(np.isfinite(L) for L in self.lengths) or not np.isfinite(volume):
            raise ValueError(f"a domain of bounds {list(zip(self.lower, self.upper))} has an infinite "
                             "length or volume (the floats overflow); rescale the coordinates")
        if not all(h > 0 for h in spacing) or not cell_volume > 0:
            raise ValueError(f"a grid of shape {self.shape} on bounds {list(zip(self.lower, self.upper))} "
                             "has cells of zero width or volume (the floats underflow); rescale the coordinates")
        self._check_kind()

    def _check_kind(self) -> None:
        kind = _infer_kind(self.periodic) if self.kind is None else self.kind
        if kind is None:
            raise ValueError("a domain with both periodic and closed axes has no kind; "
                             f"use one of {sorted(KIND_CHECKS)}")
        if not isinstance(kind, str) or kind not in KIND_CHECKS:
            raise ValueError(f"unknown domain kind {kind!r}; use circle, torus, interval or box")
        needs = KIND_CHECKS[kind](self)
        if needs is not None:
            raise ValueError(f"a {kind} domain needs {needs}; got lower={self.lower}, upper={self.upper}, "
                             f"periodic={self.periodic}")
        object.__setattr__(self, "kind", kind)

    # ---- geometry -------------------------------------------------------
    @property
    def ndim(self) -> int:
        """Number of axes (1 or 2)."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """Number of cells."""
        return int(np.prod(self.shape))

    @property
    def lengths(self) -> tuple[float, ...]:
        """Length (period, for periodic axes) of each axis."""
        return tuple(hi - lo for lo, hi in zip(self.lower, self.upper))

    @property
    def spacing(self) -> tuple[float, ...]:
        """Cell widths ``h_d`` per axis."""
        return tuple(L / n for L, n in zip(self.lengths, self.shape))

    @property
    def cell_volume(self) -> float:
        """Volume (length, area) of one cell."""
        return float(np.prod(self.spacing))

    @property
    def volume(self) -> float:
        """Volume (length, area) of the whole domain."""
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
        is broadcast.  Anything else must have exactly the grid shape: a partial shape
        such as ``(n_y,)`` on a 2-D grid is refused, not broadcast along whichever axis
        numpy picks.  Complex or non-numeric values raise ``ValueError`` naming ``name``.
        """
        given = "returned" if callable(field) else "has"
        values = _real_array(field(*self.mesh()) if callable(field) else field, name)
        if values.ndim == 0:
            return np.full(self.shape, float(values))
        if values.shape != self.shape:
            raise ValueError(f"{name} {given} shape {values.shape}; expected a scalar or the grid "
                             f"shape {self.shape}")
        return values

    def wrap(self, points: np.ndarray) -> np.ndarray:
        """Map points back into the domain: periodic axes wrap, closed axes clip.

        Raises ``ValueError`` for points that are not finite (NaN has no place to go).
        """
        points = _real_array(points, "points").copy()
        if not np.all(np.isfinite(points)):
            k = int(np.flatnonzero(~np.isfinite(points.ravel()))[0])
            raise ValueError(f"points to wrap into the {self.kind} must be finite; entry {k} is "
                             f"{float(points.ravel()[k])!r}")
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


def _real_array(values: Any, name: str) -> np.ndarray:
    """``values`` as a float array; complex (even with zero imaginary part) and non-numbers refused."""
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as err:  # e.g. ragged nested lists
        raise ValueError(f"{name} is not a numeric array ({type(err).__name__} converting it)") from None
    if array.dtype.kind == "c":
        raise ValueError(f"{name} is complex-valued; pass its real part explicitly if that is meant")
    if array.dtype.kind in "iuf":
        return array.astype(float)
    if array.dtype.kind == "O":
        try:
            return _real_array(array.astype(float), name)
        except (TypeError, ValueError):
            pass
    raise ValueError(f"{name} must be real numbers, got {array.dtype} values")


def Circle(n: int) -> Domain:
    """The circle ℝ/2πℤ with angles in [0, 2π), periodic (feature space of the ReLU features).

    Parameters
    ----------
    n : int
        Number of cells, at least 3 (an integral value; 3.9 is refused, not rounded).

    Returns
    -------
    Domain
        The grid, ``kind = "circle"``, cell width 2π/n.
    """
    return Domain((0.0,), (2 * np.pi,), (as_count(n, "n", minimum=3),), (True,), kind="circle")


def Torus(shape: int | Sequence[int], length: float = 4.0,
          origin: float | None = None) -> Domain:
    """The flat torus ℝⁿ/Lℤⁿ, n = 1 or 2, periodic on every axis.

    Parameters
    ----------
    shape : int or sequence of int
        Cells per axis (an int gives a 1-D torus), each at least 3.
    length : float
        Period L of every axis (thesis: 4).
    origin : float, optional
        Lower corner of the cells ``[origin, origin + L)``; default ``-L/2``, coordinates in
        [−L/2, L/2) as in the thesis' torus ℝ²/4ℤ² (Appendix III.B).

    Returns
    -------
    Domain
        The grid, ``kind = "torus"``.
    """
    if np.ndim(shape) == 0:
        shape = (as_count(shape, "shape", minimum=3),)
    else:
        shape = tuple(as_count(s, f"shape[{d}]", minimum=3) for d, s in enumerate(shape))
    length = as_real(length, "length")
    if not (np.isfinite(length) and length > 0):
        raise ValueError(f"length must be a positive finite number, got {length}")
    lo = -length / 2 if origin is None else as_real(origin, "origin")
    if not np.isfinite(lo):
        raise ValueError(f"origin must be a finite number, got {lo}")
    if not np.isfinite(lo + length):
        raise ValueError(f"origin + length overflows ({lo} + {length}); choose a smaller origin or length")
    k = len(shape)
    return Domain((lo,) * k, (lo + length,) * k, shape, (True,) * k, kind="torus")


def Interval(a: float, b: float, n: int) -> Domain:
    """The interval [a, b] with a no-flux boundary.

    Parameters
    ----------
    a, b : float
        End points, ``a < b``.
    n : int
        Number of cells, at least 3.

    Returns
    -------
    Domain
        The grid, ``kind = "interval"``.
    """
    return Domain((as_real(a, "a"),), (as_real(b, "b"),), (as_count(n, "n", minimum=3),), (False,),
                  kind="interval")


def _range(value: Any, name: str) -> tuple[float, float]:
    """A ``(lower, upper)`` pair: exactly two real entries (a third would be silently ignored)."""
    if isinstance(value, (str, bytes)) or np.ndim(value) != 1 or len(value) != 2:
        raise ValueError(f"{name} must be a pair (lower, upper), got {value!r}")
    return as_real(value[0], f"{name}[0]"), as_real(value[1], f"{name}[1]")


def Box(x_range: tuple[float, float], y_range: tuple[float, float],
        shape: Sequence[int]) -> Domain:
    """The rectangle [a₁, b₁] × [a₂, b₂] with a no-flux boundary.

    Parameters
    ----------
    x_range, y_range : pair of float
        ``(a₁, b₁)`` and ``(a₂, b₂)``, exactly two entries each.
    shape : pair of int
        Cells along x and y, each at least 3.

    Returns
    -------
    Domain
        The grid, ``kind = "box"``.
    """
    if isinstance(shape, (str, bytes)) or np.ndim(shape) != 1 or len(shape) != 2:
        raise ValueError(f"Box needs a 2-D shape (n_x, n_y), got {shape!r}")
    shape = tuple(as_count(s, f"shape[{d}]", minimum=3) for d, s in enumerate(shape))
    (x0, x1), (y0, y1) = _range(x_range, "x_range"), _range(y_range, "y_range")
    return Domain((x0, y0), (x1, y1), shape, (False, False), kind="box")


def check_domain(domain: Any, name: str = "domain") -> Domain:
    """``domain`` if it is a :class:`Domain`, else a one-line ``ValueError`` naming ``name``."""
    if not isinstance(domain, Domain):
        raise ValueError(f"{name} must be a pdeflow Domain (pf.Circle, pf.Torus, pf.Interval, pf.Box), "
                         f"got {type(domain).__name__} {domain!r:.60}")
    return domain


def domain_from_dict(spec: dict) -> Domain:
    """Inverse of :meth:`Domain.describe`, with the same checks as building the domain directly."""
    if not isinstance(spec, dict):
        raise ValueError(f"a domain description must be a dict, got {type(spec).__name__}")
    missing = [k for k in ("lower", "upper", "shape", "periodic") if k not in spec]
    if missing:
        raise ValueError(f"domain description lacks {missing}")
    return Domain(spec["lower"], spec["upper"], spec["shape"], spec["periodic"], kind=spec.get("kind"))
