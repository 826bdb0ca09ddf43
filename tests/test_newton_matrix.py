"""Factorizations of Newton's matrix I − cJ (pdeflow.newton_matrix, docs: theory/driver)."""

import numpy as np
import pytest
import scipy.sparse as sp

import pdeflow as pf
from pdeflow import newton_matrix as nm
from pdeflow.integrators_bdf import ReuseBDF
from pdeflow.newton_matrix import ScaledSymmetric, factorizer_for, register_factorizer


def _graph_laplacian(n: int, seed: int = 0) -> sp.csc_matrix:
    """A weighted Laplacian of a ring with random chords: symmetric, positive semi-definite."""
    rng = np.random.default_rng(seed)
    left = np.concatenate([np.arange(n), rng.integers(0, n, n)])
    right = np.concatenate([(np.arange(n) + 1) % n, rng.integers(0, n, n)])
    keep = left != right
    left, right = left[keep], right[keep]
    w = rng.uniform(0.5, 2.0, left.size)
    K = sp.coo_matrix((np.concatenate([w, w, -w, -w]),
                       (np.concatenate([left, right, left, right]), np.concatenate([left, right, right, left]))),
                      shape=(n, n))
    return sp.csc_matrix(K)


def _dense_solution(J: ScaledSymmetric, c: float, b: np.ndarray) -> np.ndarray:
    return np.linalg.solve(np.eye(b.size) - c * (J.S.toarray() * J.d[None, :]), b)


def test_scaled_symmetric_is_s_times_diag_d():
    S = _graph_laplacian(30)
    d = np.linspace(-3.0, -0.5, 30)
    J = ScaledSymmetric(S, d)
    v = np.random.default_rng(1).normal(size=30)
    np.testing.assert_allclose(J.tocsc().toarray(), S.toarray() @ np.diag(d), rtol=0, atol=1e-15)
    np.testing.assert_allclose(J @ v, S.toarray() @ (d * v), rtol=1e-14)
    assert J.shape == (30, 30)


@pytest.mark.skipif(not nm.HAVE_CHOLMOD, reason="cvxopt (the cholmod extra) is not installed")
def test_cholesky_solves_the_newton_system_and_keeps_its_analysis():
    """cS − D⁻¹ is positive definite (S ⪰ 0, d < 0): Cholesky, equal to a dense solve to round-off,
    at several c and d, with CHOLMOD's symbolic analysis done once."""
    n = 200
    S = _graph_laplacian(n)
    rng = np.random.default_rng(2)
    J0 = ScaledSymmetric(S, -rng.uniform(0.1, 10.0, n))
    factorizer = factorizer_for(J0)
    symbolic = None
    for c in (1e-3, 0.1, 10.0):
        J = ScaledSymmetric(S, -rng.uniform(0.1, 10.0, n))
        b = rng.normal(size=n)
        factor = factorizer(J, c)
        assert factor.name == "CHOLMOD"
        x = factor.solve(b)
        expected = _dense_solution(J, c, b)
        assert np.max(np.abs(x - expected)) <= 1e-12 * np.max(np.abs(expected))
        symbolic = symbolic or factorizer._symbolic
        assert factorizer._symbolic is symbolic


@pytest.mark.parametrize("case", ["indefinite", "zero scale", "no cvxopt"])
def test_the_scaled_symmetric_path_falls_back_to_lu(case, monkeypatch):
    """Where Cholesky cannot serve, SuperLU on S·diag(d) does, and the answer is the same."""
    n = 120
    S = _graph_laplacian(n, seed=3)
    rng = np.random.default_rng(4)
    d = -rng.uniform(0.5, 2.0, n)
    if case == "indefinite":
        d[::3] *= -1.0          # c·S − D⁻¹ gets negative diagonal entries: not positive definite
    elif case == "zero scale":
        d[7] = 0.0
    else:
        monkeypatch.setattr(nm, "HAVE_CHOLMOD", False)
    J = ScaledSymmetric(S, d)
    factor = factorizer_for(J)(J, 0.05)
    assert factor.name == "SuperLU"
    b = rng.normal(size=n)
    expected = _dense_solution(J, 0.05, b)
    assert np.max(np.abs(factor.solve(b) - expected)) <= 1e-11 * np.max(np.abs(expected))


