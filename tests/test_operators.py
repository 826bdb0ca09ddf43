"""The feature operator A(ω): sorted-angle ReLU products against the dense numpy matrix."""

import math

import numpy as np
import pytest

from pdeflow.particles import ReLUCircle
from pdeflow.particles.operators import DenseFeatures, SortedReLUCircle
from pdeflow.sums import compensated_cumsum


def _numpy_relu(omega, x):
    z = x[:, :1] * np.cos(omega) + x[:, 1:] * np.sin(omega)
    return np.maximum(z, 0), (z > 0) * (x[:, 1:] * np.cos(omega) - x[:, :1] * np.sin(omega))


def _close(a, b, rtol):
    assert np.abs(a - b).max() <= rtol * np.abs(b).max()


@pytest.mark.parametrize("n, m", [(1, 1), (7, 300), (500, 64), (4096, 1024)])
def test_sorted_relu_products_equal_the_dense_matrix(n, m):
    rng = np.random.default_rng(n + m)
    x = rng.standard_normal((n, 2))
    omega = rng.uniform(0, 2 * np.pi, m)
    # coincident, antipodal and out-of-range angles: the half-circle bookkeeping must not care
    omega[: min(m, 4)] = [0.3, 0.3 + np.pi, 0.3, -4.0][: min(m, 4)]
    A, dA = _numpy_relu(omega, x)
    op = SortedReLUCircle(x)(omega)
    u, v = rng.standard_normal(m), rng.standard_normal(n)
    _close(op.forward(u), A @ u, 1e-13)
    at_v, dat_v = op.adjoint(v)
    _close(at_v, A.T @ v / n, 1e-13)
    _close(dat_v[:, 0], dA.T @ v / n, 1e-13)
    _close(op.gram(), A.T @ A / n, 1e-13)       # the numba kernel against numpy
    _close(op.normal(u), A.T @ (A @ u) / n, 1e-13)


def test_dense_operator_matches_numpy():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((60, 2))
    omega = rng.uniform(0, 2 * np.pi, 9)
    A, dA = _numpy_relu(omega, x)
    op = DenseFeatures(ReLUCircle(), x)(omega)
    v = rng.standard_normal(60)
    _close(op.gram(), A.T @ A / 60, 1e-14)
    _close(op.adjoint(v)[1][:, 0], dA.T @ v / 60, 1e-14)


def test_relu_circle_binds_the_sorted_operator():
    x = np.random.default_rng(2).standard_normal((10, 2))
    assert isinstance(ReLUCircle().bind(x), SortedReLUCircle)


def test_compensated_prefix_sums_are_exact_to_round_off():
    rng = np.random.default_rng(3)
    # large cancelling terms: a plain running sum loses digits a compensated one keeps
    q = np.concatenate([rng.uniform(1e6, 2e6, 5000), -rng.uniform(1e6, 2e6, 5000)]) + rng.uniform(0, 1, 10000)
    out = np.empty(q.size + 1)
    compensated_cumsum(q, out)
    exact = np.array([math.fsum(q[:k]) for k in range(1, q.size + 1)])
    # correctly rounded (≤ 2 ulp); the plain running sum is off by ~4e-12 relative on this input
    assert np.abs((out[1:] - exact) / exact).max() <= 4.5e-16
    assert out[0] == 0.0
