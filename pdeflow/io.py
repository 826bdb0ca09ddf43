"""HDF5 trajectories, written as they are computed and readable with plain h5py.

Layout (one file per run)::

    /t                 (T,)            output times, strictly increasing
    /<series>          (T, ...)        e.g. rho (T, [S,] *grid shape), energy (T,), mass (T,)
    /grid/axis0 ...    (n_d,)          cell-centre coordinates (grid runs)
    /static/<name>     any             time-independent arrays, e.g. the UFD weight μ̄
    attributes of /    format = "pdeflow-trajectory", format_version (the integer 1),
                       pdeflow_version, model, status ("running", "complete",
                       "interrupted" or "failed: ..."), series (JSON list of the
                       series datasets), domain (JSON), params (JSON), stats (JSON,
                       at the end), and each scalar parameter as its own attribute.

Every dataset is extensible along its first axis and the file is flushed after
each output time, so a run that is interrupted keeps all it had saved.

Only the datasets named in ``series`` are series: anything else a user adds at the
root is ignored, never read as a series nor cut on resume.  Files written before
``series`` existed (same format version) are read through :data:`KNOWN_SERIES`.

Writing never truncates an existing file: a new trajectory is created exclusively,
and an existing one is replaced only with ``overwrite=True``, only if it is a pdeflow
trajectory, and only if no other process holds it (HDF5 file locking).
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
# The series the solvers write; how format-1 files without a ``series`` attribute are read.
KNOWN_SERIES = ("rho", "energy", "mass", "positions", "u", "risk", "residual")
# Series that are finite in every file pdeflow writes: a NaN there is corruption (or a broken
# run, which is refused when written), never a result to hand back silently.
FINITE_SERIES = ("rho", "energy", "mass", "risk", "positions")


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


def as_saved(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` as they read back from a trajectory file (to compare a file with a new run)."""
    return json.loads(_json(params))


# ---- existing files: what they are, who holds them ----------------------------------------

def is_trajectory(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an HDF5 file with ``format = "pdeflow-trajectory"`` (read without locking)."""
    path = Path(path)
    try:
        if not path.is_file() or not h5py.is_hdf5(path):
            return False
        with h5py.File(path, "r", locking=False) as f:
            return f.attrs.get("format") == FORMAT
    except OSError:
        return False


def _open_in_this_process(path: Path) -> bool:
    """Whether this process has ``path`` open through h5py (HDF5 locks do not see our own opens)."""
    for fid in h5py.h5f.get_obj_ids(types=h5py.h5f.OBJ_FILE):
        try:
            if os.path.samefile(os.fsdecode(fid.name), path):
                return True
        except OSError:
            continue
    return False


def _held_error(path: Path) -> OSError:
    return BlockingIOError(f"{str(path)!r} is held by another process (or still open in this one): "
                           "a run writing it, or a program reading it with HDF5 file locking; try again "
                           "when it is closed")


def _refuse_if_open_here(path: Path) -> None:
    # checked first: HDF5 would share our own open file instead of refusing it
    if _open_in_this_process(path):
        raise _held_error(path)


def _open_for_writing(path: Path) -> h5py.File:
    """``path`` opened ``r+`` with HDF5's file lock, so a file another process holds is refused."""
    _refuse_if_open_here(path)
    try:
        return h5py.File(path, "r+", locking=True)
    except BlockingIOError:
        raise _held_error(path) from None
    except OSError as err:
        if "lock" in str(err):
            raise _held_error(path) from None
        raise OSError(f"cannot open {str(path)!r} for writing: {str(err).splitlines()[0]}") from None


def prepare_store(path: str | os.PathLike, *, overwrite: bool = False,
                  how_to_overwrite: str = "pass overwrite=True") -> Path:
    """Check that a new trajectory may be written at ``path``; with ``overwrite``, remove the old one.

    Raises ``OSError`` if the path cannot be written; ``FileExistsError`` if something is
    there and is not a pdeflow trajectory (never replaced: delete it yourself), or is one and
    ``overwrite`` is false (``how_to_overwrite`` says how to ask for it); ``BlockingIOError``
    if it is a trajectory another process holds.  A replaced trajectory is unlinked while we
    hold its lock, so no other process can open it in between; a process that had it open
    keeps its own copy of the data rather than seeing it truncated.
    """
    path = check_writable(path)
    if not (path.exists() or path.is_symlink()):
        return path
    _refuse_if_open_here(path)
    if not is_trajectory(path):
        raise FileExistsError(f"{str(path)!r} exists and is not a pdeflow trajectory; refusing to "
                              "overwrite it (delete it yourself, or choose another path)")
    if not overwrite:
        raise FileExistsError(f"{str(path)!r} already holds a pdeflow trajectory; {how_to_overwrite} "
                              "to replace it, or delete it")
    with _open_for_writing(path):
        path.unlink()
    return path


def _create(path: Path) -> h5py.File:
    """A new HDF5 file at ``path``, created exclusively: an existing file is never truncated."""
    try:
        return h5py.File(path, "x", locking=True)
    except OSError as err:
        if path.exists():
            raise FileExistsError(f"{str(path)!r} was created by someone else while this run started; "
                                  "not overwriting it") from None
        raise OSError(f"cannot create {str(path)!r}: {str(err).splitlines()[0]}") from None


# ---- reading the layout ----------------------------------------------------------------------

def _check_version(f: h5py.File, path: str) -> None:
    if f.attrs.get("format") != FORMAT:
        raise ValueError(f"{path!r} is not a pdeflow trajectory file")
    version = f.attrs.get("format_version")
    integral = isinstance(version, (int, np.integer)) and not isinstance(version, (bool, np.bool_))
    if not integral or version != FORMAT_VERSION:
        raise ValueError(f"{path!r} has format_version {version!r}; this pdeflow reads format_version "
                         f"{FORMAT_VERSION} only")


def _series_names(f: h5py.File, path: str) -> list[str]:
    """The series the file declares (attribute ``series``), or, for files that predate it, the known ones."""
    if "series" not in f.attrs:
        return [name for name in KNOWN_SERIES if name in f]
    try:
        names = json.loads(f.attrs["series"])
    except (TypeError, ValueError):
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) and n and n != "t" for n in names):
        raise ValueError(f"{path!r}: attribute 'series' is not a JSON list of series names")
    return names


