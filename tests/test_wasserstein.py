"""The λ > 0 Wasserstein gradient flow on grids (docs: theory/wasserstein, eq. III.31)."""

from dataclasses import dataclass

import numpy as np
import pytest

import pdeflow as pf
from pdeflow.fv import face_graph
from pdeflow.fv import kernels, reference
from pdeflow.metrics import grid_points, wasserstein_circle
from pdeflow.particles import FeatureMap, VarPro, make_teacher_student
from pdeflow.particles.data import TeacherStudent


# ---- feature maps on the closed domains (the thesis has none there) -----------------------
@dataclass(frozen=True)
class GaussianLine(FeatureMap):
    """φ(ω, x) = exp(−(ω − x₁)²/2)·(1 + ½ tanh x₂) on an interval."""

    dim: int = 1

    def fill(self, omega, x, A, dA):
        diff = omega[None, :] - x[:, :1]
        A[...] = np.exp(-0.5 * diff**2) * (1 + 0.5 * np.tanh(x[:, 1:]))
        dA[0] = -diff * A


@dataclass(frozen=True)
class GaussianPlane(FeatureMap):
    """φ(ω, x) = exp(−‖ω − x‖²/2) on a box."""

    dim: int = 2

    def fill(self, omega, x, A, dA):
        diff = omega[None, :, :] - x[:, None, :]
        A[...] = np.exp(-0.5 * np.sum(diff**2, axis=-1))
        dA[...] = np.moveaxis(-diff * A[..., None], -1, 0)


def closed_problem(domain, seed=0, n_data=600, n_teacher=200):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_data, 2))
    lo, hi = np.array(domain.lower), np.array(domain.upper)
    teacher = lo + (hi - lo) * rng.beta(2, 5, (n_teacher, domain.ndim))
    feature = GaussianLine() if domain.ndim == 1 else GaussianPlane()
    teacher = teacher[:, 0] if domain.ndim == 1 else teacher
    y = feature(teacher, x).mean(axis=1)
    return TeacherStudent(domain, feature, x, y, teacher, float("nan"))


def problem_on(domain, seed=0):
    if domain.kind in ("circle", "torus"):
        return make_teacher_student(domain, 100.0, 800, 400, rng=seed)
    return closed_problem(domain, seed)


def bumpy(domain, seed=1, floor=0.2):
    rng = np.random.default_rng(seed)
    rho = np.ones(domain.shape)
    for axis, length in zip(domain.mesh(), domain.lengths):
        rho = rho + 0.6 * np.cos(4 * np.pi * axis / length + rng.uniform(0, 2 * np.pi))
    rho = np.clip(rho, floor, None)
    return rho / domain.integrate(rho)


DOMAINS = {"circle": pf.Circle(48), "torus": pf.Torus((10, 12), 4.0),
           "interval": pf.Interval(-2.0, 2.0, 40), "box": pf.Box((-2.0, 2.0), (-1.5, 1.5), (11, 9))}


# ---- the finite-volume layer ------------------------------------------------------------
@pytest.mark.parametrize("limiter", sorted(kernels.LIMITERS))
def test_face_densities_match_numpy_and_stay_between_neighbours(any_domain, limiter):
    g = face_graph(any_domain)
    rng = np.random.default_rng(2)
    rho = rng.uniform(0, 2, any_domain.size)
    rho[rng.uniform(size=rho.size) < 0.2] = 0.0
    psi = rng.normal(size=any_domain.size)
    out = np.empty(g.left.size)
    code = kernels.LIMITERS[limiter]
    kernels.face_densities(rho, psi, g.left, g.right, g.far_left, g.far_right, code, out)
    expected = reference.face_densities(rho, psi, g.left, g.right, g.far_left, g.far_right, code)
    np.testing.assert_allclose(out, expected, rtol=1e-15, atol=1e-15)
    lo = np.minimum(rho[g.left], rho[g.right])
    hi = np.maximum(rho[g.left], rho[g.right])
    # the reconstruction stays between the upwind cell and its downwind neighbour, so ≥ 0
    assert np.all(out >= lo - 1e-15) and np.all(out <= hi + 1e-15)
    if limiter == "upwind":
        up = np.where(psi[g.right] >= psi[g.left], g.left, g.right)
        np.testing.assert_array_equal(out, rho[up])


