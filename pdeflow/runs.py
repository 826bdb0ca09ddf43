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


def previous_run(store, model: str, params: dict, static: dict, t_eval: np.ndarray,
                 ignored: tuple[str, ...] = ("t_end",)) -> Trajectory | None:
    """The complete run in ``store`` if it is this one; ``None`` if it is this one, unfinished.

    For ``resume``: "this one" is the same model, parameters (those named in ``ignored``
    aside; the horizon, since an unfinished run is solved again from its start anyway) and
    static data (e.g. the start ``rho0`` or ``theta0``); a complete run must also have the
    same output times.  Raises ValueError if ``store`` holds another run: resuming must never
    replace it.

    Parameters
    ----------
    store : path
        An existing pdeflow trajectory file.
    model : str
        The model name the run records.
    params, static : dict
        The run's parameters and static arrays, as it would store them.
    t_eval : ndarray, shape (T,)
        The output times.
    ignored : tuple of str
        Parameters that may differ.

    Returns
    -------
    Trajectory or None
    """
    from .io import as_saved, load_trajectory   # io reads trajectories; runs must not need it to write one

    previous = load_trajectory(store)
    saved = dict(previous.static)
    if "rho0" in static and "rho0" not in saved:
        # grid files written before rho0 was stored: their first output is the start, if at t = 0
        if previous.t.size and previous.t[0] == 0 and "rho" in previous.data:
            saved["rho0"] = previous.data["rho"][0]
        else:
            raise ValueError(f"cannot resume {str(store)!r}: it does not record the initial density, so "
                             "it cannot be told to be this run; choose another store or delete it")
    ours = {k: v for k, v in as_saved(params).items() if k not in ignored}
    theirs = {k: v for k, v in previous.params.items() if k not in ignored}
    if previous.model != model or theirs != ours:
        raise ValueError(f"cannot resume {str(store)!r}: it holds a {previous.model} run with "
                         f"parameters {previous.params}, not this {model} run")
    differ = sorted(set(saved) ^ set(static)) or \
        [k for k, v in static.items() if not np.array_equal(saved[k], v)]
    if differ:
        raise ValueError(f"cannot resume {str(store)!r}: it holds a run with other "
                         f"{', '.join(differ)} (e.g. another start)")
    if previous.status == "complete":
        if np.array_equal(previous.t, t_eval):
            return previous
        raise ValueError(f"cannot resume {str(store)!r}: it holds a complete run of this problem with "
                         f"other output times ({previous.t.size} in [{previous.t[0]:g}, {previous.t[-1]:g}], "
                         f"not these t_eval {t_eval.size} in [{t_eval[0]:g}, {t_eval[-1]:g}]); it is "
                         "never replaced: choose another store or delete it")
    return None
