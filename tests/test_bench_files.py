"""What ``pdeflow bench`` writes: a report only as a new file, checked before any timing, and
computed references in the user's cache, never in the source tree."""

import json

import numpy as np
import pytest

from pdeflow import bench, cli


def test_a_report_is_written_only_as_a_new_file(tmp_path):
    out = tmp_path / "report.json"
    bench.write_report({"speedup_best": 2.5}, out)
    assert json.loads(out.read_text()) == {"speedup_best": 2.5}
    with pytest.raises(ValueError, match="already exists"):
        bench.write_report({"speedup_best": 1.0}, out)
    assert json.loads(out.read_text()) == {"speedup_best": 2.5}          # left as it was
    with pytest.raises(ValueError, match="does not exist"):
        bench.check_report_path(tmp_path / "no folder" / "report.json")
    with pytest.raises(ValueError, match="--json"):
        bench.check_report_path(b"report.json")


def test_the_cli_refuses_an_existing_report_before_any_timing(tmp_path, monkeypatch, capsys):
    ran = []
    monkeypatch.setitem(cli.BENCH_CASES, "varpro", lambda args: ran.append(args) or "timed")
    trajectory = tmp_path / "run.h5"
    trajectory.write_bytes(b"\x89HDF\r\n")
    assert cli.main(["bench", "varpro", "--json", str(trajectory)]) == 2
    assert ran == [] and trajectory.read_bytes() == b"\x89HDF\r\n"
    assert "already exists" in capsys.readouterr().err
    assert cli.main(["bench", "varpro", "--json", str(tmp_path / "new.json")]) == 0 and len(ran) == 1


def test_computed_references_go_to_the_cache_not_the_source_tree(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    name = "ufd_torus_gamma100_n8_rtol1e-09.npz"
    shipped_before = sorted(p.name for p in bench.SHIPPED.iterdir())
    rho = bench.ufd2d_reference(8)
    assert rho.shape == (2, 8, 8) and (tmp_path / "pdeflow" / name).is_file()
    assert sorted(p.name for p in bench.SHIPPED.iterdir()) == shipped_before
    # read back from the cache, not solved again
    monkeypatch.setattr(bench, "solve_ufd", lambda *a, **k: pytest.fail("solved again"))
    np.testing.assert_array_equal(bench.ufd2d_reference(8), rho)
    # the UFD keeps mass: both outputs hold the weight's mass
    domain, weight, _ = bench._ufd2d_problem(8)
    np.testing.assert_allclose([domain.integrate(r) for r in rho], domain.integrate(weight), rtol=1e-12)
