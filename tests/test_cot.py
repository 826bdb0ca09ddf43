"""COT flows of mean-field ResNets: residual maps, depth pass, grid finite volumes, particles (docs: theory/cot)."""

import h5py
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import pdeflow as pf
from pdeflow.cot import (RESIDUALS, COTGrid, COTGridParams, cot_problem, depth_pass, gradient_norm,
                         kernel_matrices, pl_lower_bound)
from pdeflow.fv import face_stencil, kernels, reference

FAMILIES = {"linear": {"A": 1.3}, "circle_translation": {}, "tanh_shl": {}, "torus_translation": {}}


def _random_layers(residual, S=3, C=5, N=4, seed=0):
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=(S, C, residual.p))
    x, y = rng.normal(size=(N, residual.d)), rng.normal(size=(N, residual.d))
    w = rng.random((S, C))
    return theta, w / w.sum(axis=1, keepdims=True), x, y


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_residual_derivatives_match_central_differences(family):
    res = RESIDUALS[family](**FAMILIES[family])
    rng = np.random.default_rng(1)
    theta, x = rng.normal(size=(6, res.p)), rng.normal(size=(5, res.d))
    val = res.evaluate(theta, x, want_theta=True)
    eps = 1e-6
    for a in range(res.d):
        dx = np.zeros(res.d)
        dx[a] = eps
        fd = (res.evaluate(theta, x + dx).psi - res.evaluate(theta, x - dx).psi) / (2 * eps)
        np.testing.assert_allclose(val.dx[..., a], fd, atol=1e-8)
    for a in range(res.p):
        dt = np.zeros(res.p)
        dt[a] = eps
        fd = (res.evaluate(theta + dt, x).psi - res.evaluate(theta - dt, x).psi) / (2 * eps)
        np.testing.assert_allclose(val.dth[..., a], fd, atol=1e-8)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_discrete_risk_gradients_are_potential_and_velocity(family):
    """∂R_S/∂w_{k,c} = Π_k(θ_c)/S and ∂R_S/∂θ_{k,c} = w_{k,c}V_k(θ_c)/S (docs: theory/cot §4.1), by FD."""
    res = RESIDUALS[family](**FAMILIES[family])
    theta, w, x, y = _random_layers(res)
    dp = depth_pass(res, theta, w, x, y, velocities=True)
    S, C, p = theta.shape
    eps = 1e-5

    def risk(th, ww):
        return depth_pass(res, th, ww, x, y).risk

    for k in range(S):
        for c in range(C):
            e = np.zeros_like(w)
            e[k, c] = eps
            fd = (risk(theta, w + e) - risk(theta, w - e)) / (2 * eps)
            assert fd == pytest.approx(dp.potential[k, c] / S, abs=1e-9)
            for a in range(p):
                e = np.zeros_like(theta)
                e[k, c, a] = eps
                fd = (risk(theta + e, w) - risk(theta - e, w)) / (2 * eps)
                assert fd == pytest.approx(w[k, c] * dp.velocity[k, c, a] / S, abs=1e-9)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_kernel_identity_and_pl_bound(family):
    """G = (1/S)Σ_k N⁻² 𝐩ᵀ𝕂_k𝐩 ([C15]) to 1e-12, and G/R ≥ q_low ([C16])."""
    res = RESIDUALS[family](**FAMILIES[family])
    theta, w, x, y = _random_layers(res, seed=3)
    dp = depth_pass(res, theta, w, x, y, velocities=True)
    K = kernel_matrices(dp, w)
    n = x.shape[0]
    via_kernel = np.mean([dp.p[k + 1].ravel() @ K[k] @ dp.p[k + 1].ravel() for k in range(3)]) / n**2
    G = gradient_norm(dp, w)
    assert abs(G - via_kernel) <= 1e-12 * G
    q_low = pl_lower_bound(dp, K)
    assert G / dp.risk >= q_low
    # the linear family's kernel A²cos(x − x′) has rank 2 < N = 4: its bound is zero
    assert q_low > 0 if family != "linear" else abs(q_low) < 1e-14


