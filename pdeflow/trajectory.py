"""What a run returns: output times, the recorded series, and how it was obtained."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .domains import Domain


@dataclass
class Trajectory:
    """Series recorded at times ``t``: ``data[name][k]`` is the value at ``t[k]``.

    Grid runs record ``rho`` (shape ``(len(t),) + domain.shape``), ``energy`` and
    ``mass``; particle runs record ``positions`` and their own scalars.  Every
    series is also an attribute (``traj.rho``).  ``stats`` holds the solver
    statistics (``nfev``, ``njev``, ``wall_time``, …) and ``status`` says whether
    the run completed; ``static`` holds time-independent arrays (e.g. the weight).

    Parameters
    ----------
    t : ndarray, shape (T,)
        Output times.
    data : dict of str to ndarray
        Series, each of shape ``(T, ...)``.
    domain : Domain, optional
        The grid (grid runs) or feature space (particle runs).
    model : str
        Name of the model that produced it (``"ufd"``, ``"varpro"``, …).
    params : dict
        The run's parameters.
    stats : dict
        Work counters and wall time.
    status : str
        ``complete``, ``running``, ``interrupted`` or ``failed: <message>``.
    static : dict of str to ndarray
        Time-independent arrays.
    """

    t: np.ndarray
    data: dict[str, np.ndarray]
    domain: Domain | None = None
    model: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    status: str = "complete"
    static: dict[str, np.ndarray] = field(default_factory=dict)

    def __getattr__(self, name: str) -> np.ndarray:
        data = self.__dict__.get("data", {})
        if name in data:
            return data[name]
        raise AttributeError(f"{type(self).__name__} has no series or attribute {name!r}")

    def __dir__(self):
        return list(super().__dir__()) + list(self.data)

    @property
    def nfev(self) -> int:
        """Right-hand-side evaluations."""
        return int(self.stats.get("nfev", 0))

    @property
    def njev(self) -> int:
        """Jacobian evaluations."""
        return int(self.stats.get("njev", 0))

    @property
    def wall_time(self) -> float:
        """Wall time of the run in seconds (NaN if unknown)."""
        return float(self.stats.get("wall_time", np.nan))

    def at(self, t: float) -> int:
        """Index of the saved time closest to ``t``."""
        return int(np.argmin(np.abs(self.t - t)))


class Recorder:
    """Collects outputs in memory and, if given a writer, streams them to disk as they come."""

    def __init__(self, writer=None):
        self.writer = writer
        self.times: list[float] = []
        self.series: dict[str, list[np.ndarray]] = {}

    def append(self, t: float, **values) -> None:
        self.times.append(float(t))
        for name, value in values.items():
            self.series.setdefault(name, []).append(np.array(value, copy=True))
        if self.writer is not None:
            self.writer.append(t, values)

    def close(self, status: str, stats: dict | None = None) -> None:
        if self.writer is not None:
            self.writer.close(status, stats or {})

    def trajectory(self, **kwargs) -> Trajectory:
        data = {name: np.asarray(vals) for name, vals in self.series.items()}
        return Trajectory(t=np.asarray(self.times), data=data, **kwargs)
