"""Sweeps on a dask.distributed LocalCluster: the same numbers as a local run, and a worker's death costs one run."""

import os
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import pdeflow as pf
from pdeflow.cli import main
from pdeflow.cluster import dask_client
from pdeflow.experiments import CircleExperiment, ran_on, run_name, run_sweep
from pdeflow.grid_references import GridReferences

BASE = CircleExperiment(width=16, lam=1e-2, n_data=64, tau=2.0**-6, t_end=0.25, outputs=3, n_grid=64, seeds=2)


@pytest.fixture(scope="module")
def client():
    with dask_client("local", workers=2) as c:
        yield c


def _assert_same(a: list[dict], b: list[dict]) -> None:
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for key in x:
            assert np.array_equal(x[key], y[key]), key


def test_a_sweep_on_a_local_cluster_equals_a_local_run_bit_for_bit(client, tmp_path):
    assert sorted(client.nthreads().values()) == [1, 1]
    configs = [BASE, replace(BASE, width=8, reg="f_u"), replace(BASE, lam=1e-3)]
    refs = GridReferences("ufd")
    for d in ("local", "cluster"):
        (tmp_path / d).mkdir()
    local = run_sweep(configs, refs, out_dir=tmp_path / "local")
    processes = run_sweep(configs, refs, jobs=2)
    cluster = run_sweep(configs, refs, executor=client, out_dir=tmp_path / "cluster")
    # the workers run with one thread, as the jobs > 1 processes do: the same sums in the same
    # order (in this process, BLAS threads may split sums of larger runs, by ~1e-10)
    _assert_same(processes, cluster)
    _assert_same(local, cluster)
    # positions are kept per run, not averaged: compare the stored runs themselves
    for exp in configs:
        for seed in range(exp.seeds):
            name = f"{run_name(exp, seed)}.h5"
            a, b = (pf.load_trajectory(tmp_path / d / name) for d in ("local", "cluster"))
            for series in ("positions", "u", "risk"):
                assert np.array_equal(a.data[series], b.data[series])


def _open_runs(pid: int, out_dir: Path) -> list[Path]:
    """The run files in ``out_dir`` that process ``pid`` holds open (read from /proc)."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = Path(os.readlink(fd))
        except OSError:
            continue
        if target.parent == out_dir and target.suffix == ".h5":
            found.append(target)
    return found


def _outputs(path: Path) -> int:
    """Outputs saved so far in a run file; 0 while its worker is still creating it."""
    try:
        return pf.load_trajectory(path).t.size
    except (ValueError, OSError):
        return 0


def _complete(path: Path) -> bool:
    """Whether a run file is complete; False for one that its worker is writing at this moment
    (read without SWMR, its metadata can be caught half-written)."""
    try:
        return pf.load_trajectory(path).status == "complete"
    except (ValueError, OSError):
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds a worker's open file through /proc")
def test_a_worker_that_dies_loses_only_its_unfinished_run(client, tmp_path):
    # runs of half a second, an output every 64 of their 1024 steps: a kill lands in the middle of one
    exp = CircleExperiment(width=64, lam=1e-2, n_data=256, tau=2.0**-10, t_end=1.0, outputs=17, n_grid=64,
                           seeds=3)
    refs = GridReferences("ufd")
    expected = run_sweep([exp], refs)
    out_dir = (tmp_path / "cluster").resolve()
    out_dir.mkdir()
    done: dict = {}
    sweep = threading.Thread(target=lambda: done.setdefault("means", run_sweep([exp], refs, executor=client,
                                                                             out_dir=out_dir)))
    sweep.start()
    killed, finished_before = None, {}
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline and sweep.is_alive():
        for pid in client.run(os.getpid).values():
            for path in _open_runs(pid, out_dir):
                if _outputs(path) >= 2:   # past its first checkpoint
                    finished_before = {p: p.stat().st_mtime_ns for p in out_dir.glob("*.h5")
                                       if p != path and _complete(p)}
                    os.kill(pid, signal.SIGKILL)
                    killed = path
                    break
            if killed:
                break
        time.sleep(0.005)
    sweep.join(120)
    assert killed is not None, "no worker was caught in the middle of a run"
    assert not sweep.is_alive() and "means" in done
    # the sweep completed with the local numbers; the killed run continued from its checkpoint
    _assert_same(expected, done["means"])
    resumed = pf.load_trajectory(killed)
    assert resumed.status == "complete" and resumed.stats["resumed_at_step"] > 0
    # runs complete before the kill were not written again
    assert {p: p.stat().st_mtime_ns for p in finished_before} == finished_before


def test_validate_sends_its_runs_to_the_scheduler_and_closes_it(tmp_path, monkeypatch, capsys):
    import distributed

    seen = {}

    class Script:
        @staticmethod
        def run(out_dir, quick, progress, jobs, resume, executor):
            seen.update(jobs=jobs, executor=executor, workers=executor and len(executor.nthreads()))
            means = run_sweep([BASE], GridReferences("ufd", out_dir, resume=resume), executor=executor,
                              out_dir=out_dir, resume=resume)
            return {"mean_mmd_to_ufd": float(np.mean(means[0]["mmd_to_ufd"]))}

    monkeypatch.setattr("pdeflow.validations.find_validation", lambda name: Script)
    assert main(["validate", "fig_III_2", "--quick", "--quiet", "--scheduler", "local", "--jobs", "2",
                 "--out", str(tmp_path)]) == 0
    assert isinstance(seen["executor"], distributed.Client) and seen["workers"] == 2 and seen["jobs"] == 1
    assert seen["executor"].status == "closed"
    assert len(list(tmp_path.glob("varpro_*.h5"))) == 2
    # resumed on this machine's processes: the runs are read back wherever they ran
    assert main(["validate", "fig_III_2", "--quick", "--quiet", "--resume", "--jobs", "2",
                 "--out", str(tmp_path)]) == 0
    assert seen["executor"] is None


def test_scheduler_without_dask_or_with_wrong_arguments_is_one_line(tmp_path, monkeypatch, capsys):
    assert main(["validate", "fig_III_2", "--quick", "--scheduler", "tcp://127.0.0.1:1", "--jobs", "2",
                 "--out", str(tmp_path / "a")]) == 2
    assert "applies to scheduler 'local' only" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "distributed", None)   # as if not installed
    assert main(["validate", "fig_III_2", "--quick", "--scheduler", "local", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install -e '.[dask]'" in err


def test_a_running_scheduler_is_used_by_its_address_and_its_workers_must_be_single_threaded(client):
    import distributed

    refs = GridReferences("ufd")
    with dask_client(client.scheduler.address) as remote:
        assert remote is not client and remote.scheduler.address == client.scheduler.address
        _assert_same(run_sweep([BASE], refs, executor=client), run_sweep([BASE], refs, executor=remote))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=":0") as threaded:
        with pytest.raises(ValueError, match="runs 2 threads; start the workers with --nthreads 1"):
            with dask_client(threaded.scheduler_address):
                pass


def test_a_summary_says_where_the_runs_went(client):
    """Local processes: their count; a dask client: its scheduler and its workers (the jobs are 1 there)."""
    from concurrent.futures import ThreadPoolExecutor

    assert ran_on(3) == {"jobs": 3}
    where = ran_on(1, client)
    assert where["jobs"] == 1 and where["executor"] == "Client" and where["workers"] == 2
    assert where["scheduler"] == client.scheduler.address and where["scheduler"].startswith("tcp://")
    with ThreadPoolExecutor(1) as pool:
        assert ran_on(1, pool) == {"jobs": 1, "executor": "ThreadPoolExecutor"}

