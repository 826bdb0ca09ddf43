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

import fcntl
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


def check_path(path: Any, name: str = "store") -> Path:
    """``path`` as a :class:`~pathlib.Path` if it is a str or os.PathLike naming a file, else a
    one-line ``ValueError`` naming ``name`` (bytes, numbers, None, lists, NUL bytes, '')."""
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"{name} must be a file path (str or os.PathLike), got {type(path).__name__} "
                         f"{path!r:.60}")
    text = os.fspath(path)
    if not isinstance(text, str):
        raise ValueError(f"{name} must be a str path, got the {type(text).__name__} path {text!r:.60}")
    if "\0" in text:
        raise ValueError(f"{name} path {text!r:.80} contains a NUL byte")
    if not text:
        raise ValueError(f"{name} must be a file path, got ''")
    return Path(text)


def check_writable(path: str | os.PathLike) -> Path:
    """Raise ``OSError`` now, before any work, if ``path`` cannot be written (``ValueError`` if it is no path)."""
    path = check_path(path)
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


def _held_elsewhere(path: Path) -> bool:
    """Whether another process holds an exclusive lock on ``path``: a pdeflow writer (its own
    ``flock``, kept even with ``HDF5_USE_FILE_LOCKING=FALSE``) or HDF5's lock of a writer."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:   # a file system without flock: HDF5's own lock is all there is
        return False
    finally:
        os.close(fd)
    return False


def _lock_for_writer(path: Path) -> int | None:
    """An exclusive ``flock`` on ``path`` for a writer's lifetime (the fd holding it), so that a
    second pdeflow writer is refused even where HDF5's own lock is off
    (``HDF5_USE_FILE_LOCKING=FALSE``).  ``None`` if HDF5 already holds such a lock in this
    process (flock locks of one process conflict with each other) or flock is unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _refuse_if_held(path: Path) -> None:
    """Refuse a path this process has open or another process holds, before asking what it is
    (a file being written may not read as a trajectory yet)."""
    _refuse_if_open_here(path)
    if _held_elsewhere(path):
        raise _held_error(path)


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
    _refuse_if_held(path)
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


