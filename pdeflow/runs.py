"""The lifecycle of one run, grid or particle: store, record, status, statistics, errors.

Every solver records its outputs through a :class:`Run`::

    with Run(store, model="ufd", domain=domain, params=params, static=static) as run:
        ...
        run.record(t, rho=rho, energy=energy, mass=mass)
        run.stats.update(nfev=...)
    traj = run.trajectory()

On leaving the ``with`` block the status is settled once, in one place: ``complete``;
``failed: <message>`` after an :class:`~pdeflow.IntegrationError` (or any other error);
``interrupted`` after Ctrl-C.  The exception still propagates, and every output recorded
before it stays in memory and in the HDF5 file, which is closed with the status and
statistics.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from .domains import Domain
from .trajectory import Recorder, Trajectory


class Run:
    """One run's outputs, in memory and (if ``store`` is given) streamed to HDF5.

    Parameters
    ----------
    store : path or None
        HDF5 file to write; created before any work, so a bad path fails at once.
    model : str
        Model name stored in the file and the trajectory.
    domain : Domain or None
        Grid (grid runs) or feature space (particle runs).
    params : dict
        Run parameters (stored as JSON and as attributes).
    static : dict of arrays, optional
        Time-independent arrays, stored under ``/static`` and returned in the trajectory.
    writer : TrajectoryWriter, optional
        An already open writer (e.g. reopened to resume); ``store`` is then ignored.
    overwrite : bool
        Passed to :class:`~pdeflow.io.TrajectoryWriter` when ``store`` exists.
    """

    def __init__(self, store: str | os.PathLike | None, *, model: str, domain: Domain | None,
                 params: dict[str, Any], static: dict[str, np.ndarray] | None = None,
                 writer=None, overwrite: bool = False):
        from .io import TrajectoryWriter

        self.model, self.domain, self.params = model, domain, params
        self.static = dict(static or {})
        if writer is None and store is not None:
            writer = TrajectoryWriter(store, model=model, domain=domain, params=params,
                                      static=self.static, overwrite=overwrite)
        self.recorder = Recorder(writer)
        self.stats: dict[str, Any] = {}
        self.status = "running"
        self._start = time.perf_counter()

    @property
    def n_outputs(self) -> int:
        return len(self.recorder.times)

    def restore(self, previous: Trajectory) -> None:
        """Start from the outputs of an earlier, interrupted run (already in the writer's file)."""
        self.recorder.times = list(previous.t)
        self.recorder.series = {k: list(v) for k, v in previous.data.items()}

    def record(self, t: float, **values) -> None:
        """Append one output (copies the values; streams them to the file and flushes it)."""
        self.recorder.append(t, **values)

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.status = "complete"
        elif issubclass(exc_type, KeyboardInterrupt):
            self.status = "interrupted"
        else:
            message = str(exc) if exc_type.__name__ == "IntegrationError" else f"{exc_type.__name__}: {exc}"
            self.status = f"failed: {message}"
        self.stats.setdefault("wall_time", time.perf_counter() - self._start)
        self.recorder.close(self.status, self.stats)

    def trajectory(self) -> Trajectory:
        """What the run recorded, as a :class:`~pdeflow.Trajectory`."""
        return self.recorder.trajectory(domain=self.domain, model=self.model, params=self.params,
                                        stats=self.stats, status=self.status, static=self.static)
