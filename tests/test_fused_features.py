"""The fused Laplace operator and the mixed-precision projection against numpy and the dense path they replace."""

import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import pdeflow as pf
from pdeflow.particles import LaplaceRBF, Projection, make_teacher_student, run_varpro
from pdeflow.particles.dense import FusedDenseFeatures
from pdeflow.particles.operators import DenseFeatures
from pdeflow.particles.regularizers import unbiased


class DenseLaplace(LaplaceRBF):
    """The Laplace features through the dense A and 2 × N × M gradient array: the path the fused one replaced."""

    def bind(self, x):
        return DenseFeatures(self, x)


def _numpy_laplace(omega, x, period=4.0, s=0.5):
    """Numpy twin of the fused pass: A (N, M) and ∇_ωA (2, N, M)."""
    diff = omega[None, :, :] - x[:, None, :]
    diff -= period * np.floor((diff + period / 2) / period)
    r = np.linalg.norm(diff, axis=-1)
    phi = 2 / s**2 * np.exp(-r / s)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.where(r > 0, -phi / (s * r), 0.0)
    return phi, np.moveaxis(g[..., None] * diff, -1, 0)


def _close(a, b, rtol):
    """max |a − b| ≤ rtol · max |b| (so that two zero arrays agree)."""
    return np.abs(a - b).max() <= rtol * np.abs(b).max()


@pytest.mark.parametrize("n, m", [(1, 1), (37, 5), (300, 129)])
def test_fused_pass_matches_its_numpy_twin(n, m):
    rng = np.random.default_rng(n + m)
    # data far outside the period and particles on its edges: the wrap must not care
    x = 3.0 * rng.standard_normal((n, 2))
    omega = rng.uniform(-2, 2, (m, 2))
    omega[0] = [-2.0, 1.999999]
    x[0] = omega[min(1, m - 1)]                 # a datum on a particle: the cusp, gradient 0
    y, z = rng.standard_normal(n), rng.standard_normal(m)
    A_ref, dA_ref = _numpy_laplace(omega, x)
    A, A32 = np.empty((n, m)), np.empty((n, m), dtype=np.float32)
    terms = LaplaceRBF().fused_pass(omega, x, A, A32, True, y, z, 3.0, True)
    # every entry to a few ulp: 1 from the exponential, t·ulp from its argument t = r/s ≤ 5.7
    np.testing.assert_allclose(A, A_ref, rtol=2e-15, atol=0)
    np.testing.assert_array_equal(A32, A.astype(np.float32))
    r = y - A_ref @ z / 3.0
    assert _close(terms.resid, r, 1e-14)
    assert _close(terms.adjoint, A_ref.T @ r / n, 1e-14)
    assert _close(terms.data_term, A_ref.T @ y / n, 1e-14)
    assert _close(terms.gradient, np.stack([d.T @ r for d in dA_ref], axis=1) / n, 1e-14)
    # reading A back instead of filling it gives the same bits
    again = LaplaceRBF().fused_pass(omega, x, A, A32, False, y, z, 3.0, True)
    np.testing.assert_array_equal(again.gradient, terms.gradient)
    assert LaplaceRBF().fused_pass(omega, x, A, A32, True) is None


def test_fused_pass_clips_the_exponential_where_it_underflows():
    """A kernel much narrower than the torus: e^{−t} beyond t = 708 is below every normal double."""
    rng = np.random.default_rng(11)
    x, omega = rng.standard_normal((40, 2)), rng.uniform(-2, 2, (9, 2))
    feature = LaplaceRBF(period=4.0, scale=2e-3)
    A, A32 = np.empty((40, 9)), np.empty((40, 9), dtype=np.float32)
    feature.fused_pass(omega, x, A, A32, True)
    A_ref, _ = _numpy_laplace(omega, x, s=2e-3)
    assert (A_ref < 2 / 2e-3**2 * 1e-307).mean() > 0.5          # most pairs are that far apart
    # e^{−t} carries t times the relative round-off of t = r/s: up to 708 · 4.4e-16 here
    np.testing.assert_allclose(A, A_ref, rtol=708 * 4.4e-16, atol=2 * (2 / 2e-3**2) * np.exp(-708.0))   # the clip


