"""Hardening round 2, files: store paths, resume, the writer, the reader, locks, checkpoints.

Each test here failed before its fix (a file replaced or made unreadable, a value made up,
a stale checkpoint, TypeErrors, or a second writer let in).
"""

import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

import pdeflow as pf
from pdeflow.io import TrajectoryWriter, load_trajectory, read_checkpoint

D = pf.Circle(16)
W = pf.teacher_density(D, 10.0)
T3 = [0.0, 0.05, 0.1]


def _one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


def _run(path, **kw):
    return pf.solve_ufd(D, W, kw.pop("rho0", None), r=2, coef=0.5, t_eval=kw.pop("t_eval", T3),
                        store=path, **kw)


# ---- store paths -------------------------------------------------------------------------------

@pytest.mark.parametrize("store, what", [(123, "int"), (b"x.h5", "bytes"), ("a\0b.h5", "NUL"),
                                         (["x.h5"], "list"), ("", "''")])
def test_store_must_be_a_path(tmp_path, monkeypatch, store, what):
    """123 and b'x.h5' gave TypeErrors; a NUL byte wrote a file named 'a'."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="store") as err:
        _run(store)
    assert what in _one_line(err)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", [None, 123, ["a.h5"]])
def test_load_trajectory_needs_a_path(path):
    with pytest.raises(ValueError, match="path must be a file path") as err:
        load_trajectory(path)
    _one_line(err)


# ---- resume ------------------------------------------------------------------------------------

def test_resume_refuses_a_run_from_another_rho0(tmp_path):
    """The stored run from the old rho0 was returned as if it were this one."""
    path = tmp_path / "run.h5"
    _run(path)
    before = path.read_bytes()
    rho0 = D.integrate(W) / D.volume * (1 + 0.5 * np.cos(D.axes[0]))
    with pytest.raises(ValueError, match="rho0") as err:
        _run(path, rho0=rho0, resume=True)
    _one_line(err)
    assert path.read_bytes() == before
    np.testing.assert_array_equal(load_trajectory(path).static["rho0"], _run(None).rho[0])


def test_resume_refuses_a_complete_run_with_other_times(tmp_path):
    """A complete run was solved again (replaced) when asked for other output times."""
    path = tmp_path / "run.h5"
    _run(path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="other output times") as err:
        _run(path, t_eval=[0.0, 0.02, 0.04], resume=True)
    _one_line(err)
    assert path.read_bytes() == before


def test_resume_of_files_without_a_stored_rho0(tmp_path):
    """Files written before rho0 was stored: their first output (t = 0) stands for it."""
    path = tmp_path / "run.h5"
    first = _run(path)
    with h5py.File(path, "a") as f:
        del f["static/rho0"]
    again = _run(path, resume=True)
    assert again.stats == first.stats
    rho0 = D.integrate(W) / D.volume * (1 + 0.5 * np.cos(D.axes[0]))
    with pytest.raises(ValueError, match="rho0"):
        _run(path, rho0=rho0, resume=True)


def test_resume_solves_an_unfinished_run_again(tmp_path):
    path = tmp_path / "run.h5"
    full = _run(path)
    with h5py.File(path, "a") as f:
        for k in ("t", "rho", "energy", "mass"):
            f[k].resize((1,) + f[k].shape[1:])
        f.attrs["status"] = "running"
    again = _run(path, resume=True)
    np.testing.assert_array_equal(again.rho, full.rho)
    assert load_trajectory(path).status == "complete"


# ---- the writer --------------------------------------------------------------------------------

def _writer(path, **kw):
    args = dict(model="test", domain=D, params={"a": 1.0})
    args.update(kw)
    return TrajectoryWriter(path, **args)


def test_writer_refuses_a_shape_change_before_writing(tmp_path):
    """rho (16,) then (8,) was appended and left the file unreadable."""
    w = _writer(tmp_path / "w.h5")
    w.append(0.0, {"rho": np.ones(16)})
    with pytest.raises(ValueError, match=r"shape \(8,\).*\(16,\)") as err:
        w.append(1.0, {"rho": np.ones(8)})
    _one_line(err)
    w.close("complete", {})
    assert load_trajectory(tmp_path / "w.h5").t.tolist() == [0.0]


def test_writer_refuses_a_series_that_appears_late(tmp_path):
    """A series first given at the 2nd output got a made-up value (0) at the 1st."""
    w = _writer(tmp_path / "w.h5")
    w.append(0.0, {"rho": np.ones(16)})
    with pytest.raises(ValueError, match="energy first appears at output 1") as err:
        w.append(1.0, {"rho": np.ones(16), "energy": 2.0})
    _one_line(err)
    w.close("complete", {})
    assert set(load_trajectory(tmp_path / "w.h5").data) == {"rho"}


def test_writer_after_close(tmp_path):
    """RuntimeError: Unable to synchronously get dataspace."""
    w = _writer(tmp_path / "w.h5")
    w.close("complete", {})
    with pytest.raises(ValueError, match="closed") as err:
        w.append(0.0, {"rho": np.ones(16)})
    _one_line(err)


@pytest.mark.parametrize("kw, match", [(dict(model=None), "model"), (dict(model=3), "model"),
                                       (dict(static={"s": np.array([object()])}), "static"),
                                       (dict(static={"s": ["a", "b"]}), "static"),
                                       (dict(domain="circle"), "domain")])
def test_writer_refuses_bad_headers_before_any_file(tmp_path, kw, match):
    """model=None and object arrays gave TypeErrors from h5py."""
    with pytest.raises(ValueError, match=match) as err:
        _writer(tmp_path / "w.h5", **kw)
    _one_line(err)
    assert not (tmp_path / "w.h5").exists()


def test_writer_refuses_non_numeric_values(tmp_path):
    w = _writer(tmp_path / "w.h5")
    with pytest.raises(ValueError, match="numbers"):
        w.append(0.0, {"note": np.array(["x"])})
    w.close("complete", {})


def test_an_output_stopped_half_way_is_never_counted(tmp_path, monkeypatch):
    """/t was written first: a reader (or a run killed) between resizing rho and writing it saw
    an output of zeros as saved."""
    path = tmp_path / "w.h5"
    original = h5py.Dataset.__setitem__
    calls = []

    def setitem(self, key, value):
        if self.name == "/rho":
            calls.append(key)
            if len(calls) == 2:
                raise KeyboardInterrupt   # rho resized for output 1 but not written
        return original(self, key, value)

    w = _writer(path)
    monkeypatch.setattr(h5py.Dataset, "__setitem__", setitem)
    w.append(0.0, {"rho": np.ones(16)})
    with pytest.raises(KeyboardInterrupt):
        w.append(1.0, {"rho": np.full(16, 2.0)})
    monkeypatch.undo()
    w.close("interrupted", {})
    back = load_trajectory(path)
    assert back.t.tolist() == [0.0] and back.rho.shape == (1, 16) and np.all(back.rho == 1)
    again = TrajectoryWriter.reopen(path)   # resuming cuts the half-written output
    again.append(1.0, {"rho": np.full(16, 2.0)})
    again.close("complete", {})
    assert load_trajectory(path).rho[:, 0].tolist() == [1.0, 2.0]


# ---- the reader --------------------------------------------------------------------------------

def _mutated(tmp_path, change):
    path = tmp_path / "run.h5"
    _run(path)
    with h5py.File(path, "a") as f:
        change(f)
    return path


@pytest.mark.parametrize("change, match", [
    (lambda f: f.__delitem__("rho"), "rho"),
    (lambda f: (f.__delitem__("rho"), f.create_dataset("rho", data=np.array([[b"a"] * 16] * 3))), "rho"),
    (lambda f: f.attrs.__delitem__("domain"), "domain"),
    (lambda f: f.attrs.__setitem__("domain", "null"), "domain"),
    (lambda f: f["grid/axis0"].__setitem__(slice(None), f["grid/axis0"][()][::-1]), "grid/axis0"),
])
def test_damaged_grid_files_are_refused(tmp_path, change, match):
    """Each of these loaded silently (no rho, strings, no domain, a contradicting grid)."""
    path = _mutated(tmp_path, change)
    with pytest.raises(ValueError, match=match) as err:
        load_trajectory(path)
    assert "run.h5" in _one_line(err)


def test_a_truncated_file_names_its_path(tmp_path):
    path = tmp_path / "run.h5"
    _run(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(OSError, match="run.h5") as err:
        load_trajectory(path)
    _one_line(err)


# ---- a second writer ---------------------------------------------------------------------------

HOLD = """
import sys, time
import numpy as np
import pdeflow as pf
from pdeflow.io import TrajectoryWriter
w = TrajectoryWriter(sys.argv[1], model="test", domain=pf.Circle(16), params={})
w.append(0.0, {"rho": np.ones(16)})
print("open", flush=True)
time.sleep(60)
"""

SECOND = """
import sys
import numpy as np
import pdeflow as pf
from pdeflow.io import TrajectoryWriter
try:
    TrajectoryWriter(sys.argv[1], model="other", domain=pf.Circle(16), params={}, overwrite=True)
