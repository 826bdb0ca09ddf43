"""Particle runs share the run lifecycle: failures are loud, resumes are exact, inputs are checked."""

import numpy as np
import pytest

import pdeflow as pf
from pdeflow.particles import VarPro, make_teacher_student, run_two_timescale, run_varpro


@pytest.fixture(scope="module")
def problem():
    return make_teacher_student(pf.Circle(8), 100.0, 300, 300, rng=3)


def omega(m=24, seed=4):
    return np.random.default_rng(seed).uniform(0, 2 * np.pi, m)


def test_an_unstable_run_fails_with_its_outputs_kept(tmp_path, problem):
    path = tmp_path / "run.h5"
    # round 2: a step that loses every digit of the positions now fails too (before they overflow)
    with pytest.raises(pf.IntegrationError, match="(non-finite .*|lose every digit) at t = "):
        run_two_timescale(problem, omega(), lam=1e-2, eta=1e6, steps=50, save_every=1, store=path)
    back = pf.load_trajectory(path)
    assert back.status.startswith(("failed: non-finite", "failed: positions lose every digit"))
    assert back.t.size >= 1 and np.all(np.isfinite(back.u)) and np.all(np.isfinite(back.positions))


def test_resume_is_bit_identical_after_a_real_interruption(tmp_path, problem, monkeypatch):
    kwargs = dict(lam=1e-3, reg="f_u", steps=60, save_every=7, tau=2.0**-6)
    whole = run_varpro(problem, omega(), **kwargs)
    assert whole.stats["factorizations"] > 1   # the preconditioner is refreshed along the way
    path = tmp_path / "run.h5"
    calls = {"n": 0}
    original = VarPro._fields

    def interrupted(self, *args):
        calls["n"] += 1
        if calls["n"] == 40:
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(VarPro, "_fields", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_varpro(problem, omega(), store=path, **kwargs)
    monkeypatch.setattr(VarPro, "_fields", original)
    cut = pf.load_trajectory(path)
    assert cut.status == "interrupted" and cut.t.size == 6     # steps 0, 7, …, 35
    resumed = run_varpro(problem, omega(), store=path, resume=True, **kwargs)
    assert resumed.stats["resumed_at_step"] == 35
    for name in ("positions", "u", "risk"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(whole, name))
    np.testing.assert_array_equal(resumed.t, whole.t)


def test_resume_refuses_another_start(tmp_path, problem):
    path = tmp_path / "run.h5"
    run_varpro(problem, omega(), lam=1e-2, steps=4, store=path)
    with pytest.raises(ValueError, match="omega0 differs"):
        run_varpro(problem, omega(seed=5), lam=1e-2, steps=8, store=path, resume=True)


@pytest.mark.parametrize("kwargs, message", [
    (dict(lam="0.001"), "lam must be a real number"),
    (dict(steps=10.5), "steps must be an integer"),
    (dict(steps=True), "steps must be an integer"),
    (dict(steps=-1), "steps must be an integer >= 0"),
    (dict(save_every=0), "save_every must be an integer >= 1"),
    (dict(tau=np.nan), "tau must be > 0"),
    (dict(tol=0.0), r"tol .* must be in \(0, 1\)"),
    (dict(lam=1e-2 + 0j), "lam must be a real number"),
])
def test_bad_varpro_arguments_fail_before_any_file(tmp_path, problem, kwargs, message):
    args = dict(lam=1e-2, steps=3, store=tmp_path / "run.h5")
    with pytest.raises(ValueError, match=message):
        run_varpro(problem, omega(), **{**args, **kwargs})
    assert not (tmp_path / "run.h5").exists()


def test_bad_particles_and_eta(tmp_path, problem):
    with pytest.raises(ValueError, match="omega0 must be an array"):
        run_varpro(problem, 1.0, lam=1e-2, steps=1)
    with pytest.raises(ValueError, match="omega0 must be an array of numbers"):
        run_varpro(problem, ["a", "b"], lam=1e-2, steps=1)
    for eta in (-1.0, 0.0, "1"):
        with pytest.raises(ValueError, match="eta must be"):
            run_two_timescale(problem, omega(), lam=1e-2, eta=eta, steps=1, store=tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists()


def test_two_timescale_uses_the_exponent_of_f_r(problem):
    runs = [run_two_timescale(problem, omega(), lam=1e-2, reg="f_r", r=r, steps=2) for r in (1.5, 3.0)]
    assert runs[0].params["r"] == 1.5 and runs[1].params["r"] == 3.0
    # u⁰ is the f_r projection, whose exponent changes the weights
    assert np.abs(runs[0].u[0] - runs[1].u[0]).max() > 1e-3
    ref = VarPro(problem, 1e-2, "f_r", r=3.0).state(problem.domain.wrap(omega())).u
    np.testing.assert_allclose(runs[1].u[0], ref, rtol=1e-8)