def _layout(f: h5py.File, path: str, *, resuming: bool = False) -> tuple[dict[str, h5py.Dataset], int]:
    """The series of an open trajectory file and how many outputs all of them hold.

    A run stopped while writing an output has ``/t`` (written first) one ahead of some
    series: that output does not count.  Any larger mismatch is not a stopped run but a
    damaged file, and is refused rather than cut down to the shortest series.  When
    ``resuming``, a series longer than ``/t`` is refused too (a reader tolerates it: the
    file may be growing while it is read).
    """
    _check_version(f, path)
    t = f.get("t")
    if not isinstance(t, h5py.Dataset) or t.ndim != 1:
        raise ValueError(f"{path!r} has no 1-D dataset /t of output times")
    series = {}
    for name in _series_names(f, path):
        ds = f.get(name)
        if ds is None:  # declared, but the run stopped before the dataset was made
            continue
        if not isinstance(ds, h5py.Dataset) or ds.ndim < 1:
            raise ValueError(f"{path!r}: series /{name} is not a dataset with a time axis")
        series[name] = ds
    n_t = t.shape[0]
    for name, ds in series.items():
        if ds.shape[0] < n_t - 1 or (resuming and ds.shape[0] > n_t):
            raise ValueError(f"{path!r} is inconsistent: /{name} holds {ds.shape[0]} outputs but /t "
                             f"holds {n_t}; it is not a stopped run, so nothing is cut")
    return series, min([n_t] + [ds.shape[0] for ds in series.values()])


def _check_finite(name: str, values: np.ndarray, path: str) -> None:
    if values.dtype.kind in "fc" and not np.all(np.isfinite(values)):
        k = int(np.argwhere(~np.isfinite(values))[0][0])
        raise ValueError(f"{path!r}: dataset /{name} holds non-finite values (first at output {k}); "
                         "the file is damaged")


