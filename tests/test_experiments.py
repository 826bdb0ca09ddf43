"""Building blocks of the validation scripts: rate fits, parallel and resumed particle runs."""

from dataclasses import replace

import numpy as np
import pytest

import pdeflow as pf
from pdeflow.experiments import (CircleExperiment, ParticleExperiment, check_lambda_claims, log_rate, run_many, run_name,
                                 run_sweep, ufd_reference)
from pdeflow.grid_references import GridReferences


def test_log_rate_recovers_an_exponential_and_flags_an_algebraic_decay():
    t = np.linspace(0, 10, 41)
    rate, r2 = log_rate(t, 3.0 * np.exp(-0.7 * t), (1.0, 8.0))
    assert rate == pytest.approx(0.7, rel=1e-12) and r2 == pytest.approx(1.0, abs=1e-12)
    # 1/(1+t)²: bends in log scale, so the straight-line fit is poorer and its rate window-dependent
    algebraic = (1 + t) ** -2.0
    early, r2_early = log_rate(t, algebraic, (0.0, 2.0))
    late, _ = log_rate(t, algebraic, (6.0, 10.0))
    assert late < 0.5 * early and r2_early < 0.99
    with pytest.raises(ValueError, match="at least 3"):
        log_rate(t, algebraic, (20.0, 30.0))


def test_parallel_runs_equal_serial_runs():
    exp = CircleExperiment(width=16, lam=1e-2, n_data=64, tau=2.0**-6, t_end=0.25, outputs=3, n_grid=64,
                           seeds=2)
    ufd = ufd_reference(exp)
    tasks = [(exp, seed, ufd, None) for seed in range(2)]
    serial = run_many(tasks, jobs=1)
    parallel = run_many(tasks, jobs=2)
    for a, b in zip(serial, parallel):
        np.testing.assert_allclose(a["mmd_to_ufd"], b["mmd_to_ufd"], rtol=1e-10)
        np.testing.assert_allclose(a["positions"], b["positions"], rtol=0, atol=1e-10)
    assert not np.allclose(serial[0]["positions"], serial[1]["positions"])  # seeds differ
    with pytest.raises(ValueError, match="jobs"):
        run_many(tasks, jobs=0)


def test_a_sweep_keeps_its_runs_and_resumes_them(tmp_path):
    base = CircleExperiment(width=16, lam=1e-2, n_data=64, tau=2.0**-6, t_end=0.25, outputs=3, n_grid=64,
                            seeds=2)
    configs = [base, replace(base, width=8, reg="f_u")]
    ufd = GridReferences("ufd")
    first = run_sweep(configs, ufd, out_dir=tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == sorted(f"{run_name(exp, s)}.h5" for exp in configs for s in range(2))
    stats = [pf.load_trajectory(tmp_path / f).stats for f in files]
    again = run_sweep(configs, ufd, out_dir=tmp_path, resume=True)
    assert [pf.load_trajectory(tmp_path / f).stats for f in files] == stats   # read back, not rerun
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a["mmd_to_ufd"], b["mmd_to_ufd"])


def test_experiments_draw_the_teacher_modes_stratified_unless_told_otherwise():
    """The thesis code's teacher: every third atom in the 0.4π mode, not a multinomial draw."""
    from pdeflow.experiments import ParticleExperiment

    exp = ParticleExperiment(n_data=300, n_grid=64, gamma=float("inf"))
    atoms = exp.problem(np.random.default_rng(0)).teacher
    assert np.count_nonzero(np.isclose(atoms, 0.4 * np.pi)) == 100      # exactly a third
    iid = replace(exp, teacher_modes="iid").problem(np.random.default_rng(0)).teacher
    assert np.count_nonzero(np.isclose(iid, 0.4 * np.pi)) != 100         # Binomial(300, ⅓): 100 has p ≈ 5%
    torus = replace(exp, space="torus").problem(np.random.default_rng(0)).teacher
    assert np.array_equal(torus[::2], np.tile([[-1.0, 0.0]], (150, 1)))  # alternate atoms on the torus


