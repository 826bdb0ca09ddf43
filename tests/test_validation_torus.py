"""The --quick validations of thesis Appendix III.B (torus, Laplace RBF features) and of Fig. III.7."""

import json
from dataclasses import replace

import numpy as np

from pdeflow.cli import main
from pdeflow.experiments import run_name
from pdeflow.experiments_torus import TORUS_QUICK, configure
from pdeflow.grid_references import reference_path
from pdeflow.validations import find_validation


def _summary(tmp_path, name):
    assert main(["validate", name, "--quick", "--out", str(tmp_path), "--quiet"]) == 0
    assert (tmp_path / f"{name}.png").stat().st_size > 10_000
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["experiment"] == name
    return summary


def _final(curve):
    return curve[-1][1]


def test_fig_III_11_12_quick(tmp_path):
    summary = _summary(tmp_path, "fig_III_11_12")
    assert json.loads((tmp_path / "fig_III_11_12.json").read_text()) == summary   # kept under its name too
    widths = [str(w) for w in summary["widths"]]
    for reg in ("f_b", "f_u"):
        to_ufd = [summary["by_width"][w][reg]["transient_mmd_to_ufd"] for w in widths]
        assert to_ufd == sorted(to_ufd, reverse=True) and to_ufd[0] > 2 * to_ufd[-1]
    # late, the distance to the UFD is bounded below by the teacher's sampling error MMD(μ̄, μ_γ),
    # about √(E d/M̄) for M̄ = 1024 samples of μ_γ
    assert 0.01 < summary["teacher_sampling_mmd"] < 0.05
    fu = [summary["by_width"][w]["f_u"] for w in widths]
    assert [_final(e["risk"]) for e in fu] == sorted((_final(e["risk"]) for e in fu), reverse=True)
    # the f_b risk keeps its λ·f(u) ≈ ½ term, the f_u one goes to zero
    assert _final(summary["by_width"][widths[-1]]["f_b"]["risk"]) > 100 * _final(fu[-1]["risk"])
    # distances quoted at t_end/4, t_end/2, t_end for each width and f
    at = summary["by_width"][widths[-1]]["f_u"]["at"]
    assert [t for t, _ in at["mmd_to_ufd"]] == summary["quoted_times"] == [1.25, 2.5, 5.0]
    # start: M uniform particles against the uniform UFD, E MMD² = E d(X, X′)/M ≈ 1.22/M
    for w in widths:
        start = summary["by_width"][w]["f_u"]["mmd_to_ufd"][0][1]
        assert 0.5 < start / np.sqrt(1.2199 / int(w)) < 1.5
    assert reference_path(tmp_path, "ufd", TORUS_QUICK).exists()


def test_fig_III_13_quick(tmp_path):
    summary = _summary(tmp_path, "fig_III_13")
    fu = {lam: summary["by_lambda"][f"{lam:g}"]["f_u"] for lam in summary["lambdas"]}
    assert min(fu[lam]["r2"] for lam in (1e-2, 1e-3)) >= 0.9
    assert fu[1e-1]["late_rate"] < min(fu[lam]["rate"] for lam in (1e-2, 1e-3))
    assert fu[1e-1]["final"]["mmd_to_teacher"] > max(fu[lam]["final"]["mmd_to_teacher"] for lam in (1e-2, 1e-3))
    gaps = summary["f_b_gap_to_teacher"]
    assert gaps["0.1"] > 4 * gaps["0.01"] > 0
    # λ = 1e-3 ran at the step it is stable at, the others at the setting's
    assert fu[1e-3]["tau"] == 2.0**-10 and fu[1e-2]["tau"] == 2.0**-8


def test_fig_III_14_quick(tmp_path):
    summary = _summary(tmp_path, "fig_III_14")
    finite, atoms = summary["by_gamma"]["100"], summary["by_gamma"]["inf"]
    assert "mmd_to_ufd" in finite and "mmd_to_ufd" not in atoms       # γ = ∞ has no density, no UFD
    assert atoms["final"]["mmd_to_teacher"] > 2 * finite["final"]["mmd_to_teacher"]
    assert atoms["final"]["risk"] > 2 * finite["final"]["risk"]
    assert finite["rate"] > atoms["rate"] and finite["r2"] >= 0.9
    atoms = configure(TORUS_QUICK, True, width=128, lam=1e-2, reg="f_u", gamma=float("inf"))
    assert (tmp_path / f"{run_name(atoms, 0)}.h5").exists()


def test_fig_torus_ufd_quick(tmp_path):
    summary = _summary(tmp_path, "fig_torus_ufd")
    to_ufd, to_teacher = np.array(summary["mmd_to_ufd"]), np.array(summary["mmd_to_teacher"])
    assert to_ufd[:, 1].max() < 0.5 * to_teacher[0, 1]
    transient = to_ufd[:, 0] <= summary["transient_end"]
    assert np.all(to_ufd[transient, 1] < to_teacher[transient, 1])
    assert summary["shown_times"] == [0.0, 0.25, 0.5, 1.0, 2.0, 5.0]


def test_fig_III_7_quick(tmp_path):
    summary = _summary(tmp_path, "fig_III_7")
    gaps = summary["relative_gap"]
    for width in map(str, summary["widths"]):
        agree = max(gaps["0.1"][width], gaps["0.01"][width])
        assert agree <= 0.1 and gaps["0.001"][width] >= max(0.1, 3 * agree)
        final = summary["by_lambda"]["0.001"][width]
        assert final["two_timescale"]["final"]["mmd_to_teacher"] > final["varpro"]["final"]["mmd_to_teacher"]
    # both methods ran from the same start: equal distances at t = 0
    entry = summary["by_lambda"]["0.01"]["32"]
    assert entry["varpro"]["mmd_to_teacher"][0] == entry["two_timescale"]["mmd_to_teacher"][0]
    quick = find_validation("fig_III_7").QUICK
    for method in ("varpro", "two_timescale"):
        assert (tmp_path / f"{run_name(replace(quick, width=32, lam=1e-3, method=method), 0)}.h5").exists()