def _json_attr(f: h5py.File, name: str, default: Any, path: str) -> Any:
    if name not in f.attrs:
        return default
    try:
        return json.loads(f.attrs[name])
    except (TypeError, ValueError):
        raise ValueError(f"{path!r}: attribute {name!r} is not valid JSON") from None


def _read_domain(f: h5py.File, path: str, data: dict[str, np.ndarray]) -> Domain | None:
    spec = _json_attr(f, "domain", None, path)
    if not spec:
        return None
    try:
        domain = domain_from_dict(spec)
    except ValueError as err:
        raise ValueError(f"{path!r}: attribute 'domain' does not describe a domain: {err}") from None
    rho = data.get("rho")
    # rho is (T, *layers, *grid): a COT run stores S layers of densities on one grid
    if rho is not None and (rho.ndim < 1 + domain.ndim or rho.shape[rho.ndim - domain.ndim:] != domain.shape):
        raise ValueError(f"{path!r}: /rho has shape {rho.shape[1:]} per output, which does not end "
                         f"with the domain's grid shape {domain.shape}")
    return domain


# ---- writing ---------------------------------------------------------------------------------

class TrajectoryWriter:
    """Streams a trajectory into an HDF5 file (see the module docstring for the layout).

    ``path`` must not exist, unless ``overwrite=True`` and it is a pdeflow trajectory that no
    other process holds (see :func:`prepare_store`); otherwise ``FileExistsError`` (or
    ``BlockingIOError`` for a held file) is raised before anything is written.
    """

    def __init__(self, path: str | os.PathLike, *, model: str, domain: Domain | None,
                 params: dict[str, Any], static: dict[str, np.ndarray] | None = None,
                 overwrite: bool = False):
        self.path = prepare_store(path, overwrite=overwrite)
        self._file = _create(self.path)
        try:
            self._write_header(model, domain, params, static)
        except BaseException:
            # our own half-made file: remove it rather than leave a trajectory that is not one
            self._file.close()
            self.path.unlink(missing_ok=True)
            raise
        self._t = self._file.create_dataset("t", shape=(0,), maxshape=(None,), dtype="f8", chunks=(256,))
        self._series: dict[str, h5py.Dataset] = {}
        self._last_t = -np.inf
        self._file.flush()

    def _write_header(self, model: str, domain: Domain | None, params: dict[str, Any],
                      static: dict[str, np.ndarray] | None) -> None:
        from . import __version__

        attrs = self._file.attrs
        attrs["format"] = FORMAT
        attrs["format_version"] = FORMAT_VERSION
        attrs["pdeflow_version"] = __version__
        attrs["model"] = model
        attrs["status"] = "running"
        attrs["series"] = "[]"
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

    @classmethod
    def reopen(cls, path: str | os.PathLike) -> "TrajectoryWriter":
        """Continue writing an existing trajectory file (to resume an interrupted run).

        Only the output that was being written when the run stopped is dropped (``/t`` one
        ahead of some series); a file whose series differ more is refused, not cut.  A file
        another process holds raises ``BlockingIOError``.
        """
        self = cls.__new__(cls)
        self.path = check_writable(path)
        _refuse_if_open_here(self.path)
        if not is_trajectory(self.path):
            raise ValueError(f"{str(path)!r} is not a pdeflow trajectory file")
        self._file = _open_for_writing(self.path)
        try:
            self._series, n = _layout(self._file, str(path), resuming=True)
        except BaseException:
            self._file.close()
            raise
        self._t = self._file["t"]
        for ds in [self._t, *self._series.values()]:
            ds.resize((n,) + ds.shape[1:])
        self._last_t = float(self._t[n - 1]) if n else -np.inf
        self._file.attrs["series"] = json.dumps(list(self._series))
        self._file.attrs["status"] = "running"
        self._file.flush()
        return self

    def _check_output(self, t: float, values: dict[str, np.ndarray]) -> None:
        """Refuse, before writing anything, an output the reader would reject as damaged."""
        if not np.isfinite(t) or t <= self._last_t:
            raise ValueError(f"output time {t!r} must be finite and after the last saved time "
                             f"{self._last_t!r} ({self.path})")
        missing = sorted(set(self._series) - set(values))
        if missing:
            # a series left behind would no longer line up with /t
            raise ValueError(f"output at t = {t:g} lacks the series {missing} recorded so far ({self.path})")
        for name, value in values.items():
            if name == "t" or (name not in self._series and name in self._file):
                raise ValueError(f"cannot record a series named {name!r}: the name is taken in {self.path}")
            if name in FINITE_SERIES and not np.all(np.isfinite(value)):
                raise ValueError(f"{name} is not finite at t = {t:g}; not saving it to {self.path}")

    def append(self, t: float, values: dict[str, np.ndarray]) -> None:
        t = float(t)
        values = {name: np.asarray(value) for name, value in values.items()}
        self._check_output(t, values)
        k = self._t.shape[0]
        self._t.resize((k + 1,))
        self._t[k] = t
        for name, value in values.items():
            ds = self._series.get(name)
            if ds is None:
                # declared before it is made: a run killed in between leaves a declared series
                # that does not exist yet (read as absent, made on resume), never an undeclared one
                self._file.attrs["series"] = json.dumps([*self._series, name])
                ds = self._file.create_dataset(name, shape=(0,) + value.shape,
                                               maxshape=(None,) + value.shape, dtype=value.dtype,
                                               chunks=(1,) + value.shape if value.ndim else (256,))
                self._series[name] = ds
            ds.resize((k + 1,) + value.shape)
            ds[k] = value
        self._last_t = t
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