def test_far_neighbours_are_one_more_step_along_the_axis(any_domain):
    g = face_graph(any_domain)
    shape = np.array(any_domain.shape)
    for f in range(g.left.size):
        l = np.array(np.unravel_index(g.left[f], any_domain.shape))
        r = np.array(np.unravel_index(g.right[f], any_domain.shape))
        axis = int(np.flatnonzero(l != r)[0])
        step = np.zeros_like(l)
        step[axis] = 1
        for cell, far, direction in ((l, g.far_left[f], -1), (r, g.far_right[f], 1)):
            target = cell + direction * step
            if any_domain.periodic[axis]:
                target = target % shape
            elif not 0 <= target[axis] < shape[axis]:
                assert far == -1
                continue
            assert far == np.ravel_multi_index(tuple(target), any_domain.shape)


# ---- the projection at the grid's cells is VarPro's --------------------------------------
@pytest.mark.parametrize("domain", [pf.Circle(40), pf.Torus((6, 7), 4.0)], ids=["circle", "torus"])
@pytest.mark.parametrize("reg", ["f_b", "f_u", "f_r"])
def test_a_grid_of_particles_is_varpro(domain, reg):
    """Cell masses k_c/M at the centres (k_c particles in cell c, some cells empty) give VarPro's
    u, h and reduced risk for the M particles placed at the centres."""
    problem = make_teacher_student(domain, 100.0, 700, 300, rng=3)
    lam = 1e-2
    counts = np.random.default_rng(4).integers(0, 4, domain.size)
    counts[0] = 0
    m_total = counts.sum()
    centres = np.stack([c.ravel() for c in domain.mesh()], axis=1)
    particles = np.repeat(centres, counts, axis=0)
    particles = particles[:, 0] if domain.ndim == 1 else particles
    # the particles' own Newton for f_r (default 1/M path) stalls near 1e-12 relative gradient,
    # where J stops resolving its Armijo test; the weighted path takes full Newton steps there
    vp = VarPro(problem, lam, reg, tol=1e-11 if reg == "f_r" else 1e-13, r=3.0)
    state = vp.state(particles)
    if reg == "f_r":
        exact = VarPro(problem, lam, reg, tol=1e-13, r=3.0).state(particles, weights=np.full(m_total, 1 / m_total))
        np.testing.assert_allclose(state.u, exact.u, rtol=0, atol=1e-9 * np.abs(exact.u).max())
        state = exact
    op = vp.operator_at(particles)
    h_particles, _, _ = vp.potential_terms(op, state.u)

    model = pf.WassersteinFlow(problem, pf.WassersteinParams(lam, reg, r=3.0, tol=1e-13), domain)
    rho = (counts / m_total / domain.cell_volume).reshape(domain.shape)
    fields = model.fields(rho)
    occupied = np.repeat(np.arange(domain.size), counts)
    scale = np.abs(state.u).max()
    np.testing.assert_allclose(fields.u[occupied], state.u, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(fields.h[occupied], h_particles, rtol=0, atol=1e-10 * np.abs(h_particles).max())
    assert model.risk(rho) == pytest.approx(state.risk, rel=1e-10)


# ---- properties of the semi-discrete flow -------------------------------------------------
def fourth_order_derivative(f, step):
    return (f(-2 * step) - 8 * f(-step) + 8 * f(step) - f(2 * step)) / (12 * step)


@pytest.mark.parametrize("name", sorted(DOMAINS))
@pytest.mark.parametrize("scheme", ["upwind", "vanleer"])
def test_risk_decays_exactly_at_the_dissipation_rate(name, scheme):
    """dL_h/dt = −Σ_faces |face|Δ (face density) v² against a finite difference of L_h along dμ/dt.

    ∂L_h/∂m_c = −f*(h_c) by the envelope theorem, so the identity is exact in the semi-discrete
    sense; a fourth-order central difference reaches it to ~1e-11 (its own round-off).
    """
    domain = DOMAINS[name]
    problem = problem_on(domain)
    model = pf.WassersteinFlow(problem, pf.WassersteinParams(1e-2, "f_u", scheme=scheme, tol=1e-14), domain)
    rho = bumpy(domain)
    direction = model.rhs(0.0, rho.ravel()).reshape(domain.shape)
    dissipation = model.dissipation(rho)
    assert dissipation > 0
    step = 1e-3 * rho.max() / np.abs(direction).max()
    rate = fourth_order_derivative(lambda s: model.risk(rho + s * direction), step)
    assert abs(rate + dissipation) <= 1e-9 * dissipation
    # mass: the fluxes cancel in pairs
    assert abs(domain.integrate(direction)) <= 1e-13 * np.abs(direction).max() * domain.volume


def test_a_run_keeps_mass_and_positivity_and_the_risk_decreases():
    domain = pf.Circle(128)
    problem = make_teacher_student(domain, 100.0, 1024, 512, rng=5)
    x = domain.axes[0]
    rho0 = np.where(np.abs(x - np.pi) < 2.0, 1.0 + np.cos(x), 0.0)   # a third of the circle empty
    rho0 /= domain.integrate(rho0)
    # semi-discrete positivity: an empty cell only receives
    model = pf.WassersteinFlow(problem, pf.WassersteinParams(1e-2))
    empty = rho0 == 0
    assert model.rhs(0.0, rho0)[empty].min() >= 0.0 and model.rhs(0.0, rho0)[empty].max() > 0.0
    traj = pf.solve_wasserstein_flow(problem, lam=1e-2, rho0=rho0, t_eval=np.linspace(0, 2, 21), method="RK45")
    # RK45 combines stages with a negative weight: at the front a step may land a rounding
    # amount below zero (seen: −1e-20), which the flow pulls back
    assert traj.rho.shape == (21, 128) and traj.rho.min() >= -1e-15 * traj.rho.max()
    assert np.abs(traj.mass - 1.0).max() <= 1e-13
    assert np.all(np.diff(traj.risk) < 0)
    assert traj.rho[-1][np.abs(x - np.pi) >= 2.0].sum() > 0   # mass has entered the empty arc


def test_explicit_and_implicit_integrators_agree():
    domain = pf.Circle(32)
    problem = make_teacher_student(domain, 100.0, 400, 200, rng=6)
    rho0 = bumpy(domain)
    runs = {m: pf.solve_wasserstein_flow(problem, lam=1e-1, rho0=rho0, t_eval=[0, 0.25, 0.5], method=m,
                                         rtol=1e-8)
            for m in ("RK45", "LSODA", "BDF")}
    for m in ("LSODA", "BDF"):
        np.testing.assert_allclose(runs[m].rho, runs["RK45"].rho, rtol=0, atol=1e-5 * rho0.max())
        np.testing.assert_allclose(runs[m].risk, runs["RK45"].risk, rtol=1e-6)


def test_the_limited_scheme_converges_faster_in_W1():
    """Grid error in W₁ at t = 1 against n = 512 (W₁, not L¹: h is a sum of ReLUs, rough below the data
    spacing).  Coarse densities are compared as piecewise-constant densities on the reference grid."""
    problem = make_teacher_student(pf.Circle(8), 100.0, 2048, 1024, rng=7)
    ref_n = 512

    def final(n, scheme):
        traj = pf.solve_wasserstein_flow(problem, lam=1e-1, grid=pf.Circle(n), t_eval=[0, 1.0], scheme=scheme,
                                         rtol=1e-8)
        return grid_points(pf.Circle(n), traj.rho[-1], refine=ref_n // n)

    def w1(a, b):
        return wasserstein_circle(a[0], b[0], x_weights=a[1], y_weights=b[1], p=1)

    ref = final(ref_n, "vanleer")
    err = {s: np.array([w1(final(n, s), ref) for n in (32, 64, 128)]) for s in ("upwind", "vanleer")}
    upwind, vanleer = err["upwind"][1:] / err["upwind"][:-1], err["vanleer"][1:] / err["vanleer"][:-1]
    assert np.all((upwind > 0.4) & (upwind < 0.6))   # first order
    assert np.all(vanleer < 0.42)                     # order > 1.25 (limiters clip at extrema)
    assert err["vanleer"][-1] < 0.3 * err["upwind"][-1]


# ---- API: store, errors ---------------------------------------------------------------------
def test_stored_run_reads_back(tmp_path):
    domain = pf.Circle(32)
    problem = make_teacher_student(domain, 100.0, 300, 200, rng=8)
    path = tmp_path / "flow.h5"
    traj = pf.solve_wasserstein_flow(problem, lam=1e-2, reg="f_b", t_eval=[0, 0.1, 0.2], store=path)
    back = pf.load_trajectory(path)
    assert back.model == "wasserstein" and back.status == "complete"
    assert back.params["lam"] == 1e-2 and back.params["reg"] == "f_b" and back.params["scheme"] == "vanleer"
    np.testing.assert_array_equal(back.rho, traj.rho)
    np.testing.assert_array_equal(back.risk, traj.risk)
    np.testing.assert_array_equal(back.static["x"], problem.x)
    assert traj.rho.shape == (3, 32) and traj.mass.shape == (3,)
    assert traj.rho[0] == pytest.approx(np.full(32, 1 / (2 * np.pi)))


@pytest.mark.parametrize("kwargs, match", [
    ({"lam": 0.0}, "lam must"), ({"lam": -1e-2}, "lam must"), ({"lam": "big"}, "lam must"),
    ({"lam": None}, "lam must"), ({"lam": "0.01"}, "lam must"), ({"lam": float("nan")}, "lam must"), ({"reg": "f_x"}, "regularisation"), ({"reg": "f_r", "r": 1.0}, "r > 1"),
    ({"scheme": "weno"}, "scheme"), ({"grid": pf.Torus((8, 8), 4.0)}, "feature space"),
    ({"grid": pf.Interval(0, 2 * np.pi, 16)}, "feature space"),
    ({"rho0": np.full(16, 1.0)}, "mass"), ({"rho0": np.full(17, 1 / (2 * np.pi))}, "shape"),
    ({"rho0": np.r_[-0.1, np.full(15, 0.2)]}, "non-negative"), ({"rho0": np.r_[np.nan, np.full(15, 0.2)]}, "finite"),
    ({"method": "Euler"}, "method"), ({"t_eval": [1.0, 0.5]}, "increasing"), ({"rtol": -1.0}, "rtol"),
])
def test_bad_input_fails_before_any_work_or_file(tmp_path, kwargs, match):
    problem = make_teacher_student(pf.Circle(16), 100.0, 100, 100, rng=0)
    args = {"lam": 1e-2, "t_eval": [0, 0.1], "store": tmp_path / "never.h5", **kwargs}
    with pytest.raises(ValueError, match=match) as info:
        pf.solve_wasserstein_flow(problem, **args)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "never.h5").exists()


def test_a_failed_projection_names_the_time(tmp_path):
    domain = pf.Circle(32)
    problem = make_teacher_student(domain, 100.0, 300, 200, rng=9)
    model = pf.WassersteinFlow(problem, pf.WassersteinParams(1e-2))
    model.projection.max_iter = 0           # every solve stops short of its tolerance
    with pytest.raises(pf.IntegrationError, match=r"ridge projection failed at t = 0\b") as info:
        pf.solve(model, np.full(32, 1 / (2 * np.pi)), [0, 0.1], store=tmp_path / "failed.h5")
    assert info.value.t == 0.0
    assert pf.load_trajectory(tmp_path / "failed.h5").status.startswith("failed: the ridge projection failed")


# ---- metrics for comparing grids and particles ------------------------------------------
def test_energy_distance_splits_over_fourier_modes():
    """Σ_k (8/π)|σ̂_k|²/(4k² − 1) = MMD² (chordal energy distance), against the direct pair sums."""
    from pdeflow.metrics import energy_distance_modes, mmd, relu_invisible

    domain = pf.Circle(256)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 2 * np.pi, 300)
    rho = 1 + 0.5 * np.cos(domain.axes[0]) + 0.3 * np.sin(3 * domain.axes[0])
    centres, masses = grid_points(domain, rho / domain.integrate(rho))
    exact = mmd(x, centres, domain, y_weights=masses) ** 2
    modes = energy_distance_modes(x, centres, y_weights=masses, k_max=4096)
    assert modes.sum() == pytest.approx(exact, rel=1e-4)
    # a pure mode-3 difference is all invisible to ReLU features
    a = 1 + 0.2 * np.cos(3 * domain.axes[0])
    split = energy_distance_modes(centres, centres, x_weights=a, y_weights=np.ones(256), k_max=128)
    assert split[relu_invisible(128)].sum() == pytest.approx(split.sum(), rel=1e-12)
    assert split[2] == pytest.approx(8 / np.pi / 35 * (0.2 / 2) ** 2, rel=1e-10)


