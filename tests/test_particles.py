"""Feature maps, the VarPro projection and velocity, two-timescale GD."""

import numpy as np
import pytest

import pdeflow as pf
from pdeflow.particles import (LaplaceRBF, ReLUCircle, VarPro, make_teacher_student, run_two_timescale,
                               run_varpro)


def _numpy_relu(omega, x):
    z = x[:, :1] * np.cos(omega) + x[:, 1:] * np.sin(omega)
    return np.maximum(z, 0), (z > 0) * (x[:, 1:] * np.cos(omega) - x[:, :1] * np.sin(omega))


def _numpy_laplace(omega, x, period=4.0, s=0.5):
    diff = omega[None, :, :] - x[:, None, :]
    diff -= period * np.floor((diff + period / 2) / period)
    r = np.linalg.norm(diff, axis=-1)
    phi = 2 / s**2 * np.exp(-r / s)
    return phi, np.moveaxis(-phi[..., None] / (s * r[..., None]) * diff, -1, 0)


def test_feature_kernels_match_numpy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 2))
    om = rng.uniform(0, 2 * np.pi, 13)
    A, dA = ReLUCircle().evaluate(om, x)
    A_ref, dA_ref = _numpy_relu(om, x)
    np.testing.assert_allclose(A, A_ref, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(dA[0], dA_ref, rtol=1e-14, atol=1e-15)
    om2 = rng.uniform(-2, 2, (13, 2))
    A, dA = LaplaceRBF().evaluate(om2, x)
    A_ref, dA_ref = _numpy_laplace(om2, x)
    np.testing.assert_allclose(A, A_ref, rtol=1e-13)
    np.testing.assert_allclose(dA, dA_ref, rtol=1e-12, atol=1e-14)


def test_feature_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 2))
    om = rng.uniform(-2, 2, (5, 2))
    A, dA = LaplaceRBF().evaluate(om, x)
    for k in range(2):
        e = np.zeros(2)
        e[k] = 1e-6
        fd = (LaplaceRBF()(om + e, x) - LaplaceRBF()(om - e, x)) / 2e-6
        np.testing.assert_allclose(dA[k], fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("domain", [pf.Circle(8), pf.Torus((8, 8), 4.0)], ids=["circle", "torus"])
def test_teacher_labels_are_the_mean_teacher_feature(domain):
    """Y = (1/M̄) Σᵢ φ(ω̄ᵢ, x) through the bound operator, against the dense numpy matrix."""
    problem = make_teacher_student(domain, 100.0, 700, 500, rng=9)
    A = problem.feature(problem.teacher, problem.x)
    np.testing.assert_allclose(problem.y, A.mean(axis=1), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("domain, reg", [(pf.Circle(8), "f_b"), (pf.Circle(8), "f_u"),
                                         (pf.Circle(8), "f_r"), (pf.Torus((8, 8), 4.0), "f_u")])
def test_velocity_is_minus_M_times_the_gradient_of_the_reduced_risk(domain, reg):
    problem = make_teacher_student(domain, 100.0, 300, 300, rng=2)
    m = 12
    rng = np.random.default_rng(3)
    omega = rng.uniform(0, 2 * np.pi, m) if domain.ndim == 1 else rng.uniform(-2, 2, (m, 2))
    vp = VarPro(problem, 1e-2, reg, tol=1e-13, r=3.0)
    state = vp.state(omega)
    assert state.residual < 1e-11
    eps = 1e-6
    flat = omega.reshape(m, -1)
    fd = np.zeros_like(flat)
    for i in range(m):
        for k in range(flat.shape[1]):
            e = np.zeros_like(flat)
            e[i, k] = eps
            fd[i, k] = (vp.reduced_risk((flat + e).reshape(omega.shape))
                        - vp.reduced_risk((flat - e).reshape(omega.shape))) / (2 * eps)
    np.testing.assert_allclose(state.velocity.reshape(m, -1), -m * fd, rtol=1e-5,
                               atol=1e-6 * np.abs(state.velocity).max())


def test_warm_started_projection_stays_at_tolerance_without_refactoring_each_step():
    d = pf.Circle(8)
    problem = make_teacher_student(d, 100.0, 1024, 1024, rng=4)
    omega = np.random.default_rng(5).uniform(0, 2 * np.pi, 256)
    traj = run_varpro(problem, omega, lam=1e-3, reg="f_b", steps=40, save_every=1)
    assert np.all(traj.residual <= 1e-9)
    # the O(M²N) factorisation is reused across steps, not redone at each of the 41 projections
    assert 1 <= traj.stats["factorizations"] <= 10
    # dense check of the projection at the last step
    A = problem.feature(traj.positions[-1], problem.x)
    n, m = A.shape
    u_dense = np.linalg.solve(A.T @ A / (m * n) + 1e-3 * np.eye(m), A.T @ problem.y / n)
    np.testing.assert_allclose(traj.u[-1], u_dense, rtol=1e-6, atol=1e-8 * np.abs(u_dense).max())
    assert np.all(np.diff(traj.risk) <= 1e-12)  # small steps: descent


def test_varpro_run_writes_hdf5(tmp_path):
    d = pf.Torus((8, 8), 4.0)
    problem = make_teacher_student(d, 100.0, 200, 200, rng=6)
    omega = np.random.default_rng(7).uniform(-2, 2, (20, 2))
    traj = run_varpro(problem, omega, lam=1e-2, reg="f_u", steps=10, save_every=5,
                      store=tmp_path / "vp.h5")
    back = pf.load_trajectory(tmp_path / "vp.h5")
    np.testing.assert_allclose(back.t, [0, 5 * 2**-10, 10 * 2**-10])
    np.testing.assert_array_equal(back.positions, traj.positions)
    assert back.positions.shape == (3, 20, 2) and back.positions.min() >= -2 and back.positions.max() < 2
    assert back.model == "varpro" and back.params["lam"] == 1e-2


def _cut_short(path, outputs):
    """Leave ``path`` as a run killed after ``outputs`` outputs, half-way through writing the next."""
    import h5py

    with h5py.File(path, "a") as f:
        for name, ds in f.items():
            if isinstance(ds, h5py.Dataset):
                ds.resize((outputs + (name == "t"),) + ds.shape[1:])   # t written one ahead
        f.attrs["status"] = "running"


@pytest.mark.parametrize("runner", [run_varpro, run_two_timescale])
def test_an_interrupted_run_resumes_where_it_stopped(tmp_path, runner):
    problem = make_teacher_student(pf.Circle(8), 100.0, 300, 300, rng=3)
    omega = np.random.default_rng(4).uniform(0, 2 * np.pi, 24)
    kwargs = dict(lam=1e-2, reg="f_u", steps=12, save_every=3)
    whole = runner(problem, omega, **kwargs)
    path = tmp_path / "run.h5"
    runner(problem, omega, store=path, **kwargs)
    _cut_short(path, 2)   # saved t = 0, 3τ; killed while writing 6τ
    resumed = runner(problem, omega, store=path, resume=True, **kwargs)
    back = pf.load_trajectory(path)
    assert resumed.stats["resumed_at_step"] == 3 and back.status == "complete"
    np.testing.assert_array_equal(back.t, whole.t)
    np.testing.assert_array_equal(back.positions, resumed.positions)
    # two-timescale GD's state is (ω, u), saved exactly; VarPro's u is re-projected to tolerance
    tol = 0.0 if runner is run_two_timescale else 1e-9
    np.testing.assert_allclose(back.positions, whole.positions, rtol=0, atol=tol)
    np.testing.assert_allclose(back.risk, whole.risk, rtol=tol)
    # a finished run is read back, not recomputed; a longer one extends it
    again = runner(problem, omega, store=path, resume=True, **kwargs)
    assert again.stats == back.stats
    longer = runner(problem, omega, store=path, resume=True, **{**kwargs, "steps": 18})
    assert longer.stats["resumed_at_step"] == 12 and longer.t.size == whole.t.size + 2


def test_resuming_refuses_another_run(tmp_path):
    problem = make_teacher_student(pf.Circle(8), 100.0, 100, 100, rng=3)
    omega = np.random.default_rng(4).uniform(0, 2 * np.pi, 8)
    path = tmp_path / "run.h5"
    run_varpro(problem, omega, lam=1e-2, steps=4, store=path)
    with pytest.raises(ValueError, match="cannot resume.*parameters"):
        run_varpro(problem, omega, lam=1e-3, steps=8, store=path, resume=True)
    other = make_teacher_student(pf.Circle(8), 100.0, 100, 100, rng=5)
    with pytest.raises(ValueError, match="other data"):
        run_varpro(other, omega, lam=1e-2, steps=8, store=path, resume=True)
    with pytest.raises(ValueError, match="already run"):
        run_varpro(problem, omega, lam=1e-2, steps=2, store=path, resume=True)


def test_two_timescale_starts_at_the_projection_and_tracks_varpro_for_large_eta():
    d = pf.Circle(8)
    problem = make_teacher_student(d, 100.0, 500, 500, rng=8)
    omega = np.random.default_rng(9).uniform(0, 2 * np.pi, 32)
    vp = run_varpro(problem, omega, lam=1e-1, reg="f_u", steps=20)
    tt = run_two_timescale(problem, omega, lam=1e-1, reg="f_u", steps=20)
    np.testing.assert_allclose(tt.u[0], vp.u[0], rtol=1e-8)
    assert np.abs(tt.positions[-1] - vp.positions[-1]).max() < 1e-3


def test_bad_particle_input():
    problem = make_teacher_student(pf.Circle(8), 10.0, 50, 50, rng=0)
    with pytest.raises(ValueError, match="shape"):
        run_varpro(problem, np.zeros((4, 2)), lam=1e-2, steps=1)
    with pytest.raises(ValueError, match="lam \\(the ridge λ\\) must be > 0"):
        run_varpro(problem, np.zeros(4), lam=0.0, steps=1)
    with pytest.raises(ValueError, match="finite"):
        run_varpro(problem, np.array([0.0, np.nan]), lam=1e-2, steps=1)
