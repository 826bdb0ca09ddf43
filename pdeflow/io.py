"""HDF5 trajectories, written as they are computed and readable with plain h5py.

Layout (one file per run)::

    /t                 (T,)            output times
    /<series>          (T, ...)        e.g. rho (T, *grid shape), energy (T,), mass (T,)
    /grid/axis0 ...    (n_d,)          cell-centre coordinates (grid runs)
    /static/<name>     any             time-independent arrays, e.g. the UFD weight μ̄
    attributes of /    format = "pdeflow-trajectory", format_version, pdeflow_version,
                       model, status ("running", "complete" or "failed: ..."),
                       domain (JSON), params (JSON), stats (JSON, at the end), and
                       each scalar parameter as its own attribute.

Every dataset is extensible along its first axis and the file is flushed after
each output time, so a run that is interrupted keeps all it had saved.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .domains import Domain, domain_from_dict
from .trajectory import Trajectory

FORMAT = "pdeflow-trajectory"
FORMAT_VERSION = 1


def check_writable(path: str | os.PathLike) -> Path:
    """Raise ``OSError`` now, before any work, if ``path`` cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"output path {str(path)!r} is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"cannot write {str(path)!r}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise PermissionError(f"cannot write {str(path)!r}: permission denied")
    return path


def _json(obj: Any) -> str:
    def default(o):
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        return str(o)
    return json.dumps(obj, default=default)


def _saved_series(f: h5py.File) -> tuple[dict[str, h5py.Dataset], int]:
    """The recorded series of an open trajectory file and how many outputs all of them hold.

    An interrupted run may have written t one output ahead of a series: only the common
    part counts as saved.
    """
    series = {k: v for k, v in f.items() if isinstance(v, h5py.Dataset) and k != "t"}
    return series, min([f["t"].shape[0]] + [ds.shape[0] for ds in series.values()])


def as_saved(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` as they read back from a trajectory file (to compare a file with a new run)."""
    return json.loads(_json(params))


class TrajectoryWriter:
    """Streams a trajectory into an HDF5 file (see the module docstring for the layout)."""

    def __init__(self, path: str | os.PathLike, *, model: str, domain: Domain | None,
                 params: dict[str, Any], static: dict[str, np.ndarray] | None = None):
        from . import __version__

        self.path = check_writable(path)
        self._file = h5py.File(self.path, "w")
        attrs = self._file.attrs
        attrs["format"] = FORMAT
        attrs["format_version"] = FORMAT_VERSION
        attrs["pdeflow_version"] = __version__
        attrs["model"] = model
        attrs["status"] = "running"
        attrs["params"] = _json(params)
        attrs["domain"] = _json(domain.describe() if domain is not None else None)
        for key, value in params.items():
            if isinstance(value, (bool, int, float, str, np.number)) and key not in attrs:
                attrs[key] = value
        if domain is not None:
            grid = self._file.create_group("grid")
            for d, axis in enumerate(domain.axes):
                grid.create_dataset(f"axis{d}", data=axis)
        if static:
            group = self._file.create_group("static")
            for name, value in static.items():
                group.create_dataset(name, data=np.asarray(value))
        self._t = self._file.create_dataset("t", shape=(0,), maxshape=(None,), dtype="f8", chunks=(256,))
        self._series: dict[str, h5py.Dataset] = {}
        self._file.flush()

    @classmethod
    def reopen(cls, path: str | os.PathLike) -> "TrajectoryWriter":
        """Continue writing an existing trajectory file (to resume an interrupted run).

        Every series is cut back to the outputs all of them reached, so an output that was
        being written when the run stopped is dropped rather than left half-written.
        """
        self = cls.__new__(cls)
        self.path = check_writable(path)
        self._file = h5py.File(self.path, "a")
        if self._file.attrs.get("format") != FORMAT:
            self._file.close()
            raise ValueError(f"{str(path)!r} is not a pdeflow trajectory file")
        self._t = self._file["t"]
        self._series, n = _saved_series(self._file)
        for ds in [self._t, *self._series.values()]:
            ds.resize((n,) + ds.shape[1:])
        self._file.attrs["status"] = "running"
        self._file.flush()
        return self

    def append(self, t: float, values: dict[str, np.ndarray]) -> None:
        k = self._t.shape[0]
        self._t.resize((k + 1,))
        self._t[k] = t
        for name, value in values.items():
            value = np.asarray(value)
            ds = self._series.get(name)
            if ds is None:
                ds = self._file.create_dataset(name, shape=(0,) + value.shape,
                                               maxshape=(None,) + value.shape, dtype=value.dtype,
                                               chunks=(1,) + value.shape if value.ndim else (256,))
                self._series[name] = ds
            ds.resize((k + 1,) + value.shape)
            ds[k] = value
        self._file.flush()

    def write_checkpoint(self, step: int, arrays: dict[str, np.ndarray]) -> None:
        """Replace ``/checkpoint`` by what the run needs to continue exactly after output ``step``.

        Not a time series: only the latest is kept, with its step, and a resumed run uses it
        only if it belongs to the last saved output.
        """
        if "checkpoint" in self._file:
            del self._file["checkpoint"]
        group = self._file.create_group("checkpoint")
        group.attrs["step"] = int(step)
        for name, value in arrays.items():
            if value is not None:
                group.create_dataset(name, data=np.asarray(value))
        self._file.flush()

    def close(self, status: str, stats: dict[str, Any]) -> None:
        if self._file.id.valid:
            self._file.attrs["status"] = status
            self._file.attrs["stats"] = _json(stats)
            self._file.close()


def load_trajectory(path: str | os.PathLike) -> Trajectory:
    """Read a trajectory written by any pdeflow solver (complete, interrupted or still running).

    The file is opened without HDF5's lock so a run in progress can be watched; the writer
    flushes after every output, so what is read is every output saved so far.
    """
    with h5py.File(path, "r", locking=False) as f:
        if f.attrs.get("format") != FORMAT:
            raise ValueError(f"{str(path)!r} is not a pdeflow trajectory file")
        series, n = _saved_series(f)
        data = {k: ds[:n] for k, ds in series.items()}
        domain_spec = json.loads(f.attrs["domain"])
        return Trajectory(t=f["t"][:n], data=data,
                          domain=domain_from_dict(domain_spec) if domain_spec else None,
                          model=str(f.attrs.get("model", "")),
                          params=json.loads(f.attrs.get("params", "{}")),
                          stats=json.loads(f.attrs.get("stats", "{}")),
                          status=str(f.attrs.get("status", "")),
                          static={k: v[()] for k, v in f.get("static", {}).items()})


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The ``/checkpoint`` group of a trajectory file as ``{"step": k, name: array, ...}`` (empty if none)."""
    with h5py.File(path, "r", locking=False) as f:
        group = f.get("checkpoint")
        if not isinstance(group, h5py.Group) or "step" not in group.attrs:
            return {}
        out: dict[str, Any] = {"step": int(group.attrs["step"])}
        out.update({k: v[()] for k, v in group.items() if isinstance(v, h5py.Dataset)})
        return out