def _refuse_links(group: h5py.Group, names, path: str) -> None:
    """A ValueError if any of ``names`` in ``group`` is a soft or external link.

    The format defines datasets stored in the file itself; an external link would read (and,
    on resume, write) another file, outside the folder the user named.  Only the names that are
    read are looked at: a run may be adding other groups (checkpoints) to the file meanwhile.
    """
    for name in names:
        link = group.get(name, getlink=True)
        if link is not None and not isinstance(link, h5py.HardLink):
            raise ValueError(f"{path!r} is not a pdeflow trajectory file: {group.name.rstrip('/')}/{name} is a "
                             f"link ({type(link).__name__}), and the format stores every dataset in the file itself")


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

    A run stopped while writing an output has one output more in some datasets than in
    others: the series (written first) one ahead of ``/t``, or, in files written before
    that order, ``/t`` one ahead of some series; that output does not count, and neither
    does any output if a declared series was never made (the run stopped in its first
    output).  Any larger mismatch is not a stopped run but a damaged file, and is refused
    rather than cut down to the shortest series.  A reader tolerates series longer than
    that (the file may be growing while it is read); resuming does not.
    """
    _check_version(f, path)
    _refuse_links(f, ["t", "static", *_series_names(f, path)], path)
    static = f.get("static")
    if isinstance(static, h5py.Group):
        _refuse_links(static, list(static), path)
    t = f.get("t")
    if not isinstance(t, h5py.Dataset) or t.ndim != 1:
        raise ValueError(f"{path!r} has no 1-D dataset /t of output times")
    series = {}
    unmade = []
    n_t = t.shape[0]
    for name in _series_names(f, path):
        ds = f.get(name)
        if ds is None:  # declared, but the run stopped before the dataset was made
            unmade.append(name)
            continue
        if not isinstance(ds, h5py.Dataset) or ds.ndim < 1:
            raise ValueError(f"{path!r}: series /{name} is not a dataset with a time axis")
        if ds.dtype.kind not in "biuf":
            raise ValueError(f"{path!r}: series /{name} holds {ds.dtype} values, not numbers; the file "
                             "is damaged")
        series[name] = ds
    if unmade and n_t > 1:
        # a series is made at the first output: later, a missing one was deleted
        raise ValueError(f"{path!r}: series {unmade} declared but missing while /t holds {n_t} outputs; "
                         "the file is damaged")
    for name, ds in series.items():
        if ds.shape[0] < n_t - 1 or (resuming and ds.shape[0] > n_t + 1):
            raise ValueError(f"{path!r} is inconsistent: /{name} holds {ds.shape[0]} outputs but /t "
                             f"holds {n_t}; it is not a stopped run, so nothing is cut")
    return series, 0 if unmade else min([n_t] + [ds.shape[0] for ds in series.values()])


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
    rho = data.get("rho")
    if not spec:
        if "rho" in _series_names(f, path) or "grid" in f:
            raise ValueError(f"{path!r}: a grid run without a 'domain' attribute (missing or null); "
                             "its densities cannot be placed on a grid; the file is damaged")
        return None
    try:
        domain = domain_from_dict(spec)
    except ValueError as err:
        raise ValueError(f"{path!r}: attribute 'domain' does not describe a domain: {err}") from None
    # rho is (T, *layers, *grid): a COT run stores S layers of densities on one grid
    if rho is not None and (rho.ndim < 1 + domain.ndim or rho.shape[rho.ndim - domain.ndim:] != domain.shape):
        raise ValueError(f"{path!r}: /rho has shape {rho.shape[1:]} per output, which does not end "
                         f"with the domain's grid shape {domain.shape}")
    grid = f.get("grid")
    if grid is not None:
        axes = domain.axes
        names = sorted(grid) if isinstance(grid, h5py.Group) else None
        if names != [f"axis{d}" for d in range(domain.ndim)]:
            raise ValueError(f"{path!r}: /grid holds {names}, not the {domain.ndim} axes of the domain")
        for d, axis in enumerate(axes):
            saved = grid[f"axis{d}"]
            if not (isinstance(saved, h5py.Dataset) and saved.shape == axis.shape
                    and saved.dtype.kind in "iuf"
                    and np.allclose(saved[()], axis, rtol=1e-12, atol=1e-12 * max(domain.lengths))):
                raise ValueError(f"{path!r}: /grid/axis{d} contradicts the 'domain' attribute "
                                 f"({domain.kind}, shape {domain.shape}); the file is damaged")
    return domain


# ---- writing ---------------------------------------------------------------------------------

def _check_static(static: Any) -> dict[str, np.ndarray]:
    """Static arrays as a dict of numeric arrays (refused before any file is made)."""
    if static is None:
        return {}
    if not isinstance(static, dict):
        raise ValueError(f"static must be a dict of arrays, got {type(static).__name__}")
    out = {}
    for name, value in static.items():
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"static names must be plain strings, got {name!r}")
        try:
            array = np.asarray(value)
        except (TypeError, ValueError):
            array = np.asarray(None)
        if array.dtype.kind not in "biuf":
            raise ValueError(f"static {name!r} must be an array of numbers, got {array.dtype} values")
        out[name] = array
    return out


class TrajectoryWriter:
    """Streams a trajectory into an HDF5 file (see the module docstring for the layout).

    ``path`` must not exist, unless ``overwrite=True`` and it is a pdeflow trajectory that no
    other process holds (see :func:`prepare_store`); otherwise ``FileExistsError`` (or
    ``BlockingIOError`` for a held file) is raised before anything is written.
    """

    def __init__(self, path: str | os.PathLike, *, model: str, domain: Domain | None,
                 params: dict[str, Any], static: dict[str, np.ndarray] | None = None,
                 overwrite: bool = False):
        # everything checked before the path is touched
        if not isinstance(model, str) or not model:
            raise ValueError(f"model must be a non-empty string (the model's name), got {model!r:.60}")
        if domain is not None and not isinstance(domain, Domain):
            raise ValueError(f"domain must be a pdeflow Domain or None, got {type(domain).__name__}")
        if not isinstance(params, dict):
            raise ValueError(f"params must be a dict, got {type(params).__name__}")
        static = _check_static(static)
        self._lock: int | None = None
        self.path = prepare_store(path, overwrite=overwrite)
        self._file = _create(self.path)
        self._lock = _lock_for_writer(self.path)
        try:
            self._write_header(model, domain, params, static)
        except BaseException:
            # our own half-made file: remove it rather than leave a trajectory that is not one
            self._file.close()
            self.path.unlink(missing_ok=True)
            self._release()
            raise
        self._t = self._file.create_dataset("t", shape=(0,), maxshape=(None,), dtype="f8", chunks=(256,),
                                            fletcher32=True)
        self._series: dict[str, h5py.Dataset] = {}
        self._last_t = -np.inf
        self._file.flush()

    def _release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)   # closing the fd releases the flock
            self._lock = None

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
        self._lock = None
        self.path = check_writable(path)
        _refuse_if_held(self.path)
        if not is_trajectory(self.path):
            raise ValueError(f"{str(path)!r} is not a pdeflow trajectory file")
        self._file = _open_for_writing(self.path)
        self._lock = _lock_for_writer(self.path)
        try:
            self._series, n = _layout(self._file, str(path), resuming=True)
        except BaseException:
            self._file.close()
            self._release()
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
        if not self._file.id.valid:
            raise ValueError(f"cannot append to {str(self.path)!r}: the writer is closed")
        if not np.isfinite(t) or t <= self._last_t:
            raise ValueError(f"output time {t!r} must be finite and after the last saved time "
                             f"{self._last_t!r} ({self.path})")
        missing = sorted(set(self._series) - set(values))
        if missing:
            # a series left behind would no longer line up with /t
            raise ValueError(f"output at t = {t:g} lacks the series {missing} recorded so far ({self.path})")
        k = self._t.shape[0]
        for name, value in values.items():
            if not isinstance(name, str) or not name or name == "t" or "/" in name or \
                    (name not in self._series and name in self._file):
                raise ValueError(f"cannot record a series named {name!r}: the name is taken or not a "
                                 f"plain name in {self.path}")
            if value.dtype.kind not in "biuf":
                raise ValueError(f"series {name} at t = {t:g} must hold numbers, got {value.dtype} values "
                                 f"({self.path})")
            ds = self._series.get(name)
            if ds is None and k > 0:
                # its earlier outputs would have to be made up
                raise ValueError(f"series {name} first appears at output {k} (t = {t:g}); every series "
                                 f"must be recorded from the first output ({self.path})")
            if ds is not None and value.shape != ds.shape[1:]:
                raise ValueError(f"series {name} at t = {t:g} has shape {value.shape}, but its earlier "
                                 f"outputs have shape {ds.shape[1:]} ({self.path})")
            if name in FINITE_SERIES and not np.all(np.isfinite(value)):
                raise ValueError(f"{name} is not finite at t = {t:g}; not saving it to {self.path}")

    def append(self, t: float, values: dict[str, np.ndarray]) -> None:
        """Add one output; every series is written before ``/t``, so a reader (or a run killed
        in between) never counts an output whose values are not all there."""
        if not self._file.id.valid:
            raise ValueError(f"cannot append to {str(self.path)!r}: the writer is closed")
        t = float(t)
        values = {name: np.asarray(value) for name, value in values.items()}
        self._check_output(t, values)
        k = self._t.shape[0]
        for name, value in values.items():
            ds = self._series.get(name)
            if ds is None:
                # declared before it is made: a run killed in between leaves a declared series
                # that does not exist yet (read as absent, made on resume), never an undeclared one
                self._file.attrs["series"] = json.dumps([*self._series, name])
                ds = self._file.create_dataset(name, shape=(0,) + value.shape,
                                               maxshape=(None,) + value.shape, dtype=value.dtype,
                                               chunks=(1,) + value.shape if value.ndim else (256,),
                                               # HDF5 checksums every chunk and refuses to read a
                                               # damaged one: a changed byte is never read silently
                                               fletcher32=True)
                self._series[name] = ds
            ds.resize((k + 1,) + value.shape)
            ds[k] = value
        self._t.resize((k + 1,))
        self._t[k] = t
        self._last_t = t
        self._file.flush()

    def write_checkpoint(self, step: int, arrays: dict[str, np.ndarray]) -> None:
        """Save what the run needs to continue exactly after output ``step``, as ``/checkpoints/<step>``.

        Not a time series: the last two are kept, keyed by step.  A run writes the checkpoint
        of a step *before* its output, so whenever it stops the last saved output has its
        checkpoint (the newest, or the one before if it stopped in between); a resumed run
        uses only the checkpoint of its last saved output.
        """
        if not self._file.id.valid:
            raise ValueError(f"cannot write a checkpoint to {str(self.path)!r}: the writer is closed")
        step = int(step)
        root = self._file.require_group("checkpoints")
        key = str(step)
        if key in root:
            del root[key]
        group = root.create_group(key)
        for name, value in arrays.items():
            if value is not None:
                group.create_dataset(name, data=np.asarray(value))
        group.attrs["step"] = step
        group.attrs["complete"] = True   # set last: a group cut short by a kill is never used
        for old in sorted((int(k) for k in root if k.lstrip("-").isdigit()), reverse=True)[2:]:
            del root[str(old)]
        if "checkpoint" in self._file:   # the single checkpoint of earlier files
            del self._file["checkpoint"]
        self._file.flush()

    def close(self, status: str, stats: dict[str, Any]) -> None:
        if self._file.id.valid:
            self._file.attrs["status"] = status
            self._file.attrs["stats"] = _json(stats)
            self._file.close()
        self._release()


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
        ``path`` is not a path; not a pdeflow trajectory of a known ``format_version``; or
        damaged: series lengths that no stopped run leaves, a declared series missing, a series
        that is not numbers, ``/t`` not strictly increasing, non-finite values where the format
        has none (``t``, ``rho``, ``energy``, ``mass``, ``risk``, ``positions``), a grid run
        without a domain, or a domain that does not match the grid of ``rho`` or ``/grid``.
    OSError
        The file cannot be read (e.g. truncated), or another process is writing it and its
        metadata was caught half-written (HDF5 without SWMR; reading again later works).

    A single finite value changed inside a dataset (a flipped bit, a hand edit) cannot be
    detected: the format has no checksums.
    """
    path = check_path(path, "path")
    name = str(path)
    if not path.is_file():
        raise FileNotFoundError(f"no trajectory file {name!r}")
    if not h5py.is_hdf5(path):
        raise ValueError(f"{name!r} is not a pdeflow trajectory file (not HDF5)")
    try:
        f = h5py.File(path, "r", locking=False)
    except OSError as err:   # e.g. a truncated file
        raise OSError(f"cannot read {name!r}: {str(err).splitlines()[0]}") from None
    try:
        with f:
            return _read_trajectory(f, name)
    except RuntimeError as err:
        # HDF5's metadata caught half-written: another process writes the file without SWMR
        raise OSError(f"cannot read {name!r}: {str(err).splitlines()[0]} (is another process "
                      "writing it? read it again once that run has saved its next output)") from None