def test_particle_run_trains_by_the_named_method_and_runs_without_a_grid_reference():
    from pdeflow.experiments import ParticleExperiment, particle_run, uniform_points
    from pdeflow.particles import run_two_timescale

    exp = ParticleExperiment(width=12, lam=1e-2, reg="f_u", n_data=64, tau=2.0**-6, t_end=0.25, outputs=3,
                             n_grid=64, method="two_timescale")
    ufd = ufd_reference(exp)
    got = particle_run(exp, 3, ufd)
    rng = np.random.default_rng(3)
    problem = exp.problem(rng)
    direct = run_two_timescale(problem, uniform_points(exp.grid(), 12, rng), lam=1e-2, reg="f_u",
                               tau=2.0**-6, steps=16, save_every=8)
    np.testing.assert_array_equal(got["positions"], direct.positions)
    assert not np.array_equal(got["positions"], particle_run(replace(exp, method="varpro"), 3, ufd)["positions"])
    # γ = ∞: the teacher's atoms, no density and no grid run; the distance to the teacher is the same
    bare = particle_run(exp, 3, None)
    assert "mmd_to_ufd" not in bare
    np.testing.assert_array_equal(bare["mmd_to_teacher"], got["mmd_to_teacher"])
    with pytest.raises(ValueError, match="method"):
        particle_run(replace(exp, method="adam"), 3, ufd)


def test_torus_setting_steps_down_tau_for_small_ridge_and_spends_seeds_by_width():
    from pdeflow.experiments_torus import TORUS_FULL, TORUS_QUICK, configure, stable_tau, values_at

    assert [stable_tau(TORUS_QUICK, lam) for lam in (1e-1, 1e-2, 1e-3)] == [2.0**-8, 2.0**-8, 2.0**-10]
    assert {stable_tau(TORUS_FULL, lam) for lam in (1e-1, 1e-2, 1e-3)} == {2.0**-10}
    full = configure(TORUS_FULL, False, width=512, lam=1e-3)
    assert (full.seeds, full.tau, full.space) == (2, 2.0**-10, "torus")
    quick = configure(TORUS_QUICK, True, width=512, lam=1e-3)
    assert (quick.seeds, quick.tau) == (1, 2.0**-10)
    # the output times do not depend on the step: both steps land on the same lattice
    np.testing.assert_allclose(quick.output_steps() * quick.tau, TORUS_QUICK.output_steps() * TORUS_QUICK.tau)
    mean = {"t": np.array([0.0, 0.25, 0.5]), "x": np.array([3.0, 2.0, 1.0])}
    assert values_at(mean, "x", (0.26, 0.5)) == [[0.25, 2.0], [0.5, 1.0]]


@pytest.mark.parametrize("field, value, message", [
    ("space", "sphere", "unknown space 'sphere'"),
    ("method", "adam", "unknown method 'adam'"),
    ("teacher_modes", "random", "unknown teacher_modes 'random'"),
    ("reg", "f_x", "unknown regularisation 'f_x'"),
])
def test_experiment_names_are_checked_at_construction(field, value, message):
    # a misspelt name must fail where it is written, not later inside every worker of a sweep
    with pytest.raises(ValueError, match=message):
        ParticleExperiment(**{field: value})


def _lambda_curve(rate: float, r2: float, late_rate: float, final: float) -> dict:
    return {"rate": rate, "r2": r2, "late_rate": late_rate, "mmd_to_teacher": [[0.0, 1.0], [20.0, final]]}


def test_lambda_sweep_claims_hold_and_fail_where_they_should():
    window, late = (1.0, 10.0), (10.0, 20.0)
    good = {0.1: _lambda_curve(0.3, 0.99, 0.05, 0.03), 0.01: _lambda_curve(0.4, 0.98, 0.1, 0.015),
            0.001: _lambda_curve(0.35, 0.95, 0.1, 0.014)}
    check_lambda_claims(good, window, late, slower=0.5)
    broken = {
        "not linear": {**good, 0.001: _lambda_curve(0.35, 0.5, 0.1, 0.014)},
        "not slower": {**good, 0.1: _lambda_curve(0.3, 0.99, 0.2, 0.03)},
        "at the floor": {**good, 0.1: _lambda_curve(0.3, 0.99, 0.05, 0.01)},
    }
    for case, fu in broken.items():
        with pytest.raises(AssertionError):
            check_lambda_claims(fu, window, late, slower=0.5)
    check_lambda_claims(broken["not slower"], window, late, slower=3.0)   # within a looser factor
