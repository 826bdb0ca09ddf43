"""Issue 13, data loss and damaged files: trajectories are never truncated, cut or misread.

Each test here failed before the fix: the writer opened with mode "w" (truncating a file
another process was writing, or any file at all), every root dataset counted as a series
(an extra 2-row dataset cut a 101-output run to 2 on reading and on disk on resume), and
nothing checked the format version, the domain, the order of /t or NaN-corrupted data.
"""

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest

import pdeflow as pf
from pdeflow.io import TrajectoryWriter, load_trajectory

HOLDER = """
import sys
import numpy as np
import pdeflow as pf
from pdeflow.io import TrajectoryWriter
writer = TrajectoryWriter(sys.argv[1], model="ufd", domain=pf.Circle(8), params={})
writer.append(0.0, {"rho": np.ones(8)})
writer.append(0.5, {"rho": np.full(8, 2.0)})
print("written", flush=True)
sys.stdin.readline()
writer.append(1.0, {"rho": np.full(8, 3.0)})
writer.close("complete", {})
"""


def _write(path, n=5, domain=None, **series):
    """A closed trajectory with ``n`` outputs of rho (and energy, mass) on ``domain``."""
    domain = domain or pf.Circle(8)
    writer = TrajectoryWriter(path, model="ufd", domain=domain, params={"r": 2.0})
    for k in range(n):
        writer.append(0.1 * k, {"rho": np.full(domain.shape, 1.0 + k), "energy": 1.0 / (k + 1),
                                "mass": 1.0, **{name: v[k] for name, v in series.items()}})
    writer.close("complete", {"nfev": 1})
    return path


def _one_line(err) -> str:
    assert "\n" not in str(err.value)
    return str(err.value)


# ---- never truncate ------------------------------------------------------------------------

