"""The --quick validations of the λ > 0 Wasserstein flow: particles against their mean-field limit, and λ → 0."""

import json

import numpy as np

from dataclasses import replace

from pdeflow.cli import main
from pdeflow.grid_references import reference_path
from pdeflow.validations import find_validation


def _summary(tmp_path, name):
    assert main(["validate", name, "--quick", "--out", str(tmp_path), "--quiet"]) == 0
    assert (tmp_path / f"{name}.png").stat().st_size > 10_000
    return json.loads((tmp_path / "summary.json").read_text())


def test_wasserstein_circle_quick(tmp_path):
    summary = _summary(tmp_path, "wasserstein_circle")
    widths = summary["widths"]
    for lam in ("0.1", "0.01"):
        assert -0.7 <= summary["exponent"][lam] <= -0.3
        curves = summary["mmd_particles_to_flow"][lam]
        assert sorted(curves) == sorted(str(m) for m in widths)
        assert [t for t, _ in curves[str(widths[0])]] == summary["times"]
        # more particles, closer to the flow, at every time
        for k in range(len(summary["times"])):
            values = [curves[str(m)][k][1] for m in widths]
            assert values == sorted(values, reverse=True)
            assert all(v <= 2 * np.sqrt(4 / (np.pi * m)) for v, m in zip(values, widths))
        assert summary["grid_error"][lam]["w1"] < 0.1 * summary["particle_error_largest_M"][lam]["w1"]
    exp = replace(find_validation("wasserstein_circle").QUICK, lam=0.01)
    assert reference_path(tmp_path, "wasserstein", exp).exists()
    assert reference_path(tmp_path, "wasserstein", replace(exp, n_grid=512)).exists()


def test_wasserstein_torus_quick(tmp_path):
    summary = _summary(tmp_path, "wasserstein_torus")
    small, large = (str(m) for m in summary["widths"])
    assert -0.7 <= summary["exponent"] <= -0.3
    for (_, a), (_, b) in zip(summary["mmd_particles_to_flow"][small], summary["mmd_particles_to_flow"][large]):
        assert b < a
    assert summary["grid_error_mmd"] < 0.5 * summary["particle_mmd_largest_M"]
    risk = np.array(summary["risk_flow"])[:, 1]
    assert np.all(np.diff(risk) < 0)
    assert reference_path(tmp_path, "wasserstein", find_validation("wasserstein_torus").QUICK).exists()


def test_wasserstein_limit_quick(tmp_path):
    summary = _summary(tmp_path, "wasserstein_limit")
    lams = [f"{lam:g}" for lam in summary["lambdas"]]
    for metric in ("mmd", "w1"):
        for k in (0, 1):   # t = 1 and t = 5
            values = [summary["flow_to_ufd"][lam][metric][k][1] for lam in lams]
            assert values == sorted(values, reverse=True)
    for lam, by_time in summary["decomposition"].items():
        for parts in by_time.values():
            # the split over modes is complete: invisible² + visible² = MMD² up to the truncated tail
            assert abs(parts["invisible"] ** 2 + parts["visible"] ** 2 - parts["total"] ** 2) <= 1e-5
            assert parts["teacher"] <= parts["teacher_mmd"]
    assert 0.005 < summary["teacher_floor_mmd"] < 0.05       # ~ M̄^(-1/2) for M̄ = 4096 atoms
    for row in summary["thesis_setting"].values():
        late = np.array(row["t"]) >= 1
        assert np.all(np.array(row["particles_to_flow"])[late] <= np.array(row["particles_to_ufd"])[late])


def test_fit_exponent_recovers_a_power_law_with_one_intercept_per_time():
    from pdeflow.experiments import fit_exponent

    widths = (64, 256, 1024)
    values = {t: 3.0 * t * np.array(widths, dtype=float) ** -0.5 for t in (1.0, 2.0, 5.0)}
    assert abs(fit_exponent(widths, values) + 0.5) < 1e-12
    noisy = {t: v * np.array([1.1, 0.9, 1.0]) for t, v in values.items()}
    assert -0.55 < fit_exponent(widths, noisy) < -0.45