_THREADS_SCRIPT = """
import numba, numpy as np
from pdeflow.particles import LaplaceRBF
from pdeflow.particles.dense import _normal
rng = np.random.default_rng(3)
n, m = 1001, 70
x, omega = rng.standard_normal((n, 2)), rng.uniform(-2, 2, (m, 2))
y, z = rng.standard_normal(n), rng.standard_normal(m)
out = []
for threads in (1, 2):
    numba.set_num_threads(threads)
    A, A32 = np.empty((n, m)), np.empty((n, m), dtype=np.float32)
    t = LaplaceRBF().fused_pass(omega, x, A, A32, True, y, z, 1.0, True)
    out.append(np.concatenate([t.resid, t.adjoint, t.gradient.ravel(), t.data_term, A.ravel(),
                               _normal(A, z), _normal(A32, z)]))
print(numba.get_num_threads(), int(np.array_equal(out[0], out[1])))
"""


def test_fused_pass_does_not_depend_on_the_thread_count():
    """The blocks of rows are fixed: one thread and two give the same bits (a fresh process with two).

    Also the normal products AᵀAz/N (double and single A), which run on whichever count has
    been faster (:class:`pdeflow.threads.ThreadCountChooser`).
    """
    env = dict(os.environ, NUMBA_NUM_THREADS="2")
    done = subprocess.run([sys.executable, "-c", _THREADS_SCRIPT], env=env, capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["2", "1"]


_RUN_THREADS_SCRIPT = """
import numba, numpy as np
import pdeflow as pf
from pdeflow.particles import make_teacher_student, run_varpro
problem = make_teacher_student(pf.Torus((8, 8), 4.0), 100.0, 301, 301, rng=2)
omega0 = np.random.default_rng(3).uniform(-2, 2, (70, 2))
out = []
for threads in (2, 1, 2):
    numba.set_num_threads(threads)
    run = run_varpro(problem, omega0, lam=1e-3, reg="f_u", steps=12, save_every=4)
    out.append(np.concatenate([run.positions.ravel(), run.u.ravel(), run.risk]))
print(run.stats["factorizations"] > 1, int(all(np.array_equal(out[0], o) for o in out[1:])))
"""


def test_torus_run_does_not_depend_on_the_thread_count():
    """Whole runs (passes, products on the chosen count, Gram halves side by side or not): the same bits."""
    env = dict(os.environ, NUMBA_NUM_THREADS="2")
    done = subprocess.run([sys.executable, "-c", _RUN_THREADS_SCRIPT], env=env, capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["True", "1"]


@pytest.mark.parametrize("n", [1, 3, 4, 9, 130])
def test_normal_product_equals_numpy_for_any_number_of_rows(n):
    """Four rows at a time, in two blocks: every remainder of rows is summed, A in double and single."""
    from pdeflow.particles.dense import _normal

    rng = np.random.default_rng(n)
    A, v = rng.standard_normal((n, 33)), rng.standard_normal(33)
    assert _close(_normal(A, v), A.T @ (A @ v) / n, 1e-14)
    A32 = A.astype(np.float32)
    wide = A32.astype(float)
    assert _close(_normal(A32, v), wide.T @ (wide @ v) / n, 1e-14)


def test_fused_operator_products_equal_the_dense_operator():
    rng = np.random.default_rng(4)
    n, m = 400, 60
    x, omega = rng.standard_normal((n, 2)), rng.uniform(-2, 2, (m, 2))
    u, v = rng.standard_normal(m), rng.standard_normal(n)
    features = LaplaceRBF().bind(x)
    assert isinstance(features, FusedDenseFeatures)
    fused, dense = features(omega), DenseFeatures(LaplaceRBF(), x)(omega)
    assert _close(fused.forward(u), dense.forward(u), 1e-14)
    for got, want in zip(fused.adjoint(v), dense.adjoint(v)):
        assert _close(got, want, 1e-14)
    assert _close(fused.normal(u), dense.normal(u), 1e-14)
    assert _close(fused.gram(), dense.gram(), 1e-14)
    terms, (h, grad) = fused.residual(u, v, m), dense.adjoint(v - dense.forward(u) / m)
    assert _close(terms.adjoint, h, 1e-14) and _close(terms.gradient, grad, 1e-14)
    # the single-precision twin: A to 2⁻²⁴, products accumulated in double
    single = fused.approximate
    error = np.abs(single.normal(u) - dense.normal(u)).max() / np.abs(dense.normal(u)).max()
    assert 1e-9 < error <= 1e-6
    gram32 = single.gram()
    assert gram32.dtype == np.float32 and np.array_equal(gram32, gram32.T)
    assert _close(gram32, dense.gram(), 1e-6)


def test_mixed_precision_projection_meets_the_tolerance_with_the_double_matrix():
    problem = make_teacher_student(pf.Torus((8, 8), 4.0), 100.0, 500, 500, rng=5)
    omega = np.random.default_rng(6).uniform(-2, 2, (80, 2))
    lam = 1e-3
    proj = Projection(unbiased, lam, tol=1e-10)
    op = problem.feature.bind(problem.x)(omega)
    u = proj.solve(op, problem.y)
    A = problem.feature(omega, problem.x)
    n, m = A.shape
    S = A.T @ A / (m * n) + lam * np.eye(m)
    b = A.T @ problem.y / n + lam
    assert np.linalg.norm(b - S @ u) / np.linalg.norm(b) <= 1e-10
    assert proj.residual <= 1e-10 and proj.factorizations == 1
    np.testing.assert_allclose(u, np.linalg.solve(S, b), rtol=1e-6)


def test_refresh_policy_charges_iterations_beyond_the_first_solve():
    proj = Projection(unbiased, 1e-3, refresh_cost=50.0)
    proj._count(3)                       # baseline
    proj._count(4)                       # one extra, forecast 8
    assert proj._excess == 8.0
    proj._count(5)                       # 1 + 2 spent so far, forecast 16
    assert proj._excess == 16.0
    proj._count(6)                       # forecast 24 > 16 + 3
    assert proj._excess == 24.0
    proj._factor = np.zeros((4, 4), dtype=np.float32)
    op = type("Op", (), {"shape": (10, 4)})()
    assert not proj._refresh_due(op)
    for _ in range(9):
        proj._count(6)                   # three extra a step now accumulate past the forecast
    assert proj._excess == 24.0 + 9 * 3 and proj._refresh_due(op)
    state = proj.refresh_state()
    other = Projection(unbiased, 1e-3)
    other.restore_refresh_state(state)
    assert other._baseline == 3 and other._excess == proj._excess


@pytest.fixture(scope="module")
def torus_problems():
    problem = make_teacher_student(pf.Torus((8, 8), 4.0), 100.0, 512, 512, rng=7, feature=DenseLaplace())
    return problem, replace(problem, feature=LaplaceRBF())


@pytest.mark.parametrize("lam, reg", [(1e-3, "f_u"), (1e-2, "f_b")])
def test_torus_trajectory_equals_the_dense_path(torus_problems, lam, reg):
    """30 steps from a uniform start: the fused, mixed-precision path moves the particles as the old one."""
    dense_problem, fused_problem = torus_problems
    omega0 = np.random.default_rng(8).uniform(-2, 2, (128, 2))
    old = run_varpro(dense_problem, omega0, lam=lam, reg=reg, steps=30, save_every=30)
    new = run_varpro(fused_problem, omega0, lam=lam, reg=reg, steps=30, save_every=30)
    gap = old.positions[-1] - new.positions[-1]
    gap -= 4.0 * np.round(gap / 4.0)
    assert np.abs(gap).max() <= 1e-8
    assert np.all(new.residual <= 1e-10)
    # both solve to a relative residual of 1e-10, which the conditioning (λ = 1e-3) turns into ~1e-9 in u
    np.testing.assert_allclose(new.risk, old.risk, rtol=1e-8)


def test_torus_resume_is_bit_identical(tmp_path, torus_problems, monkeypatch):
    _, problem = torus_problems
    omega0 = np.random.default_rng(9).uniform(-2, 2, (64, 2))
    kwargs = dict(lam=1e-3, reg="f_u", steps=40, save_every=6)
    whole = run_varpro(problem, omega0, **kwargs)
    assert whole.stats["factorizations"] > 1
    path = tmp_path / "run.h5"
    calls = {"n": 0}
    original = pf.VarPro._fields

    def interrupted(self, *args):
        calls["n"] += 1
        if calls["n"] == 27:
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(pf.VarPro, "_fields", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_varpro(problem, omega0, store=path, **kwargs)
    monkeypatch.setattr(pf.VarPro, "_fields", original)
    resumed = run_varpro(problem, omega0, store=path, resume=True, **kwargs)
    assert resumed.stats["resumed_at_step"] == 24
    for name in ("positions", "u", "risk", "residual"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(whole, name))


def _blas_threads():
    return max(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")


def test_varpro_steps_run_blas_on_one_thread(torus_problems, monkeypatch):
    _, problem = torus_problems
    seen = []
    original = Projection._precondition

    def spy(self, r):
        seen.append(_blas_threads())
        return original(self, r)

    monkeypatch.setattr(Projection, "_precondition", spy)
    with threadpool_limits(2, user_api="blas"):    # as on a 2-core machine, whatever the test runner set
        assert _blas_threads() == 2
        run_varpro(problem, np.random.default_rng(10).uniform(-2, 2, (32, 2)), lam=1e-2, steps=3)
        assert _blas_threads() == 2                # restored after the run
    assert seen and set(seen) == {1}


@pytest.mark.parametrize("domain", ["circle", "torus"])
def test_varpro_benchmark_baseline_follows_the_same_trajectory(domain):
    """``pdeflow bench varpro``'s numpy baseline is the same method: same positions after its steps."""
    from pdeflow.bench_varpro import format_varpro_report, run_varpro_benchmark

    rep = run_varpro_benchmark(domain, width=24, n_data=64, steps=4, repeats=1, contended=False, long_steps=3)
    assert rep["max_position_gap"] <= 1e-8   # both projections solve to a relative residual of 1e-10
    assert set(rep["threads"]) == {"alone"} and rep["threads"]["alone"]["busy_processes"] == 0
    # the sustained rate: steps 4 to 7 of the same run, resumed from its file (refused otherwise)
    assert (rep["long"]["first_step"], rep["long"]["steps"]) == (4, 3)
    assert len(rep["long"]["pdeflow"]["all_s"]) == 1
    text = format_varpro_report(rep)
    assert f"VarPro on the {domain}" in text and "sustained, steps 4-7" in text


def test_varpro_benchmark_refuses_a_negative_long_run():
    from pdeflow.bench_varpro import run_varpro_benchmark

    with pytest.raises(ValueError, match="long_steps"):
        run_varpro_benchmark("torus", width=8, n_data=16, steps=2, repeats=1, contended=False, long_steps=-1)


def test_a_finished_run_hands_its_feature_buffers_to_the_next(torus_problems):
    """run_varpro gives A and A32 back when done; the next run of that shape fills the same arrays, same result."""
    from pdeflow.particles import dense

    _, problem = torus_problems
    omega0 = np.random.default_rng(12).uniform(-2, 2, (48, 2))
    first = run_varpro(problem, omega0, lam=1e-3, reg="f_u", steps=3)
    pair = dense._SPARE_BUFFERS[(problem.x.shape[0], 48)]
    second = run_varpro(problem, omega0, lam=1e-3, reg="f_u", steps=3)
    again = dense._SPARE_BUFFERS[(problem.x.shape[0], 48)]
    assert again[0] is pair[0] and again[1] is pair[1]
    np.testing.assert_array_equal(second.positions, first.positions)
    # a VarPro of the user's own never gives its buffers away
    varpro = pf.VarPro(problem, 1e-3, "f_u")
    varpro.state(omega0)
    assert (problem.x.shape[0], 48) not in dense._SPARE_BUFFERS


@pytest.mark.parametrize("rows", [1, 2, 999, 4096])
def test_gram_in_halves_does_not_depend_on_the_side_thread(rows, monkeypatch):
    """The Gram matrix of the single-precision A is the same bits whether its second half runs on
    the side thread (numba may use two threads) or after the first (one thread), and it is AᵀA/N
    to single precision."""
    from pdeflow.particles import dense

    A32 = np.random.default_rng(rows).standard_normal((rows, 64)).astype(np.float32)
    grams = {}
    for count in (1, 2):
        monkeypatch.setattr(dense.nb, "get_num_threads", lambda count=count: count)
        grams[count] = dense._gram_in_halves(A32)
    assert grams[1].dtype == np.float32 and np.array_equal(grams[1], grams[2])
    assert np.array_equal(grams[1], grams[1].T)
    exact = A32.astype(float).T @ A32.astype(float) / rows
    assert _close(grams[1], exact, 1e-5)
