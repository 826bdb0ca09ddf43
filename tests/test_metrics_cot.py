"""COT metrics against closed forms and POT (exact OT)."""

import numpy as np
import ot
import pytest

import pdeflow as pf
from pdeflow.metrics import (layer_measures, layer_wasserstein, path_length, wasserstein_circle,
                             wasserstein_cot, wasserstein_interval)


def _refine(centres, masses, h, k=400):
    """Cell-uniform pieces as k equal atoms per cell (a POT-friendly approximation, W₂ error h/(k√12))."""
    sub = (np.arange(k) + 0.5) / k - 0.5
    return (centres[:, None] + h * sub).ravel(), np.repeat(masses / k, k)


def _arc(x, y):
    d = np.abs(x[:, None] - y[None, :]) % (2 * np.pi)
    return np.minimum(d, 2 * np.pi - d)


def test_cell_uniform_floor_closed_forms():
    """Cell-centre atoms vs cell-uniform: W₂ = h/√12 (interval and circle), circle W₁ = h/4 (docs: theory/cot §5)."""
    n = 32
    circle, interval = pf.Circle(n), pf.Interval(-1.0, 3.0, n)
    for dom in (circle, interval):
        h, c = dom.spacing[0], dom.axes[0]
        dist = wasserstein_circle if dom.periodic[0] else wasserstein_interval
        assert dist(c, c, x_widths=h, p=2) == pytest.approx(h / np.sqrt(12), rel=1e-12)
    assert wasserstein_circle(circle.axes[0], circle.axes[0], x_widths=circle.spacing[0], p=1) == \
        pytest.approx(0.049087385212340, rel=1e-12)
    # uniform on [0, 1] vs δ_c: W₂² = 1/12 + (c − ½)²; translation of a cell-uniform density by a: W_p = a
    assert wasserstein_interval([0.5], [0.9], x_widths=1.0) == pytest.approx(np.sqrt(1 / 12 + 0.16), rel=1e-14)
    rho = np.random.default_rng(0).random(n)
    c, h = interval.axes[0], interval.spacing[0]
    for p in (1, 2):
        assert wasserstein_interval(c, c + 0.37, x_weights=rho, y_weights=rho, x_widths=h, y_widths=h,
                                    p=p) == pytest.approx(0.37, rel=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_cell_uniform_against_pot(seed):
    rng = np.random.default_rng(seed)
    n, h = 12, 2 * np.pi / 12
    centres = (np.arange(n) + 0.5) * h
    masses = rng.random(n)
    masses /= masses.sum()
    pts = rng.vonmises(1.0, 1.5, 7) % (2 * np.pi)
    fine, fw = _refine(centres, masses, h)
    a = np.full(7, 1 / 7)
    for p in (1, 2):
        ours = wasserstein_circle(centres, pts, x_weights=masses, x_widths=h, p=p)
        ref = ot.emd2(fw, a, _arc(fine, pts) ** p) ** (1 / p)
        assert ours == pytest.approx(ref, abs=2 * h / 400)
        ours = wasserstein_interval(centres, pts, x_weights=masses, x_widths=h, p=p)
        ref = ot.emd2(fw, a, np.abs(fine[:, None] - pts[None, :]) ** p) ** (1 / p)
        assert ours == pytest.approx(ref, abs=2 * h / 400)


def test_cot_distance_is_layerwise_and_bounds_joint_w2():
    """W₂^COT² = (1/S)Σ W₂² (Prop. I.2.1) ≥ W₂² on [0,1]×Θ (Remark I.2.1), the latter by POT."""
    rng = np.random.default_rng(7)
    S, M = 4, 6
    dom = pf.Interval(-3.0, 3.0, 10)
    a, b = rng.normal(size=(S, M)), rng.normal(0.5, 1.0, size=(S, M))
    mu, nu = layer_measures(a, dom, "particles"), layer_measures(b, dom, "particles")
    per = layer_wasserstein(mu, nu, dom)
    for k in range(S):
        assert per[k] == pytest.approx(np.sqrt(ot.emd2(np.full(M, 1 / M), np.full(M, 1 / M),
                                                       (a[k][:, None] - b[k][None, :]) ** 2)), rel=1e-10)
    cot = wasserstein_cot(mu, nu, dom)
    assert cot == pytest.approx(np.sqrt(np.mean(per**2)), rel=1e-14)
    # joint measures on [0,1]×Θ: layer k sits on s ∈ [k/S, (k+1)/S) — represent s by 50 atoms per layer
    s = (np.arange(50 * S) + 0.5) / (50 * S)
    layer = (s * S).astype(int)
    pa = np.stack([np.repeat(s, M), a[layer].ravel()], 1)
    pb = np.stack([np.repeat(s, M), b[layer].ravel()], 1)
    w = np.full(pa.shape[0], 1 / pa.shape[0])
    joint = np.sqrt(ot.emd2(w, w, ot.dist(pa, pb)))
    assert joint < cot


def test_grid_and_particle_layers_and_path_length():
    dom = pf.Circle(64)
    S = 3
    rho = np.full((S, 64), 1 / (2 * np.pi))
    M = 64
    strat = 2 * np.pi * (np.arange(M) + 0.5) / M
    theta = np.broadcast_to(strat, (S, M))
    w = layer_wasserstein(layer_measures(rho, dom, "grid"), layer_measures(theta, dom, "particles"), dom)
    # equispaced atoms vs the uniform density: the cell floor of cells of width 2π/M
    np.testing.assert_allclose(w, 2 * np.pi / M / np.sqrt(12), rtol=1e-10)
    t = np.linspace(0, 2, 201)
    np.testing.assert_allclose(path_length(t, (3 * np.exp(-t)) ** 2)[-1], 3 * (1 - np.exp(-2)), rtol=1e-5)
    with pytest.raises(ValueError, match="kind"):
        layer_measures(rho, dom, "cells")


@pytest.mark.parametrize("call, match", [
    (lambda: path_length([0.0, 2.0, 1.0], [1.0, 1.0, 1.0]), "strictly increasing"),     # gave a negative length
    (lambda: path_length([0.0, 1.0, 2.0], [1.0, -1.0, 1.0]), "squared norm"),           # was clipped to 0
    (lambda: path_length([0.0, 1.0], [1.0, 1.0, 1.0]), "one value per output time"),
    (lambda: path_length(1.0, 1.0), "t must have shape"),
    (lambda: layer_measures(np.zeros((3, 0)), pf.Circle(16), "particles"), "non-empty"),
    (lambda: wasserstein_cot(np.zeros((2, 3)), np.zeros((2, 3)), pf.Circle(16)), "mu must be LayerMeasures"),
])
def test_cot_metrics_refuse_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_path_length_is_the_trapezoid_rule_of_the_speed():
    assert path_length([0.0, 1.0, 2.0], [1.0, 1.0, 4.0]).tolist() == [0.0, 1.0, 2.5]
