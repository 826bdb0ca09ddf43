"""Regularisers' Legendre transforms and the projection at weighted atoms (docs: theory/particles, theory/wasserstein)."""

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

import pdeflow as pf
from pdeflow.particles import VarPro, make_teacher_student
from pdeflow.particles.operators import fixed_atoms
from pdeflow.particles.regularizers import power, regularizer
from pdeflow.particles.ridge import SpectralPreconditioner, pcg

REGS = [regularizer("f_b"), regularizer("f_u"), power(1.5), power(2.0), power(3.0)]


@pytest.mark.parametrize("reg", REGS, ids=lambda g: f"{g.name}{g.r:g}")
def test_legendre_transform(reg):
    u = np.linspace(-2.5, 2.5, 41)
    s = reg.df(u)
    # Fenchel–Young equality at s = f′(u): f*(s) = u s − f(u)
    np.testing.assert_allclose(reg.f_star(s), u * s - reg.f(u), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(reg.df_star(s), u, rtol=1e-12, atol=1e-12)
    # against the supremum found numerically
    for si in (-1.3, 0.2, 2.0):
        best = minimize_scalar(lambda t: -(t * si - reg.f(np.array(t))), bounds=(-20, 20), method="bounded",
                               options={"xatol": 1e-12})
        assert reg.f_star(si) == pytest.approx(-best.fun, rel=1e-9, abs=1e-12)
    # (f*)′ by central differences
    h = 1e-6
    np.testing.assert_allclose((reg.f_star(s + h) - reg.f_star(s - h)) / (2 * h), reg.df_star(s),
                               rtol=1e-7, atol=1e-8)


def _dense(problem, omega):
    A = problem.feature(omega, problem.x)
    return A, A.shape[0]


@pytest.mark.parametrize("domain", [pf.Circle(8), pf.Torus((8, 8), 4.0)], ids=["circle", "torus"])
@pytest.mark.parametrize("reg", ["f_b", "f_u", "f_r"])
def test_weighted_projection_solves_the_weighted_ridge_problem(domain, reg):
    """u* for masses m (one atom empty) against a dense solve of (AᵀA diag(m)/N + λI)u = AᵀY/N + λ·shift."""
    problem = make_teacher_student(domain, 100.0, 400, 300, rng=5)
    rng = np.random.default_rng(6)
    m_atoms = 24
    omega = rng.uniform(0, 2 * np.pi, m_atoms) if domain.ndim == 1 else rng.uniform(-2, 2, (m_atoms, 2))
    w = rng.uniform(0.1, 1.0, m_atoms)
    w[4] = 0.0
    w /= w.sum()
    lam = 1e-2
    vp = VarPro(problem, lam, reg, tol=1e-13, r=3.0)
    state = vp.state(omega, weights=w)
    A, n = _dense(problem, omega)
    h_dense = A.T @ (problem.y - A @ (w * state.u)) / (lam * n)
    scale = np.abs(h_dense).max()
    if reg == "f_r":
        np.testing.assert_allclose(vp.reg.df(state.u), h_dense, rtol=0, atol=1e-10 * scale)
    else:
        shift = vp.reg.shift
        u_dense = np.linalg.solve(A.T @ A * w / n + lam * np.eye(m_atoms), A.T @ problem.y / n + lam * shift)
        np.testing.assert_allclose(state.u, u_dense, rtol=0, atol=1e-10 * np.abs(u_dense).max())
    # the empty atom still gets the weight its potential asks for: f′(u) = h there too
    assert vp.reg.df(state.u[4]) == pytest.approx(h_dense[4], abs=1e-10 * scale)
    resid = problem.y - A @ (w * state.u)
    risk = resid @ resid / (2 * lam * n) + w @ vp.reg.f(state.u)
    assert state.risk == pytest.approx(risk, rel=1e-12)


@pytest.mark.parametrize("reg", ["f_b", "f_u", "f_r"])
def test_masses_one_over_M_reproduce_the_particle_projection(reg):
    problem = make_teacher_student(pf.Circle(8), 100.0, 500, 500, rng=1)
    omega = np.random.default_rng(2).uniform(0, 2 * np.pi, 40)
    plain = VarPro(problem, 1e-2, reg, tol=1e-13, r=3.0).state(omega)
    weighted = VarPro(problem, 1e-2, reg, tol=1e-13, r=3.0).state(omega, weights=np.full(40, 1 / 40))
    np.testing.assert_allclose(weighted.u, plain.u, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weighted.velocity, plain.velocity, rtol=1e-9, atol=1e-11)
    assert weighted.risk == pytest.approx(plain.risk, rel=1e-12)


def test_points_of_shape_M_by_1_on_the_circle():
    problem = make_teacher_student(pf.Circle(8), 100.0, 300, 300, rng=3)
    omega = np.random.default_rng(4).uniform(0, 2 * np.pi, 16)
    flat = VarPro(problem, 1e-2, "f_u").state(omega)
    column = VarPro(problem, 1e-2, "f_u").state(omega[:, None])
    assert flat.velocity.shape == (16,) and column.velocity.shape == (16, 1)
    np.testing.assert_array_equal(column.velocity[:, 0], flat.velocity)
    np.testing.assert_array_equal(column.u, flat.u)


@pytest.mark.parametrize("domain", [pf.Circle(64), pf.Torus((6, 6), 4.0)], ids=["circle", "torus"])
def test_fixed_atoms_against_the_dense_feature_matrix(domain):
    problem = make_teacher_student(domain, 100.0, 1500, 200, rng=7)
    centres = np.stack([c.ravel() for c in domain.mesh()], axis=1)
    atoms = fixed_atoms(problem.feature, problem.x, problem.y, centres, chunk=512)
    A = problem.feature(centres[:, 0] if domain.ndim == 1 else centres, problem.x)
    n = A.shape[0]
    np.testing.assert_allclose(atoms.gram, A.T @ A / n, rtol=1e-11, atol=1e-13 * np.abs(A).max() ** 2)
    np.testing.assert_allclose(atoms.data_term, A.T @ problem.y / n, rtol=1e-11, atol=1e-14)
    assert atoms.data_energy == pytest.approx(problem.y @ problem.y / n, rel=1e-14)
    v = np.random.default_rng(8).normal(size=domain.size)
    np.testing.assert_allclose(atoms.operator.normal(v), A.T @ (A @ v) / n, rtol=1e-10,
                               atol=1e-12 * np.abs(A.T @ (A @ v) / n).max())


def test_relu_grid_gram_annihilates_odd_modes_from_three():
    """max(0, cos θ) has no odd harmonics beyond the first (docs: validation): the grid Gram has rank n/2 + 2."""
    n = 128
    domain = pf.Circle(n)
    problem = make_teacher_student(domain, 100.0, 2048, 100, rng=0)
    G = fixed_atoms(problem.feature, problem.x, problem.y, domain.axes[0]).gram
    w = domain.axes[0]
    size = {k: np.linalg.norm(G @ np.cos(k * w)) / np.linalg.norm(np.cos(k * w)) for k in range(9)}
    for k in (3, 5, 7):
        assert size[k] < 1e-13 * size[0]
    for k in (0, 1, 2, 4, 6, 8):
        assert size[k] > 1e-4 * size[0]
    values = np.linalg.eigvalsh(G)
    assert int(np.sum(values > 1e-12 * values.max())) == n // 2 + 2


def test_spectral_preconditioner_makes_conjugate_gradients_converge_in_a_few_steps():
    domain = pf.Circle(256)
    problem = make_teacher_student(domain, 100.0, 2048, 2048, rng=1)
    G = fixed_atoms(problem.feature, problem.x, problem.y, domain.axes[0]).gram
    lam = 1e-3
    rng = np.random.default_rng(2)
    m = rng.uniform(0, 1, 256) ** 4   # very uneven masses, some nearly empty
    m /= m.sum()
    d = np.sqrt(m)
    S = d[:, None] * G * d[None, :] + lam * np.eye(256)
    b = rng.normal(size=256)
    pre = SpectralPreconditioner(G, lam)
    pre.prepare(d)
    x, k, res, _ = pcg(lambda v: S @ v, b, pre, np.zeros(256), tol=1e-12, max_iter=100)
    assert k <= 6
    assert np.linalg.norm(b - S @ x) <= 1e-11 * np.linalg.norm(b)
    plain = pcg(lambda v: S @ v, b, lambda r: r, np.zeros(256), tol=1e-12, max_iter=500)[1]
    assert plain > 3 * k