def _read_trajectory(f: h5py.File, name: str) -> Trajectory:
    """:func:`load_trajectory` of an open file."""
    series, n = _layout(f, name)
    t = _read(f["t"], n, name)
    if (n > 1 and str(f.attrs.get("status", "")) == "running"
            and not (np.isfinite(t[-1]) and t[-1] > t[-2])):
        # a run in progress is writing /t's newest entry (resized, not yet assigned):
        # that output is not saved yet
        n -= 1
        t = t[:n]
    _check_finite("t", t, name)
    if np.any(np.diff(t) <= 0):
        k = int(np.argmax(np.diff(t) <= 0)) + 1
        raise ValueError(f"{name!r}: dataset /t is not strictly increasing (output {k}); the file "
                         "is damaged")
    data = {k: _read(ds, n, name) for k, ds in series.items()}
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


def _read(ds: h5py.Dataset, n: int, path: str) -> np.ndarray:
    """The first ``n`` outputs of a series; a chunk failing its checksum is a damaged file."""
    try:
        return ds[:n]
    except OSError as err:
        raise ValueError(f"{path!r}: dataset {ds.name} fails its checksum or cannot be read "
                         f"({str(err).splitlines()[0]}); the file is damaged") from None


def read_checkpoint(path: str | os.PathLike, step: int | None = None) -> dict[str, Any]:
    """The checkpoint of output ``step`` (default: the newest) of a trajectory file as
    ``{"step": k, name: array, ...}``; empty if there is none for that step.

    Reads ``/checkpoints/<step>`` and, in files written before it, the single ``/checkpoint``.
    """
    with h5py.File(check_path(path, "path"), "r", locking=False) as f:
        found: dict[int, h5py.Group] = {}
        root = f.get("checkpoints")
        if isinstance(root, h5py.Group):
            for group in root.values():
                if isinstance(group, h5py.Group) and group.attrs.get("complete", False) \
                        and "step" in group.attrs:
                    found[int(group.attrs["step"])] = group
        old = f.get("checkpoint")
        if isinstance(old, h5py.Group) and "step" in old.attrs:
            found.setdefault(int(old.attrs["step"]), old)
        if not found:
            return {}
        key = max(found) if step is None else int(step)
        if key not in found:
            return {}
        group = found[key]
        out: dict[str, Any] = {"step": key}
        out.update({k: v[()] for k, v in group.items() if isinstance(v, h5py.Dataset)})
        return out