# ---- reading ---------------------------------------------------------------------------------

def load_trajectory(path: str | os.PathLike) -> Trajectory:
    """Read a trajectory written by any pdeflow solver (complete, interrupted or still running).

    The file is opened without HDF5's lock so a run in progress can be watched; the writer
    flushes after every output, so what is read is every output saved so far.

    Datasets not declared as series are ignored.

    Parameters
    ----------
    path : str or path-like
        An HDF5 file written by pdeflow (see :mod:`pdeflow.io` for the layout).

    Returns
    -------
    Trajectory
        Times ``t`` (T,), every series (``rho`` ``(T, *grid shape)``, ``energy``, ``risk``,
        ``mass``, ``positions``, …), the domain, model name, parameters, statistics, status
        and static arrays.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not a pdeflow trajectory of a known ``format_version``, or damaged: series lengths
        that no stopped run leaves, ``/t`` not strictly increasing, non-finite values where
        the format has none (``t``, ``rho``, ``energy``, ``mass``, ``risk``, ``positions``),
        or a domain that does not match the grid of ``rho``.
    """
    name = str(path)
    if not Path(path).is_file():
        raise FileNotFoundError(f"no trajectory file {name!r}")
    if not h5py.is_hdf5(path):
        raise ValueError(f"{name!r} is not a pdeflow trajectory file (not HDF5)")
    with h5py.File(path, "r", locking=False) as f:
        series, n = _layout(f, name)
        t = f["t"][:n]
        _check_finite("t", t, name)
        if np.any(np.diff(t) <= 0):
            k = int(np.argmax(np.diff(t) <= 0)) + 1
            raise ValueError(f"{name!r}: dataset /t is not strictly increasing (output {k}); the file "
                             "is damaged")
        data = {k: ds[:n] for k, ds in series.items()}
        for key in FINITE_SERIES:
            if key in data:
                _check_finite(key, data[key], name)
        static = f.get("static", {})
        return Trajectory(t=t, data=data, domain=_read_domain(f, name, data),
                          model=str(f.attrs.get("model", "")),
                          params=_json_attr(f, "params", {}, name),
                          stats=_json_attr(f, "stats", {}, name),
                          status=str(f.attrs.get("status", "")),
                          static={k: v[()] for k, v in static.items() if isinstance(v, h5py.Dataset)})


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The ``/checkpoint`` group of a trajectory file as ``{"step": k, name: array, ...}`` (empty if none)."""
    with h5py.File(path, "r", locking=False) as f:
        group = f.get("checkpoint")
        if not isinstance(group, h5py.Group) or "step" not in group.attrs:
            return {}
        out: dict[str, Any] = {"step": int(group.attrs["step"])}
        out.update({k: v[()] for k, v in group.items() if isinstance(v, h5py.Dataset)})
        return out