def test_p2_at_initialisation_matches_closed_forms():
    """Uniform layers: x(s) = x, p(s) = x − y, λ_min(𝕂₀) = 0.6326, q(0) = 0.8163 (docs: theory/cot §6 P2)."""
    pb = cot_problem("P2")
    res = pb.residual
    assert res.fourier(1) == pytest.approx(1.072505, abs=1e-6)
    np.testing.assert_allclose(pb.y[:, 0], [-1.92352, -1.24671, -0.54088, 0.24947, 1.14522, 2.08933],
                               atol=5e-6)
    assert pb.initial_risk == pytest.approx(5.12630e-3, rel=1e-5)
    model = COTGrid(pb, pb.domain(256), COTGridParams(S=4))
    rho0 = np.broadcast_to(pb.initial_density(model.domain), (4, 256))
    d = model.diagnostics(rho0)
    assert d["q"] == pytest.approx(0.8163, abs=1e-4)
    w, dp = model.fields(model.to_state(rho0), velocities=True)
    np.testing.assert_allclose(dp.x, np.broadcast_to(pb.x, dp.x.shape), atol=1e-15)
    kk = np.arange(1, 60)
    ak = np.array([res.fourier(k) for k in kk])
    diff = pb.x[:, 0][:, None] - pb.x[:, 0][None, :]
    K0 = 0.5 * np.sum(kk**2 * ak**2 * np.cos(kk * diff[..., None]), axis=-1)
    np.testing.assert_allclose(kernel_matrices(dp, w)[0], K0, atol=1e-12)
    assert np.linalg.eigvalsh(K0)[0] == pytest.approx(0.6326, abs=1e-4)
    assert d["q_low"] == pytest.approx(2 * np.linalg.eigvalsh(K0)[0] / 6, rel=1e-10)