def test_refined_grid_points_compare_grids_as_densities():
    """Atoms at cell centres sit Δ/4 (in W₁) from the density they stand for; refined, they do not."""
    coarse, fine = pf.Circle(16), pf.Circle(256)
    x, m = grid_points(coarse, np.full(16, 1 / (2 * np.pi)))
    y, p = grid_points(fine, np.full(256, 1 / (2 * np.pi)))
    assert wasserstein_circle(x, y, x_weights=m, y_weights=p, p=1) == pytest.approx(2 * np.pi / 16 / 4, rel=0.07)
    xr, mr = grid_points(coarse, np.full(16, 1 / (2 * np.pi)), refine=16)
    assert wasserstein_circle(xr, y, x_weights=mr, y_weights=p, p=1) < 1e-12
    torus = pf.Torus((4, 6), 4.0)
    rho = bumpy(torus)
    pts, mass = grid_points(torus, rho, refine=3)
    assert pts.shape == (4 * 6 * 9, 2) and mass.sum() == pytest.approx(1.0, rel=1e-13)
    with pytest.raises(ValueError, match="refine"):
        grid_points(torus, rho, refine=0)


@pytest.mark.parametrize("reg", ["f_b", "f_r"])
def test_the_dissipation_identity_for_the_other_regularisations(reg):
    """Ψ = f*(h): f_b* = s²/2, f_r* = |s/q|^q (r = 3, q = 3/2); the envelope identity holds for each."""
    domain = DOMAINS["circle"]
    problem = problem_on(domain)
    model = pf.WassersteinFlow(problem, pf.WassersteinParams(1e-2, reg, r=3.0, tol=1e-14), domain)
    rho = bumpy(domain)
    direction = model.rhs(0.0, rho.ravel()).reshape(domain.shape)
    dissipation = model.dissipation(rho)
    step = 1e-3 * rho.max() / np.abs(direction).max()
    rate = fourth_order_derivative(lambda s: model.risk(rho + s * direction), step)
    assert abs(rate + dissipation) <= 1e-8 * dissipation


@pytest.mark.parametrize("name", ["interval", "box"])
def test_closed_domains_keep_their_mass_through_a_run(name):
    domain = DOMAINS[name]
    model = pf.WassersteinFlow(problem_on(domain), pf.WassersteinParams(1e-2), domain)
    traj = pf.solve(model, bumpy(domain), np.linspace(0, 0.5, 6))
    assert np.abs(traj.mass - 1.0).max() <= 1e-13
    assert np.all(np.diff(traj.risk) < 0) and traj.rho.min() >= 0.0
    # no flux through the boundary: the mass near it changes only through the interior faces,
    # which a closed domain's face graph lists and nothing else does
    graph = face_graph(domain)
    assert graph.left.size == sum((n - 1) * domain.size // n for n in domain.shape)