def test_a_file_another_process_is_writing_is_refused_and_keeps_its_data(tmp_path):
    path = tmp_path / "live.h5"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "written"
        with pytest.raises(OSError) as err:   # before: mode "w" truncated it first
            TrajectoryWriter(path, model="ufd", domain=pf.Circle(8), params={})
        _one_line(err)
        assert load_trajectory(path).t.size == 2   # before: truncated to 0 bytes here
        with pytest.raises(OSError, match="held by another process") as err:
            TrajectoryWriter(path, model="ufd", domain=pf.Circle(8), params={}, overwrite=True)
        _one_line(err)
        with pytest.raises(OSError, match="held by another process"):
            TrajectoryWriter.reopen(path)
        live = load_trajectory(path)   # still readable while it runs
        assert live.status == "running" and live.rho.shape == (2, 8)
    finally:
        proc.communicate("go on\n", timeout=120)
    assert proc.returncode == 0   # the first writer was not disturbed
    done = load_trajectory(path)
    assert done.status == "complete"
    np.testing.assert_array_equal(done.t, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(done.rho[:, 0], [1.0, 2.0, 3.0])


def test_a_file_open_in_this_process_is_not_replaced(tmp_path):
    path = _write(tmp_path / "run.h5")
    with h5py.File(path, "r"):
        with pytest.raises(OSError, match="held by another process"):
            TrajectoryWriter(path, model="ufd", domain=pf.Circle(8), params={}, overwrite=True)
    assert load_trajectory(path).t.size == 5


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_foreign_file_at_store_is_refused_and_unchanged(tmp_path, overwrite):
    text = tmp_path / "notes.h5"
    text.write_text("my only copy of the lab notes\n")
    foreign = tmp_path / "other.h5"
    with h5py.File(foreign, "w") as f:
        f["data"] = np.arange(4.0)
    for path in (text, foreign):
        before = path.read_bytes()
        with pytest.raises(FileExistsError, match="not a pdeflow trajectory") as err:
            TrajectoryWriter(path, model="ufd", domain=pf.Circle(8), params={}, overwrite=overwrite)
        assert "delete it" in _one_line(err)
        assert path.read_bytes() == before
    with pytest.raises(FileExistsError):
        pf.solve_ufd(pf.Circle(16), 1 / (2 * np.pi), t_eval=[0, 0.1], store=text)
    assert text.read_text() == "my only copy of the lab notes\n"


def test_an_existing_trajectory_is_replaced_only_on_request(tmp_path):
    path = _write(tmp_path / "run.h5", n=5)
    with pytest.raises(FileExistsError, match="overwrite=True") as err:
        TrajectoryWriter(path, model="ufd", domain=pf.Circle(8), params={})
    _one_line(err)
    assert load_trajectory(path).t.size == 5
    _write_over = TrajectoryWriter(path, model="ufd", domain=pf.Circle(8), params={}, overwrite=True)
    _write_over.append(0.0, {"rho": np.full(8, 7.0)})
    _write_over.close("complete", {})
    again = load_trajectory(path)
    assert again.t.size == 1 and again.rho[0, 0] == 7.0 and "energy" not in again.data


# ---- only declared series count --------------------------------------------------------------

@pytest.mark.parametrize("legacy", [False, True])
def test_an_extra_root_dataset_neither_cuts_reading_nor_resuming(tmp_path, legacy):
    path = _write(tmp_path / "run.h5", n=101)
    with h5py.File(path, "a") as f:
        f["notes"] = [1.0, 2.0]                  # a user's own short dataset
        f["labels"] = np.arange(3)
        if legacy:                               # as written before the 'series' attribute
            del f.attrs["series"]
    back = load_trajectory(path)
    assert back.t.size == 101 and back.rho.shape == (101, 8) and set(back.data) == {"rho", "energy", "mass"}
    writer = TrajectoryWriter.reopen(path)
    writer.append(10.1, {"rho": np.ones(8), "energy": 0.5, "mass": 1.0})
    writer.close("complete", {})
    with h5py.File(path, "r") as f:
        assert f["t"].shape == (102,) and f["notes"].shape == (2,)
        assert json.loads(f.attrs["series"]) == ["rho", "energy", "mass"]


def test_resume_drops_only_the_half_written_output_and_refuses_worse(tmp_path):
    path = _write(tmp_path / "run.h5", n=6)
    with h5py.File(path, "a") as f:   # killed while writing output 6: t one ahead, energy too
        f["rho"].resize((5, 8))
        f["mass"].resize((5,))
    assert load_trajectory(path).t.size == 5
    TrajectoryWriter.reopen(path).close("interrupted", {})
    with h5py.File(path, "r") as f:
        assert {f[k].shape[0] for k in ("t", "rho", "energy", "mass")} == {5}
    with h5py.File(path, "a") as f:   # not a stopped run: three outputs short
        f["rho"].resize((2, 8))
    with pytest.raises(ValueError, match="inconsistent.*/rho holds 2.*/t holds 5") as err:
        TrajectoryWriter.reopen(path)
    _one_line(err)
    with pytest.raises(ValueError, match="inconsistent"):
        load_trajectory(path)
    with h5py.File(path, "r") as f:   # refused, not cut
        assert f["t"].shape == (5,) and f["energy"].shape == (5,)


# ---- damaged or foreign attributes and data ---------------------------------------------------

@pytest.mark.parametrize("version", [2, 0, "1", 1.0, np.bool_(True)])
def test_unknown_format_versions_are_refused(tmp_path, version):
    path = _write(tmp_path / "run.h5")
    with h5py.File(path, "a") as f:
        f.attrs["format_version"] = version
    with pytest.raises(ValueError, match="format_version") as err:
        load_trajectory(path)
    assert repr(version) in _one_line(err) or str(version) in str(err.value)
    with pytest.raises(ValueError, match="format_version"):
        TrajectoryWriter.reopen(path)


def test_missing_format_version_is_refused(tmp_path):
    path = _write(tmp_path / "run.h5")
    with h5py.File(path, "a") as f:
        del f.attrs["format_version"]
    with pytest.raises(ValueError, match="format_version None"):
        load_trajectory(path)


def test_the_domain_must_match_the_grid_of_rho(tmp_path):
    path = _write(tmp_path / "run.h5")
    with h5py.File(path, "a") as f:
        f.attrs["domain"] = json.dumps(pf.Circle(16).describe())
    with pytest.raises(ValueError, match=r"/rho has shape \(8,\) per output.*grid shape \(16,\)"):
        load_trajectory(path)
    with h5py.File(path, "a") as f:
        f.attrs["domain"] = json.dumps({**pf.Circle(8).describe(), "upper": [1.0]})
    with pytest.raises(ValueError, match="attribute 'domain'"):
        load_trajectory(path)


def test_layers_of_densities_on_one_grid_are_read(tmp_path):
    """A COT run stores rho as (T, S, *grid): leading layer axes are fine, the grid must end it."""
    writer = TrajectoryWriter(tmp_path / "layers.h5", model="cot", domain=pf.Circle(8), params={})
    for k in range(3):
        writer.append(float(k), {"rho": np.full((2, 8), 1 / (2 * np.pi)), "mass": np.ones(2)})
    writer.close("complete", {})
    assert load_trajectory(tmp_path / "layers.h5").rho.shape == (3, 2, 8)
    with h5py.File(tmp_path / "layers.h5", "a") as f:
        f.attrs["domain"] = json.dumps(pf.Circle(4).describe())
    with pytest.raises(ValueError, match=r"/rho has shape \(2, 8\) per output"):
        load_trajectory(tmp_path / "layers.h5")


def test_t_must_be_strictly_increasing(tmp_path):
    path = _write(tmp_path / "run.h5")
    with h5py.File(path, "a") as f:
        f["t"][3] = f["t"][1]
    with pytest.raises(ValueError, match="/t is not strictly increasing") as err:
        load_trajectory(path)
    _one_line(err)


@pytest.mark.parametrize("name", ["t", "rho", "energy", "mass", "positions", "risk"])
def test_ff_corrupted_data_are_refused_naming_the_dataset(tmp_path, name):
    path = _write(tmp_path / "run.h5", positions=np.ones((5, 3)), risk=np.ones(5))
    with h5py.File(path, "a") as f:
        ds = f[name]
        row = ds[2]
        ds[2] = np.frombuffer(b"\xff" * np.asarray(row).nbytes, dtype=ds.dtype).reshape(np.shape(row))
    with pytest.raises(ValueError, match=f"dataset /{name} holds non-finite") as err:
        load_trajectory(path)
    _one_line(err)


def test_the_writer_refuses_what_the_reader_would_reject(tmp_path):
    writer = TrajectoryWriter(tmp_path / "run.h5", model="ufd", domain=pf.Circle(8), params={})
    writer.append(0.0, {"rho": np.ones(8)})
    with pytest.raises(ValueError, match="rho is not finite"):
        writer.append(0.5, {"rho": np.full(8, np.nan)})
    with pytest.raises(ValueError, match="after the last saved time"):
        writer.append(0.0, {"rho": np.ones(8)})
    with pytest.raises(ValueError, match="lacks the series"):
        writer.append(0.5, {"energy": 1.0})
    writer.append(0.5, {"rho": np.ones(8)})
    writer.close("complete", {})
    np.testing.assert_array_equal(load_trajectory(tmp_path / "run.h5").t, [0.0, 0.5])


def test_missing_and_non_hdf5_files_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no trajectory file"):
        load_trajectory(tmp_path / "nope.h5")
    (tmp_path / "x.h5").write_text("text")
    with pytest.raises(ValueError, match="not a pdeflow trajectory"):
        load_trajectory(tmp_path / "x.h5")