@pytest.mark.parametrize("kind", ["circle", "torus", "interval", "box"])
def test_advection_kernel_matches_numpy_twin_and_keeps_mass(kind):
    domain = {"circle": pf.Circle(11), "torus": pf.Torus((5, 7), 2.0), "interval": pf.Interval(0, 1, 9),
              "box": pf.Box((0, 1), (-1, 1), (6, 4))}[kind]
    st, g = face_stencil(domain), face_stencil(domain).graph
    rng = np.random.default_rng(2)
    rho = rng.random((3, domain.size))
    rho[:, ::3] = 0.0
    pot = rng.normal(size=(3, domain.size))
    for order in (1, 2):
        vel, flux, out = np.empty((3, g.left.size)), np.empty((3, g.left.size)), np.empty_like(rho)
        kernels.advection_fluxes(rho, pot, g.left, g.right, st.far_left, st.far_right, st.inv_h, order,
                                 vel, flux, out)
        v_ref, f_ref, o_ref = reference.advection_fluxes(rho, pot, g.left, g.right, st.far_left,
                                                         st.far_right, st.inv_h, order)
        np.testing.assert_allclose(vel, v_ref, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(flux, f_ref, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(out, o_ref, rtol=1e-14, atol=1e-14)
        assert np.abs(out.sum(axis=1)).max() < 1e-13
        # face values of nonnegative data are nonnegative: upwind flux has the sign of v
        assert np.all(flux * vel >= 0)
        # the tensor-grid kernel (line by line, what COTGrid runs): the same faces and fluxes exactly
        # (1/h per axis from the stencil), the divergence to round-off
        starts = np.cumsum([0] + [domain.size // n * (n if per else n - 1)
                                  for n, per in zip(domain.shape, domain.periodic)])[:-1]
        tv, tf, to = np.empty_like(vel), np.empty_like(flux), np.empty_like(out)
        kernels.tensor_advection_fluxes(rho, pot, np.array(domain.shape), np.array(domain.periodic),
                                        st.inv_h[starts], order, tv, tf, to, np.empty(max(domain.shape)))
        np.testing.assert_array_equal(tv, vel)
        np.testing.assert_array_equal(tf, flux)
        np.testing.assert_allclose(to, out, rtol=0, atol=1e-14 * np.abs(out).max())


@pytest.mark.parametrize("name,grid", [("P2", 48), ("P1", 20), ("P3", (12, 24)), ("P2b", 12)])
@pytest.mark.parametrize("scheme", ["upwind", "vanleer"])
def test_discrete_risk_decays_exactly_along_the_grid_flow(name, grid, scheme):
    """dR_h/dt along dρ/dt equals −(dissipation) (docs: theory/cot §4.2 (c)), checked by a 4th-order FD."""
    pb = cot_problem(name)
    domain = pb.domain(grid)
    S = 3
    model = COTGrid(pb, domain, COTGridParams(S, scheme))
    rng = np.random.default_rng(4)
    rho = pb.initial_density(domain) * (1 + 0.5 * rng.random((S,) + domain.shape))
    rho /= domain.integrate(rho).reshape((S,) + (1,) * domain.ndim)
    y = model.to_state(rho)
    f = model.rhs(0.0, y)
    D = model.dissipation(y)
    scale = 1e-4 / np.abs(f).max()   # 4th-order FD: truncation below round-off at this step

    def R(a):
        return model.fields(y + a * scale * f)[1].risk

    fd = (8 * (R(1) - R(-1)) - (R(2) - R(-2))) / (12 * scale)
    assert D > 0
    assert abs(fd + D) <= 1e-10 * D
    assert np.abs(f.reshape(S, -1).sum(axis=1)).max() * domain.cell_volume < 1e-15


def _p1_reduced_risk(S, t_eval):
    """Independent P1 solution: μ_t(·|k) = μ₀(· − c_k(t)), dc_k/dt = −w_k[c] (docs: theory/cot §6 P1)."""
    pb = cot_problem("P1")
    x0, y, A = pb.x[:, 0], pb.y[:, 0], 1.0

    def forward(c):
        xs = [x0]
        for k in range(S):
            xs.append(xs[-1] + A / S * (c[k, 0] * np.cos(xs[-1]) + c[k, 1] * np.sin(xs[-1])))
        return xs

    def rhs(t, c):
        c = c.reshape(S, 2)
        xs = forward(c)
        p, w = xs[-1] - y, np.empty((S, 2))
        for k in range(S - 1, -1, -1):
            w[k] = A / 2 * np.array([np.sum(p * np.cos(xs[k])), np.sum(p * np.sin(xs[k]))])
            p = p + A / S * (-c[k, 0] * np.sin(xs[k]) + c[k, 1] * np.cos(xs[k])) * p
        return -w.ravel()

    sol = solve_ivp(rhs, (0, t_eval[-1]), np.zeros(2 * S), t_eval=t_eval, rtol=1e-12, atol=1e-14)
    return np.array([0.5 * np.mean((forward(c.reshape(S, 2))[-1] - y) ** 2) for c in sol.y.T])


def test_p1_upwind_grid_and_antithetic_particles_equal_the_reduced_ode(tmp_path):
    S, t = 4, np.linspace(0, 10, 6)
    ref = _p1_reduced_risk(S, t)
    assert ref[0] == pytest.approx(0.1241576, rel=1e-6)
    traj = pf.solve_cot("P1", S=S, grid=32, scheme="upwind", t_eval=t, rtol=1e-10, atol=1e-14,
                        store=tmp_path / "p1.h5")
    leak = traj.boundary_mass.max()
    assert 0 < leak < 1e-3
    assert np.max(np.abs(traj.risk - ref) / ref) <= 10 * leak + 1e-8
    assert np.abs(traj.mass - 1).max() < 1e-13 and traj.rho.min() > -1e-12
    assert np.all(np.diff(traj.risk) < 0) and np.all(traj.q >= traj.q_low)
    with h5py.File(tmp_path / "p1.h5") as f:
        assert f["rho"].shape == (6, S, 32, 32) and f["mass"].shape == (6, S)
    for M in (2, 6):
        part = pf.run_resnet("P1", S=S, M=M, init="antithetic", t_eval=t, seed=M, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(part.risk, ref, rtol=1e-8)


def test_particles_agree_with_grid_and_gd_with_flow_on_p2():
    t = np.array([0.0, 2.0, 4.0])
    grid = pf.solve_cot("P2", S=4, grid=128, t_eval=t, rtol=1e-9)
    part = pf.run_resnet("P2", S=4, M=64, init="stratified", t_eval=t, seed=0, rtol=1e-9)
    np.testing.assert_allclose(part.risk, grid.risk, rtol=2e-3)
    assert part.positions.shape == (3, 4, 64, 1)
    assert np.abs(grid.mass - 1).max() < 1e-13
    # the Euclidean gradient is V/(S M): GD with η = S M τ is explicit Euler with step τ (docs: theory/cot §3)
    gd = [pf.run_resnet("P2", S=4, M=64, init="stratified", t_eval=t, seed=0, method="gd", tau=tau).risk
          for tau in (0.1, 0.05)]
    err = [np.abs(g - part.risk).max() for g in gd]
    assert err[1] < 0.6 * err[0] and err[1] < 5e-3 * part.risk[0]


def test_boundary_leak_fails_loudly_and_keeps_outputs(tmp_path):
    with pytest.raises(pf.IntegrationError, match="outermost cells") as info:
        pf.solve_cot("P1", S=2, grid=pf.Box((-0.75, 0.75), (-0.75, 0.75), (12, 12)), scheme="upwind",
                     t_eval=np.linspace(0, 20, 41), max_boundary_mass=1e-2, store=tmp_path / "leak.h5")
    assert info.value.t > 0
    back = pf.load_trajectory(tmp_path / "leak.h5")
    assert back.status.startswith("failed") and back.t.size >= 1 and back.rho.shape[1:] == (2, 12, 12)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the blow-up is the point
def test_particles_non_finite_state_fails_with_outputs_kept(tmp_path):
    with pytest.raises(pf.IntegrationError, match="non-finite") as info:
        pf.run_resnet("P1", S=2, M=8, t_eval=np.arange(0, 4000.0, 100.0), method="gd", tau=100.0, seed=0,
                      store=tmp_path / "blow.h5")
    back = pf.load_trajectory(tmp_path / "blow.h5")
    assert back.status.startswith("failed") and back.t[0] == 0 and info.value.t > 0


@pytest.mark.parametrize("call,match", [
    (lambda: pf.solve_cot("P9", S=2, t_eval=[0, 1]), "unknown COT problem 'P9'"),
    (lambda: pf.solve_cot("P2", S=2, scheme="weno", t_eval=[0, 1]), "unknown scheme 'weno'"),
    (lambda: pf.solve_cot("P2", S=0, t_eval=[0, 1]), "S .* >= 1"),
    (lambda: pf.solve_cot("P2", S=2.5, t_eval=[0, 1]), "S .* integer, got 2.5"),
    (lambda: pf.solve_cot("P2", S=2, grid=16.5, t_eval=[0, 1]), "grid .* integer, got 16.5"),  # was run on 16
    (lambda: pf.solve_cot("P2", S=2, grid=2, t_eval=[0, 1]), "grid .* >= 3, got 2"),
    (lambda: pf.solve_cot("P2b", S=2, grid=[16, "x"], t_eval=[0, 1]), "grid .* integer, got 'x'"),
    (lambda: pf.run_resnet("P2", S=2, M=4, t_eval=[0, 1], resume="yes"), "resume must be True or False"),
    (lambda: pf.solve_cot("P2", S=2, grid=16, rho0=np.full(16, 0.2), t_eval=[0, 1]), "layer 0 has mass 1.2566"),
    (lambda: pf.solve_cot("P1", S=2, grid=pf.Box((-0.5, 0.5), (-0.5, 0.5), (10, 10)), t_eval=[0, 1]),
     "outermost cells"),
    (lambda: pf.run_resnet("P2", S=2, M=4, init="sobol", t_eval=[0, 1]), "unknown init 'sobol'"),
    (lambda: pf.run_resnet("P2", S=2, M=4, init="antithetic", t_eval=[0, 1]), "no linear coordinate"),
    (lambda: pf.run_resnet("P1", S=2, M=3, init="antithetic", t_eval=[0, 1]), "even width"),
    (lambda: pf.run_resnet("P2", S=2, M=4, method="gd", t_eval=[0, 1]), "needs a step tau"),
    (lambda: pf.run_resnet("P2", S=2, M=4, method="gd", tau=0.3, t_eval=[0, 1]), "multiple of tau = 0.3"),
    (lambda: pf.run_resnet("P2", S=2, M=0, t_eval=[0, 1]), "M .* >= 1"),
    (lambda: pf.run_resnet("P2", S=2, M=4, method="Euler", t_eval=[0, 1]), "unknown method 'Euler'"),
])
def test_bad_input_is_refused_before_work(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_refused_runs_create_no_file(tmp_path):
    with pytest.raises(ValueError, match="multiple of tau"):
        pf.run_resnet("P2", S=2, M=4, method="gd", tau=0.3, t_eval=[0, 1], store=tmp_path / "a.h5")
    with pytest.raises(ValueError, match="layer 1 has mass"):
        pf.solve_cot("P2", S=2, grid=16, rho0=np.stack([np.full(16, 1 / (2 * np.pi)), np.full(16, 0.1)]),
                     t_eval=[0, 1], store=tmp_path / "b.h5")
    assert list(tmp_path.iterdir()) == []


def test_lsoda_gets_a_band_as_memory_device_and_runs():
    """No Jacobian, but LSODA must not allocate a dense size² matrix (docs: theory/cot §4.3)."""
    from pdeflow.integrators import METHODS, jacobian_options

    pb = cot_problem("P2")
    model = COTGrid(pb, pb.domain(32), COTGridParams(S=2))
    assert jacobian_options(METHODS["LSODA"], model) == {"lband": 1, "uband": 1}
    assert jacobian_options(METHODS["BDF"], model) == {} == jacobian_options(METHODS["RK45"], model)
    t = [0.0, 1.0]
    a = pf.solve_cot("P2", S=2, grid=32, t_eval=t, method="LSODA", rtol=1e-10, atol=1e-13)
    b = pf.solve_cot("P2", S=2, grid=32, t_eval=t, method="DOP853", rtol=1e-10, atol=1e-13)
    assert a.risk[-1] == pytest.approx(b.risk[-1], rel=1e-7) and a.stats["method"] == "LSODA"
    # the particles too: their Jacobian is dense, S·M·p unknowns
    flow = pf.cot.ResNetFlow(pb, 2, 8)
    assert jacobian_options(METHODS["LSODA"], flow) == {"lband": 1, "uband": 1}


def test_numba_only_systems_are_integrated_with_one_blas_thread():
    """COTGrid and ResNetFlow ask for one BLAS thread while integrating; the limit is lifted after."""
    from threadpoolctl import threadpool_info

    from pdeflow.integrators import blas_threads_limited, integrate

    def blas_threads():
        return {lib["filepath"]: lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    before = blas_threads()
    seen = []

    class Probe:
        jacobian = "none"
        blas_threads = 1

        def rhs(self, t, y):
            seen.append(set(blas_threads().values()))
            return -y

    integrate(Probe(), np.ones(3), np.array([0.0, 0.1]), on_output=lambda t, y: None, method="RK45")
    assert seen and all(s == {1} for s in seen)
    assert blas_threads() == before
    with blas_threads_limited(None):
        assert blas_threads() == before
    assert COTGrid.blas_threads == pf.cot.ResNetFlow.blas_threads == 1


def test_teachers_and_targets_of_the_problems():
    """Targets of docs: theory/cot §6 (RK4, 2000 steps); P2b's closed-form teacher field against quadrature."""
    np.testing.assert_allclose(cot_problem("P1").y[:, 0], [-0.2953354, 0.9911598], atol=1e-7)
    p3 = cot_problem("P3")
    np.testing.assert_allclose(p3.y[:, 0], [-1.29979, -0.58727, 0.62747, 1.29997], atol=5e-6)
    assert p3.initial_risk == pytest.approx(0.0413572, rel=1e-5)
    pb = cot_problem("P2b")
    n = 128
    th = (np.arange(n) + 0.5) * 2 * np.pi / n
    t1, t2 = np.meshgrid(th, th, indexing="ij")
    thetas = np.stack([t1.ravel(), t2.ravel()], axis=1)
    for s in (0.0, 0.37):
        dens = (1 + 0.5 * np.cos(thetas[:, 0] - (np.pi / 2 + np.pi * s))) / n**2
        field = np.einsum("c,cnd->nd", dens, pb.residual.evaluate(thetas, pb.x).psi)
        np.testing.assert_allclose(field, pb.teacher(s, pb.x), atol=1e-13)
    # the uniform layer and the stratified lattice have F ≡ 0 (lattice: up to aliasing)
    theta = pb.sample(2, 256, "stratified", np.random.default_rng(0))
    w = np.full((2, 256), 1 / 256)
    assert depth_pass(pb.residual, theta, w, pb.x, pb.y).risk == pytest.approx(pb.initial_risk, rel=1e-9)


@pytest.mark.parametrize("name", ["P1", "P2", "P3", "P2b"])
@pytest.mark.parametrize("shared", [True, False])
def test_fused_depth_kernels_match_the_numpy_depth_pass(name, shared):
    """The numba fused kernels (pdeflow.cot.kernels) and their twin depth_pass agree to round-off:
    risk, forward states, adjoints, potentials, velocities and tangent kernels, with scaled weights."""
    from pdeflow.cot.depth import DepthWorkspace, potentials

    pb = cot_problem(name)
    assert pb.residual.fused() is not None
    rng = np.random.default_rng(5)
    S, C = 4, 37
    theta = rng.normal(size=(C, pb.residual.p) if shared else (S, C, pb.residual.p))
    w = rng.random((S, C))
    w /= w.sum(axis=1, keepdims=True)
    dp = depth_pass(pb.residual, theta, w, pb.x, pb.y, velocities=True)
    risk, pot, vel = potentials(pb.residual, theta, w, pb.x, pb.y, velocities=True)
    assert risk == pytest.approx(dp.risk, rel=1e-14)
    np.testing.assert_allclose(pot, dp.potential, rtol=0, atol=1e-14 * np.abs(dp.potential).max())
    np.testing.assert_allclose(vel, dp.velocity, rtol=0, atol=1e-14 * np.abs(dp.velocity).max())
    # the workspace: weights given as wscale × weights, everything else in its buffers, reused
    scale = 0.7
    ref = depth_pass(pb.residual, theta, scale * w, pb.x, pb.y, velocities=True)
    ws = DepthWorkspace(pb.residual, S, C, pb.x, pb.y, shared=shared)
    for _ in range(2):
        ws.run(ws.kernel_theta(theta), w, scale, velocities=True, kernels=True)
        got = ws.depth_pass()
        assert got.risk == pytest.approx(ref.risk, rel=1e-14)
        for a, b in ((got.x, ref.x), (got.p, ref.p), (got.potential, ref.potential), (got.velocity, ref.velocity),
                     (ws.kernels, kernel_matrices(ref, scale * w))):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-14 * np.abs(b).max())


def test_depth_workspace_runs_a_residual_without_fused_kernel_through_depth_pass():
    """A family with no fused kernel fills the same buffers from the numpy pass."""
    from dataclasses import dataclass
    from pdeflow.cot import CircleTranslation
    from pdeflow.cot.depth import DepthWorkspace

    @dataclass(frozen=True)
    class Plain(CircleTranslation):
        def fused(self):
            return None

    pb = cot_problem("P2")
    theta = np.random.default_rng(3).uniform(0, 2 * np.pi, (3, 9, 1))
    w = np.full((3, 9), 1 / 9)
    ws_plain = DepthWorkspace(Plain(), 3, 9, pb.x, pb.y, shared=False)
    ws_fused = DepthWorkspace(pb.residual, 3, 9, pb.x, pb.y, shared=False)
    for ws in (ws_plain, ws_fused):
        ws.run(ws.kernel_theta(theta), w, velocities=True, kernels=True)
    assert ws_plain.risk == pytest.approx(ws_fused.risk, rel=1e-14)
    for name in ("xs", "ps", "potential", "velocity", "kernels"):
        a, b = getattr(ws_plain, name), getattr(ws_fused, name)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-14 * np.abs(b).max())


@pytest.mark.parametrize("family,span", [("circle_translation", 2), ("torus_translation", 4)])
def test_translation_residuals_refuse_a_kappa_beyond_the_exact_exp_range(family, span):
    RESIDUALS[family](kappa=708 / span)
    for bad in (708 / span * 1.01, np.nan, np.inf):
        with pytest.raises(ValueError, match="kappa must be finite"):
            RESIDUALS[family](kappa=bad)


def test_cot_benchmark_baseline_is_the_same_semi_discretisation():
    """The bench's plain-numpy P2 right-hand sides (grid and particles) equal the package's."""
    from pdeflow.bench import _numpy_p2_pass, _numpy_vanleer_ring

    pb = cot_problem("P2")
    S, n = 3, 32
    model = COTGrid(pb, pb.domain(n), COTGridParams(S, "vanleer"))
    rng = np.random.default_rng(6)
    rho = (1 + 0.5 * rng.random((S, n))) / (2 * np.pi)
    rho /= model.layer_mass(rho)[:, None]
    h = model.domain.spacing[0]
    res = pb.residual
    _, pot, _ = _numpy_p2_pass(model.domain.axes[0][None, :], rho * h, pb.x[:, 0], pb.y[:, 0], res.A,
                               res.kappa, res.fused()[1][2])
    np.testing.assert_allclose(_numpy_vanleer_ring(rho, pot, h).ravel(), model.rhs(0, model.to_state(rho)),
                               rtol=0, atol=1e-13)


def test_depth_consistency_against_reference_values():
    """P2, M = 64 equispaced particles: R(5) for S = 5, 10, 20 as in docs: theory/cot §4.1 (errors O(1/S))."""
    ref = {5: 4.29339e-4, 10: 4.29024e-4, 20: 4.28892e-4}
    theta = 2 * np.pi * (np.arange(64) + 0.5) / 64
    got = {}
    for S in ref:
        traj = pf.run_resnet("P2", S=S, M=64, theta0=np.tile(theta, (S, 1)), t_eval=[0.0, 5.0], rtol=1e-10,
                             atol=1e-12)
        got[S] = traj.risk[-1]
        assert got[S] == pytest.approx(ref[S], abs=6e-10)
    assert (got[5] - got[10]) / (got[10] - got[20]) == pytest.approx(2.4, abs=0.2)


@pytest.mark.parametrize("runner", ["grid", "particles"])
def test_energy_identity_risk_drop_is_the_integrated_dissipation(runner):
    """R(0) − R(T) = ∫₀ᵀ G dt ([C12]): grid with its exact face dissipation, particles with G."""
    from scipy.integrate import simpson

    t = np.linspace(0.0, 2.0, 81)
    if runner == "grid":
        traj = pf.solve_cot("P2", S=3, grid=64, t_eval=t, rtol=1e-11, atol=1e-14)
        rate = traj.dissipation
    else:
        traj = pf.run_resnet("P2", S=3, M=32, init="stratified", t_eval=t, seed=2, rtol=1e-11, atol=1e-13)
        rate = traj.grad_norm
    drop = traj.risk[0] - traj.risk[-1]
    assert simpson(rate, x=t) == pytest.approx(drop, rel=1e-7)
    path = pf.metrics.path_length(t, traj.grad_norm)
    assert np.all(np.diff(path) > 0) and path[-1] <= 2 * np.sqrt(traj.risk[0] / traj.q.min())


def test_negative_noise_within_tolerance_is_accepted_beyond_it_refused():
    t = np.linspace(0, 20, 11)
    traj = pf.solve_cot("P1", S=2, grid=24, scheme="upwind", t_eval=t, rtol=1e-4)
    assert traj.status == "complete" and traj.rho.min() >= -10 * np.sqrt(2 * 24 * 24) * traj.params["atol"]
    pb = cot_problem("P2")
    model = COTGrid(pb, pb.domain(16), COTGridParams(S=2))
    y = model.to_state(np.full((2, 16), 1 / (2 * np.pi)))
    y[3] = -1e-6
    y[4] += 1e-6
    with pytest.raises(pf.IntegrationError, match=r"negative density at t = 1.5, cell \(0, 3\)"):
        model.check_state(1.5, y)


def test_cot_benchmark_runs_and_agrees_with_its_baseline():
    """Same method, same semi-discretisation: pdeflow's RK45 and the numpy baseline's give the same risk
    curve; every solver is within its tolerance of the tight reference and the report says so."""
    from pdeflow.bench import format_cot_report, run_cot_benchmark

    rep = run_cot_benchmark(repeats=1, S=2, n=32, M=16, t_end=1.0)
    for case in ("grid", "particles"):
        r = rep[case]
        same = r["pdeflow (RK45)"] if "pdeflow (RK45)" in r else r["pdeflow (default method)"]
        assert same["method"] == r["numpy + RK45"]["method"] == "RK45"
        assert np.max(np.abs(np.array(same["risk"]) / r["numpy + RK45"]["risk"] - 1)) < 1e-9
        assert same["nfev"] == r["numpy + RK45"]["nfev"]
        for name, rec in r.items():
            if "best_s" in rec:
                assert 0 < rec["max_rel_risk_error"] < 1e-6
        assert r["pdeflow (default method)"]["speedup_best"] > 0
    assert rep["particles"]["pdeflow (default method)"]["method"] == "DOP853"
    text = format_cot_report(rep)
    assert "speed-up" in text and "error" in text


def test_layer_summary_kernel_matches_numpy_and_the_checks_catch_non_finite_states():
    """The one-pass step check: layer sums, rim sums, min, max |ρ| and finiteness as numpy computes them."""
    from pdeflow.cot.kernels import layer_summary

    rng = np.random.default_rng(8)
    layers = rng.random((3, 40)) - 0.1
    rim = (rng.random(40) < 0.2).astype(float)
    sums, rims = np.empty(3), np.empty(3)
    lo, hi, finite = layer_summary(layers, rim, sums, rims)
    np.testing.assert_allclose(sums, layers.sum(axis=1), rtol=1e-14)
    np.testing.assert_allclose(rims, layers @ rim, rtol=1e-13)
    assert (lo, hi, finite) == (layers.min(), np.abs(layers).max(), True)
    for bad in (np.nan, np.inf, -np.inf):
        broken = layers.copy()
        broken[1, 7] = bad
        assert not layer_summary(broken, rim, sums, rims)[2]
    pb = cot_problem("P2")
    model = COTGrid(pb, pb.domain(16), COTGridParams(S=2))
    y = model.to_state(np.full((2, 16), 1 / (2 * np.pi)))
    y[20] = np.nan
    with pytest.raises(pf.IntegrationError, match=r"non-finite density at t = 0.5, cell \(1, 4\)"):
        model.check_state(0.5, y)


@pytest.mark.parametrize("runner", ["grid", "resnet"])
def test_resume_reads_back_this_run_reruns_an_unfinished_one_and_refuses_another(tmp_path, runner):
    """``resume=True`` (what ``pdeflow validate cot_* --resume`` passes): a complete run of the same
    problem is read back, not solved again; an unfinished one is solved again into its file; a
    run of another problem or with other output times is refused and left as it was."""
    path = tmp_path / f"{runner}.h5"
    t = [0.0, 0.5, 1.0]

    def run(resume=False, t_eval=t, size=None):
        if runner == "grid":
            return pf.solve_cot("P2", S=2, grid=size or 16, t_eval=t_eval, store=path, resume=resume)
        return pf.run_resnet("P2", S=2, M=size or 8, seed=3, t_eval=t_eval, store=path, resume=resume)

    first = run()
    again = run(resume=True)
    assert again.stats == first.stats and again.status == "complete"      # read back: same wall time
    np.testing.assert_array_equal(again.risk, first.risk)
    with h5py.File(path, "a") as f:                                       # as a killed run leaves it
        f.attrs["status"] = "interrupted"
    redone = run(resume=True)
    assert redone.status == "complete" and redone.stats["wall_time"] != first.stats["wall_time"]
    np.testing.assert_allclose(redone.risk, first.risk, rtol=1e-12)
    with pytest.raises(ValueError, match="cannot resume"):
        run(resume=True, size=32)                                         # another grid or width
    with pytest.raises(ValueError, match="other output times"):
        run(resume=True, t_eval=[0.0, 1.0])
    assert pf.load_trajectory(path).t.tolist() == t
