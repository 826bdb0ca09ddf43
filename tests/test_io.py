"""HDF5 trajectories and input validation."""

import os
import signal
import subprocess
import sys

import h5py
import numpy as np
import pytest

import pdeflow as pf


def test_hdf5_round_trip_and_plain_h5py_layout(tmp_path):
    d = pf.Torus((12, 10), 4.0)
    w = pf.teacher_density(d, 10.0)
    path = tmp_path / "run.h5"
    traj = pf.solve_ufd(d, w, r=2, coef=0.5, t_eval=np.linspace(0, 0.2, 5), store=path, method="BDF")
    back = pf.load_trajectory(path)
    assert back.status == "complete" and back.model == "ufd"
    np.testing.assert_array_equal(back.t, traj.t)
    for name in ["rho", "energy", "mass"]:
        np.testing.assert_array_equal(getattr(back, name), getattr(traj, name))
    assert back.domain == d
    assert back.params["r"] == 2.0 and back.params["method"] == "BDF"
    assert back.stats["nfev"] == traj.stats["nfev"]
    np.testing.assert_array_equal(back.static["weight"], w)
    with h5py.File(path, "r") as f:
        assert f["rho"].shape == (5, 12, 10) and f["t"].shape == (5,)
        np.testing.assert_array_equal(f["grid/axis1"][:], d.axes[1])
        assert f.attrs["coef"] == 0.5 and f.attrs["format"] == "pdeflow-trajectory"


KILLED_RUN = """
import os, signal, sys
import numpy as np
import pdeflow as pf
original = pf.UltraFastDiffusion.energy
calls = []
def energy(self, rho):
    calls.append(1)
    if len(calls) == 4:  # die, without any clean-up, while computing the 4th output
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, rho)
pf.UltraFastDiffusion.energy = energy
d = pf.Circle(32)
pf.solve_ufd(d, pf.teacher_density(d, 10.0), t_eval=np.linspace(0, 1, 11), store=sys.argv[1])
"""


def test_killed_run_keeps_every_saved_output(tmp_path):
    path = tmp_path / "killed.h5"
    proc = subprocess.run([sys.executable, "-c", KILLED_RUN, str(path)], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    saved = pf.load_trajectory(path)
    assert saved.status == "running"
    np.testing.assert_allclose(saved.t, [0.0, 0.1, 0.2])
    assert saved.rho.shape == (3, 32) and np.all(saved.rho > 0)


LIVE_RUN = """
import sys
import numpy as np
import pdeflow as pf
from pdeflow.io import TrajectoryWriter
writer = TrajectoryWriter(sys.argv[1], model="ufd", domain=pf.Circle(8), params={})
writer.append(0.0, {"rho": np.ones(8)})
writer.append(0.5, {"rho": np.full(8, 2.0)})
print("written", flush=True)
sys.stdin.readline()
writer.close("complete", {})
"""


def test_a_running_trajectory_can_be_read_from_another_process(tmp_path):
    path = tmp_path / "live.h5"
    proc = subprocess.Popen([sys.executable, "-c", LIVE_RUN, str(path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "written"
        live = pf.load_trajectory(path)   # the writer still holds the file open
        assert live.status == "running" and live.rho.shape == (2, 8)
    finally:
        proc.communicate("done\n", timeout=120)
    assert pf.load_trajectory(path).status == "complete"


@pytest.mark.parametrize("kwargs, match", [
    (dict(weight=-1.0), "strictly positive"),
    (dict(rho0=np.full(16, np.nan)), "not finite"),
    (dict(rho0=np.ones(15)), "shape"),
    (dict(r=1.0), "r must be > 1"),
    (dict(method="Euler"), "unknown method"),
    (dict(rho0=np.ones(16)), "mass"),
    (dict(t_eval=[0.0, -1.0]), "t_eval"),
    (dict(rtol=0.0), "rtol"),
])
def test_bad_input_is_rejected_before_any_work(tmp_path, kwargs, match):
    d = pf.Circle(16)
    args = dict(weight=1 / (2 * np.pi), rho0=None, t_eval=[0, 1.0], store=tmp_path / "x.h5")
    args.update(kwargs)
    weight, rho0 = args.pop("weight"), args.pop("rho0")
    with pytest.raises(ValueError, match=match):
        pf.solve_ufd(d, weight, rho0, **args)
    assert not (tmp_path / "x.h5").exists()


def test_unwritable_store_raises_oserror(tmp_path):
    d = pf.Circle(16)
    with pytest.raises(OSError, match="does not exist"):
        pf.solve_ufd(d, 1 / (2 * np.pi), t_eval=[0, 1], store=tmp_path / "missing" / "x.h5")
    with pytest.raises(OSError, match="directory"):
        pf.solve_ufd(d, 1 / (2 * np.pi), t_eval=[0, 1], store=tmp_path)
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(PermissionError):
            pf.solve_ufd(d, 1 / (2 * np.pi), t_eval=[0, 1], store=locked / "x.h5")


def test_load_rejects_foreign_files(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["t"] = [0.0]
    with pytest.raises(ValueError, match="not a pdeflow trajectory"):
        pf.load_trajectory(path)


@pytest.mark.parametrize("kind", ["external", "soft"])
def test_a_file_with_links_is_neither_read_nor_resumed(tmp_path, kind):
    """A dataset replaced by a link (to another file, or elsewhere in this one) is refused by the
    reader and by a resumed writer: the format stores its datasets in the file itself, and a
    resumed run must not write through a link into another file."""
    from pdeflow.io import TrajectoryWriter

    d = pf.Circle(16)
    path = tmp_path / "run.h5"
    pf.solve_ufd(d, pf.teacher_density(d, 10.0), coef=0.5, t_eval=[0, 0.5, 1], store=path)
    outside = tmp_path / "outside.h5"
    with h5py.File(outside, "w") as f:
        f["data"] = np.full(3, 42.0)
    with h5py.File(path, "a") as f:
        del f["mass"]
        f["mass"] = h5py.ExternalLink(str(outside), "/data") if kind == "external" else h5py.SoftLink("/t")
        f.attrs["status"] = "interrupted"
    with pytest.raises(ValueError, match="/mass is a link"):
        pf.load_trajectory(path)
    with pytest.raises(ValueError, match="/mass is a link"):
        TrajectoryWriter.reopen(path)
    with h5py.File(outside, "r") as f:
        assert f["data"][:].tolist() == [42.0] * 3
