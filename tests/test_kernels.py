"""numba kernels against their plain numpy twins, and the Jacobian layouts."""

import numpy as np
import pytest

import pdeflow as pf
from pdeflow.fv import BandedLayout, SparseLayout, band_ordering, face_graph
from pdeflow.fv import kernels, reference


def _inputs(domain, seed=1):
    rng = np.random.default_rng(seed)
    g = face_graph(domain)
    n = domain.size
    mu = rng.uniform(0.1, 2.0, n)
    mubar = rng.uniform(0.1, 2.0, n)
    mob = rng.uniform(0.5, 3.0, g.left.size)
    return g, mu, mubar, mob


def test_face_flux_divergence_matches_numpy(any_domain):
    g, mu, mubar, mob = _inputs(any_domain)
    psi = np.sin(mu) + mubar
    out = np.empty_like(mu)
    kernels.face_flux_divergence(mob, psi, g.left, g.right, out)
    expected = reference.face_flux_divergence(mob, psi, g.left, g.right)
    np.testing.assert_allclose(out, expected, rtol=1e-14, atol=1e-14 * np.abs(expected).max())
    assert abs(out.sum()) <= 1e-13 * np.abs(out).sum()


@pytest.mark.parametrize("r", [2.0, 3.5, 1.2])
def test_ufd_potential_and_jacobian_match_numpy(any_domain, r):
    g, mu, mubar, mob = _inputs(any_domain)
    psi, dpsi = np.empty_like(mu), np.empty_like(mu)
    kernels.ufd_potential(mu, mubar, 0.7, r, psi, dpsi)
    psi_ref, dpsi_ref = reference.ufd_potential(mu, mubar, 0.7, r)
    np.testing.assert_allclose(psi, psi_ref, rtol=1e-14)
    np.testing.assert_allclose(dpsi, dpsi_ref, rtol=1e-14)
    vals = np.empty((g.left.size, 4))
    kernels.face_flux_jacobian(mob, dpsi, g.left, g.right, vals)
    np.testing.assert_allclose(vals, reference.face_flux_jacobian(mob, dpsi_ref, g.left, g.right),
                               rtol=1e-14)


def test_band_ordering_bandwidths():
    assert face_graph(pf.Circle(50)).relabel(band_ordering(pf.Circle(50))).bandwidth == 2
    assert face_graph(pf.Circle(50)).bandwidth == 49  # the wrap-around face, before reordering
    assert face_graph(pf.Interval(0, 1, 50)).relabel(band_ordering(pf.Interval(0, 1, 50))).bandwidth == 1
    t = pf.Torus((6, 9))
    assert face_graph(t).relabel(band_ordering(t)).bandwidth == 2 * 9
    b = pf.Box((0, 1), (0, 1), (6, 9))
    assert face_graph(b).relabel(band_ordering(b)).bandwidth == 9
    for d in [pf.Circle(7), pf.Circle(8), t, b]:
        assert np.array_equal(np.sort(band_ordering(d)), np.arange(d.size))


def test_layouts_reproduce_the_dense_jacobian(any_domain):
    g, mu, mubar, mob = _inputs(any_domain)
    g = g.relabel(band_ordering(any_domain))
    vals = np.random.default_rng(3).normal(size=(g.left.size, 4))
    dense = reference.dense_jacobian(g.n_cells, g.left, g.right, vals)
    banded = BandedLayout(g)
    np.testing.assert_allclose(banded.to_dense(banded.assemble(vals)), dense, rtol=0, atol=1e-14)
    np.testing.assert_allclose(SparseLayout(g).assemble(vals).toarray(), dense, rtol=0, atol=1e-14)
