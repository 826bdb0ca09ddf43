"""The --quick validations: particles beside the grid UFD (thesis Figs. III.2–III.6)."""

import json

import numpy as np

from dataclasses import replace

from pdeflow.cli import main
from pdeflow.experiments import run_name
from pdeflow.grid_references import reference_path
from pdeflow.validations import find_validation


def test_fig_III_2_quick(tmp_path):
    assert main(["validate", "fig_III_2", "--quick", "--out", str(tmp_path), "--quiet"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    curve = np.array(summary["mmd_to_ufd"])
    teacher = np.array(summary["mmd_to_teacher"])
    assert curve.shape == (9, 2) and curve[-1, 0] == 2.0
    # particles are much closer to the UFD than to where they start from
    assert curve[:, 1].max() < 0.5 * teacher[0, 1]
    assert teacher[-1, 1] < teacher[0, 1]
    assert (tmp_path / "fig_III_2.png").stat().st_size > 10_000
    quick = find_validation("fig_III_2").QUICK
    assert reference_path(tmp_path, "ufd", quick).exists() and (tmp_path / f"{run_name(quick, 0)}.h5").exists()


def test_fig_III_3_4_quick(tmp_path):
    assert main(["validate", "fig_III_3_4", "--quick", "--out", str(tmp_path), "--quiet"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    for reg in ("f_b", "f_u"):
        means = [summary["by_width"][str(w)][reg]["mean_mmd_to_ufd"] for w in summary["widths"]]
        assert means == sorted(means, reverse=True)
        assert means[0] > 1.5 * means[-1]
    assert len(summary["by_width"]["32"]["mmd_to_ufd"]) == 9


def test_unknown_validation(capsys):
    assert main(["validate", "fig_nope", "--quick"]) == 2
    assert "available" in capsys.readouterr().err


def test_fig_III_6_quick(tmp_path):
    assert main(["validate", "fig_III_6", "--quick", "--out", str(tmp_path), "--quiet"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    rates = [summary["by_gamma"][f"{g:g}"]["rate"] for g in summary["gammas"]]
    assert rates == sorted(rates, reverse=True) and rates[-1] > 0
    quick = find_validation("fig_III_6").QUICK
    assert all(reference_path(tmp_path, "ufd", replace(quick, gamma=g)).exists() for g in summary["gammas"])


def test_fig_III_5_quick(tmp_path):
    assert main(["validate", "fig_III_5", "--quick", "--out", str(tmp_path), "--quiet"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    fu = {lam: summary["by_lambda"][f"{lam:g}"]["f_u"] for lam in summary["lambdas"]}
    linear = [fu[lam]["rate"] for lam in (1e-2, 1e-3, 1e-4)]
    assert min(fu[lam]["r2"] for lam in (1e-2, 1e-3, 1e-4)) >= 0.9
    # λ = 0.1 falls behind: late rate at most half the linear ones, still above their end values
    assert fu[1e-1]["late_rate"] <= 0.5 * min(linear)
    final = {lam: fu[lam]["mmd_to_teacher"][-1][1] for lam in fu}
    assert final[1e-1] > max(final[lam] for lam in (1e-2, 1e-3, 1e-4))
    assert (tmp_path / "fig_III_5.png").stat().st_size > 10_000