except OSError as err:
    print(type(err).__name__, err)
    sys.exit(3)
"""


@pytest.mark.parametrize("locking", ["TRUE", "FALSE"])
def test_a_second_writer_is_refused_even_without_hdf5_locking(tmp_path, locking):
    """With HDF5_USE_FILE_LOCKING=FALSE a second overwriting writer replaced a file in use."""
    path = tmp_path / "held.h5"
    env = {**os.environ, "HDF5_USE_FILE_LOCKING": locking}
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE,
                              text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "open"
        second = subprocess.run([sys.executable, "-c", SECOND, str(path)], capture_output=True,
                                text=True, env=env, timeout=60)
        assert second.returncode == 3, second.stderr
        assert "held by another process" in second.stdout
    finally:
        holder.kill()
        holder.wait()
    assert load_trajectory(path).model == "test"


def test_a_file_held_elsewhere_is_not_misreported(tmp_path):
    """An HDF5 file another process writes was called 'not a pdeflow trajectory'."""
    path = tmp_path / "busy.h5"
    holder = subprocess.Popen([sys.executable, "-c", "import h5py, sys, time; f = h5py.File(sys.argv[1], 'w'); "
                               "print('open', flush=True); time.sleep(60)", str(path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(BlockingIOError, match="held by another process"):
            _run(path, overwrite=True)
    finally:
        holder.kill()
        holder.wait()


# ---- VarPro checkpoints -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def problem():
    return pf.make_teacher_student(D, gamma=10.0, n_data=256, n_teacher=256, rng=0)


def _varpro(problem, path, **kw):
    omega0 = np.random.default_rng(1).uniform(0, 2 * np.pi, 24)
    return pf.run_varpro(problem, omega0, lam=1e-3, reg="f_b", tau=2.0**-4, steps=12, save_every=3,
                         store=path, **kw)


@pytest.mark.parametrize("where", ["before_output", "after_output"])
def test_varpro_resume_is_bit_identical_wherever_it_stopped(tmp_path, monkeypatch, problem, where):
    """Stopped between an output and its checkpoint, the resumed run was 3.6e-9 off."""
    from pdeflow.runs import Run
    reference = _varpro(problem, None)
    original = Run.record

    def record(self, t, **values):
        if np.isclose(t, 6 * 2.0**-4):
            if where == "before_output":
                raise KeyboardInterrupt
            original(self, t, **values)
            raise KeyboardInterrupt
        return original(self, t, **values)

    monkeypatch.setattr(Run, "record", record)
    path = tmp_path / "vp.h5"
    with pytest.raises(KeyboardInterrupt):
        _varpro(problem, path)
    monkeypatch.undo()
    stopped = load_trajectory(path)
    assert stopped.status == "interrupted"
    assert stopped.t.size == (2 if where == "before_output" else 3)
    assert read_checkpoint(path, step=round(stopped.t[-1] / 2.0**-4))
    resumed = _varpro(problem, path, resume=True)
    np.testing.assert_array_equal(resumed.positions, reference.positions)
    np.testing.assert_array_equal(resumed.u, reference.u)


def test_checkpoints_keep_the_last_two(tmp_path):
    w = _writer(tmp_path / "w.h5")
    for step in range(4):
        w.write_checkpoint(step, {"a": np.full(2, step)})
    w.close("complete", {})
    assert read_checkpoint(tmp_path / "w.h5")["step"] == 3
    assert read_checkpoint(tmp_path / "w.h5", step=2)["a"].tolist() == [2, 2]
    assert read_checkpoint(tmp_path / "w.h5", step=1) == {}
    with h5py.File(tmp_path / "w.h5") as f:
        assert sorted(f["checkpoints"]) == ["2", "3"] and json.loads(f.attrs["series"]) == []


def test_a_running_file_read_while_t_is_being_written(tmp_path):
    """/t resized but its newest entry not yet assigned: a reader of a running file skips that
    output rather than calling the file damaged; a finished file with the same defect is refused."""
    path = tmp_path / "run.h5"
    writer = TrajectoryWriter(path, model="ufd", domain=pf.Circle(8), params={})
    for k in range(3):
        writer.append(float(k + 1), {"rho": np.full(8, 1 / (2 * np.pi)), "mass": 1.0})
    for name in ("rho", "mass", "t"):   # the writer's next output, caught half-way
        ds = writer._file[name]
        ds.resize((4,) + ds.shape[1:])
    writer._file.flush()
    # another process reads it (this one holds the file with HDF5's lock)
    read = subprocess.run([sys.executable, "-c", "import sys; from pdeflow.io import load_trajectory; "
                           "print(load_trajectory(sys.argv[1]).t.tolist())", str(path)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert read.stdout.strip() == "[1.0, 2.0, 3.0]", read.stderr
    writer.close("complete", {})
    with pytest.raises(ValueError, match="not strictly increasing"):
        load_trajectory(path)


def test_a_changed_byte_in_a_saved_output_is_detected(tmp_path):
    """Every series chunk carries an HDF5 Fletcher-32 checksum: one finite value overwritten on
    disk (which no range check can see) makes reading fail, naming the dataset."""
    import struct

    path = tmp_path / "run.h5"
    d = pf.Circle(16)
    pf.solve_ufd(d, pf.teacher_density(d, 10.0), r=2, coef=0.5, t_eval=[0, 0.5, 1], store=path)
    with h5py.File(path, "r") as f:
        assert f["rho"].fletcher32 and f["t"].fletcher32
        offset = f["rho"].id.get_chunk_info(1).byte_offset
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(struct.pack("<d", 123.0))
    with pytest.raises(ValueError, match=r"dataset /rho fails its checksum.*damaged"):
        load_trajectory(path)
