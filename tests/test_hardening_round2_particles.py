"""Hardening round 2, particles, teacher, metrics and the command line.

Each test here failed before its fix (a hang, silently accepted input, TypeErrors or
AttributeErrors, an inf MMD, or CLI messages that named nothing).
"""

import math
import subprocess
import sys

import numpy as np
import pytest

import pdeflow as pf
from pdeflow.metrics import grid_points, mmd

D = pf.Circle(16)


def _one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


@pytest.fixture(scope="module")
def problem():
    return pf.make_teacher_student(D, 10.0, n_data=64, n_teacher=64, rng=0)


OMEGA0 = np.linspace(0.1, 6.0, 8)


@pytest.mark.parametrize("run", ["varpro", "two_timescale"])
@pytest.mark.parametrize("kw, name", [
    (dict(steps=1e300), "steps"),
    (dict(steps=10**400), "steps"),
    (dict(tau=1e300, steps=10**10), "steps"),
    (dict(reg="f_b", r=-5.0), "r"), (dict(reg="f_u", r=np.nan), "r"), (dict(reg="f_b", r="2"), "r"),
    (dict(reg="f_r", r="3"), "r"),
    (dict(omega0=[True, False, True]), "omega0"), (dict(omega0=[[0.1], [1.0, 2.0]]), "omega0"),
    (dict(omega0=np.full(4, 1e300)), "omega0"),
    (dict(problem=None), "problem"), (dict(problem="circle"), "problem"),
])
def test_particle_runs_refuse_bad_input(problem, run, kw, name):
    """steps=1e300 hung; r with f_b/f_u was ignored; bool, ragged or 1e300 omega0 and a
    missing problem ran or gave AttributeError/TypeError."""
    args = dict(problem=problem, omega0=OMEGA0, lam=1e-2, steps=3)
    args.update(kw)
    runner = pf.run_varpro if run == "varpro" else pf.run_two_timescale
    with pytest.raises(ValueError) as err:
        runner(args.pop("problem"), args.pop("omega0"), **args)
    assert name in _one_line(err)


def test_a_step_that_loses_every_digit_fails(problem, tmp_path):
    """tau = 1e300 ran to t = 3e300 with positions that were pure round-off."""
    with pytest.raises(pf.IntegrationError, match="lose every digit.*reduce tau") as err:
        pf.run_varpro(problem, OMEGA0, lam=1e-2, tau=1e300, steps=3, store=tmp_path / "vp.h5")
    _one_line(err)
    assert pf.load_trajectory(tmp_path / "vp.h5").t.tolist() == [0.0]


def test_r_is_checked_for_every_regularisation_alike(problem):
    from pdeflow.particles.regularizers import regularizer
    for reg in ("f_b", "f_u", "f_r"):
        with pytest.raises(ValueError, match="^r "):
            regularizer(reg, 0.5)
        assert regularizer(reg, 3).name == reg
    with pytest.raises(ValueError, match="^r "):
        pf.VarPro(problem, 1e-2, "f_u", r=np.inf)


@pytest.mark.parametrize("kw, name", [
    (dict(domain="circle"), "domain"), (dict(feature="relu"), "feature"),
    (dict(n_data=1e300), "n_data"), (dict(n_data=10**12), "n_data"),
    (dict(rng="seed"), "rng"), (dict(rng=-1), "rng"), (dict(rng=1.5), "rng"), (dict(rng=True), "rng"),
])
def test_make_teacher_student_refuses_bad_input(kw, name):
    args = dict(domain=D, gamma=10.0, n_data=8, n_teacher=8)
    args.update(kw)
    with pytest.raises(ValueError) as err:
        pf.make_teacher_student(**args)
    assert name in _one_line(err)


def test_rng_may_be_a_generator_or_seed():
    a = pf.make_teacher_student(D, 10.0, 8, 8, rng=np.random.default_rng(3))
    b = pf.make_teacher_student(D, 10.0, 8, 8, rng=3)
    np.testing.assert_array_equal(a.x, b.x)


def test_teacher_refuses_bad_domain_and_rng():
    with pytest.raises(ValueError, match="domain") as err:
        pf.teacher_density("circle", 10.0)
    _one_line(err)
    with pytest.raises(ValueError, match="rng") as err:
        pf.sample_teacher(D, 10.0, 5, "seed")
    _one_line(err)


def test_mmd_on_a_box_far_apart_is_finite():
    """mmd(δ_0, δ_(1e300, 0)) on a box was inf (squares overflow); the interval was right."""
    box = pf.Box((0, 1), (0, 1), (4, 4))
    assert mmd([[0.0, 0.0]], [[1e300, 0.0]], box) == pytest.approx(math.sqrt(2e300), rel=1e-12)
    # ordinary inputs take the unscaled path, unchanged
    x = np.random.default_rng(0).uniform(0, 1, (5, 2))
    assert mmd(x, x[::-1] * 0.5, box) == mmd(x, x[::-1] * 0.5, box)


@pytest.mark.parametrize("call", [lambda: mmd([0.1], [0.2], None),
                                  lambda: grid_points(None, np.ones(4))])
def test_metrics_need_a_domain(call):
    with pytest.raises(ValueError, match="domain must be a pdeflow Domain") as err:
        call()
    _one_line(err)


# ---- command line --------------------------------------------------------------------------

def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "pdeflow", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


@pytest.mark.parametrize("args, flag", [(["bench", "--repeats", "0"], "--repeats"),
                                        (["bench", "--repeats", "-2"], "--repeats"),
                                        (["bench", "varpro", "--steps", "0"], "--steps"),
                                        (["bench", "varpro", "--steps", "-1"], "--steps")])
def test_bench_counts_must_be_positive(tmp_path, args, flag):
    """--repeats 0 gave a KeyError traceback, --steps 0 'min() arg is an empty sequence'."""
    proc = _cli(*args, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert flag in proc.stderr.strip().splitlines()[-1]


def test_problem_file_that_is_not_utf8(tmp_path):
    (tmp_path / "tiny.toml").write_bytes(b"name = '\xff\xfe'\n")
    proc = _cli("run", "tiny.toml", "--out", "out", "--quiet", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "tiny.toml" in proc.stderr and "UTF-8" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_plot_times_must_lie_in_the_run(tmp_path):
    from pdeflow.problems import load_problem
    path = tmp_path / "p.toml"
    path.write_text('[domain]\nkind = "circle"\nn = 16\n[time]\nt_end = 1.0\nplot_times = [0.0, 50.0]\n')
    with pytest.raises(ValueError, match="plot_times") as err:
        load_problem(path)
    assert "p.toml" in _one_line(err)


@pytest.mark.parametrize("flag", ["overwrite", "resume", "progress"])
def test_run_flags_must_be_booleans(tmp_path, flag):
    """overwrite="no" is true to Python: it replaced an existing file; now a one-line error."""
    d = pf.Circle(32)
    problem = pf.make_teacher_student(d, 100.0, 64, 64, rng=0)
    store = tmp_path / "run.h5"
    first = pf.run_two_timescale(problem, np.linspace(0, 6, 8), lam=0.5, steps=2, store=store)
    with pytest.raises(ValueError, match=f"{flag} must be True or False, got 'no'"):
        pf.run_two_timescale(problem, np.linspace(0, 6, 8), lam=0.5, steps=2, store=store, **{flag: "no"})
    np.testing.assert_array_equal(pf.load_trajectory(store).positions, first.positions)
    with pytest.raises(ValueError, match="cell_average must be True or False"):
        pf.teacher_density(d, 100.0, cell_average="no")