def test_bad_jacobians_are_refused():
    S = _graph_laplacian(20).tolil()
    S[0, 5] = 3.0                              # no longer symmetric
    J = ScaledSymmetric(sp.csc_matrix(S), -np.ones(20))
    if nm.HAVE_CHOLMOD:
        with pytest.raises(ValueError, match="not symmetric"):
            factorizer_for(J)(J, 0.1)
    with pytest.raises(ValueError, match="no factorization"):
        factorizer_for([[1.0]])
    with pytest.raises(ValueError, match="S must be a square scipy sparse"):
        ScaledSymmetric(np.eye(3), np.ones(3))
    with pytest.raises(ValueError, match="d must be 3 real numbers"):
        ScaledSymmetric(sp.identity(3, format="csc"), np.ones(4))


def test_a_registered_factorizer_takes_precedence(monkeypatch):
    monkeypatch.setattr(nm, "FACTORIZERS", list(nm.FACTORIZERS))

    class Diagonal:
        def __init__(self, d):
            self.d = np.asarray(d)
            self.shape = (self.d.size, self.d.size)

    class DiagonalFactor:
        name = "diagonal"

        def __init__(self, J, c):
            self.scale = 1.0 - c * J.d

        def solve(self, b):
            return b / self.scale

    register_factorizer(Diagonal, lambda J0: DiagonalFactor)
    factor = factorizer_for(Diagonal([1.0, 2.0]))(Diagonal([1.0, 2.0]), 0.25)
    assert factor.name == "diagonal"
    np.testing.assert_allclose(factor.solve(np.array([1.0, 1.0])), [4.0 / 3.0, 2.0], rtol=1e-15)
    with pytest.raises(ValueError, match="type and a callable"):
        register_factorizer("Diagonal", DiagonalFactor)


@pytest.mark.parametrize("domain", [pf.Torus((10, 12), 4.0), pf.Box((-2.0, 2.0), (-1.0, 1.0), (9, 7))],
                         ids=["torus", "box"])
def test_the_ufd_jacobian_in_product_form(domain):
    """K·diag(ψ′) is the sparse Jacobian to round-off, and K is the symmetric face Laplacian."""
    w = pf.teacher_density(domain, 100) if domain.kind == "torus" else np.exp(-domain.mesh()[0] ** 2) + 0.1
    model = pf.UltraFastDiffusion(domain, w, pf.UFDParams(2.0, 0.5))
    y = model.to_state(0.5 * w + 0.5 * domain.integrate(w) / domain.volume)
    product = model.jac_scaled_symmetric(0.0, y)
    sparse = model.jac_sparse(0.0, y).toarray()
    assert np.max(np.abs(product.tocsc().toarray() - sparse)) <= 1e-13 * np.max(np.abs(sparse))
    K = product.S.toarray()
    np.testing.assert_array_equal(K, K.T)
    assert np.all(product.d < 0) and np.min(np.linalg.eigvalsh(K)) > -1e-10 * np.max(K)


def test_reusebdf_factorizes_the_ufd_by_cholesky_and_agrees_with_lu():
    """The 2-D default gets K·diag(ψ′) and factorizes it by Cholesky; handed the sparse J instead it
    uses SuperLU; both take the same steps and end within round-off of each other."""
    d = pf.Torus((16, 16), 4.0)
    w = pf.teacher_density(d, 100)

    class SparseLUReuseBDF(ReuseBDF):
        accepts_scaled_symmetric = False

    kw = dict(r=2, coef=0.5, t_eval=[0, 0.5, 2.0], rtol=1e-6)
    cholesky = pf.solve_ufd(d, w, **kw)
    lu = pf.solve_ufd(d, w, method=SparseLUReuseBDF, **kw)
    assert cholesky.stats["method"] == "ReuseBDF"
    assert cholesky.stats["linear_solver"] == ("CHOLMOD" if nm.HAVE_CHOLMOD else "SuperLU")
    assert lu.stats["linear_solver"] == "SuperLU"
    assert cholesky.stats["nsteps"] == lu.stats["nsteps"]
    assert np.max(d.integrate(np.abs(cholesky.rho - lu.rho))) < 1e-11 * cholesky.mass[0]
    assert np.max(np.abs(cholesky.mass - cholesky.mass[0])) <= 1e-13 * cholesky.mass[0]
